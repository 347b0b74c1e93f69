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
}

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
): Array<[number, number] | undefined> {
  if (opts.samples <= 0 || units === 0) return ratios.map(() => undefined);
  const rng = new Rng(opts.seed);
  const c = columns.length;
  const m = ratios.length;
  // table: (U, C) unit-major, so one draw adds one contiguous row.
  const table = new Float64Array(units * c);
  for (let j = 0; j < c; j++) {
    const col = columns[j] as Float64Array;
    for (let u = 0; u < units; u++) table[u * c + j] = col[u] as number;
  }
  // reps: (M, B) metric-major so each metric's values sort in place.
  const reps = new Float64Array(m * opts.samples);
  const filled = new Int32Array(m);
  const sums = new Float64Array(c);
  for (let b = 0; b < opts.samples; b++) {
    sums.fill(0);
    for (let i = 0; i < units; i++) {
      const base = Math.floor(rng.next() * units) * c;
      for (let j = 0; j < c; j++) sums[j] += table[base + j] as number;
    }
    for (let r = 0; r < m; r++) {
      const [nj, dj] = ratios[r] as readonly [number, number];
      const sd = sums[dj] as number;
      if (sd > 0) {
        reps[r * opts.samples + (filled[r] as number)] = (sums[nj] as number) / sd;
        filled[r] += 1;
      }
    }
  }
  const alpha = (1 - opts.confidence) / 2;
  const out: Array<[number, number] | undefined> = [];
  for (let r = 0; r < m; r++) {
    const f = filled[r] as number;
    if (f === 0) {
      out.push(undefined);
      continue;
    }
    const vals = reps.subarray(r * opts.samples, r * opts.samples + f).sort();
    out.push([quantileSorted(vals, alpha), quantileSorted(vals, 1 - alpha)]);
  }
  return out;
}

/** `bootstrapColumns` for metrics given as separate numerator / denominator vectors. */
export function bootstrapIntervals(series: readonly RatioSeries[], units: number, opts: BootstrapOptions): Array<[number, number] | undefined> {
  const columns: Float64Array[] = [];
  const ratios: Array<[number, number]> = [];
  for (const s of series) {
    columns.push(s.num, s.den);
    ratios.push([columns.length - 2, columns.length - 1]);
  }
  return bootstrapColumns(columns, ratios, units, opts);
}
