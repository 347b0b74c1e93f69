/**
 * A stop request (what Ctrl-C or SIGTERM sends `gym train`) at several points of a step: the step
 * under way finishes and is checkpointed, nothing of it is half written, and the resumed run ends
 * bit for bit where an uninterrupted one does. The last tests send the signals to the real CLI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTrajectories } from '../../agent/trajectory/index.js';
import { RunInterruptedError, type StepStage, train } from '../../trainer/run/index.js';
import { duplicateEpisodes, interruptConfig, jsonLines, lastCheckpoint, runSnapshot } from './fixtures/run-snapshot.js';
import { makeToyEnv, toyEnv } from './fixtures/toy-env.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = mkdtempSync(join(tmpdir(), 'toolgym-interrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let baseline: Record<string, unknown>;
beforeAll(async () => {
  const { dir } = await train(toyEnv, interruptConfig(join(root, 'straight')), { runId: 'r' });
  baseline = runSnapshot(dir);
});

/** Where a stop request is sent: a stage of a step, a metrics record, or the nth episode a stage starts. */
interface StopPoint {
  phase: 'sft' | 'grpo';
  step: number;
  stage?: StepStage;
  record?: true;
  episode?: number;
}

/** Runs until the stop point, expects RunInterruptedError; returns the run folder. */
async function stopAt(name: string, at: StopPoint): Promise<string> {
  const ac = new AbortController();
  let where = { stage: '', phase: '', step: 0 };
  let started = 0;
  const hit = (p: { phase: string; step: number }) => p.phase === at.phase && p.step === at.step;
  const env = makeToyEnv(() => {
    started++;
    if (at.episode && where.stage === at.stage && hit(where) && started === at.episode) ac.abort();
  });
  const cfg = interruptConfig(join(root, name));
  await expect(
    train(env, cfg, {
      runId: 'r',
      hooks: {
        signal: ac.signal,
        onStage: (stage, phase, step) => {
          where = { stage, phase, step };
          started = 0;
          if (!at.episode && !at.record && stage === at.stage && hit(where)) ac.abort();
        },
        onRecord: (r) => {
          if (at.record && hit(r)) ac.abort();
        },
      },
    }),
  ).rejects.toThrow(RunInterruptedError);
  expect(ac.signal.aborted).toBe(true);
  return join(root, name, 'r');
}

/** What a stopped run holds: the step under way finished and checkpointed, no aborted episode. */
function expectWholeSteps(dir: string, phase: 'sft' | 'grpo', step: number): void {
  expect(lastCheckpoint(dir)).toEqual({ phase, step });
  const steps = jsonLines(join(dir, 'metrics.jsonl'))
    .filter((r) => r.phase === phase)
    .map((r) => r.step);
  expect(steps.at(-1)).toBe(step);
  if (phase === 'grpo') {
    const eps = readTrajectories(join(dir, 'trajectories', 'grpo.jsonl'));
    expect(eps.length).toBe(step * 4);
    expect(eps.filter((t) => t.ending === 'aborted')).toEqual([]);
  }
}

describe('a stop request during a step', () => {
  const cases: Array<[string, StopPoint]> = [
    ['as an SFT update begins', { phase: 'sft', step: 1, stage: 'update' }],
    [
      'in the middle of GRPO sampling (as the third episode of step 2 starts)',
      { phase: 'grpo', step: 2, stage: 'sample', episode: 3 },
    ],
    ['as a GRPO update begins', { phase: 'grpo', step: 3, stage: 'update' }],
    ['between a metrics line and its checkpoint', { phase: 'grpo', step: 1, record: true }],
    ['in the middle of a held-out evaluation', { phase: 'grpo', step: 1, stage: 'evaluate', episode: 2 }],
  ];
  it.each(cases)('%s finishes that step, and the resumed run is bit-identical to an uninterrupted one', async (label, at) => {
    const name = label.replace(/\W+/g, '-');
    const dir = await stopAt(name, at);
    expectWholeSteps(dir, at.phase, at.step);
    await train(toyEnv, interruptConfig(join(root, name)), { resume: dir });
    expect(duplicateEpisodes(dir)).toEqual([]);
    expect(runSnapshot(dir)).toEqual(baseline);
  });
});

describe('a damaged latest checkpoint', () => {
  it('is set aside with a warning, the run resumes from the one before it, and still matches an uninterrupted one', async () => {
    const dir = await stopAt('damaged', { phase: 'grpo', step: 2, record: true });
    const weights = join(dir, 'checkpoints', 'last', 'model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 5] ^= 0x40;
    writeFileSync(weights, bytes);
    const warnings: string[] = [];
    await train(toyEnv, interruptConfig(join(root, 'damaged')), {
      resume: dir,
      hooks: { onWarning: (w) => warnings.push(w) },
    });
    expect(warnings[0]).toMatch(
      /model\.safetensors .*does not match.*using the checkpoint before it, .*last\.prev \(grpo step 0\)/,
    );
    expect(warnings[1]).toMatch(/moved the damaged checkpoint to .*last\.damaged/);
    expect(lastCheckpoint(dir)).toEqual({ phase: 'done', step: 3 });
    expect(runSnapshot(dir)).toEqual(baseline);
  });
});

describe('a run stopped after its last step', () => {
  it('resumed once complete, rewrites its summary and adds no step, evaluation or episode', async () => {
    const dir = join(root, 'straight', 'r');
    const before = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    const { summary } = await train(toyEnv, interruptConfig(join(root, 'straight')), { resume: dir });
    expect(summary.after).toEqual(before.after);
    expect(summary.tokensTrained).toEqual(before.tokensTrained);
    expect(runSnapshot(dir)).toEqual(baseline);
  });
});

// ---------------------------------------------------------------------------------------------
// The real CLI: signals sent to `gym train`

function gymTrain(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'bin', 'gym.ts'), 'train', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += String(d);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function until(cond: () => boolean, what: string, exited: Promise<unknown>): Promise<void> {
  let done = false;
  exited.then(() => {
    done = true;
  });
  while (!cond()) {
    if (done) throw new Error(`gym train exited before ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gym train and signals', () => {
  /** The run config as a file, and the CLI flags that run it on the toy environment. */
  function cliArgs(name: string): string[] {
    const file = join(root, `${name}.json`);
    writeFileSync(file, JSON.stringify(interruptConfig(join(root, name))));
    return ['--config', file, '--env-module', join('test', 'trainer', 'fixtures', 'toy-env.ts'), '--no-progress'];
  }

  it('stops after the step under way on Ctrl-C, exits 130, says how to resume, and the resumed run matches', async () => {
    const run = gymTrain(cliArgs('cli-once'));
    await until(() => /^sft 1:/m.test(run.stderr()), 'SFT step 1', run.exited);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.stderr()).toMatch(/SIGINT: stopping after the current step/);
    const dir = run.stderr().match(/continue with `gym train --resume (\S+)`/)?.[1] as string;
    expect(dir).toBeTruthy();
    // the checkpoint holds every step the metrics record, and no more
    const ck = lastCheckpoint(dir);
    const steps = jsonLines(join(dir, 'metrics.jsonl'))
      .filter((r) => r.phase === ck.phase)
      .map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: ck.step }, (_, i) => i + 1));
    await train(toyEnv, interruptConfig(join(root, 'cli-once')), { resume: dir });
    const snap = runSnapshot(dir);
    expect(snap.weights).toEqual(baseline.weights);
    expect(snap.metrics).toEqual(baseline.metrics);
  });

  it('quits at once on a second SIGTERM, leaving only whole steps: the resumed run matches', async () => {
    const run = gymTrain(cliArgs('cli-twice'));
    await until(() => /^sft 2:/m.test(run.stderr()), 'SFT step 2', run.exited);
    run.child.kill('SIGTERM');
    await until(() => /stopping after the current step/.test(run.stderr()), 'the first signal was heard', run.exited);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    const dir = run.stderr().match(/continue with `gym train --resume (\S+)`/)?.[1] as string;
    expect(dir).toBeTruthy();
    await train(toyEnv, interruptConfig(join(root, 'cli-twice')), { resume: dir });
    expect(duplicateEpisodes(dir)).toEqual([]);
    const snap = runSnapshot(dir);
    expect(snap.weights).toEqual(baseline.weights);
    expect(snap.metrics).toEqual(baseline.metrics);
  });
});
