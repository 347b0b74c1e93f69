import { describe, expect, it } from 'vitest';
import { groupAdvantages, keepInformativeGroups, overlongPenalty, sampleStd } from '../../trainer/grpo/advantages.js';
import { clipGradNorm, logitsGrad, tokenStats } from '../../trainer/grpo/logits.js';
import { AGGREGATIONS, clippedSurrogate, k3, policyLoss } from '../../trainer/grpo/loss.js';
import { sftLoss } from '../../trainer/sft/sft.js';

describe('group-relative advantages', () => {
  it('normalises by the sample std (n - 1) when scaling is on', () => {
    // mean 0.5, sample std sqrt(1/3)
    expect(sampleStd([1, 0, 0, 1])).toBeCloseTo(Math.sqrt(1 / 3), 12);
    const a = groupAdvantages([1, 0, 0, 1], { scale: 'group', eps: 1e-4 });
    const want = 0.5 / (Math.sqrt(1 / 3) + 1e-4);
    expect(a[0]).toBeCloseTo(want, 10);
    expect(a[1]).toBeCloseTo(-want, 10);
  });
  it('only centres the rewards when scaling is off (Dr. GRPO)', () => {
    expect(groupAdvantages([1, 0, 0, 1], { scale: 'none' })).toEqual([0.5, -0.5, -0.5, 0.5]);
  });
  it('zeros the advantage of a group whose rewards are all equal', () => {
    expect(groupAdvantages([0.7, 0.7, 0.7], { scale: 'group' })).toEqual([0, 0, 0]);
  });
  it('drops groups with equal rewards under dynamic sampling', () => {
    const groups = [
      [1, 1],
      [0, 1],
      [0, 0],
    ];
    const { kept, dropped } = keepInformativeGroups(groups, (g) => g);
    expect(kept).toEqual([[0, 1]]);
    expect(dropped).toBe(2);
  });
});

describe('clipped surrogate', () => {
  it('gives -A and gradient -A at ratio 1', () => {
    const s = clippedSurrogate(-1.3, -1.3, 0.8, 0.2, 0.2);
    expect(s.l).toBeCloseTo(-0.8, 12);
    expect(s.dl).toBeCloseTo(-0.8, 12);
  });
  it('clips a positive advantage above 1 + eps_high and stops its gradient', () => {
    const s = clippedSurrogate(Math.log(1.5), 0, 1, 0.2, 0.2);
    expect(s.l).toBeCloseTo(-1.2, 12);
    expect(s.dl).toBe(0);
    expect(s.clipped).toBe(true);
  });
  it('does not clip a negative advantage above 1 + eps_high (pessimistic bound)', () => {
    const s = clippedSurrogate(Math.log(1.5), 0, -1, 0.2, 0.2);
    expect(s.l).toBeCloseTo(1.5, 12);
    expect(s.dl).toBeCloseTo(1.5, 12);
  });
  it('clips a negative advantage below 1 - eps_low', () => {
    const s = clippedSurrogate(Math.log(0.5), 0, -1, 0.2, 0.2);
    expect(s.l).toBeCloseTo(0.8, 12);
    expect(s.dl).toBe(0);
    const t = clippedSurrogate(Math.log(0.5), 0, 1, 0.2, 0.2);
    expect(t.l).toBeCloseTo(-0.5, 12);
  });
  it('lets ratio 1.25 through with clip-higher eps_high = 0.28 but not with 0.2', () => {
    expect(clippedSurrogate(Math.log(1.25), 0, 1, 0.2, 0.28).l).toBeCloseTo(-1.25, 12);
    expect(clippedSurrogate(Math.log(1.25), 0, 1, 0.2, 0.2).l).toBeCloseTo(-1.2, 12);
  });
});

describe('loss aggregation', () => {
  // two sequences, ratio 1, advantages 1 and 0.5: per-token loss -1 (2 tokens) and -0.5 (4 tokens)
  const mask = [
    [1, 1, 0],
    [1, 1, 1, 1],
  ];
  const logp = [
    [-1, -2, -3],
    [-1, -1, -1, -1],
  ];
  const input = { logp, oldLogp: logp, mask, adv: [1, 0.5] };
  const base = { epsLow: 0.2, epsHigh: 0.2, beta: 0 };
  it('grpo averages per sequence then over sequences', () => {
    expect(policyLoss(input, { ...base, lossType: 'grpo' }).loss).toBeCloseTo(-0.75, 12);
  });
  it('bnpo averages over the masked tokens of the batch', () => {
    expect(policyLoss(input, { ...base, lossType: 'bnpo' }).loss).toBeCloseTo(-4 / 6, 12);
  });
  it('dr_grpo divides by B * L_max', () => {
    expect(policyLoss(input, { ...base, lossType: 'dr_grpo' }).loss).toBeCloseTo(-4 / 8, 12);
    expect(policyLoss(input, { ...base, lossType: 'dr_grpo', maxCompletionLen: 10 }).loss).toBeCloseTo(-4 / 20, 12);
  });
  it('dapo divides by the global token count', () => {
    expect(policyLoss(input, { ...base, lossType: 'dapo', globalTokens: 12 }).loss).toBeCloseTo(-4 / 12, 12);
    expect(policyLoss(input, { ...base, lossType: 'dapo' }).loss).toBeCloseTo(-4 / 6, 12);
  });
  it('gives masked tokens zero weight and zero gradient', () => {
    const r = policyLoss(input, { ...base, lossType: 'grpo' });
    expect(r.dlogp[0][2]).toBe(0);
    expect(r.dlogp[0][0]).toBeCloseTo(-1 / (2 * 2), 12);
    expect(r.dlogp[1][3]).toBeCloseTo(-0.5 / (4 * 2), 12);
    for (const w of Object.values(AGGREGATIONS)) expect(w(mask, {})[0][2]).toBe(0);
  });
});

describe('k3 KL to the reference', () => {
  it('matches exp(d) - d - 1 and its derivative', () => {
    const { kl, dkl } = k3(-1, -2);
    expect(kl).toBeCloseTo(Math.exp(-1), 12);
    expect(dkl).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(k3(-1, -1).kl).toBe(0);
  });
  it('clamps like verl and stops the gradient there', () => {
    const r = k3(-40, -10);
    expect(r.kl).toBe(10);
    expect(r.dkl).toBe(0);
  });
  it('adds beta * kl to the policy loss', () => {
    const r = policyLoss(
      { logp: [[-1]], oldLogp: [[-1]], refLogp: [[-2]], mask: [[1]], adv: [0] },
      { lossType: 'bnpo', epsLow: 0.2, epsHigh: 0.2, beta: 0.1 },
    );
    expect(r.loss).toBeCloseTo(0.1 * Math.exp(-1), 12);
    expect(r.metrics.kl).toBeCloseTo(Math.exp(-1), 12);
    expect(r.dlogp[0][0]).toBeCloseTo(0.1 * (1 - Math.exp(-1)), 12);
  });
});

describe('overlong shaping', () => {
  it('ramps from 0 to -1 across the cache window', () => {
    const o = { maxLen: 100, cache: 20 };
    expect(overlongPenalty(80, o)).toBe(0);
    expect(overlongPenalty(90, o)).toBeCloseTo(-0.5, 12);
    expect(overlongPenalty(100, o)).toBeCloseTo(-1, 12);
    expect(overlongPenalty(150, o)).toBe(-1);
  });
});

describe('logits to log-probs and back', () => {
  const V = 5;
  const logits = Float32Array.from([0.1, -0.3, 0.7, 0.2, -1.1, 1.0, 0.5, -0.5, 0.0, 0.3]);
  const targets = [2, 0];
  it('computes log-softmax and entropy per row', () => {
    const { logp, entropy } = tokenStats(logits, V, targets);
    const row = [0.1, -0.3, 0.7, 0.2, -1.1];
    const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    expect(logp[0]).toBeCloseTo(0.7 - lse, 6);
    const h = -row.reduce((s, x) => s + Math.exp(x - lse) * (x - lse), 0);
    expect(entropy[0]).toBeCloseTo(h, 6);
  });
  it('matches finite differences for d(logp) and d(entropy) at temperature 0.7', () => {
    const dl = [0.3, -0.6];
    const de = [0.2, 0.5];
    const f = (z: Float32Array) => {
      const s = tokenStats(z, V, targets, 0.7);
      return dl[0] * s.logp[0] + dl[1] * s.logp[1] + de[0] * s.entropy[0] + de[1] * s.entropy[1];
    };
    const g = logitsGrad(logits, V, targets, dl, de, 0.7);
    const h = 1e-3;
    for (let i = 0; i < logits.length; i++) {
      const zp = Float32Array.from(logits);
      zp[i] += h;
      const zm = Float32Array.from(logits);
      zm[i] -= h;
      expect(g[i]).toBeCloseTo((f(zp) - f(zm)) / (2 * h), 3);
    }
  });
  it('skips rows without a target', () => {
    const g = logitsGrad(logits, V, [-1, 0], [1, 1]);
    expect(Array.from(g.subarray(0, V))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('SFT loss and gradient clipping', () => {
  it('averages -logp over mask = 1 tokens only', () => {
    const r = sftLoss([[-1, -2], [-3]], [[1, 0], [1]]);
    expect(r.loss).toBeCloseTo(2, 12);
    expect(r.dlogp[0][1]).toBe(0);
    expect(r.dlogp[1][0]).toBeCloseTo(-0.5, 12);
  });
  it('scales gradients to the max norm and reports the norm before', () => {
    const g = [Float32Array.from([3, 0]), Float32Array.from([4])];
    expect(clipGradNorm(g, 1)).toBeCloseTo(5, 6);
    expect(g[0][0]).toBeCloseTo(0.6, 4);
    expect(g[1][0]).toBeCloseTo(0.8, 4);
  });
});
