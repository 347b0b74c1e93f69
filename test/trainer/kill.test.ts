/**
 * `kill -9` of a training run at exact points (a child process that SIGKILLs itself at a planned
 * file operation: `fixtures/train-child.ts`), then `--resume`: torn lines are dropped with a warning
 * naming file:line, what the killed run wrote after its checkpoint is cut back, a checkpoint whose
 * replacement was cut short falls back to the one before, and the resumed run ends bit for bit where
 * an uninterrupted one does.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../trainer/run/index.js';
import { duplicateEpisodes, interruptConfig, runSnapshot } from './fixtures/run-snapshot.js';
import { toyEnv } from './fixtures/toy-env.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = mkdtempSync(join(tmpdir(), 'toolgym-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let baseline: Record<string, unknown>;
beforeAll(async () => {
  const { dir } = await train(toyEnv, interruptConfig(join(root, 'straight')), { runId: 'r' });
  baseline = runSnapshot(dir);
});

interface KillPlan {
  op: 'write' | 'rename';
  file: string;
  nth: number;
  torn?: boolean;
}

/** Starts the run in a child process that SIGKILLs itself at `plan`; resolves once it is dead. */
function killedRun(name: string, plan: KillPlan): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repo, 'test', 'trainer', 'fixtures', 'train-child.ts'),
      JSON.stringify(interruptConfig(join(root, name))),
      'r',
      JSON.stringify(plan),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  child.stderr.on('data', (d) => {
    out += String(d);
  });
  return new Promise((resolve, reject) =>
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL'
        ? resolve(join(root, name, 'r'))
        : reject(new Error(`the run ended (${code ?? signal}) without reaching ${JSON.stringify(plan)}:\n${out.slice(-2000)}`)),
    ),
  );
}

async function resume(name: string, dir: string): Promise<{ warnings: string[]; notes: string[] }> {
  const warnings: string[] = [];
  const notes: string[] = [];
  await train(toyEnv, interruptConfig(join(root, name)), {
    resume: dir,
    hooks: { onWarning: (w) => warnings.push(w), onNote: (n) => notes.push(n) },
  });
  return { warnings, notes };
}

// Metrics lines in order: sft 1-3, eval 0, then per GRPO step its line and an evaluation line.
// `last` is written after sft 2, sft 3, grpo 0 (the evaluation before GRPO), grpo 2, grpo 3, done.
describe('a run killed with SIGKILL and resumed', () => {
  it('while writing the cold-start data, before any checkpoint: it starts over', async () => {
    const dir = await killedRun('cold-start', { op: 'write', file: 'sft-data.jsonl', nth: 3, torn: true });
    expect(existsSync(join(dir, 'checkpoints', 'last'))).toBe(false);
    const { notes } = await resume('cold-start', dir);
    expect(notes.join('\n')).toMatch(/no checkpoint yet: starting it over/);
    expect(runSnapshot(dir)).toEqual(baseline);
  });

  it('mid-way through a metrics line: the torn line is dropped with a warning naming file and line', async () => {
    const dir = await killedRun('torn-metrics', { op: 'write', file: 'metrics.jsonl', nth: 3, torn: true });
    const { warnings } = await resume('torn-metrics', dir);
    expect(warnings.join('\n')).toMatch(/metrics\.jsonl:3: torn line dropped/);
    expect(runSnapshot(dir)).toEqual(baseline);
  });

  it('mid-way through an episode line of GRPO sampling: no episode is kept twice', async () => {
    // GRPO steps sample 4 episodes each: the 10th is in step 3, after the checkpoint of step 2
    const dir = await killedRun('torn-episode', { op: 'write', file: 'grpo.jsonl', nth: 10, torn: true });
    const { warnings } = await resume('torn-episode', dir);
    expect(warnings.join('\n')).toMatch(/grpo\.jsonl:10: torn line dropped/);
    expect(duplicateEpisodes(dir)).toEqual([]);
    expect(runSnapshot(dir)).toEqual(baseline);
  });

  it('after a GRPO metrics line and before its checkpoint: the steps after the checkpoint are redone once', async () => {
    const dir = await killedRun('after-metrics', { op: 'write', file: 'metrics.jsonl', nth: 7 });
    const { notes } = await resume('after-metrics', dir);
    expect(notes.join('\n')).toMatch(/resuming .* at grpo step 0/);
    expect(duplicateEpisodes(dir)).toEqual([]);
    expect(runSnapshot(dir)).toEqual(baseline);
  });

  it('between the renames that replace the checkpoint folder: it resumes from the one before, with a warning', async () => {
    const dir = await killedRun('mid-rename', { op: 'rename', file: join('checkpoints', 'last'), nth: 4 });
    expect(existsSync(join(dir, 'checkpoints', 'last'))).toBe(false);
    const { warnings } = await resume('mid-rename', dir);
    expect(warnings.join('\n')).toMatch(/last is missing .*using the checkpoint before it, .*last\.prev \(grpo step 0\)/);
    expect(runSnapshot(dir)).toEqual(baseline);
  });

  it('while writing the new checkpoint aside: the old one is used and the half-written one cleared away', async () => {
    const dir = await killedRun('mid-checkpoint', { op: 'write', file: 'model.safetensors', nth: 5, torn: true });
    const ckDir = join(dir, 'checkpoints');
    expect(readdirSync(ckDir).some((f) => f.startsWith('last.tmp-'))).toBe(true);
    await resume('mid-checkpoint', dir);
    expect(readdirSync(ckDir).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
    expect(runSnapshot(dir)).toEqual(baseline);
  });
});
