/**
 * Training passes over sequences that share a prefix (the system prompt, tool list and, within a
 * GRPO group, the task): the prefix is run forward once, every sequence continues from its keys
 * and values, and the prefix's backward runs once with the gradients all sequences sent to it
 * (through its logits rows and its keys/values). Exactly the gradient of separate passes, at the
 * cost of one prefix instead of B.
 */
import type { Transformer } from './transformer.js';

/** Longest common prefix length of all sequences. */
export function commonPrefixLength(seqs: readonly (readonly number[])[]): number {
  if (seqs.length === 0) return 0;
  let n = Math.min(...seqs.map((s) => s.length));
  const first = seqs[0];
  for (const s of seqs) {
    let i = 0;
    while (i < n && s[i] === first[i]) i++;
    n = i;
  }
  return n;
}

/**
 * For each input (N_i tokens) calls `lossGrad(i, logits (N_i, V))`, which returns dlogits of the
 * same shape (or null to contribute nothing), and accumulates the parameter gradients of all.
 * `minPrefix`: below this shared length, sequences are simply run one by one.
 */
export function sharedPrefixPass(
  model: Transformer,
  inputs: readonly (readonly number[])[],
  lossGrad: (i: number, logits: Float32Array) => Float32Array | null,
  minPrefix = 8,
): void {
  const V = model.config.vocabSize;
  // each sequence keeps at least one own token so every continuation is a real chunk
  const P = Math.min(commonPrefixLength(inputs), Math.min(...inputs.map((s) => s.length)) - 1);
  if (inputs.length < 2 || P < minPrefix) {
    inputs.forEach((ids, i) => {
      const r = model.forwardChunk(ids, { train: true });
      const d = lossGrad(i, r.logits);
      if (d && r.saved) model.backwardChunk(r.saved, d);
    });
    return;
  }
  const c = model.config;
  const pre = model.forwardChunk(inputs[0].slice(0, P), { train: true });
  const preSaved = pre.saved as NonNullable<typeof pre.saved>;
  const w = c.kvHeads * c.headDim;
  const acc = {
    k: Array.from({ length: c.layers }, () => new Float32Array(P * w)),
    v: Array.from({ length: c.layers }, () => new Float32Array(P * w)),
  };
  const dPre = new Float32Array(P * V);
  let any = false;
  inputs.forEach((ids, i) => {
    const own = model.forwardAfter(preSaved, ids.slice(P));
    const full = new Float32Array(ids.length * V);
    full.set(pre.logits);
    full.set(own.logits, P * V);
    const d = lossGrad(i, full);
    if (!d) return;
    any = true;
    for (let j = 0; j < P * V; j++) dPre[j] += d[j];
    model.backwardChunk(own.saved, d.subarray(P * V), acc);
  });
  if (any) model.backwardChunk(preSaved, dPre, undefined, acc);
}
