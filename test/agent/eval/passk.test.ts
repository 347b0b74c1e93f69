import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomialRatio, passAtK, passCurve, passHatK } from '../../../agent/eval/index.js';

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return r;
}

describe('pass@k and pass^k', () => {
  it('gives pass^2 = 1/6 and pass@2 = 5/6 for n = 4 trials with c = 2 successes', () => {
    expect(passHatK(4, 2, 2)).toBeCloseTo(1 / 6, 12);
    expect(passAtK(4, 2, 2)).toBeCloseTo(5 / 6, 12);
  });

  it('reduces to the success rate at k = 1', () => {
    expect(passHatK(4, 3, 1)).toBeCloseTo(0.75, 12);
    expect(passAtK(4, 3, 1)).toBeCloseTo(0.75, 12);
  });

  it('gives 0 and 1 at the extremes', () => {
    expect(passHatK(5, 4, 5)).toBe(0);
    expect(passAtK(5, 1, 5)).toBe(1);
    expect(passAtK(5, 0, 3)).toBe(0);
    expect(passHatK(5, 5, 5)).toBe(1);
  });

  it('matches the binomial formula on small cases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.nat(), fc.nat(), (n, cr, kr) => {
        const c = cr % (n + 1);
        const k = 1 + (kr % n);
        expect(passHatK(n, c, k)).toBeCloseTo(choose(c, k) / choose(n, k), 10);
        expect(passAtK(n, c, k)).toBeCloseTo(1 - choose(n - c, k) / choose(n, k), 10);
      }),
    );
  });

  it('stays finite and exact where the binomials themselves overflow a double', () => {
    // C(2000, 1000) ~ 2e600 overflows; the ratio C(1999, 1000) / C(2000, 1000) = 1000 / 2000.
    expect(binomialRatio(1999, 2000, 1000)).toBeCloseTo(0.5, 12);
    expect(passHatK(2000, 2000, 1000)).toBe(1);
  });

  it('rejects k outside 1..n', () => {
    expect(() => passHatK(3, 1, 4)).toThrow(RangeError);
    expect(() => passAtK(3, 1, 0)).toThrow(RangeError);
  });

  it('averages over tasks and skips tasks with fewer than k trials', () => {
    const curve = passCurve(
      [
        { n: 4, c: 2 },
        { n: 4, c: 4 },
        { n: 1, c: 1 },
      ],
      2,
    );
    expect(curve[0]).toMatchObject({ k: 1, tasks: 3 });
    expect(curve[0]?.passHat).toBeCloseTo((0.5 + 1 + 1) / 3, 12);
    expect(curve[1]).toMatchObject({ k: 2, tasks: 2 });
    expect(curve[1]?.passHat).toBeCloseTo((1 / 6 + 1) / 2, 12);
    expect(curve[1]?.passAt).toBeCloseTo((5 / 6 + 1) / 2, 12);
  });
});
