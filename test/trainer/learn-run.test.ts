/**
 * The learning experiment end to end on a tiny run: a run with an RL query set builds it from
 * non-demonstration tasks and evaluates validation (never a test split) during GRPO; the arms then
 * train at GRPO's compute from the same cold start, select by validation, and are tested on every
 * split; learn.json and report.html hold the result.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learnEnv, resolveRunConfig, runArms, train } from '../../trainer/run/index.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-learn-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('learning experiment', () => {
  it('builds a disjoint RL query set, validates on val only, and runs the arms at equal compute', async () => {
    const def = learnEnv();
    const cfg = resolveRunConfig({
      preset: 'quick',
      file: {
        families: 'compute.sim',
        evalEvery: 1,
        sft: { stopAtSuccess: 0 },
        grpo: { steps: 2, entropyControl: 'clip_cov' },
        // keepMin 0: an untrained model solves nothing, and the test is about the plumbing
        rl: { families: 'compute.sim,compute.bigint', candidates: 4, filterSamples: 2, keepMin: 0, keepMax: 2, valTasks: 2 },
      },
      flags: { out: root, seed: 1 },
    });
    const { dir } = await train(def, cfg, { runId: 'learn' });
    const set = JSON.parse(readFileSync(join(dir, 'rl-tasks.json'), 'utf8')) as { ids: string[] };
    const demos = readFileSync(join(dir, 'trajectories', 'sft-data.jsonl'), 'utf8');
    expect(set.ids.length).toBe(4);
    for (const id of set.ids) expect(demos).not.toContain(`"task":"${id}"`);
    const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const periodic = records.filter((r) => r.phase === 'eval' && r.step > 0 && r.step < 2);
    expect(periodic.map((r) => r.split)).toEqual(['val']);
    const grpo = records.filter((r) => r.phase === 'grpo');
    expect(grpo.every((r) => typeof r.covSelected === 'number' && typeof r.entropy === 'number')).toBe(true);
    // every GRPO episode came from the RL query set
    const grpoTasks = new Set(
      readFileSync(join(dir, 'trajectories', 'grpo.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).ids.task),
    );
    for (const t of grpoTasks) expect(set.ids).toContain(t);

    const r = await runArms(dir, { def, k: 2, splitTasks: 2, budgets: [0, 8], bootstrapSamples: 50 });
    expect(r.arms.map((a) => a.arm)).toEqual(['cold', 'sft', 'rs', 'grpo']);
    const sft = r.arms.find((a) => a.arm === 'sft');
    const g = r.arms.find((a) => a.arm === 'grpo');
    // the SFT arm is evaluated at GRPO's compute at each validation point and at the end
    expect(sft?.curve.map((p) => p.computeSeqTokens)).toEqual(g?.curve.map((p) => p.computeSeqTokens));
    expect(r.grpoComputeSeqTokens).toBeGreaterThan(0);
    expect(sft?.steps).toBeGreaterThan(0);
    for (const a of r.arms) {
      expect(Object.keys(a.splits).sort()).toEqual(['id', 'ood-family', 'ood-flaky', 'ood-harder', 'ood-reworded']);
      expect(a.splits.id?.episodes).toBe(4);
    }
    expect(r.thinking?.budgets.map((b) => b.budget)).toEqual([0, 8]);
    expect(existsSync(join(dir, 'learn.json'))).toBe(true);
    expect(existsSync(join(dir, 'arms', 'sft', 'best'))).toBe(true);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  }, 1_200_000);
});
