import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEvalRecord, rebuildReport, replayEval, rerunCommand, runEval, selectTasks } from '../../../agent/eval/index.js';
import { readTrajectories, serializeTrajectory } from '../../../agent/trajectory/index.js';
import type { GenerateRequest, GenerateResult, Policy } from '../../../agent/types.js';
import { codeInterpEnv } from '../../../envs/code-interp/index.js';
import { episode, trials } from './fixtures.js';
import { toyEnv } from './toy-env.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-eval-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('task selection', () => {
  it('draws the same distinct tasks in the same order for the same seed, cycling the families', () => {
    const a = selectTasks(toyEnv, 'test', 10, 3);
    expect(selectTasks(toyEnv, 'test', 10, 3)).toEqual(a);
    expect(new Set(a).size).toBe(10);
    expect(a.filter((id) => id.includes('toy.add'))).toHaveLength(5);
    expect(a[0]).toContain('toy.add');
    expect(a[1]).toContain('toy.mul');
    expect(selectTasks(toyEnv, 'test', 10, 4)).not.toEqual(a);
    expect(a.every((id) => id.includes('/test/'))).toBe(true);
  });

  it('draws only the families and difficulties asked for, and says when too few match', () => {
    const ids = selectTasks(codeInterpEnv, 'test', 30, 0, { families: ['compute.sim'], maxDifficulty: 1 });
    expect(new Set(ids).size).toBe(30);
    for (const id of ids) {
      const [, family, split, index] = id.split('/');
      expect(family).toBe('compute.sim');
      const fam = codeInterpEnv.families.find((f) => f.name === family);
      expect(fam?.generate(split as 'test', Number(index)).difficulty).toBe(1);
    }
    // two prefixes: both families drawn in turn
    const two = selectTasks(codeInterpEnv, 'test', 6, 0, { families: ['compute.sim', 'compute.dates'] });
    expect(two.map((id) => id.split('/')[1])).toEqual([
      'compute.dates',
      'compute.sim',
      'compute.dates',
      'compute.sim',
      'compute.dates',
      'compute.sim',
    ]);
    // compute.sim's test split holds 200 tasks at difficulty 1
    expect(() => selectTasks(codeInterpEnv, 'test', 201, 0, { families: ['compute.sim'], maxDifficulty: 1 })).toThrow(
      /has 200 test tasks at difficulty <= 1 in compute.sim; asked for 201/,
    );
    expect(() => selectTasks(codeInterpEnv, 'test', 1, 0, { families: ['nope'] })).toThrow(
      /no test family matching --families nope/,
    );
    // without a filter the draw is what it was
    expect(selectTasks(codeInterpEnv, 'test', 4, 0)).toEqual([
      'code-interp/compute.bigint/test/352',
      'code-interp/compute.numtheory/test/458',
      'code-interp/compute.dates/test/936',
      'code-interp/compute.strings/test/175',
    ]);
  });

  it('can draw a whole split and refuses more than it holds', () => {
    expect(new Set(selectTasks(toyEnv, 'test', 60, 0)).size).toBe(60);
    expect(() => selectTasks(toyEnv, 'test', 61, 0)).toThrow(/lower --tasks/);
  });
});

describe('runEval', () => {
  it('writes trajectories, metrics and report, reproducibly, and records how to rerun', async () => {
    const dir = join(root, 'a');
    const res = await runEval({
      env: toyEnv,
      policy: 'oracle:err=0.3,seed=1',
      k: 3,
      tasks: 8,
      seed: 5,
      outDir: dir,
      bootstrapSamples: 100,
      progress: false,
    });
    expect(res.trajectories).toHaveLength(24);
    expect(readTrajectories(join(dir, 'trajectories.jsonl'))).toHaveLength(24);
    const rec = readEvalRecord(join(dir, 'metrics.json'));
    expect(rec.settings).toMatchObject({
      env: 'toy',
      policy: 'oracle:err=0.3,seed=1',
      k: 3,
      tasks: 8,
      seed: 5,
      split: 'test',
      mode: 'no_think',
    });
    expect(rec.settings.taskIds).toEqual(selectTasks(toyEnv, 'test', 8, 5));
    expect(rec.versions).toMatchObject({ env: 'toy', envVersion: '0.1.0', node: process.version });
    expect(rec.versions.toolgym).toMatch(/^\d+\.\d+\.\d+/);
    expect(rec.rerun).toContain('--policy oracle:err=0.3,seed=1 -k 3');
    expect(rec.metrics.overall.passCurve).toHaveLength(3);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<canvas id="chart-passk"');

    const again = await runEval({
      env: toyEnv,
      policy: 'oracle:err=0.3,seed=1',
      k: 3,
      tasks: 8,
      seed: 5,
      outDir: join(root, 'b'),
      bootstrapSamples: 100,
      progress: false,
    });
    const order = (r: typeof res) => r.trajectories.map((t) => `${t.ids.task}#${t.ids.sample}:${t.correct}:${t.turns.length}`);
    expect(order(again)).toEqual(order(res));
    expect(again.record.metrics.overall).toEqual(res.record.metrics.overall);
    expect(rerunCommand(rec.settings, dir)).toBe(rec.rerun);
  });

  it("records the environment's options and modules so the rerun command builds the same environment", () => {
    const base = {
      env: 'code-interp',
      policy: 'oracle',
      k: 1,
      split: 'test' as const,
      tasks: 2,
      mode: 'no_think' as const,
      budgets: [],
      seed: 0,
      limits: {},
      concurrency: 2,
      taskIds: [],
      bootstrapSamples: 0,
    };
    const cmd = rerunCommand(
      { ...base, envOptions: { jsonl: 'my tasks.jsonl', onlyJsonl: true }, envModules: ['./env.js'] },
      'out',
    );
    expect(cmd).toContain("--env-module ./env.js --env-opt 'jsonl=my tasks.jsonl' --env-opt onlyJsonl=true");
    expect(rerunCommand(base, 'out')).not.toContain('--env-opt');
  });

  it('replays stored trajectories into the same metrics without calling any policy', async () => {
    const dir = join(root, 'c');
    const res = await runEval({
      env: toyEnv,
      policy: 'oracle:err=0.2',
      k: 2,
      tasks: 6,
      seed: 1,
      outDir: dir,
      bootstrapSamples: 50,
      progress: false,
    });
    const replayed = replayEval(dir, { outDir: join(root, 'c-replay') });
    expect(replayed.record.replay).toBe(true);
    expect(replayed.record.metrics).toEqual(res.record.metrics);
    expect(replayed.record.settings).toEqual(res.record.settings);
  });

  it('replays a bare rollout file, inferring the settings from its episodes', () => {
    const dir = join(root, 'bare');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'rollout.jsonl');
    writeFileSync(
      file,
      [...trials('toy/toy.add/test/1', 3, 2), ...trials('toy/toy.mul/test/2', 3, 3)].map(serializeTrajectory).join(''),
    );
    const res = replayEval(file, { bootstrapSamples: 0 });
    expect(res.record.settings).toMatchObject({ k: 3, tasks: 2, policy: 'oracle', env: 'code-interp', budgets: [] });
    expect(res.record.metrics.overall.metrics.avgAtK?.value).toBeCloseTo(5 / 6, 12);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('Failed episodes (1)');
  });

  it('reports the share of each ending and reason, and says how many aborted episodes were excluded', () => {
    const dir = join(root, 'endings');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'rollout.jsonl');
    const full = episode({
      task: 'toy/toy.add/test/1',
      sample: 2,
      correct: false,
      ending: 'truncated',
      reason: 'context_length',
    });
    const down = episode({
      task: 'toy/toy.add/test/1',
      sample: 3,
      correct: false,
      ending: 'aborted',
      reason: 'error: policy: OpenAIHttpError: 503',
    });
    writeFileSync(file, [...trials('toy/toy.add/test/1', 2, 2), full, down].map(serializeTrajectory).join(''));
    const res = replayEval(file, { bootstrapSamples: 0 });
    expect(res.record.metrics.overall.metrics.avgAtK).toMatchObject({ num: 2, den: 3 });
    expect(res.record.metrics.endings.byReason.context_length?.episodes).toBe(1);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('id="endings"');
    expect(html).toContain('1 of 4 episodes were aborted');
    expect(html).toContain('<code>context_length</code>');
    expect(html).toContain('<code>error: policy</code>');
  });

  it('runs each task k times under each thinking budget and gives one budget point each', async () => {
    const calls: number[] = [];
    const spy: Policy = {
      spec: 'spy',
      async generate(req: GenerateRequest): Promise<GenerateResult> {
        calls.push(req.thinkingBudget ?? -1);
        return { text: '<think>\nshort\n</think>\n\n7', finishReason: 'stop' };
      },
    };
    const res = await runEval({
      env: toyEnv,
      policy: spy,
      k: 2,
      tasks: 3,
      budgets: [16, 64],
      outDir: join(root, 'd'),
      bootstrapSamples: 0,
      progress: false,
    });
    expect(res.trajectories).toHaveLength(12);
    expect(res.record.settings.mode).toBe('think');
    expect(new Set(calls)).toEqual(new Set([16, 64]));
    expect(res.record.metrics.breakdowns.budget?.map((r) => [r.key, r.summary.episodes])).toEqual([
      ['16', 6],
      ['64', 6],
    ]);
    expect(res.record.metrics.overall.units).toBe(6);
    expect(readFileSync(join(res.dir, 'report.html'), 'utf8')).toContain('id="chart-budget"');
  });

  it('rebuilds a report and compares two runs side by side', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const out = rebuildReport(a, b);
    const html = readFileSync(out, 'utf8');
    expect(out.endsWith('compare.html')).toBe(true);
    expect(html).toContain('Δ');
    expect(html.match(/<th colspan="2">/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('takes a zero thinking budget (no thought sampled: the policy only answers) and refuses a negative one', async () => {
    const seen: Array<{ budget: number; prompt: string }> = [];
    const spy: Policy = {
      spec: 'spy',
      async generate(req: GenerateRequest): Promise<GenerateResult> {
        seen.push({ budget: req.thinkingBudget ?? -1, prompt: req.messages.at(-1)?.content ?? '' });
        return { text: '7', finishReason: 'stop' };
      },
    };
    const res = await runEval({
      env: toyEnv,
      policy: spy,
      k: 1,
      tasks: 2,
      budgets: [0],
      outDir: join(root, 'e0'),
      bootstrapSamples: 0,
      progress: false,
    });
    expect(res.trajectories).toHaveLength(2);
    expect(res.record.settings.budgets).toEqual([0]);
    // Asked for the continuation after the injected stop-thinking text, never with a budget to spend.
    expect(seen.every((c) => c.budget === -1)).toBe(true);
    expect(res.trajectories.every((t) => t.turns[0].budgetHit)).toBe(true);
    expect(res.record.metrics.breakdowns.budget?.map((r) => r.key)).toEqual(['0']);
    await expect(
      runEval({ env: toyEnv, policy: 'oracle', k: 1, tasks: 1, budgets: [-1], outDir: join(root, 'e') }),
    ).rejects.toThrow(/non-negative integer/);
  });
});
