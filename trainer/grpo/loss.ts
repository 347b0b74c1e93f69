/**
 * The GRPO policy loss as pure functions (ALGORITHMS.md): token-level clipped surrogate with
 * eps_low / eps_high, an aggregation chosen from a table, and the optional k3 KL to a reference.
 *
 * Shapes: B sequences; sequence i has T_i loss positions. Per-token arrays are ragged `(B)(T_i)`.
 * Each function returns the scalar, its gradient with respect to the per-token log-probabilities
 * (`dlogp`, same ragged shape) and metrics; turning `dlogp` into `dlogits` is `logits.ts`'s job.
 * Mask-0 positions (prompt, tool output, injected budget text) get weight 0 and so no gradient.
 */

export type LossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export const LOSS_TYPES: readonly LossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

export type Ragged = ArrayLike<number>[];

export interface AggregationContext {
  /** dr_grpo: the constant normaliser's L_max; defaults to the longest masked completion in the batch. */
  maxCompletionLen?: number;
  /** dapo: masked tokens in the whole global batch (all micro-batches); defaults to this batch's. */
  globalTokens?: number;
}

/** mask: (B)(T_i) -> weights: (B)(T_i) with loss = sum_{i,t} w_{i,t} * l_{i,t}. */
export type LossFn = (mask: Ragged, ctx: AggregationContext) => Float64Array[];

function maskedCount(m: ArrayLike<number>): number {
  let n = 0;
  for (let t = 0; t < m.length; t++) if (m[t]) n++;
  return n;
}

function weightsWith(mask: Ragged, perSeq: (i: number, n: number) => number): Float64Array[] {
  return mask.map((m, i) => {
    const n = maskedCount(m);
    const c = n > 0 ? perSeq(i, n) : 0;
    const w = new Float64Array(m.length);
    for (let t = 0; t < m.length; t++) w[t] = m[t] ? c : 0;
    return w;
  });
}

const totalMasked = (mask: Ragged): number => mask.reduce((s, m) => s + maskedCount(m), 0);

/** The four aggregations: how per-token losses become one scalar. */
export const AGGREGATIONS: Record<LossType, LossFn> = {
  // mean_i ( sum_t m*l / sum_t m ): per-sequence mean, then mean over sequences
  grpo: (mask) => {
    const B = mask.length;
    return weightsWith(mask, (_i, n) => 1 / (n * B));
  },
  // sum m*l / sum m over the local batch
  bnpo: (mask) => {
    const N = Math.max(1, totalMasked(mask));
    return weightsWith(mask, () => 1 / N);
  },
  // sum m*l / (B * L_max): constant normaliser, no length bias
  dr_grpo: (mask, ctx) => {
    const B = mask.length;
    const L = ctx.maxCompletionLen ?? Math.max(1, ...mask.map(maskedCount));
    return weightsWith(mask, () => 1 / (B * L));
  },
  // sum m*l / (tokens in the global batch)
  dapo: (mask, ctx) => {
    const N = Math.max(1, ctx.globalTokens ?? totalMasked(mask));
    return weightsWith(mask, () => 1 / N);
  },
};

export interface PolicyLossInput {
  /** Current policy log-probs of the sampled tokens: (B)(T_i). */
  logp: Ragged;
  /** Behaviour log-probs (recorded at sampling): (B)(T_i). */
  oldLogp: Ragged;
  /** Frozen reference log-probs, needed only when beta > 0: (B)(T_i). */
  refLogp?: Ragged;
  /** 1 on policy-sampled tokens: (B)(T_i). */
  mask: Ragged;
  /** One advantage per sequence: (B). */
  adv: ArrayLike<number>;
  /**
   * Precomputed aggregation weights (B)(T_i). The loop computes them once for the whole batch and
   * then evaluates one sequence at a time (so only one sequence's activations are alive).
   */
  weights?: Float64Array[];
}

export interface PolicyLossOptions extends AggregationContext {
  lossType: LossType;
  epsLow: number;
  epsHigh: number;
  /** KL coefficient; 0 disables the reference term. */
  beta: number;
}

export interface PolicyLossMetrics {
  /** Fraction of masked tokens where the clipped branch was taken (its gradient is zero). */
  clipFrac: number;
  /** Token-mean k3 KL to the reference (0 when beta = 0). */
  kl: number;
  /** Token-mean importance ratio. */
  ratioMean: number;
  /** Masked tokens that entered the loss. */
  tokens: number;
}

export interface PolicyLossResult {
  loss: number;
  /** d loss / d logp: (B)(T_i). */
  dlogp: Float64Array[];
  /** The aggregation weights used (reused to aggregate entropy like the loss). */
  weights: Float64Array[];
  metrics: PolicyLossMetrics;
}

/** verl's clamps for the k3 estimator. */
const KL_LOG_RATIO_CLAMP = 20;
const KL_VALUE_CLAMP = 10;

/**
 * k3 estimator of KL(pi || pi_ref) at one token and its derivative with respect to logp.
 * d = clamp(ref - logp, +-20); kl = clamp(exp(d) - d - 1, +-10). Where a clamp is active the
 * gradient is 0 (as autograd through torch.clamp gives).
 */
export function k3(logp: number, refLogp: number): { kl: number; dkl: number } {
  const raw = refLogp - logp;
  const d = Math.max(-KL_LOG_RATIO_CLAMP, Math.min(KL_LOG_RATIO_CLAMP, raw));
  const ed = Math.exp(d);
  const klRaw = ed - d - 1;
  const kl = Math.max(-KL_VALUE_CLAMP, Math.min(KL_VALUE_CLAMP, klRaw));
  const dClamped = d !== raw || kl !== klRaw;
  // d kl / d logp = (exp(d) - 1) * d(d)/d(logp) = -(exp(d) - 1)
  return { kl, dkl: dClamped ? 0 : 1 - ed };
}

/**
 * One token of the clipped surrogate: l = -min(ratio*A, clip(ratio, 1-eL, 1+eH)*A) and dl/dlogp.
 * When the clipped branch is strictly smaller the gradient is 0 (the clamp is flat there).
 */
export function clippedSurrogate(
  logp: number,
  oldLogp: number,
  adv: number,
  epsLow: number,
  epsHigh: number,
): { l: number; dl: number; clipped: boolean; ratio: number } {
  const ratio = Math.exp(logp - oldLogp);
  const clippedRatio = Math.max(1 - epsLow, Math.min(1 + epsHigh, ratio));
  const unclipped = ratio * adv;
  const clipped = clippedRatio * adv;
  if (clipped < unclipped) return { l: -clipped, dl: 0, clipped: true, ratio };
  return { l: -unclipped, dl: -adv * ratio, clipped: false, ratio };
}

/** The GRPO policy loss: surrogate (+ beta * k3 KL), aggregated by `opts.lossType`. */
export function policyLoss(input: PolicyLossInput, opts: PolicyLossOptions): PolicyLossResult {
  const { logp, oldLogp, refLogp, mask, adv } = input;
  const B = logp.length;
  if (oldLogp.length !== B || mask.length !== B || adv.length !== B)
    throw new RangeError(
      `policyLoss: batch sizes differ (logp ${B}, oldLogp ${oldLogp.length}, mask ${mask.length}, adv ${adv.length})`,
    );
  if (opts.beta > 0 && !refLogp) throw new RangeError('policyLoss: beta > 0 needs refLogp (the frozen reference log-probs)');
  const weights = input.weights ?? AGGREGATIONS[opts.lossType](mask, opts);
  let loss = 0;
  let tokens = 0;
  let clippedN = 0;
  let klSum = 0;
  let ratioSum = 0;
  const dlogp: Float64Array[] = [];
  for (let i = 0; i < B; i++) {
    const T = logp[i].length;
    const g = new Float64Array(T);
    const w = weights[i];
    for (let t = 0; t < T; t++) {
      if (!mask[i][t]) continue;
      const s = clippedSurrogate(logp[i][t], oldLogp[i][t], adv[i], opts.epsLow, opts.epsHigh);
      let l = s.l;
      let dl = s.dl;
      if (opts.beta > 0 && refLogp) {
        const k = k3(logp[i][t], refLogp[i][t]);
        l += opts.beta * k.kl;
        dl += opts.beta * k.dkl;
        klSum += k.kl;
      }
      loss += w[t] * l;
      g[t] = w[t] * dl;
      tokens++;
      if (s.clipped) clippedN++;
      ratioSum += s.ratio;
    }
    dlogp.push(g);
  }
  const n = Math.max(1, tokens);
  return {
    loss,
    dlogp,
    weights,
    metrics: { clipFrac: clippedN / n, kl: klSum / n, ratioMean: tokens ? ratioSum / n : 1, tokens },
  };
}
