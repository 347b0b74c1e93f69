import { describe, expect, it } from 'vitest';
import { mixSeed, mulberry32, Rng, sfc32 } from '../../tools/rng.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 20 }, () => a.next());
    const xb = Array.from({ length: 20 }, () => b.next());
    const xc = Array.from({ length: 20 }, () => c.next());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('keeps both generators in [0, 1) with a mean near one half', () => {
    for (const fn of [mulberry32(7), sfc32(7)]) {
      let sum = 0;
      let lo = 1;
      let hi = 0;
      for (let i = 0; i < 20_000; i++) {
        const x = fn();
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        sum += x;
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThan(1);
      expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.02);
    }
  });

  it('reproduces the published mulberry32 sequence for seed 0', () => {
    // Reference values of the canonical mulberry32 (a += 0x6D2B79F5; ...) / 2^32.
    const fn = mulberry32(0);
    const first = Math.floor(fn() * 2 ** 32);
    expect(first).toBe(1144304738);
  });

  it('draws integers in the inclusive range and reaches both ends', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.int(-3, 3));
    expect([...seen].sort((x, y) => x - y)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });

  it('shuffles into a permutation without touching the input', () => {
    const r = new Rng(9);
    const input = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = r.shuffle(input);
    expect(input).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...out].sort((x, y) => x - y)).toEqual(input);
    expect(out).not.toEqual(input);
  });

  it('forks independent, reproducible child streams by label', () => {
    const parent = new Rng(5);
    const a1 = parent.fork('tasks').next();
    parent.next();
    const a2 = parent.fork('tasks').next();
    const b = parent.fork('tools').next();
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b);
  });

  it('picks only from the given items and rejects an empty array', () => {
    const r = new Rng(3);
    for (let i = 0; i < 50; i++) expect(['x', 'y', 'z']).toContain(r.pick(['x', 'y', 'z']));
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it('mixes nearby seeds into unrelated values', () => {
    expect(mixSeed(1, 'a')).not.toBe(mixSeed(2, 'a'));
    expect(mixSeed(1, 'a')).not.toBe(mixSeed(1, 'b'));
    expect(mixSeed(1, 'a')).toBe(mixSeed(1, 'a'));
  });
});
