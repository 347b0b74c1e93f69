/**
 * The learning experiment's parts: covariance-based entropy control (Clip-Cov, KL-Cov), the
 * evaluation splits and their environment variants (reworded prompts, a tool whose first call
 * fails), the RL query set's disjointness from the cold start, and split figures.
 */
import { describe, expect, it } from 'vitest';
import { OraclePolicy } from '../../agent/policies/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import { codeInterpEnv } from '../../envs/code-interp/index.js';
import { applyCovControl, covSelect, tokenCovariance } from '../../trainer/grpo/index.js';
import {
  FLAKY_ERROR,
  learnEnv,
  learnSplits,
  probeTasks,
  resolveRunConfig,
  rewordPrompt,
  rlCandidates,
  runTaskPools,
  splitFigures,
} from '../../trainer/run/index.js';

describe('covariance entropy control', () => {
  // two sequences: the first confident (high logp) with a positive advantage, the second not
  const logp = [Float64Array.from([-0.1, -0.2, -3]), Float64Array.from([-2, -2.5, -0.05])];
  const mask = [Uint8Array.from([1, 1, 1]), Uint8Array.from([1, 1, 0])];
  const adv = [1, -1];

  it('centres log-probs and advantages over the masked tokens', () => {
    const cov = tokenCovariance(logp, mask, adv);
    let sum = 0;
    for (const c of cov) for (const x of c) if (Number.isFinite(x)) sum += x;
    // n times the covariance: 1.168 + 1.088 - 1.152 + 0.528 + 1.128
    expect(sum).toBeCloseTo(2.76, 12);
    expect(Number.isNaN(cov[1][2])).toBe(true); // unmasked
    // mean logp = -7.8/5 = -1.56, mean adv = 1/5 = 0.2; token 0: (1.46)(0.8)
    expect(cov[0][0]).toBeCloseTo(1.46 * 0.8, 12);
  });

  it('KL-Cov takes the top tokens by covariance; none takes nothing', () => {
    const o = { fraction: 0.4, covLow: 0, covHigh: 100, seed: 1 };
    const kl = covSelect(logp, mask, adv, { ...o, control: 'kl_cov' });
    expect(kl.count).toBe(2);
    // covariances: (1.168, 1.088, -1.152) and (0.528, 1.128): a confident token with a positive
    // advantage and an unlikely one with a negative advantage are the top two
    expect([...kl.selected[0]]).toEqual([1, 0, 0]);
    expect([...kl.selected[1]]).toEqual([0, 1, 0]);
    expect(covSelect(logp, mask, adv, { ...o, control: 'none' }).count).toBe(0);
  });

  it('Clip-Cov draws only inside the covariance window, seeded', () => {
    const cov = tokenCovariance(logp, mask, adv);
    const o = { control: 'clip_cov' as const, fraction: 0.2, covLow: 0.5, covHigh: 1.0, seed: 3 };
    const a = covSelect(logp, mask, adv, o);
    expect(a.count).toBe(1);
    for (let i = 0; i < 2; i++)
      for (let t = 0; t < 3; t++) if (a.selected[i][t]) expect(cov[i][t] >= 0.5 && cov[i][t] <= 1.0).toBe(true);
    expect(covSelect(logp, mask, adv, o).selected.map((s) => [...s])).toEqual(a.selected.map((s) => [...s]));
    // a window nothing falls in selects nothing
    expect(covSelect(logp, mask, adv, { ...o, covLow: 50, covHigh: 60 }).count).toBe(0);
  });

  it('Clip-Cov drops the selected gradients; KL-Cov adds coef * w * sign(logp - old)', () => {
    const sel = Uint8Array.from([1, 0, 1]);
    const d = Float64Array.from([0.5, 0.5, 0.5]);
    expect(applyCovControl('clip_cov', sel, d, [0, 0, 0], [0, 0, 0], [1, 1, 1], 1)).toBe(0);
    expect([...d]).toEqual([0, 0.5, 0]);
    const e = Float64Array.from([0.5, 0.5, 0.5]);
    const added = applyCovControl('kl_cov', sel, e, [-1, -1, -2], [-1.5, -1, -1], [0.1, 0.1, 0.1], 2);
    expect(added).toBeCloseTo(2 * 0.1 * 0.5 + 2 * 0.1 * 1, 12);
    expect([...e].map((x) => Number(x.toFixed(12)))).toEqual([0.7, 0.5, 0.3]);
  });
});

describe('learning splits', () => {
  const cfg = resolveRunConfig({ preset: 'learn', flags: { seed: 2 } });
  const def = learnEnv();

  it('keeps validation apart from every test split and the RL query set apart from the cold start', () => {
    const s = learnSplits(def, cfg, { tasks: 24 });
    const val = new Set(s.val);
    expect(s.val.length).toBe(cfg.rl.valTasks);
    for (const name of ['id', 'ood-harder', 'ood-family', 'ood-reworded', 'ood-flaky'] as const) {
      expect(s[name].length, name).toBe(24);
      for (const id of s[name]) expect(val.has(id)).toBe(false);
    }
    const { testIds, trainIds } = runTaskPools(def, cfg);
    for (const id of testIds) expect(val.has(id)).toBe(false);
    // harder levels are harder; unseen families are unseen
    for (const id of s['ood-harder']) expect(def.getTask(id).difficulty).toBeGreaterThan(cfg.rl.maxDifficulty);
    for (const id of s['ood-family']) expect(/compute\.(sim|numtheory|bigint)/.test(id)).toBe(false);
    const cold = new Set([...trainIds.slice(0, cfg.sft.episodes), ...probeTasks(cfg, trainIds)]);
    const rl = rlCandidates({ cfg, def, trainIds });
    expect(rl.length).toBe(cfg.rl.candidates);
    for (const id of rl) expect(cold.has(id)).toBe(false);
    expect(new Set(rl.map((id) => id.split('/')[1])).size).toBe(3);
  });

  it('rewords prompts but keeps the task and its answer', async () => {
    const s = learnSplits(def, cfg, { tasks: 8 });
    for (let i = 0; i < 8; i++) {
      const plain = def.getTask(s.id[i]);
      const re = def.getTask(s['ood-reworded'][i]);
      expect(re.prompt).not.toBe(plain.prompt);
      expect(re.reference).toEqual(plain.reference);
      const ref = plain.reference as { answer: string };
      const fam = def.families.find((f) => f.name === re.family);
      expect((await fam?.verify(re, ref.answer))?.correct).toBe(true);
    }
    expect(rewordPrompt('How many Collatz steps does it take for 27 to reach 1?', 0)).toContain('Starting at 27');
  });

  it('fails the first run_code call of a flaky task, and the oracle recovers through the real sandbox', async () => {
    const s = learnSplits(def, cfg, { tasks: 3 });
    const ids = [...s['ood-flaky'], ...s.id];
    const { trajectories } = await runBatch({
      env: def,
      policy: new OraclePolicy(def, { seed: 0 }),
      tasks: ids,
      groupSize: 1,
      mode: 'no_think',
      limits: { maxTurns: 4 },
      concurrency: 3,
      runId: 'flaky-test',
      progress: false,
    });
    for (const t of trajectories) {
      expect(t.correct, t.ids.task).toBe(true);
      const calls = t.turns.flatMap((turn) => turn.calls);
      const flaky = t.ids.task.includes('/ood.flaky.');
      expect(calls.length, t.ids.task).toBe(flaky ? 2 : 1);
      if (flaky) {
        expect(calls[0].result).toContain(FLAKY_ERROR);
        expect(calls[0].isError).toBe(true);
      }
    }
    const f = splitFigures(
      trajectories.filter((t) => t.ids.task.includes('/ood.flaky.')),
      1,
      100,
    );
    expect(f.passAt1.value).toBe(1);
    expect(f.recovery.opportunities).toBe(3);
    expect(f.recovery.value).toBe(1);
    // plain code-interp never fails a first call
    expect(codeInterpEnv.families.some((x) => x.name.startsWith('ood.'))).toBe(false);
  }, 60_000);
});
