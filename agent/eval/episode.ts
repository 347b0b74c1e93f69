/**
 * One pass over one trajectory: the counts every stability metric is a ratio of.
 *
 * Counts are added into a flat Float64Array slot per task unit (index = `COUNTER.<name>`), so
 * aggregating 100,000 episodes and resampling tasks for bootstrap intervals touch only numbers.
 *
 * Call accounting per assistant turn. The parser keeps only valid calls in `turn.calls`; each invalid
 * one leaves failures behind. A call attempt is therefore one of:
 *  - syntax-invalid: no usable `{name, arguments}` (invalid JSON, missing / non-string name,
 *    non-object arguments, a call inside `<think>`, an unclosed `<tool_call>`, a nest of calls:
 *    one per nest; the parser runs no call of such a turn, so its other calls are not counted);
 *  - named but unknown: `unknown_tool`;
 *  - known name, arguments failing the tool's schema: one or more `schema_*` failures (one call may
 *    fail several fields, so schema failures are mapped to calls as described in `schemaInvalidCalls`);
 *  - valid: parsed and schema-checked, then executed (`isError` says whether the tool failed).
 */
import type { ParseFailure, ParseFailureKind, ToolExchange, Trajectory, Turn } from '../types.js';

export const COUNTER_NAMES = [
  'episodes',
  'correct',
  'rewardSum',
  'turns',
  'formatValidTurns',
  'emptyTurns',
  'lengthTurns',
  'budgetHitTurns',
  'attemptedCalls',
  'syntaxInvalidCalls',
  'namedCalls',
  'knownNameCalls',
  'validCalls',
  'execOkCalls',
  'redundantCalls',
  'recoveryOpportunities',
  'recovered',
  'modeTurns',
  'modeOk',
  'thinkTurns',
  'thinkOk',
  'noThinkTurns',
  'noThinkOk',
  'switchTurns',
  'switchOk',
  'tokens',
  'endAnswer',
  'endMaxTurns',
  'endMaxTokens',
  'endWallTime',
  'endOtherTruncated',
  'aborted',
  // Appended after `aborted` so older records' counter layouts keep their indices.
  'endContextLength',
  // Valid calls plus the rollout's own failure count (`metrics.invalidCalls`: every parse or
  // validation failure), and the episodes with none: what the trainer's held-out validity and
  // clean-episode share divide.
  'callsOrFailures',
  'cleanEpisodes',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export const N_COUNTERS = COUNTER_NAMES.length;
export const COUNTER = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as Record<CounterName, number>;

/** Failure kinds that make a turn's format invalid (the output is not well-formed Qwen3 text). */
export const FORMAT_FAILURE_KINDS: ReadonlySet<ParseFailureKind> = new Set<ParseFailureKind>([
  'unclosed_tag',
  'invalid_json',
  'missing_name',
  'non_string_name',
  'non_object_arguments',
  'call_in_think',
  'unbalanced_think',
  'empty_turn',
  'nested_call',
  'oversized_turn',
]);

/** Failure kinds that stand for one call attempt with no usable name or arguments. */
const SYNTAX_CALL_KINDS: ReadonlySet<ParseFailureKind> = new Set<ParseFailureKind>([
  'invalid_json',
  'missing_name',
  'non_string_name',
  'non_object_arguments',
  'call_in_think',
  'nested_call',
]);

export const SCHEMA_FAILURE_KINDS = [
  'schema_missing_required',
  'schema_unexpected_parameter',
  'schema_wrong_type',
  'schema_wrong_value',
] as const satisfies readonly ParseFailureKind[];

export interface TurnCalls {
  /** Calls the policy tried to make in this turn. */
  attempted: number;
  syntaxInvalid: number;
  unknownName: number;
  schemaInvalid: number;
  valid: number;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

function countOccurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * Calls whose arguments failed the schema. A failure may name the call it belongs to (`call`, the
 * index of its `<tool_call>` block); then distinct indices are counted. Otherwise the `<tool_call>`
 * blocks in the raw text bound the count: blocks not accounted for by valid, unknown and syntax-invalid
 * calls are the schema-invalid ones, so two failing fields of one call count once.
 */
export function schemaInvalidCalls(turn: Turn, others: number): number {
  let failures = 0;
  const indices = new Set<number>();
  let indexed = true;
  for (const f of turn.failures) {
    if (!f.kind.startsWith('schema_')) continue;
    failures++;
    const idx = (f as ParseFailure & { call?: unknown }).call;
    if (typeof idx === 'number') indices.add(idx);
    else indexed = false;
  }
  if (failures === 0) return 0;
  if (indexed) return indices.size;
  const blocks = countOccurrences(turn.raw, '<tool_call>');
  const left = blocks - others;
  return left >= 1 ? Math.min(failures, left) : failures;
}

/**
 * The `<tool_call>` block a failure belongs to: the failure's `call` index when the parser gives
 * one, else the 1-based "tool call N:" prefix the parser writes into its messages.
 */
export function failureCallIndex(f: ParseFailure): number | undefined {
  const idx = (f as ParseFailure & { call?: unknown }).call;
  if (typeof idx === 'number') return idx;
  const m = /^tool call (\d+):/.exec(f.message);
  return m ? Number(m[1]) - 1 : undefined;
}

/** How the call attempts of one assistant turn split into valid and the three kinds of invalid. */
export function classifyTurnCalls(turn: Turn): TurnCalls {
  const valid = turn.calls.length;
  if (turn.failures.length === 0) return { attempted: valid, syntaxInvalid: 0, unknownName: 0, schemaInvalid: 0, valid };
  // One call can fail several syntax checks (no name AND non-object arguments): count blocks, not failures.
  const syntaxBlocks = new Set<number>();
  let syntaxInvalid = 0;
  let unknownName = 0;
  let unclosed = 0;
  for (const f of turn.failures) {
    const isSyntax = SYNTAX_CALL_KINDS.has(f.kind);
    if (!isSyntax && f.kind !== 'unclosed_tag') {
      if (f.kind === 'unknown_tool') unknownName++;
      continue;
    }
    const idx = f.kind === 'call_in_think' ? undefined : failureCallIndex(f);
    if (idx !== undefined) syntaxBlocks.add(idx);
    else if (isSyntax) syntaxInvalid++;
    else unclosed++;
  }
  syntaxInvalid += syntaxBlocks.size;
  // An unindexed unclosed tag is a failed call attempt only when a `<tool_call>` was opened and not
  // closed (a stray `</tool_call>` or an unclosed `<think>` is a format failure, not a call).
  if (unclosed > 0) {
    const open = countOccurrences(turn.raw, '<tool_call>') - countOccurrences(turn.raw, '</tool_call>');
    syntaxInvalid += Math.max(0, Math.min(unclosed, open));
  }
  const schemaInvalid = schemaInvalidCalls(turn, valid + unknownName + syntaxInvalid);
  return { attempted: valid + syntaxInvalid + unknownName + schemaInvalid, syntaxInvalid, unknownName, schemaInvalid, valid };
}

/** Canonical JSON (object keys sorted): equal arguments give equal strings whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

function callKey(call: ToolExchange): string {
  return `${call.name}\u0000${canonicalJson(call.arguments)}`;
}

/** Under `/no_think` the think block is empty (or absent); under `/think` it has content (or the budget cut it). */
export function turnFollowsMode(turn: Turn): boolean {
  const thought = turn.thinking !== undefined && NON_SPACE.test(turn.thinking);
  if (turn.mode === 'no_think') return !thought;
  return thought || turn.budgetHit === true;
}

const NON_SPACE = /\S/;

export function isEmptyTurn(turn: Turn): boolean {
  return !NON_SPACE.test(turn.raw) || turn.failures.some((f) => f.kind === 'empty_turn');
}

// ---------------------------------------------------------------------------------------------
// One episode into counters

/**
 * Adds one episode's counts into `acc` at `offset`. An aborted episode adds only to `aborted`: it
 * is the infrastructure's fault and is excluded from every other metric.
 */
export function accumulateEpisode(t: Trajectory, acc: Float64Array, offset: number): void {
  if (t.ending === 'aborted') {
    acc[offset + COUNTER.aborted] += 1;
    return;
  }
  const o = offset;
  acc[o + COUNTER.episodes] += 1;
  if (t.correct) acc[o + COUNTER.correct] += 1;
  acc[o + COUNTER.rewardSum] += t.reward;
  acc[o + COUNTER.tokens] += t.metrics.completionTokens;
  if (t.metrics.invalidCalls === 0) acc[o + COUNTER.cleanEpisodes] += 1;

  if (t.ending === 'terminated') acc[o + COUNTER.endAnswer] += 1;
  else if (t.reason === 'max_turns') acc[o + COUNTER.endMaxTurns] += 1;
  else if (t.reason === 'max_tokens') acc[o + COUNTER.endMaxTokens] += 1;
  else if (t.reason === 'wall_time') acc[o + COUNTER.endWallTime] += 1;
  else if (t.reason === 'context_length') acc[o + COUNTER.endContextLength] += 1;
  else acc[o + COUNTER.endOtherTruncated] += 1;

  acc[o + COUNTER.callsOrFailures] += t.metrics.invalidCalls;

  // Redundancy needs canonical keys only once an episode has a second call: most have one.
  let firstCall: ToolExchange | undefined;
  let seen: Set<string> | undefined;
  let pendingFailure = false;
  let prevMode: Turn['mode'] | undefined;
  for (const turn of t.turns) {
    acc[o + COUNTER.turns] += 1;
    let formatOk = true;
    for (const f of turn.failures) {
      if (FORMAT_FAILURE_KINDS.has(f.kind)) {
        formatOk = false;
        break;
      }
    }
    if (formatOk) acc[o + COUNTER.formatValidTurns] += 1;
    if (isEmptyTurn(turn)) acc[o + COUNTER.emptyTurns] += 1;
    if (turn.finishReason === 'length') acc[o + COUNTER.lengthTurns] += 1;
    if (turn.budgetHit) acc[o + COUNTER.budgetHitTurns] += 1;

    const tc = classifyTurnCalls(turn);
    acc[o + COUNTER.attemptedCalls] += tc.attempted;
    acc[o + COUNTER.syntaxInvalidCalls] += tc.syntaxInvalid;
    acc[o + COUNTER.namedCalls] += tc.valid + tc.unknownName + tc.schemaInvalid;
    acc[o + COUNTER.knownNameCalls] += tc.valid + tc.schemaInvalid;
    acc[o + COUNTER.validCalls] += tc.valid;
    acc[o + COUNTER.callsOrFailures] += tc.valid;
    let execFailed = false;
    for (const call of turn.calls) {
      if (call.isError) execFailed = true;
      else acc[o + COUNTER.execOkCalls] += 1;
      if (firstCall === undefined) {
        firstCall = call;
        continue;
      }
      if (seen === undefined) seen = new Set([callKey(firstCall)]);
      const key = callKey(call);
      if (seen.has(key)) acc[o + COUNTER.redundantCalls] += 1;
      else seen.add(key);
    }

    // Recovery: the policy sees a turn's results only after the whole turn, so the "next call" after a
    // failure is the first call of the next turn that makes any. It recovers when that turn has no
    // invalid call and its first call succeeds.
    if (tc.attempted > 0) {
      if (pendingFailure) {
        acc[o + COUNTER.recoveryOpportunities] += 1;
        const first = turn.calls[0];
        if (tc.attempted === tc.valid && first !== undefined && !first.isError) acc[o + COUNTER.recovered] += 1;
      }
      pendingFailure = tc.attempted > tc.valid || execFailed;
    }

    const ok = turnFollowsMode(turn);
    acc[o + COUNTER.modeTurns] += 1;
    if (ok) acc[o + COUNTER.modeOk] += 1;
    if (turn.mode === 'think') {
      acc[o + COUNTER.thinkTurns] += 1;
      if (ok) acc[o + COUNTER.thinkOk] += 1;
    } else {
      acc[o + COUNTER.noThinkTurns] += 1;
      if (ok) acc[o + COUNTER.noThinkOk] += 1;
    }
    if (prevMode !== undefined && prevMode !== turn.mode) {
      acc[o + COUNTER.switchTurns] += 1;
      if (ok) acc[o + COUNTER.switchOk] += 1;
    }
    prevMode = turn.mode;
  }
}

/** Counts of every failure kind over the non-aborted episodes. */
export function countFailureKinds(trajectories: readonly Trajectory[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of trajectories) {
    if (t.ending === 'aborted') continue;
    for (const turn of t.turns) for (const f of turn.failures) out[f.kind] = (out[f.kind] ?? 0) + 1;
  }
  return out;
}
