/**
 * Host reference of gpu/ops/logprob: from logits to per-token log-probabilities and entropy, and
 * back: `d loss / d logits` from `d loss / d logp` (and `d loss / d H` for an entropy term). The
 * host model runs SFT and GRPO through these; on a device the op does the same on the device.
 *
 * Row t of `logits` (T, V) is the distribution of the token at position t + 1; `targets[t]` is that
 * token, or -1 where the position carries no loss. Sampling temperature tau divides the logits, so
 * training log-probs match the distribution the behaviour policy sampled from.
 */

export interface TokenStats {
  /** log p(target) per row: (T); 0 where target is -1. */
  logp: Float64Array;
  /** Full-vocabulary entropy per row: (T); 0 where target is -1. */
  entropy: Float64Array;
}

/** log Σ_v exp(z_v / τ) of one row of logits starting at `o` (`inv` = 1/τ), max-shifted for stability. */
function rowLse(logits: Float32Array, o: number, V: number, inv: number): number {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) mx = Math.max(mx, logits[o + v] * inv);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(logits[o + v] * inv - mx);
  return mx + Math.log(s);
}

/** logits: (T, V), targets: (T) -> per-row log-prob of the target and entropy. */
export function tokenStats(logits: Float32Array, V: number, targets: ArrayLike<number>, temperature = 1): TokenStats {
  const T = targets.length;
  const logp = new Float64Array(T);
  const entropy = new Float64Array(T);
  const inv = 1 / temperature;
  for (let t = 0; t < T; t++) {
    const y = targets[t];
    if (y < 0) continue;
    const o = t * V;
    const lse = rowLse(logits, o, V, inv);
    let h = 0;
    for (let v = 0; v < V; v++) {
      const lp = logits[o + v] * inv - lse;
      h -= Math.exp(lp) * lp;
    }
    logp[t] = logits[o + y] * inv - lse;
    entropy[t] = h;
  }
  return { logp, entropy };
}

/**
 * dlogits: (T, V) from dlogp: (T) and optional dEntropy: (T).
 * d logp_y / d z_v = (1[v=y] - p_v) / tau;  d H / d z_v = -p_v (log p_v + H) / tau.
 */
export function logitsGrad(
  logits: Float32Array,
  V: number,
  targets: ArrayLike<number>,
  dlogp: ArrayLike<number>,
  dEntropy?: ArrayLike<number>,
  temperature = 1,
): Float32Array {
  const T = targets.length;
  const out = new Float32Array(T * V);
  const inv = 1 / temperature;
  const lp = new Float64Array(V);
  for (let t = 0; t < T; t++) {
    const y = targets[t];
    const gl = dlogp[t];
    const ge = dEntropy ? dEntropy[t] : 0;
    if (y < 0 || (gl === 0 && ge === 0)) continue;
    const o = t * V;
    const lse = rowLse(logits, o, V, inv);
    let h = 0;
    for (let v = 0; v < V; v++) {
      lp[v] = logits[o + v] * inv - lse;
      h -= Math.exp(lp[v]) * lp[v];
    }
    for (let v = 0; v < V; v++) {
      const p = Math.exp(lp[v]);
      let g = -gl * p;
      if (ge !== 0) g -= ge * p * (lp[v] + h);
      out[o + v] = g * inv;
    }
    out[o + y] += gl * inv;
  }
  return out;
}
