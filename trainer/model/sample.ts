/**
 * Seeded next-token sampling from one row of logits: temperature, top-k, top-p.
 *
 * The returned log-probability is that of the temperature-scaled FULL distribution (before top-k /
 * top-p truncation): the trainer scores tokens with `log_softmax(logits / T)`, so behaviour and
 * training log-probs agree exactly when top-k and top-p are off (the training default).
 */
import type { Rng } from '../../tools/index.js';

export interface SamplingOptions {
  /** 0 means greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables. */
  topP: number;
  /** Keep the k most likely ids; 0 disables. */
  topK: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { temperature: 1, topP: 1, topK: 0 };

/**
 * The Qwen3 model card's sampling per mode: thinking T 0.6, top-p 0.95, top-k 20; non-thinking
 * T 0.7, top-p 0.8, top-k 20. A run's held-out evaluation samples with it, and so does a
 * `builtin:<checkpoint>` policy given no sampling options.
 */
export const QWEN3_SAMPLING: Readonly<Record<'think' | 'no_think', SamplingOptions>> = {
  think: { temperature: 0.6, topP: 0.95, topK: 20 },
  no_think: { temperature: 0.7, topP: 0.8, topK: 20 },
};

/** row: (V) logits -> sampled id and its log-prob under softmax(row / T). */
export function sampleToken(row: Float32Array, opts: SamplingOptions, rng: Rng): { id: number; logp: number } {
  const V = row.length;
  const T = opts.temperature > 0 ? opts.temperature : 1;
  let mx = -Infinity;
  let arg = 0;
  for (let v = 0; v < V; v++)
    if (row[v] > mx) {
      mx = row[v];
      arg = v;
    }
  const p = new Float64Array(V);
  let sum = 0;
  for (let v = 0; v < V; v++) {
    p[v] = Math.exp((row[v] - mx) / T);
    sum += p[v];
  }
  const logpOf = (id: number) => Math.log(p[id] / sum);
  if (opts.temperature <= 0) return { id: arg, logp: logpOf(arg) };
  let ids: number[] | undefined;
  if (opts.topK > 0 || opts.topP < 1) {
    // the candidates in order: most likely first, ties by smaller id
    ids =
      opts.topK > 0 && opts.topK < V
        ? topKIds(p, opts.topK)
        : Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    if (opts.topK > 0) ids = ids.slice(0, opts.topK);
    if (opts.topP < 1) {
      let acc = 0;
      const keep: number[] = [];
      for (const id of ids) {
        keep.push(id);
        acc += p[id] / sum;
        if (acc >= opts.topP) break;
      }
      ids = keep;
    }
  }
  const cand = ids ?? null;
  let total = 0;
  if (cand) for (const id of cand) total += p[id];
  else total = sum;
  let r = rng.next() * total;
  if (cand) {
    for (const id of cand) {
      r -= p[id];
      if (r <= 0) return { id, logp: logpOf(id) };
    }
    const last = cand[cand.length - 1];
    return { id: last, logp: logpOf(last) };
  }
  for (let v = 0; v < V; v++) {
    r -= p[v];
    if (r <= 0) return { id: v, logp: logpOf(v) };
  }
  return { id: arg, logp: logpOf(arg) };
}

/**
 * The k ids of largest p, most likely first and ties by smaller id: the first k of a full sort by
 * that order, found in one pass over the vocabulary (sampling keeps top-k 20 of ~1k-150k ids).
 */
export function topKIds(p: Float64Array, k: number): number[] {
  const top: number[] = [];
  for (let v = 0; v < p.length; v++) {
    const x = p[v];
    // ids arrive in increasing order, so an equal p never displaces one already kept
    if (top.length === k && !(x > p[top[k - 1]])) continue;
    let j = top.length;
    while (j > 0 && x > p[top[j - 1]]) j--;
    top.splice(j, 0, v);
    if (top.length > k) top.pop();
  }
  return top;
}
