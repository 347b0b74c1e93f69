/**
 * What each stability metric counts, in words: the report prints these definitions beside the
 * numbers, and `ratio` names the two counters (see `episode.ts`) a rate divides.
 */
import type { CounterName } from './episode.js';

export type MetricGroup = 'success' | 'format' | 'calls' | 'mode' | 'termination' | 'efficiency';

export interface MetricDef {
  id: string;
  label: string;
  group: MetricGroup;
  /** What is counted, in words (printed in the report). */
  definition: string;
  /** `rate` prints as a percentage, `mean` as a number. */
  kind: 'rate' | 'mean';
  /** Counter ratio; absent for task-mean metrics computed specially (avg@k, mixed outcomes). */
  ratio?: [CounterName, CounterName];
  higherIsBetter?: boolean;
}

export const METRIC_DEFS: readonly MetricDef[] = [
  {
    id: 'avgAtK',
    label: 'avg@k success',
    group: 'success',
    kind: 'rate',
    higherIsBetter: true,
    definition: "Mean over tasks of the share of a task's k trials that were correct. Counts: correct / episodes.",
  },
  {
    id: 'mixedOutcomes',
    label: 'mixed-outcome tasks',
    group: 'success',
    kind: 'rate',
    definition:
      'Share of tasks (with >= 2 trials) that were solved in some trials and failed in others: unstable tasks. Counts: mixed / tasks.',
  },
  {
    id: 'meanReward',
    label: 'mean reward',
    group: 'success',
    kind: 'mean',
    ratio: ['rewardSum', 'episodes'],
    higherIsBetter: true,
    definition: 'Mean total reward per episode. Counts: reward sum / episodes.',
  },
  {
    id: 'formatValidity',
    label: 'format validity',
    group: 'format',
    kind: 'rate',
    ratio: ['formatValidTurns', 'turns'],
    higherIsBetter: true,
    definition:
      'Share of assistant turns with no format failure (closed tags, strict JSON, string name, object arguments, no call inside <think>, balanced think tags, not empty). Counts: valid turns / turns.',
  },
  {
    id: 'callValidity',
    label: 'call validity',
    group: 'calls',
    kind: 'rate',
    ratio: ['validCalls', 'attemptedCalls'],
    higherIsBetter: true,
    definition:
      'Share of attempted tool calls that parsed, named a listed tool and passed its schema. Counts: valid / attempted calls.',
  },
  {
    id: 'toolNameValidity',
    label: 'tool-name validity',
    group: 'calls',
    kind: 'rate',
    ratio: ['knownNameCalls', 'namedCalls'],
    higherIsBetter: true,
    definition: 'Share of parsed calls whose name is in tools/list. Counts: known-name / parsed calls.',
  },
  {
    id: 'schemaCompliance',
    label: 'schema compliance',
    group: 'calls',
    kind: 'rate',
    ratio: ['validCalls', 'knownNameCalls'],
    higherIsBetter: true,
    definition:
      'Share of calls to a listed tool whose arguments pass its input schema (failures split below into missing required / unexpected parameter / wrong type / wrong value). Counts: compliant / known-name calls.',
  },
  {
    id: 'executionSuccess',
    label: 'execution success',
    group: 'calls',
    kind: 'rate',
    ratio: ['execOkCalls', 'validCalls'],
    higherIsBetter: true,
    definition: 'Share of executed (valid) calls whose tool result has no isError. Counts: ok / executed calls.',
  },
  {
    id: 'strictCallValidity',
    label: 'call validity, per failure',
    group: 'calls',
    kind: 'rate',
    ratio: ['validCalls', 'callsOrFailures'],
    higherIsBetter: true,
    definition:
      'Valid calls over valid calls plus every parse or validation failure the rollout counted: a runaway turn of repeated <tool_call> openers counts each opener as a failed call, and a call failing several checks counts each (call validity counts it once). The trainer reports this figure. Counts: valid calls / (valid calls + failures).',
  },
  {
    id: 'cleanEpisodes',
    label: 'clean episodes',
    group: 'calls',
    kind: 'rate',
    ratio: ['cleanEpisodes', 'episodes'],
    higherIsBetter: true,
    definition:
      'Share of episodes with no parse or validation failure in any turn: how widespread failures are. Counts: clean / episodes.',
  },
  {
    id: 'recovery',
    label: 'recovery rate',
    group: 'calls',
    kind: 'rate',
    ratio: ['recovered', 'recoveryOpportunities'],
    higherIsBetter: true,
    definition:
      'After a turn with a failed or invalid call, the next turn that calls a tool has only valid calls and its first call succeeds. Counts: recovered / failures followed by another call.',
  },
  {
    id: 'modeCompliance',
    label: 'mode compliance',
    group: 'mode',
    kind: 'rate',
    ratio: ['modeOk', 'modeTurns'],
    higherIsBetter: true,
    definition:
      'Share of turns that follow the latest /think or /no_think flag: under /no_think the think block is empty or absent; under /think it has content (or the thinking budget cut it). Counts: compliant / turns.',
  },
  {
    id: 'thinkCompliance',
    label: '/think compliance',
    group: 'mode',
    kind: 'rate',
    ratio: ['thinkOk', 'thinkTurns'],
    higherIsBetter: true,
    definition: 'Mode compliance over turns asked in /think mode.',
  },
  {
    id: 'noThinkCompliance',
    label: '/no_think compliance',
    group: 'mode',
    kind: 'rate',
    ratio: ['noThinkOk', 'noThinkTurns'],
    higherIsBetter: true,
    definition: 'Mode compliance over turns asked in /no_think mode.',
  },
  {
    id: 'switchCompliance',
    label: 'compliance after a switch',
    group: 'mode',
    kind: 'rate',
    ratio: ['switchOk', 'switchTurns'],
    higherIsBetter: true,
    definition: "Mode compliance over turns whose mode differs from the previous turn's (a mid-dialogue switch).",
  },
  {
    id: 'answered',
    label: 'answered',
    group: 'termination',
    kind: 'rate',
    ratio: ['endAnswer', 'episodes'],
    higherIsBetter: true,
    definition: 'Share of episodes that ended by a final answer (terminated). Counts: answered / episodes.',
  },
  {
    id: 'turnLimit',
    label: 'turn-limit truncations',
    group: 'termination',
    kind: 'rate',
    ratio: ['endMaxTurns', 'episodes'],
    higherIsBetter: false,
    definition: 'Share of episodes truncated by the turn limit.',
  },
  {
    id: 'tokenLimit',
    label: 'token-limit truncations',
    group: 'termination',
    kind: 'rate',
    ratio: ['endMaxTokens', 'episodes'],
    higherIsBetter: false,
    definition: 'Share of episodes truncated by the token limit.',
  },
  {
    id: 'contextLimit',
    label: 'context-length truncations',
    group: 'termination',
    kind: 'rate',
    ratio: ['endContextLength', 'episodes'],
    higherIsBetter: false,
    definition:
      "Share of episodes truncated because the conversation no longer fit the policy's context window (the policy's failure: counted, never excluded).",
  },
  {
    id: 'wallTimeLimit',
    label: 'wall-time truncations',
    group: 'termination',
    kind: 'rate',
    ratio: ['endWallTime', 'episodes'],
    higherIsBetter: false,
    definition: 'Share of episodes truncated by the per-episode wall time.',
  },
  {
    id: 'emptyTurns',
    label: 'empty turns',
    group: 'termination',
    kind: 'rate',
    ratio: ['emptyTurns', 'turns'],
    higherIsBetter: false,
    definition: 'Share of assistant turns with no text at all. Counts: empty / turns.',
  },
  {
    id: 'lengthTurns',
    label: 'turns cut by max tokens',
    group: 'termination',
    kind: 'rate',
    ratio: ['lengthTurns', 'turns'],
    higherIsBetter: false,
    definition: 'Share of turns whose generation stopped at the token limit (finish reason length).',
  },
  {
    id: 'budgetHit',
    label: 'thinking budget hit',
    group: 'termination',
    kind: 'rate',
    ratio: ['budgetHitTurns', 'turns'],
    definition: 'Share of turns where thinking reached the budget and the stop-thinking text was injected.',
  },
  {
    id: 'callsPerEpisode',
    label: 'calls / episode',
    group: 'efficiency',
    kind: 'mean',
    ratio: ['attemptedCalls', 'episodes'],
    definition: 'Attempted tool calls per episode (valid and invalid).',
  },
  {
    id: 'redundantCalls',
    label: 'redundant identical calls',
    group: 'efficiency',
    kind: 'rate',
    ratio: ['redundantCalls', 'validCalls'],
    higherIsBetter: false,
    definition:
      'Share of executed calls identical (same tool, same arguments) to an earlier call of the same episode. Counts: redundant / executed calls.',
  },
  {
    id: 'turnsPerEpisode',
    label: 'turns / episode',
    group: 'efficiency',
    kind: 'mean',
    ratio: ['turns', 'episodes'],
    definition: 'Assistant turns per episode.',
  },
  {
    id: 'tokensPerEpisode',
    label: 'tokens / episode',
    group: 'efficiency',
    kind: 'mean',
    ratio: ['tokens', 'episodes'],
    definition: 'Completion tokens generated per episode.',
  },
];

export const PASS_DEFINITIONS = {
  passAt:
    "pass@k = 1 - C(n-c, k) / C(n, k): the chance that at least one of k trials drawn from a task's n solves it, averaged over tasks with n >= k.",
  passHat:
    'pass^k = C(c, k) / C(n, k): the chance that all k trials drawn solve it (consistency), averaged over tasks with n >= k.',
  aborted:
    "Aborted episodes (faults outside the policy's control: a tool server crashed, a policy endpoint failed, the run was cancelled) are excluded from every other metric and counted here apart. A policy that fills its context, runs out of turns, tokens or time is truncated, not aborted, and counts as a failure.",
  endings:
    'Every episode by how it ended and why, over all episodes run (aborted ones included). Only aborted endings are excluded from success and the other metrics.',
  units: 'A task unit is one task under one thinking budget; bootstrap intervals resample task units with replacement.',
};
