/**
 * From trajectories to training sequences. The episode's exact tokens are used as sampled (never
 * re-tokenised); position t of the model predicts token t + 1, so a sequence of N tokens gives
 * N - 1 loss positions whose mask, behaviour log-prob and target are those of token t + 1.
 * Aborted episodes and episodes without tokens never become samples. An episode of several contexts
 * (an environment's scripted user opened new ones) is several sequences that share its reward.
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

/** One episode's training data: its one sequence, or one per context (all sharing its reward). */
export type EpisodeSample = TokenSample | readonly TokenSample[];

type TokenRecord = Pick<Trajectory, 'tokens' | 'mask' | 'logprobs'>;

function sequenceOf(c: TokenRecord): TokenSample | null {
  if (!c.tokens || !c.mask || c.tokens.length < 2 || c.mask.length !== c.tokens.length) return null;
  return { tokens: c.tokens, mask: c.mask, logprobs: c.logprobs ?? c.tokens.map(() => 0) };
}

/** The sequence of an episode of one context (for an episode of several, see `episodeSamples`). */
export function toSample(t: Trajectory): TokenSample | null {
  if (t.ending === 'aborted') return null;
  return sequenceOf(t);
}

/**
 * Every context's sequence of an episode, in order (the earlier contexts, then the last one), or
 * null when the episode never trains (aborted, or a context without exact tokens).
 */
export function episodeSamples(t: Trajectory): TokenSample[] | null {
  if (t.ending === 'aborted') return null;
  const out: TokenSample[] = [];
  for (const c of [...(t.contexts ?? []), t]) {
    const s = sequenceOf(c);
    if (!s) return null;
    out.push(s);
  }
  return out;
}

/** An episode sample as its list of sequences. */
export function sequencesOf(s: EpisodeSample): readonly TokenSample[] {
  return Array.isArray(s) ? (s as readonly TokenSample[]) : [s as TokenSample];
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
