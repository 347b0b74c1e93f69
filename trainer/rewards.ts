/**
 * Rule-based rewards composed by weights from the run config. Every component is returned so the
 * loop can log it; the total is their weighted sum.
 *
 *  - correct:      the env verifier's verdict (1 / 0)
 *  - format:       1 when every turn parsed strictly (closed tags, strict JSON, balanced think tags)
 *  - invalid_call: -(invalid calls), capped at -1: each malformed or schema-violating call costs
 *  - tool_use:     1 when the episode called a tool at all
 *  - length:       DAPO overlong shaping on the episode's completion tokens (0 .. -1)
 */
import { z } from 'zod';
import type { Trajectory } from '../agent/types.js';
import { overlongPenalty } from './grpo/advantages.js';

export const RewardConfigSchema = z
  .object({
    correct: z.number().default(1).describe('Weight of verifier correctness: the signal RL is for.'),
    format: z.number().default(0.2).describe('Weight of strict-parse format: keeps turns well formed (validity).'),
    invalidCall: z
      .number()
      .default(0.5)
      .describe(
        'Weight of the invalid-call penalty (per call, capped at 1): a loop that never closes a call costs half a success.',
      ),
    toolUse: z.number().default(0).describe('Weight of a bonus for calling a tool at all (off: correctness already needs it).'),
    length: z.number().default(0.1).describe('Weight of overlong shaping (DAPO soft punishment).'),
    maxLen: z.number().int().positive().default(256).describe('L_max of overlong shaping, in completion tokens per episode.'),
    lengthCache: z.number().int().positive().default(64).describe('L_cache: the soft-punishment window before L_max.'),
  })
  .strict();
export type RewardConfig = z.infer<typeof RewardConfigSchema>;

export interface ComposedReward {
  total: number;
  components: Record<string, number>;
}

export function formatOk(t: Trajectory): boolean {
  return t.turns.every(
    (turn) => turn.failures.length === 0 && turn.finishReason !== 'length' && turn.finishReason !== 'context_length',
  );
}

export function composeReward(t: Trajectory, c: RewardConfig): ComposedReward {
  const components: Record<string, number> = {
    correct: t.correct ? 1 : 0,
    format: formatOk(t) ? 1 : 0,
    invalid_call: -Math.min(1, t.metrics.invalidCalls),
    tool_use: t.metrics.toolCalls > 0 ? 1 : 0,
    length: overlongPenalty(t.metrics.completionTokens, { maxLen: c.maxLen, cache: c.lengthCache }),
  };
  const total =
    c.correct * components.correct +
    c.format * components.format +
    c.invalidCall * components.invalid_call +
    c.toolUse * components.tool_use +
    c.length * components.length;
  return { total, components };
}
