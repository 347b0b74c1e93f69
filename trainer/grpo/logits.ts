/**
 * From logits to per-token log-probabilities and entropy, and back: `d loss / d logits` from
 * `d loss / d logp` (and `d loss / d H` for an entropy term). Shared by SFT and GRPO.
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
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[o + v] * inv);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[o + v] * inv - mx);
    const lse = mx + Math.log(s);
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
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[o + v] * inv);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[o + v] * inv - mx);
    const lse = mx + Math.log(s);
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

/** Global L2 norm of a list of gradient buffers, then scale them in place to at most maxNorm. Returns the norm before clipping. */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  const norm = Math.sqrt(ss);
  if (maxNorm > 0 && norm > maxNorm && Number.isFinite(norm)) {
    const c = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= c;
  }
  return norm;
}
