/**
 * Unbiased estimators over n trials of one task with c successes (see ALGORITHMS.md, *Evaluation*):
 *
 *   pass@k = 1 - C(n-c, k) / C(n, k)     at least one of k draws (without replacement) succeeds
 *   pass^k = C(c, k) / C(n, k)           all k draws succeed (tau-bench)
 *
 * Binomials are never formed: C(a, k) / C(n, k) = prod_{i<k} (a - i) / (n - i), a product of ratios
 * in [0, 1], so n in the thousands neither overflows nor loses precision.
 */

/** C(a, k) / C(n, k) for 0 <= a <= n and 1 <= k <= n, as a product of k ratios. */
export function binomialRatio(a: number, n: number, k: number): number {
  if (!(Number.isInteger(a) && Number.isInteger(n) && Number.isInteger(k))) {
    throw new RangeError(`binomialRatio needs integers, got a=${a} n=${n} k=${k}`);
  }
  if (k < 0 || k > n || a < 0 || a > n)
    throw new RangeError(`binomialRatio needs 0 <= k <= n and 0 <= a <= n, got a=${a} n=${n} k=${k}`);
  if (k > a) return 0;
  let r = 1;
  for (let i = 0; i < k; i++) r *= (a - i) / (n - i);
  return r;
}

/** pass@k for one task: probability that at least one of k trials drawn from the n succeeds. */
export function passAtK(n: number, c: number, k: number): number {
  if (k < 1 || k > n) throw new RangeError(`pass@k needs 1 <= k <= n, got n=${n} k=${k}`);
  if (c < 0 || c > n) throw new RangeError(`pass@k needs 0 <= c <= n, got n=${n} c=${c}`);
  return 1 - binomialRatio(n - c, n, k);
}

/** pass^k for one task: probability that all k trials drawn from the n succeed. */
export function passHatK(n: number, c: number, k: number): number {
  if (k < 1 || k > n) throw new RangeError(`pass^k needs 1 <= k <= n, got n=${n} k=${k}`);
  if (c < 0 || c > n) throw new RangeError(`pass^k needs 0 <= c <= n, got n=${n} c=${c}`);
  return binomialRatio(c, n, k);
}

export interface TaskCount {
  /** Trials of the task that count (aborted ones excluded). */
  n: number;
  /** Successful trials. */
  c: number;
}

export interface PassCurvePoint {
  k: number;
  passAt: number;
  passHat: number;
  /** Tasks with n >= k that the averages are taken over. */
  tasks: number;
}

/**
 * pass@k and pass^k for k = 1..maxK averaged over tasks. A task with fewer than k counted trials
 * (some aborted) has no estimate at that k and is left out of that k's average (`tasks` says how many
 * were averaged); a k no task reaches gets NaN.
 */
export function passCurve(counts: readonly TaskCount[], maxK: number): PassCurvePoint[] {
  const out: PassCurvePoint[] = [];
  for (let k = 1; k <= maxK; k++) {
    let at = 0;
    let hat = 0;
    let m = 0;
    for (const { n, c } of counts) {
      if (n < k) continue;
      at += passAtK(n, c, k);
      hat += passHatK(n, c, k);
      m++;
    }
    out.push({ k, passAt: m ? at / m : Number.NaN, passHat: m ? hat / m : Number.NaN, tasks: m });
  }
  return out;
}
