/**
 * Distillation losses (ALGORITHMS.md, on-policy distillation), chosen from a table. The student S
 * samples; a frozen teacher T scores the student's tokens. Per masked position t (policy-sampled
 * tokens only: prompt, tool output and injected text never enter the loss):
 *
 *   reverse_kl (default): D_t = KL(S_t || T_t) = Σ_v S_v (log S_v - log T_v)
 *   forward_kl          : D_t = KL(T_t || S_t) = Σ_v T_v (log T_v - log S_v)
 *   jsd (β)             : D_t = β KL(T_t || M_t) + (1-β) KL(S_t || M_t),  M = (1-β) S + β T
 *                         (β = 0 is forward_kl, β = 1 reverse_kl, as TRL special-cases)
 *   sampled             : r_t = log S(x_t) - log T(x_t), the one-sample estimate of reverse KL;
 *                         trained as a policy gradient with the per-token advantage A_t = -r_t
 *                         (Tinker's on-policy distillation): l_t = r_t.detach() * log S(x_t)
 *
 * Loss = Σ_t w_t D_t with w_t = m_t / Σ m over the batch (mean over masked positions). S and T are
 * the models' full-vocabulary distributions at temperature 1, whatever the student sampled with: the
 * run samples on-policy episodes with the evaluation's truncated settings (T 0.7-0.6, top-k 20,
 * top-p 0.8-0.95) by default, so the prefixes come from a sharper distribution than the one the loss
 * moves, as in GKD, the Qwen3 report and Tinker (docs/design-notes.md, Distillation). The three
 * full-vocabulary divergences run on the device (gpu/ops/distill) over the (T, V) logits; the
 * sampled estimate needs only the two per-token log-probs and is host code over T values.
 */
import { AGGREGATIONS } from '../grpo/index.js';

export type DistillLossType = 'reverse_kl' | 'forward_kl' | 'jsd' | 'sampled';
export const DISTILL_LOSSES: readonly DistillLossType[] = ['reverse_kl', 'forward_kl', 'jsd', 'sampled'];

/** Loss weights (B)(T_i): 1 / (masked positions in the batch) on masked positions, else 0. */
export function distillWeights(mask: ArrayLike<number>[]): Float64Array[] {
  return AGGREGATIONS.bnpo(mask, {});
}

export interface SampledLossResult {
  /** Σ w r: the batch's token-mean estimate of KL(S || T). */
  loss: number;
  /** d loss / d logS (T): w * r (r held constant: it is the advantage's negative). */
  dlogp: Float64Array;
  /** Σ r over masked positions (for a token mean across sequences). */
  rSum: number;
  tokens: number;
}

/**
 * The sampled-token estimate for one sequence. logS, logT, w: (T) over the same positions; the
 * gradient is the policy gradient of advantage A_t = -r_t at ratio 1, i.e. dl/dlogS = -A_t w_t.
 */
export function sampledTokenLoss(
  logS: ArrayLike<number>,
  logT: ArrayLike<number>,
  mask: ArrayLike<number>,
  w: ArrayLike<number>,
): SampledLossResult {
  const T = logS.length;
  const dlogp = new Float64Array(T);
  let loss = 0;
  let rSum = 0;
  let tokens = 0;
  for (let t = 0; t < T; t++) {
    if (!mask[t]) continue;
    const r = logS[t] - logT[t];
    loss += w[t] * r;
    dlogp[t] = w[t] * r;
    rSum += r;
    tokens++;
  }
  return { loss, dlogp, rSum, tokens };
}
