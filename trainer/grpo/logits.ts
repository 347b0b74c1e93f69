/**
 * The losses' link to logits: per-token log-probs and entropy and their gradient (host reference,
 * `trainer/model/reference/logprob.ts`; on a device, gpu/ops/logprob through `ModelRunner`), and
 * global-norm gradient clipping of host arrays.
 */
export { logitsGrad, type TokenStats, tokenStats } from '../model/reference/logprob.js';
export { clipGradNorm } from '../optim/index.js';
