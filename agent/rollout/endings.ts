/**
 * Who is at fault when an episode ends: the one table every ending comes from.
 *
 * Three endings (DESIGN, *Environment contract*): `terminated` (the policy answered, or the
 * environment ended the task), `truncated` (a limit cut the episode: the policy ran out of turns,
 * tokens, context or time) and `aborted` (a fault outside the policy's control). The rule is that
 * only `aborted` is left out of training and of success rates, so anything the policy caused must be
 * `terminated` or `truncated`: a policy that fills its own context window has failed, and GRPO needs
 * to see that failure.
 *
 * Aborted reasons carry their message: `error: <source>: <message>`; `reasonKey` drops the message
 * so reports can count reasons. Not endings at all (the episode goes on, the policy sees an error
 * result and can recover): a tool that times out or fails (`isError`), an unknown tool or invalid
 * arguments, and a turn that does not parse.
 */
import type { Ending } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Whose doing an ending is. Only `policy` endings are trained on and counted as failures. */
export type Fault = 'policy' | 'environment' | 'policy_server' | 'caller';

export interface EndingRow {
  /** The trajectory's `reason` (or its key, for `error: <source>` reasons). */
  reason: string;
  ending: Ending;
  fault: Fault;
  /** When it happens. */
  when: string;
}

// ---------------------------------------------------------------------------------------------
// The table

export const ENDINGS: readonly EndingRow[] = [
  { reason: 'answer', ending: 'terminated', fault: 'policy', when: 'the policy gave a final answer; the environment scored it' },
  {
    reason: 'env_terminated',
    ending: 'terminated',
    fault: 'policy',
    when: 'a tool call ended the task (the environment marked the episode terminated, e.g. the task failed)',
  },
  { reason: 'max_turns', ending: 'truncated', fault: 'policy', when: 'the turn limit was reached without an answer' },
  {
    reason: 'max_turn_tokens',
    ending: 'truncated',
    fault: 'policy',
    when: "a turn was cut at the per-turn token cap (the policy's own length)",
  },
  { reason: 'max_tokens', ending: 'truncated', fault: 'policy', when: "the episode's total token budget was spent" },
  {
    reason: 'context_length',
    ending: 'truncated',
    fault: 'policy',
    when: "the conversation no longer fits the policy's context window (built-in model, or an OpenAI-compatible server's context-length error or exhausted window)",
  },
  {
    reason: 'wall_time',
    ending: 'truncated',
    fault: 'policy',
    when: "the episode's wall time ran out (its generations and the tool calls it chose)",
  },
  {
    reason: 'env_truncated',
    ending: 'truncated',
    fault: 'policy',
    when: "a tool call reached the environment's own limit (the environment marked the episode truncated)",
  },
  {
    reason: 'error: policy',
    ending: 'aborted',
    fault: 'policy_server',
    when: 'the policy could not answer: its server was unreachable or failed after retries, or the policy broke the Policy contract',
  },
  {
    reason: 'error: start',
    ending: 'aborted',
    fault: 'environment',
    when: 'connecting to the environment, listing its tools or starting the task failed',
  },
  {
    reason: 'error: env',
    ending: 'aborted',
    fault: 'environment',
    when: "a tool call failed at the transport (the server or its worker thread died, the connection closed), or the environment's own machinery failed inside a tool (EnvFaultError: a sandbox that cannot start; the result carries toolgym/aborted)",
  },
  { reason: 'error: submit', ending: 'aborted', fault: 'environment', when: 'scoring the answer failed (gym_submit)' },
  {
    reason: 'error: cancelled',
    ending: 'aborted',
    fault: 'caller',
    when: "the caller's abort signal stopped the episode (Ctrl-C, a stopped batch)",
  },
];

const BY_REASON = new Map(ENDINGS.map((r) => [r.reason, r]));

// ---------------------------------------------------------------------------------------------
// Pure functions

/** The countable part of a reason: `error: env: Error: closed` -> `error: env`; other reasons as they are. */
export function reasonKey(reason: string): string {
  if (!reason.startsWith('error: ')) return reason;
  const m = /^error: ([a-z_]+)(?::|$)/.exec(reason);
  return m ? `error: ${m[1]}` : 'error';
}

/** The table row of a reason, when the reason is one the loop writes. */
export function endingRow(reason: string): EndingRow | undefined {
  return BY_REASON.get(reasonKey(reason));
}

/** An `error: <source>: <message>` reason for an aborted ending. */
export function abortReason(source: 'policy' | 'start' | 'env' | 'submit' | 'cancelled', message: string): string {
  return `error: ${source}: ${message}`;
}
