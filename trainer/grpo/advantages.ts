/**
 * Group-relative advantages, dynamic sampling and overlong shaping (ALGORITHMS.md, *GRPO*).
 *
 * All pure functions over plain numbers: the loop groups trajectories by task, computes rewards,
 * and asks these for advantages. A group whose rewards are all equal carries no signal.
 */

export type ScaleRewards = 'group' | 'none';

export interface AdvantageOptions {
  /** `group`: divide by the group's std (GRPO); `none`: centre only (Dr. GRPO). */
  scale: ScaleRewards;
  /** Added to the std so a near-constant group does not explode. */
  eps?: number;
}

/** Mean of a group. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * SAMPLE standard deviation (divides by n - 1, like torch.std and so TRL); 0 for a group of one.
 * The sample std is the one TRL's GRPOTrainer uses, so advantages match its numbers.
 */
export function sampleStd(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (n - 1));
}

/**
 * rewards: (G) for one group -> advantages: (G).
 * `A_i = (r_i - mean) / (sampleStd + eps)` or `A_i = r_i - mean` (scale `none`).
 * Exactly 0 for every member of a group whose rewards are all equal.
 */
export function groupAdvantages(rewards: readonly number[], opts: AdvantageOptions): number[] {
  const eps = opts.eps ?? 1e-4;
  if (allEqual(rewards)) return rewards.map(() => 0);
  const m = mean(rewards);
  const denom = opts.scale === 'group' ? sampleStd(rewards) + eps : 1;
  return rewards.map((r) => (r - m) / denom);
}

export function allEqual(xs: readonly number[]): boolean {
  for (const x of xs) if (x !== xs[0]) return false;
  return true;
}

/**
 * Dynamic sampling (DAPO): keep only groups whose rewards are not all equal. The loop draws more
 * groups until the batch is full or it runs out of attempts; `dropped` counts what was discarded.
 */
export function keepInformativeGroups<T>(
  groups: readonly T[],
  rewardsOf: (g: T) => readonly number[],
): { kept: T[]; dropped: number } {
  const kept = groups.filter((g) => !allEqual(rewardsOf(g)));
  return { kept, dropped: groups.length - kept.length };
}

export interface OverlongOptions {
  /** Maximum completion length L_max (tokens). */
  maxLen: number;
  /** Soft-punishment window L_cache (tokens) before L_max. */
  cache: number;
}

/**
 * DAPO overlong reward shaping: 0 up to `maxLen - cache`, then a linear ramp down to -1 at `maxLen`,
 * and -1 beyond.
 */
export function overlongPenalty(length: number, opts: OverlongOptions): number {
  const soft = opts.maxLen - opts.cache;
  if (length <= soft) return 0;
  if (length <= opts.maxLen) return (soft - length) / opts.cache;
  return -1;
}
