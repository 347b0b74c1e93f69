/**
 * The reward a run trains on: the environment's own reward components, weighted by the run config,
 * plus the run's rule-based shaping terms. Every component is returned so the loop logs each one;
 * the total is their weighted sum.
 *
 * From the environment (what its verifier returned, carried in the trajectory):
 *  - correct:      the verifier's verdict (1 / 0), weight `correct`
 *  - env.<name>:   every other component the verifier gave (the program family's `tests`, the share
 *                  of hidden tests passed; `format`, an answer that loaded), weight `env[name]`, 0
 *                  unless configured
 * Shaping, computed from the episode:
 *  - format:       1 when every turn parsed strictly (closed tags, strict JSON, balanced think tags)
 *  - invalid_call: -(invalid calls), capped at -1: each malformed or schema-violating call costs
 *  - tool_use:     1 when the episode called a tool at all
 *  - length:       DAPO overlong shaping on the episode's completion tokens (0 .. -1)
 */
import { z } from 'zod';
import type { Trajectory } from '../agent/index.js';
import { overlongPenalty } from './grpo/advantages.js';

export const RewardConfigSchema = z
  .object({
    correct: z.number().default(1).describe('Weight of verifier correctness: the signal RL is for.'),
    env: z
      .record(z.string(), z.number())
      .default({})
      .refine((w) => !('correct' in w), { message: 'set the weight of correctness with rewards.correct, not rewards.env' })
      .describe(
        'Weights of the environment\'s other reward components by name (e.g. {"tests": 0.5}: partial credit for the share of hidden tests passed); a component not named weighs 0, so a run trains on correctness unless asked.',
      ),
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
  /** Every component's value (unweighted): `correct`, `env.<name>`, and the shaping terms. */
  components: Record<string, number>;
}

/** Prefix of an environment component in the composed components (`env.tests`). */
export const ENV_COMPONENT = 'env.';

export function formatOk(t: Trajectory): boolean {
  return t.turns.every(
    (turn) => turn.failures.length === 0 && turn.finishReason !== 'length' && turn.finishReason !== 'context_length',
  );
}

/** The shaping terms of an episode, unweighted, with their weights. */
function shaping(t: Trajectory, c: RewardConfig): Array<[string, number, number]> {
  return [
    ['format', formatOk(t) ? 1 : 0, c.format],
    ['invalid_call', -Math.min(1, t.metrics.invalidCalls), c.invalidCall],
    ['tool_use', t.metrics.toolCalls > 0 ? 1 : 0, c.toolUse],
    ['length', overlongPenalty(t.metrics.completionTokens, { maxLen: c.maxLen, cache: c.lengthCache }), c.length],
  ];
}

/**
 * The environment's components (a configured one the verifier did not give, as on a truncated
 * episode, is 0) and the shaping terms, each with its weight; the total sums correctness first, then
 * the shaping terms, then the environment's other components in name order.
 */
export function composeReward(t: Trajectory, c: RewardConfig): ComposedReward {
  // the episode's verdict: the verifier's `correct` component when it gave one, false when it never ran
  const terms: Array<[string, number, number]> = [['correct', t.correct ? 1 : 0, c.correct], ...shaping(t, c)];
  const names = new Set([...Object.keys(t.components), ...Object.keys(c.env)]);
  names.delete('correct');
  for (const name of [...names].sort()) terms.push([`${ENV_COMPONENT}${name}`, t.components[name] ?? 0, c.env[name] ?? 0]);
  const components: Record<string, number> = {};
  let total: number | undefined;
  for (const [name, value, weight] of terms) {
    components[name] = value;
    // a term weighing 0 adds nothing, whatever its value
    if (weight !== 0) total = total === undefined ? weight * value : total + weight * value;
  }
  return { total: total ?? 0, components };
}
