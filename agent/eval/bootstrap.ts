/**
 * Percentile bootstrap over tasks: episodes of one task are not independent (same prompt, same
 * difficulty), so whole tasks are resampled with replacement, never single episodes.
 *
 * Every metric is a ratio of sums over task units, `sum(num) / sum(den)`: a counter rate (valid
 * calls / attempted calls) or a task mean (num = the task's estimate, den = 1 when the task counts).
 * One resample draws the task multiset once and evaluates every metric on it.
 */
import { Rng } from '../../tools/index.js';

export interface BootstrapOptions {
  /** Resamples; 0 turns intervals off. */
  samples: number;
  seed: number;
  /** Two-sided coverage, e.g. 0.95. */
  confidence: number;
  /** Cap on resamples x task units x columns (see `effectiveSamples`); default 2.5e8 (about a quarter second). */
  maxWork?: number;
}

export const DEFAULT_MAX_WORK = 2.5e8;

export const DEFAULT_BOOTSTRAP: BootstrapOptions = { samples: 1000, seed: 0, confidence: 0.95 };

/** A metric as per-unit numerator and denominator vectors, each of length U. */
export interface RatioSeries {
  num: Float64Array;
  den: Float64Array;
}

/** Linear-interpolated quantile of a sorted array (q in [0, 1]). */
export function quantileSorted(sorted: Float64Array | readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const w = pos - lo;
  return (sorted[lo] as number) * (1 - w) + (sorted[hi] as number) * w;
}

/**
 * Resamples actually drawn: `opts.samples`, lowered for very large evaluations so that
 * resamples x units x columns stays within `opts.maxWork` (never below 200, the least that gives
 * stable 95% percentile endpoints). The metrics record the number used.
 */
export function effectiveSamples(opts: BootstrapOptions, units: number, columns: number): number {
  if (opts.samples <= 0 || units === 0 || columns === 0) return 0;
  const budget = opts.maxWork ?? DEFAULT_MAX_WORK;
  const fit = Math.floor(budget / (units * columns));
  return Math.min(opts.samples, Math.max(200, fit));
}

/**
 * Percentile intervals `[lo, hi]` for each ratio `sum(columns[num]) / sum(columns[den])`. Metrics
 * share columns (many rates divide by the same episode or turn count), so each column is summed
 * once per resample. A resample whose denominator sums to 0 (no task drawn had, say, any failed call
 * to recover from) gives no value; intervals use the resamples that do. Deterministic in `opts.seed`.
 */
export function bootstrapColumns(
  columns: readonly Float64Array[],
  ratios: ReadonlyArray<readonly [number, number]>,
  units: number,
  opts: BootstrapOptions,
): { intervals: Array<[number, number] | undefined>; samples: number } {
  // Only the columns some ratio reads are resampled.
  const used = [...new Set(ratios.flat())].sort((a, b) => a - b);
  const samples = effectiveSamples(opts, units, used.length);
  if (samples === 0) return { intervals: ratios.map(() => undefined), samples: 0 };
  // A constant column (all ones, say) sums to units x value in every resample: no pass needed.
  const constant = new Map<number, number>();
  for (const j of used) {
    const col = columns[j] as Float64Array;
    const v = col[0] as number;
    let same = true;
    for (let u = 1; u < units && same; u++) same = col[u] === v;
    if (same) constant.set(j, v);
  }
  const varying = used.filter((j) => !constant.has(j));
  const m = ratios.length;
  // reps: (M, B) metric-major so each metric's values sort in place.
  const reps = new Float64Array(m * samples);
  const filled = new Int32Array(m);
  const sums = new Float64Array(columns.length);
  // weights: (U) times each unit was drawn in this resample; a column's sum is then one
  // sequential dot product (far cheaper than gathering random rows).
  const weights = new Float64Array(units);
  // mulberry32 inlined: 25M draws per 1000 resamples of 25k tasks make the call overhead count.
  let state = new Rng(opts.seed).uint32();
  for (let b = 0; b < samples; b++) {
    weights.fill(0);
    for (let i = 0; i < units; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      weights[Math.floor((((t ^ (t >>> 14)) >>> 0) * units) / 4294967296)] += 1;
    }
    for (const [j, v] of constant) sums[j] = v * units;
    for (const j of varying) {
      const col = columns[j] as Float64Array;
      let acc = 0;
      for (let u = 0; u < units; u++) acc += (weights[u] as number) * (col[u] as number);
      sums[j] = acc;
    }
    for (let r = 0; r < m; r++) {
      const [nj, dj] = ratios[r] as readonly [number, number];
      const sd = sums[dj] as number;
      if (sd > 0) {
        reps[r * samples + (filled[r] as number)] = (sums[nj] as number) / sd;
        filled[r] += 1;
      }
    }
  }
  const alpha = (1 - opts.confidence) / 2;
  const intervals: Array<[number, number] | undefined> = [];
  for (let r = 0; r < m; r++) {
    const f = filled[r] as number;
    if (f === 0) {
      intervals.push(undefined);
      continue;
    }
    const vals = reps.subarray(r * samples, r * samples + f).sort();
    intervals.push([quantileSorted(vals, alpha), quantileSorted(vals, 1 - alpha)]);
  }
  return { intervals, samples };
}

/** `bootstrapColumns` for metrics given as separate numerator / denominator vectors. */
export function bootstrapIntervals(
  series: readonly RatioSeries[],
  units: number,
  opts: BootstrapOptions,
): Array<[number, number] | undefined> {
  const columns: Float64Array[] = [];
  const ratios: Array<[number, number]> = [];
  for (const s of series) {
    columns.push(s.num, s.den);
    ratios.push([columns.length - 2, columns.length - 1]);
  }
  return bootstrapColumns(columns, ratios, units, opts).intervals;
}
