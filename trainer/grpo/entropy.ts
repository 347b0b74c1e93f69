/**
 * Entropy control for GRPO by covariance (Cui et al., "The Entropy Mechanism of Reinforcement
 * Learning for Reasoning Language Models", 2025). Under a softmax policy and a policy-gradient step,
 * the change in token entropy is driven by the covariance between a token's log-probability and its
 * advantage: confident tokens (high log p) with positive advantage are what collapse entropy. Both
 * remedies act on the few tokens whose centred covariance is largest, over the batch's masked tokens:
 *
 *   cov_t = (logp_t - mean logp) * (A_t - mean A)        (means over every masked token of the batch)
 *
 * - Clip-Cov: of the tokens with w_lo <= cov_t <= w_hi, a seeded random `fraction` of all masked
 *   tokens (at least one when any qualifies) is detached: its policy-gradient term is dropped.
 * - KL-Cov: the top `fraction` of masked tokens by cov_t get a penalty coef * |logp_t - oldLogp_t| in
 *   the loss (gradient coef * sign(logp_t - oldLogp_t) times the token's aggregation weight).
 *
 * `logp` here is the behaviour log-prob recorded at sampling (detached, as in the paper's code). It
 * equals the current policy's on the first update of a batch, so Clip-Cov acts on it; KL-Cov's
 * penalty has zero gradient there (|x| at 0) and only acts from the second update on
 * (`numIterations` > 1). The paper's fractions (2e-4 for Clip-Cov, 2e-3 for KL-Cov) assume batches of
 * millions of tokens; a batch here holds about a thousand masked tokens, so the defaults are larger.
 */
import { Rng } from '../../tools/index.js';

export type EntropyControl = 'none' | 'clip_cov' | 'kl_cov';
export const ENTROPY_CONTROLS: readonly EntropyControl[] = ['none', 'clip_cov', 'kl_cov'];

export interface CovSelectOptions {
  control: EntropyControl;
  /** Share of masked tokens selected. */
  fraction: number;
  /** Clip-Cov's covariance window [w_lo, w_hi]. */
  covLow: number;
  covHigh: number;
  /** Seed of Clip-Cov's random choice. */
  seed: number;
}

export interface CovSelection {
  /** Per sequence, 1 where the token is selected: (B)(T_i). */
  selected: Uint8Array[];
  /** Tokens selected. */
  count: number;
  /** Mean centred covariance over masked tokens (0 by construction up to rounding) and over the selected ones. */
  covSelectedMean: number;
  /** Largest covariance in the batch. */
  covMax: number;
  /** Masked tokens considered. */
  tokens: number;
}

/** Centred covariance of every masked token: (B)(T_i), NaN where the mask is 0. */
export function tokenCovariance(
  logp: readonly ArrayLike<number>[],
  mask: readonly ArrayLike<number>[],
  adv: ArrayLike<number>,
): Float64Array[] {
  let n = 0;
  let sl = 0;
  let sa = 0;
  for (let i = 0; i < logp.length; i++)
    for (let t = 0; t < logp[i].length; t++)
      if (mask[i][t]) {
        n++;
        sl += logp[i][t];
        sa += adv[i];
      }
  const ml = n ? sl / n : 0;
  const ma = n ? sa / n : 0;
  return logp.map((lp, i) => {
    const c = new Float64Array(lp.length).fill(Number.NaN);
    for (let t = 0; t < lp.length; t++) if (mask[i][t]) c[t] = (lp[t] - ml) * (adv[i] - ma);
    return c;
  });
}

/** The tokens Clip-Cov detaches or KL-Cov penalises; none for `control: 'none'` or fraction 0. */
export function covSelect(
  logp: readonly ArrayLike<number>[],
  mask: readonly ArrayLike<number>[],
  adv: ArrayLike<number>,
  o: CovSelectOptions,
): CovSelection {
  const selected = logp.map((lp) => new Uint8Array(lp.length));
  const cov = tokenCovariance(logp, mask, adv);
  const all: Array<[number, number, number]> = [];
  let covMax = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < cov.length; i++)
    for (let t = 0; t < cov[i].length; t++)
      if (mask[i][t]) {
        all.push([cov[i][t], i, t]);
        covMax = Math.max(covMax, cov[i][t]);
      }
  const out: CovSelection = { selected, count: 0, covSelectedMean: 0, covMax: all.length ? covMax : 0, tokens: all.length };
  if (o.control === 'none' || o.fraction <= 0 || all.length === 0) return out;
  const want = Math.max(1, Math.round(o.fraction * all.length));
  let chosen: Array<[number, number, number]>;
  if (o.control === 'kl_cov') {
    // top-k by covariance (ties by position, so the choice is deterministic)
    chosen = [...all].sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]).slice(0, want);
  } else {
    const window = all.filter(([c]) => c >= o.covLow && c <= o.covHigh);
    chosen = new Rng(o.seed).shuffle(window).slice(0, want);
  }
  let s = 0;
  for (const [c, i, t] of chosen) {
    selected[i][t] = 1;
    s += c;
  }
  out.count = chosen.length;
  out.covSelectedMean = chosen.length ? s / chosen.length : 0;
  return out;
}

/**
 * Applies the selection to one sequence's loss gradient in place: Clip-Cov zeroes dlogp at selected
 * tokens; KL-Cov adds coef * w_t * sign(logp_t - oldLogp_t). Returns the loss added (KL-Cov's
 * penalty, weighted like the loss) and the loss removed (Clip-Cov's detached terms are still in the
 * reported loss: detaching changes the gradient, not the value).
 */
export function applyCovControl(
  control: EntropyControl,
  selected: Uint8Array,
  dlogp: Float64Array,
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  weights: ArrayLike<number>,
  klCoef: number,
): number {
  let added = 0;
  for (let t = 0; t < selected.length; t++) {
    if (!selected[t]) continue;
    if (control === 'clip_cov') dlogp[t] = 0;
    else if (control === 'kl_cov') {
      const d = logp[t] - oldLogp[t];
      added += klCoef * weights[t] * Math.abs(d);
      dlogp[t] += klCoef * weights[t] * Math.sign(d);
    }
  }
  return added;
}
