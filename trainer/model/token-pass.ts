/**
 * The host side of a token pass (`ModelRunner.tokenTrainPass`): per-token values to and from the
 * device, and the split of a batch into runs of sequences that share a loss-free prefix (a GRPO
 * group's prompt), which the device runs once per run.
 */
import type { TokenStats } from './reference/logprob.js';

/** A token loss's answer for one sequence: d loss / d logp (T) and, optionally, d loss / d entropy (T). */
export interface TokenGrad {
  dlogp: ArrayLike<number>;
  dEntropy?: ArrayLike<number>;
}

/** Per-token log-probs of `targets` (T); -1 marks a position without a target (its values are 0). */
export function hostStats(logp: Float32Array, entropy: Float32Array, targets: Int32Array): TokenStats {
  const st = { logp: Float64Array.from(logp), entropy: Float64Array.from(entropy) };
  for (let t = 0; t < targets.length; t++) if (targets[t] < 0) st.entropy[t] = 0;
  return st;
}

/**
 * Rows [from, from + T) of a per-token gradient as f32, zeroed where there is no target (the host
 * reference skips those rows). targets: (T), the same rows.
 */
export function rowGrad(g: ArrayLike<number>, targets: Int32Array, from = 0): Float32Array {
  const out = new Float32Array(targets.length);
  for (let t = 0; t < out.length; t++) out[t] = targets[t] < 0 ? 0 : g[from + t];
  return out;
}

/** Stats of rows [from, ...) extended to the whole sequence: the `from` shared rows carry no target. */
export function withLeadingZeros(st: TokenStats, from: number): TokenStats {
  const logp = new Float64Array(from + st.logp.length);
  const entropy = new Float64Array(logp.length);
  logp.set(st.logp, from);
  entropy.set(st.entropy, from);
  return { logp, entropy };
}

/** Below this many shared rows, sequences simply run one by one. */
const MIN_SHARED_PREFIX = 8;

/** Consecutive inputs [start, end) whose first P rows are shared and loss-free (P = 0: none). */
export interface PrefixRun {
  start: number;
  end: number;
  P: number;
}

/**
 * The rows inputs a and b share that neither computes a loss on, leaving each at least one row
 * of its own; `upTo` caps it (the run's current prefix).
 */
function lossFreeShared(a: readonly number[], b: readonly number[], ta: Int32Array, tb: Int32Array, upTo: number): number {
  const n = Math.min(upTo, a.length - 1, b.length - 1);
  let P = 0;
  while (P < n && a[P] === b[P] && ta[P] < 0 && tb[P] < 0) P++;
  return P;
}

/**
 * Splits the inputs into runs of consecutive ones with a shared loss-free prefix: a GRPO group's
 * completions share their prompt. An input joins the current run while the run's prefix stays at
 * least MIN_SHARED_PREFIX rows and shrinks by no more than a quarter (a new task's group starts a
 * new run rather than cutting the previous group's prompt down to the system prompt).
 */
export function sharedPrefixRuns(inputs: readonly (readonly number[])[], targets: readonly Int32Array[]): PrefixRun[] {
  const runs: PrefixRun[] = [];
  let cur: PrefixRun | undefined;
  for (let i = 0; i < inputs.length; i++) {
    if (cur) {
      const s = cur.start;
      const P = lossFreeShared(inputs[s], inputs[i], targets[s], targets[i], cur.P === 0 ? Infinity : cur.P);
      const first = cur.end - cur.start === 1;
      if (P >= MIN_SHARED_PREFIX && (first || 4 * P >= 3 * cur.P)) {
        cur.P = P;
        cur.end = i + 1;
        continue;
      }
      runs.push(cur);
    }
    cur = { start: i, end: i + 1, P: 0 };
  }
  if (cur) runs.push(cur);
  return runs;
}
