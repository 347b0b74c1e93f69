/**
 * From trajectories to training sequences. The episode's exact tokens are used as sampled (never
 * re-tokenised); position t of the model predicts token t + 1, so a sequence of N tokens gives
 * N - 1 loss positions whose mask, behaviour log-prob and target are those of token t + 1.
 * Aborted episodes and episodes without tokens never become samples.
 */
import type { Trajectory } from '../agent/index.js';

export interface TokenSample {
  /** Exact episode tokens: (N). */
  tokens: number[];
  /** 1 on policy-sampled tokens: (N). */
  mask: number[];
  /** Behaviour log-probs (0 where mask is 0): (N). */
  logprobs: number[];
}

/** A loss view of one sample: inputs (N-1) and per-position targets / mask / old log-probs (N-1). */
export interface LossView {
  inputs: number[];
  /** Next token where it carries loss, else -1. */
  targets: Int32Array;
  mask: Uint8Array;
  oldLogp: Float64Array;
  /** Masked positions. */
  count: number;
}

export function toSample(t: Trajectory): TokenSample | null {
  if (t.ending === 'aborted' || !t.tokens || !t.mask || t.tokens.length < 2) return null;
  if (t.mask.length !== t.tokens.length) return null;
  return { tokens: t.tokens, mask: t.mask, logprobs: t.logprobs ?? t.tokens.map(() => 0) };
}

/** Drop trailing positions past `maxLen` tokens (the model's context); the mask goes with them. */
export function lossView(s: TokenSample, maxLen = Infinity): LossView {
  const N = Math.min(s.tokens.length, maxLen);
  const inputs = s.tokens.slice(0, N - 1);
  const targets = new Int32Array(N - 1);
  const mask = new Uint8Array(N - 1);
  const oldLogp = new Float64Array(N - 1);
  let count = 0;
  for (let t = 0; t < N - 1; t++) {
    const m = s.mask[t + 1] ? 1 : 0;
    mask[t] = m;
    targets[t] = m ? s.tokens[t + 1] : -1;
    oldLogp[t] = s.logprobs[t + 1] ?? 0;
    count += m;
  }
  return { inputs, targets, mask, oldLogp, count };
}
