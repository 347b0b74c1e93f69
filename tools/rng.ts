/**
 * Seeded pseudo-random numbers: every bit of randomness in envs/, agent/ and trainer/ flows from a
 * seed through this file, so the same seed always gives the same tasks, tool results and samples.
 *
 * Two generators:
 *  - `mulberry32`: one 32-bit word of state; tiny and fast, good enough for task generation.
 *  - `sfc32`: 128 bits of state (Chris Doty-Humphrey's Small Fast Counting generator); passes
 *    PractRand to large sizes, the default for `Rng`.
 * Seeds are expanded with `splitmix32` so that nearby seeds (0, 1, 2, ...) give unrelated streams.
 */

/** A generator returns uniform floats in [0, 1). */
export type RandomFn = () => number;

export type RngAlgorithm = 'sfc32' | 'mulberry32';

const TWO_32 = 4294967296;

/** One step of splitmix32 (Stafford-style mixer): spreads a 32-bit seed over all bits. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a 32-bit hash of a string: turns labels into seed material. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes any number of 32-bit values (and strings) into one 32-bit seed. */
export function mixSeed(...parts: Array<number | string>): number {
  let h = 0x2545f491;
  for (const p of parts) {
    const v = typeof p === 'string' ? hashString(p) : toUint32(p);
    h = Math.imul(h ^ v, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Any finite number (including negatives and seeds above 2^32) to a uint32, losing no low bits. */
function toUint32(n: number): number {
  if (!Number.isFinite(n)) throw new RangeError(`seed must be a finite number, got ${n}`);
  const i = Math.trunc(n);
  const lo = i >>> 0;
  const hi = Math.floor(i / TWO_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
}

/** mulberry32: 32-bit state, returns floats in [0, 1). */
export function mulberry32(seed: number): RandomFn {
  let a = toUint32(seed);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  };
}

/** sfc32 seeded through splitmix32; returns floats in [0, 1). */
export function sfc32(seed: number): RandomFn {
  const sm = splitmix32(toUint32(seed));
  let a = sm();
  let b = sm();
  let c = sm();
  let d = 1;
  const step = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t >>> 0;
  };
  // The first outputs of sfc32 still carry the seed's structure: discard a few.
  for (let i = 0; i < 12; i++) step();
  return () => step() / TWO_32;
}

/**
 * A seeded random stream with the helpers task generators need.
 * `fork(label)` derives an independent child stream, so adding draws in one place never shifts
 * the numbers another place sees.
 */
export class Rng {
  readonly seed: number;
  readonly algorithm: RngAlgorithm;
  private readonly fn: RandomFn;

  constructor(seed: number, algorithm: RngAlgorithm = 'sfc32') {
    this.seed = toUint32(seed);
    this.algorithm = algorithm;
    this.fn = algorithm === 'sfc32' ? sfc32(this.seed) : mulberry32(this.seed);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.fn();
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    return Math.floor(this.fn() * TWO_32) >>> 0;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw new RangeError(`int(lo, hi) needs integers, got ${lo}, ${hi}`);
    if (hi < lo) throw new RangeError(`int(lo, hi) needs lo <= hi, got ${lo} > ${hi}`);
    const span = hi - lo + 1;
    if (span <= TWO_32) return lo + Math.floor(this.fn() * span);
    // Spans wider than 2^32 need more than one draw to reach every value.
    const hiPart = Math.floor(this.fn() * Math.ceil(span / TWO_32));
    return Math.min(hi, lo + hiPart * TWO_32 + Math.floor(this.fn() * TWO_32));
  }

  /** Uniform float in [lo, hi). */
  float(lo: number, hi: number): number {
    return lo + (hi - lo) * this.fn();
  }

  /** True with probability p. */
  bool(p = 0.5): boolean {
    return this.fn() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
    return items[Math.floor(this.fn() * items.length)] as T;
  }

  /** An element chosen with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    if (items.length === 0 || items.length !== weights.length)
      throw new RangeError('weighted() needs equal-length, non-empty arrays');
    const total = weights.reduce((s, w) => s + w, 0);
    let r = this.fn() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return items[i] as T;
    }
    return items[items.length - 1] as T;
  }

  /** Fisher-Yates shuffle into a new array (the input is left alone). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.fn() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** k distinct elements, in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (k > items.length) throw new RangeError(`sample() asked for ${k} of ${items.length} items`);
    return this.shuffle(items).slice(0, k);
  }

  /** An independent child stream named by `label` (same parent seed + label = same child). */
  fork(label: string | number): Rng {
    return new Rng(mixSeed(this.seed, this.algorithm, String(label)), this.algorithm);
  }
}
