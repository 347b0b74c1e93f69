/**
 * Limits of one episode. One typed object, defaults with a reason each; unknown keys are an error.
 */
import { z } from 'zod';
import { DEFAULT_MAX_TURN_CHARS } from '../format/index.js';

export const RolloutLimitsSchema = z
  .object({
    /** A turn is one assistant generation; past this the episode is truncated (`max_turns`). */
    maxTurns: z.number().int().positive().default(8),
    /** Cap on one turn's completion so a runaway generation cannot eat the whole episode budget. */
    maxTurnTokens: z.number().int().positive().default(2048),
    /**
     * Longest turn text the parser reads (characters, thinking included); a longer turn fails as
     * `oversized_turn` before any JSON is parsed and runs no call. The default is far past what
     * `maxTurnTokens` lets through: it catches policies that ignore the token cap.
     */
    maxTurnChars: z.number().int().positive().default(DEFAULT_MAX_TURN_CHARS),
    /** Total completion tokens over the episode; reaching it ends in `budgetExceeded` (`max_tokens`). */
    maxTotalTokens: z.number().int().positive().default(16_384),
    /** One tool call's time; past it the call is cancelled and the policy sees an error result. */
    toolTimeoutMs: z.number().int().positive().default(30_000),
    /** The whole episode's time; past it the in-flight work is aborted and the episode truncated (`wall_time`). */
    wallTimeMs: z.number().int().positive().default(300_000),
    /** Calls of one turn run concurrently, at most this many at once (results keep call order). */
    maxParallelCalls: z.number().int().positive().default(4),
    /**
     * Thinking tokens before the loop stops the thought and injects the stop-thinking text; unset = no
     * budget; 0 = the stop-thinking text is injected at once (no thought is sampled).
     */
    thinkingBudget: z.number().int().nonnegative().optional(),
  })
  .strict();

export type RolloutLimits = z.infer<typeof RolloutLimitsSchema>;
export type RolloutLimitsInput = z.input<typeof RolloutLimitsSchema>;

// A batch passes the same limits to every episode: parse each distinct input once (keyed by its
// JSON, so a caller mutating its object between batches still gets what it now says).
const resolved = new Map<string, Readonly<RolloutLimits>>();

export function resolveLimits(input: RolloutLimitsInput = {}): RolloutLimits {
  const key = JSON.stringify(input);
  const hit = resolved.get(key);
  if (hit) return { ...hit };
  const out = RolloutLimitsSchema.parse(input);
  if (resolved.size >= 64) resolved.clear();
  resolved.set(key, Object.freeze({ ...out }));
  return out;
}
