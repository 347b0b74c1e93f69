/**
 * The distillation divergences (gpu/ops/distill): values against hand-computed ones on a two-word
 * vocabulary, the student gradient against central finite differences of the float64 reference,
 * masked rows, and JSD's end points (TRL's special cases). The WebGPU kernel is compared with this
 * reference in the backend suite (cases.ts).
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../gpu/index.js';
import { divergenceBackwardCpu, divergenceCpu } from '../../gpu/ops/distill.js';
import { expectClose, randn, rng } from './harness.js';

type F = Float32Array;
const as32 = (a: Float64Array) => a as unknown as F;
const KIND = { reverse_kl: 0, forward_kl: 1, jsd: 2 } as const;

/** The divergence of each row of (N, V) logits, in float64. */
function rows(kind: number, a: Float64Array, b: Float64Array, mask: number[], V: number, beta = 0.5): Float64Array {
  const N = mask.length;
  const out = new Float64Array(N);
  divergenceCpu(as32(a), as32(b), as32(Float64Array.from(mask)), as32(out), as32(new Float64Array(N)), N, V, kind, beta);
  return out;
}

// Student logits [0, 0]: S = (1/2, 1/2). Teacher logits [ln 3, 0]: T = (3/4, 1/4).
const a2 = Float64Array.from([0, 0]);
const b2 = Float64Array.from([Math.log(3), 0]);

describe('distillation divergences on full-vocabulary logits', () => {
  it('give the hand-computed reverse KL, forward KL and JSD of two known distributions', () => {
    // KL(S||T) = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4)) = 1/2 ln(4/3)
    expect(rows(KIND.reverse_kl, a2, b2, [1], 2)[0]).toBeCloseTo(0.5 * Math.log(4 / 3), 12);
    // KL(T||S) = 3/4 ln(3/2) + 1/4 ln(1/2)
    expect(rows(KIND.forward_kl, a2, b2, [1], 2)[0]).toBeCloseTo(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), 12);
    // beta 1/2: M = (5/8, 3/8); JSD = 1/2 KL(T||M) + 1/2 KL(S||M)
    const klTM = 0.75 * Math.log(0.75 / 0.625) + 0.25 * Math.log(0.25 / 0.375);
    const klSM = 0.5 * Math.log(0.5 / 0.625) + 0.5 * Math.log(0.5 / 0.375);
    expect(rows(KIND.jsd, a2, b2, [1], 2, 0.5)[0]).toBeCloseTo(0.5 * klTM + 0.5 * klSM, 12);
    // beta 0.9 weighs the teacher side: M = 0.1 S + 0.9 T
    const m = [0.1 * 0.5 + 0.9 * 0.75, 0.1 * 0.5 + 0.9 * 0.25];
    const jsd9 =
      0.9 * (0.75 * Math.log(0.75 / m[0]) + 0.25 * Math.log(0.25 / m[1])) +
      0.1 * (0.5 * Math.log(0.5 / m[0]) + 0.5 * Math.log(0.5 / m[1]));
    expect(rows(KIND.jsd, a2, b2, [1], 2, 0.9)[0]).toBeCloseTo(jsd9, 12);
  });

  it('are zero when the student equals the teacher and positive otherwise', () => {
    for (const kind of [0, 1, 2]) {
      expect(rows(kind, b2, b2, [1], 2)[0]).toBeCloseTo(0, 12);
      expect(rows(kind, a2, b2, [1], 2)[0]).toBeGreaterThan(0.01);
    }
  });

  it('give the hand-computed student gradients of the two KLs', () => {
    const da = new Float64Array(2);
    const aux = rows(KIND.reverse_kl, a2, b2, [1], 2);
    divergenceBackwardCpu(
      as32(a2),
      as32(b2),
      as32(Float64Array.of(1)),
      as32(aux),
      as32(Float64Array.of(1)),
      as32(da),
      1,
      2,
      0,
      0,
    );
    // d KL(S||T) / d a_v = S_v (log S_v - log T_v - KL)
    const kl = 0.5 * Math.log(4 / 3);
    expect(da[0]).toBeCloseTo(0.5 * (Math.log(0.5 / 0.75) - kl), 12);
    expect(da[1]).toBeCloseTo(0.5 * (Math.log(0.5 / 0.25) - kl), 12);
    // d KL(T||S) / d a_v = S_v - T_v
    divergenceBackwardCpu(
      as32(a2),
      as32(b2),
      as32(Float64Array.of(1)),
      as32(new Float64Array(1)),
      as32(Float64Array.of(1)),
      as32(da),
      1,
      2,
      1,
      0,
    );
    expect([da[0], da[1]]).toEqual([expect.closeTo(-0.25, 12), expect.closeTo(0.25, 12)]);
  });

  for (const [name, kind, beta] of [
    ['reverse KL', 0, 0],
    ['forward KL', 1, 0],
    ['JSD at beta 0.5', 2, 0.5],
    ['JSD at beta 0.2', 2, 0.2],
  ] as const) {
    it(`${name}: the student gradient matches finite differences, and the teacher's rows are left alone`, () => {
      const r = rng(5 + kind);
      const [N, V] = [4, 9];
      const a = Float64Array.from(randn(r, N * V, 2));
      const b = Float64Array.from(randn(r, N * V, 2));
      const mask = [1, 0, 1, 1];
      const w = Float64Array.from(randn(r, N));
      const loss = () => rows(kind, a, b, mask, V, beta).reduce((s, d, n) => s + d * w[n], 0);
      const out = new Float64Array(N);
      const aux = new Float64Array(N);
      const m = as32(Float64Array.from(mask));
      divergenceCpu(as32(a), as32(b), m, as32(out), as32(aux), N, V, kind, beta);
      expect(out[1]).toBe(0); // the masked row is not computed
      const da = new Float64Array(N * V);
      divergenceBackwardCpu(as32(a), as32(b), m, as32(aux), as32(w), as32(da), N, V, kind, beta);
      expect([...da.subarray(V, 2 * V)].every((x) => x === 0)).toBe(true); // nor does it get a gradient
      const eps = 1e-6;
      const num: number[] = [];
      for (let i = 0; i < a.length; i++) {
        const x0 = a[i];
        a[i] = x0 + eps;
        const up = loss();
        a[i] = x0 - eps;
        const down = loss();
        a[i] = x0;
        num.push((up - down) / (2 * eps));
      }
      expectClose(`${name} d/da`, da, num, { atol: 1e-7, rtol: 1e-5 });
    });
  }

  it("take JSD at beta 0 and 1 as the forward and reverse KL (TRL's special cases), and refuse a beta outside [0, 1]", async () => {
    const dev = await g.createDevice('cpu');
    try {
      const r = rng(3);
      const [N, V] = [3, 17];
      const a = dev.upload(randn(r, N * V, 2), [N, V]);
      const b = dev.upload(randn(r, N * V, 2), [N, V]);
      const mask = dev.upload(Float32Array.of(1, 1, 1), [N]);
      const get = async (o: g.DivergenceOptions) => Array.from((await dev.download(g.divergence(dev, a, b, mask, o).out)) as F);
      expect(await get({ kind: 'jsd', beta: 0 })).toEqual(await get({ kind: 'forward_kl' }));
      expect(await get({ kind: 'jsd', beta: 1 })).toEqual(await get({ kind: 'reverse_kl' }));
      const mid = await get({ kind: 'jsd', beta: 0.5 });
      const rev = await get({ kind: 'reverse_kl' });
      // the JSD is bounded by ln 2 and differs from either KL
      for (let n = 0; n < N; n++) {
        expect(mid[n]).toBeLessThan(Math.log(2));
        expect(mid[n]).not.toBeCloseTo(rev[n], 3);
      }
      expect(() => g.divergence(dev, a, b, mask, { kind: 'jsd', beta: 1.5 })).toThrow(/beta must be in \[0, 1\]/);
    } finally {
      dev.destroy();
    }
  });
});
