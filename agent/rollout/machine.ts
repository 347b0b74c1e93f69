/**
 * One episode as an xstate machine:
 *
 *   generating -> parsing -> callingTools -> observing -> generating ... -> scoring -> done
 *
 * with the other endings as final states: `truncated` (max turns, a turn cut at its token cap, the
 * policy's context window full, wall time, or the env truncating), `budgetExceeded` (total tokens
 * spent) and `aborted` (a fault outside the policy's control, or the caller's abort signal). Which
 * reason is whose fault is the table in `endings.ts`. Every actor gets the machine's AbortSignal, so
 * leaving a state (wall time, abort) cancels the generation or tool calls in flight.
 *
 * Time comes from the actor's clock (`createActor(machine, { clock })`): the wall-time limit is a
 * delayed transition and the per-tool timeout uses the same clock, so tests drive both with a
 * `SimulatedClock`.
 */
import { assign, fromPromise, setup } from 'xstate';
import { modeFor, parseAssistant, STOP_THINKING_TEXT, type ThinkingMode } from '../format/index.js';
import {
  type ChatMessage,
  type ContextRecord,
  type Ending,
  type GenerateResult,
  isContextLengthError,
  type Policy,
  type ToolExchange,
  type ToolSchemaJson,
  type Turn,
} from '../types.js';
import { abortReason } from './endings.js';
import {
  EnvAbortedError,
  type EpisodeEnv,
  type Scored,
  type TimerClock,
  type ToolOutcome,
  type UserTurnOutcome,
} from './env-client.js';
import type { RolloutLimits } from './limits.js';
import type { TokenTrack } from './tokens.js';
import {
  assistantMessage,
  completionTokensOf,
  type Draft,
  mapLimit,
  observationMessages,
  type ParsedLike,
  toTurn,
} from './turn.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Everything an episode acts through. Mutable collaborators (env session, token track) live here. */
export interface EpisodeDeps {
  policy: Policy;
  env: EpisodeEnv;
  tools: ToolSchemaJson[];
  limits: RolloutLimits;
  clock: TimerClock;
  /** Default thinking mode when no soft switch is present. */
  defaultThinking: boolean;
  /** Token-level policies only. */
  tokens?: TokenTrack;
  seed: number;
  episode: { taskId: string; envId: string; sample: number };
  now: () => number;
  /**
   * Mode wanted for a turn (by index). When it differs from the latest soft switch, the loop appends
   * it as a `/think` or `/no_think` user message after the previous turn's tool results (Qwen3: the
   * latest flag wins), so the mode can change mid-dialogue.
   */
  schedule?: (turn: number) => ThinkingMode | undefined;
}

export interface EpisodeContext {
  deps: EpisodeDeps;
  messages: ChatMessage[];
  turns: Turn[];
  /** Valid calls so far with their results (scripted policies read them). */
  history: ToolExchange[];
  /** The user's turns so far: the task, then each of the environment's scripted user (all contexts). */
  userTurns: string[];
  /** Finished contexts, when the environment's scripted user opened new ones; `messages` is the current one. */
  contexts: ContextRecord[];
  /** `turns.length` when the latest user turn arrived: `maxTurns` bounds the turns that answer one user turn. */
  turnsAtUser: number;
  draft?: Draft;
  parsed?: ParsedLike;
  usedTokens: number;
  invalidCalls: number;
  ending?: Ending;
  reason: string;
  error?: string;
  scored?: Scored;
}

export type EpisodeEvent = { type: 'ABORT'; reason: string };

/** A policy broke the `Policy` contract (the episode aborts; fix the policy). */
export class PolicyContractError extends Error {
  override name = 'PolicyContractError';
}

interface CallsDone {
  exchanges: ToolExchange[];
  envEnd?: 'terminated' | 'truncated';
  /** The score an environment attached to a call that ended the episode (`toolgym/reward`). */
  scored?: Scored;
}

// ---------------------------------------------------------------------------------------------
// Actor bodies (plain async functions: each takes the machine's AbortSignal)

/** What a thinking budget of 0 starts a turn with: the think block opened and closed at once (not sampled). */
export const ZERO_BUDGET_PREFIX = '<think>\n';

interface Generated {
  res: GenerateResult;
  ms: number;
  /** Text the loop wrote before the generation (mask 0), e.g. the opened think block of a zero budget. */
  injected?: string;
}

async function generateTurn(ctx: EpisodeContext, signal: AbortSignal): Promise<Generated> {
  const { deps, draft } = ctx;
  const mode = draft?.mode ?? modeFor(ctx.messages, deps.defaultThinking);
  if (!draft && mode === 'think' && deps.limits.thinkingBudget === 0) {
    // A zero budget: no thought is sampled. The stop-thinking text follows the opened think block
    // at once and the policy is asked only for the answer (the continuation).
    return { res: { text: '', finishReason: 'budget', completionTokens: 0, tokenIds: [] }, ms: 0, injected: ZERO_BUDGET_PREFIX };
  }
  const remaining = deps.limits.maxTotalTokens - ctx.usedTokens;
  const t0 = deps.now();
  const res = await deps.policy.generate({
    messages: ctx.messages,
    tools: deps.tools,
    promptIds: deps.tokens?.ids(),
    maxTokens: Math.max(1, Math.min(deps.limits.maxTurnTokens - (draft?.completionTokens ?? 0), remaining)),
    // After a budget stop the thought is closed: no second budget on the continuation.
    thinkingBudget: draft?.budgetHit ? undefined : mode === 'think' ? deps.limits.thinkingBudget : undefined,
    enableThinking: mode === 'think',
    continuation: draft?.text,
    seed: deps.seed,
    turn: ctx.turns.length,
    episode: deps.episode,
    history: ctx.history,
    userTurns: ctx.userTurns,
    signal,
  });
  if (deps.tokens) {
    // The episode's token sequence is built from exactly what was sampled: no ids, no sequence.
    if (!res.tokenIds)
      throw new PolicyContractError(`${deps.policy.spec} has a tokenizer (token-level) but returned no tokenIds`);
    if (res.logprobs && res.logprobs.length !== res.tokenIds.length) {
      throw new PolicyContractError(
        `${deps.policy.spec} returned ${res.tokenIds.length} tokenIds but ${res.logprobs.length} logprobs`,
      );
    }
  }
  return { res, ms: deps.now() - t0 };
}

async function callTools(ctx: EpisodeContext, signal: AbortSignal): Promise<CallsDone> {
  const { deps } = ctx;
  const calls = ctx.parsed?.calls ?? [];
  let envEnd: CallsDone['envEnd'];
  let scored: Scored | undefined;
  const exchanges = await mapLimit(calls, deps.limits.maxParallelCalls, async (call) => {
    const t0 = deps.now();
    const out: ToolOutcome = await deps.env.call(call.name, call.arguments, deps.limits.toolTimeoutMs, signal);
    // The environment aborted the episode (its machinery failed): an `error: env` ending, not an observation.
    if (out.meta.aborted) throw new EnvAbortedError(out.text);
    if (out.meta.truncated) envEnd = 'truncated';
    else if (out.meta.terminated && !envEnd) envEnd = 'terminated';
    if (out.meta.reward !== undefined) {
      const m = out.meta;
      scored = { reward: m.reward as number, components: m.components ?? {}, correct: m.correct ?? false, text: out.text };
    }
    const x: ToolExchange = {
      name: call.name,
      arguments: call.arguments,
      result: out.text,
      isError: out.isError,
      latencyMs: deps.now() - t0,
    };
    if (out.structuredContent) x.structuredContent = out.structuredContent;
    return x;
  });
  return scored ? { exchanges, envEnd, scored } : { exchanges, envEnd };
}

// ---------------------------------------------------------------------------------------------
// Context updates (pure apart from the token track, which is append-only by design)

function startDraft(ctx: EpisodeContext): Draft {
  return {
    index: ctx.turns.length,
    mode: modeFor(ctx.messages, ctx.deps.defaultThinking),
    text: '',
    finishReason: 'stop',
    budgetHit: false,
    generationMs: 0,
    completionTokens: 0,
  };
}

function addGeneration(ctx: EpisodeContext, out: Generated, budgetStop: boolean): Partial<EpisodeContext> {
  const d = ctx.draft ?? startDraft(ctx);
  const n = completionTokensOf(out.res);
  const pre = out.injected ?? '';
  if (pre) ctx.deps.tokens?.appendInjected(pre + (budgetStop ? STOP_THINKING_TEXT : ''));
  else {
    if (ctx.deps.tokens && out.res.tokenIds) ctx.deps.tokens.appendSampled(out.res.tokenIds, out.res.logprobs);
    if (budgetStop) ctx.deps.tokens?.appendInjected(STOP_THINKING_TEXT);
  }
  const draft: Draft = {
    ...d,
    text: d.text + pre + out.res.text + (budgetStop ? STOP_THINKING_TEXT : ''),
    finishReason: out.res.finishReason === 'budget' && !budgetStop ? 'length' : out.res.finishReason,
    budgetHit: d.budgetHit || budgetStop,
    generationMs: d.generationMs + out.ms,
    completionTokens: d.completionTokens + n,
  };
  if (budgetStop) draft.finishReason = 'budget';
  return { draft, usedTokens: ctx.usedTokens + n };
}

/** The soft-switch user message that sets turn `turn`'s scheduled mode, when it differs from the latest flag. */
export function switchFor(
  deps: Pick<EpisodeDeps, 'schedule' | 'defaultThinking'>,
  turn: number,
  messages: readonly ChatMessage[],
): ChatMessage | undefined {
  const want = deps.schedule?.(turn);
  if (want === undefined || want === modeFor(messages, deps.defaultThinking)) return undefined;
  return { role: 'user', content: `/${want}` };
}

/** Records the turn, appends its messages (and their tokens), and clears the draft. */
function commitTurn(ctx: EpisodeContext, exchanges: ToolExchange[], answer?: string): Partial<EpisodeContext> {
  const d = ctx.draft as Draft;
  const parsed = ctx.parsed as ParsedLike;
  const assistant = assistantMessage(parsed, d.text);
  const obs = answer === undefined ? observationMessages(exchanges, parsed.failures) : [];
  const history = [...ctx.messages, assistant];
  if (obs.length > 0) {
    const flag = switchFor(ctx.deps, ctx.turns.length + 1, [...history, ...obs]);
    if (flag) obs.push(flag);
  }
  if (ctx.deps.tokens && obs.length > 0) {
    const nextMode = modeFor([...history, ...obs], ctx.deps.defaultThinking);
    ctx.deps.tokens.endTurn(history, obs, nextMode === 'think', d.finishReason === 'stop');
  }
  const turn = toTurn(d, d.text, parsed, exchanges, answer);
  if (ctx.contexts.length > 0) turn.context = ctx.contexts.length;
  return {
    messages: [...history, ...obs],
    turns: [...ctx.turns, turn],
    history: exchanges.length > 0 ? [...ctx.history, ...exchanges] : ctx.history,
    invalidCalls: ctx.invalidCalls + parsed.failures.length,
    draft: undefined,
    parsed: undefined,
  };
}

/**
 * The environment's scripted user answered the agent's reply. In the same context the user turn is
 * appended (and its tokens, after the reply's); a new context closes the current one (its messages
 * and exact tokens are kept in `contexts`) and starts afresh from the environment's messages, whose
 * prompt is rendered and tokenised like an episode's first. A scheduled mode is stated as on any
 * user turn: a flag message in the same context, a `/think` or `/no_think` suffix in a new one.
 */
function addUserTurn(ctx: EpisodeContext, next: UserTurnOutcome): Partial<EpisodeContext> {
  const { deps } = ctx;
  const msgs: ChatMessage[] = next.messages.map((m) => ({ role: m.role, content: m.content }));
  const userTurns = [...ctx.userTurns, ...msgs.filter((m) => m.role === 'user').map((m) => m.content)];
  const common = { userTurns, turnsAtUser: ctx.turns.length };
  if (next.newContext) {
    const closed: ContextRecord = { messages: ctx.messages, ...(deps.tokens?.snapshot() ?? {}) };
    const flag = switchFor(deps, ctx.turns.length, msgs);
    const last = msgs.findLastIndex((m) => m.role === 'user');
    if (flag && last >= 0) msgs[last] = { ...msgs[last], content: `${msgs[last].content} ${flag.content}` };
    deps.tokens?.start(msgs, modeFor(msgs, deps.defaultThinking) === 'think');
    return { ...common, messages: msgs, contexts: [...ctx.contexts, closed] };
  }
  const flag = switchFor(deps, ctx.turns.length, [...ctx.messages, ...msgs]);
  if (flag) msgs.push(flag);
  const all = [...ctx.messages, ...msgs];
  deps.tokens?.endTurn(ctx.messages, msgs, modeFor(all, deps.defaultThinking) === 'think', true);
  return { ...common, messages: all };
}

/**
 * The policy could not go on because its context window is full (it threw `ContextLengthError`):
 * whatever it sampled of the turn so far is kept as the last turn, and the episode is truncated.
 */
function endForContext(ctx: EpisodeContext, err: unknown): Partial<EpisodeContext> {
  const out: Partial<EpisodeContext> = { reason: 'context_length', error: errorText(err) };
  if (!ctx.draft) return out;
  const draft: Draft = { ...ctx.draft, finishReason: 'context_length' };
  const parsed = parseAssistant(draft.text, ctx.deps.tools, { maxChars: ctx.deps.limits.maxTurnChars });
  return { ...commitTurn({ ...ctx, draft, parsed }, []), ...out };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

// ---------------------------------------------------------------------------------------------
// The machine

export const episodeMachine = setup({
  types: {
    context: {} as EpisodeContext,
    input: {} as { deps: EpisodeDeps; messages: ChatMessage[] },
    events: {} as EpisodeEvent,
  },
  actors: {
    generate: fromPromise<Generated, EpisodeContext>(({ input, signal }) => generateTurn(input, signal)),
    callTools: fromPromise<CallsDone, EpisodeContext>(({ input, signal }) => callTools(input, signal)),
    submit: fromPromise<Scored | UserTurnOutcome, EpisodeContext>(({ input, signal }) =>
      input.deps.env.submit(input.turns[input.turns.length - 1]?.answer ?? '', signal),
    ),
  },
  delays: {
    wallTime: ({ context }) => context.deps.limits.wallTimeMs,
  },
  guards: {
    budgetStop: ({ context, event }) => {
      const out = (event as unknown as { output: { res: GenerateResult } }).output;
      return out.res.finishReason === 'budget' && !context.draft?.budgetHit;
    },
    contextFull: ({ context }) => context.draft?.finishReason === 'context_length',
    policyContextFull: ({ event }) => isContextLengthError((event as unknown as { error: unknown }).error),
    cutAtTotal: ({ context }) =>
      context.draft?.finishReason === 'length' && context.usedTokens >= context.deps.limits.maxTotalTokens,
    cutAtTurn: ({ context }) => context.draft?.finishReason === 'length',
    isAnswer: ({ context }) => (context.parsed?.calls.length ?? 0) === 0 && (context.parsed?.failures.length ?? 0) === 0,
    hasCalls: ({ context }) => (context.parsed?.calls.length ?? 0) > 0,
    maxTurns: ({ context }) => context.turns.length - context.turnsAtUser >= context.deps.limits.maxTurns,
    tokensSpent: ({ context }) => context.usedTokens >= context.deps.limits.maxTotalTokens,
  },
}).createMachine({
  id: 'episode',
  context: ({ input }) => ({
    deps: input.deps,
    messages: input.messages,
    turns: [],
    history: [],
    userTurns: input.messages.filter((m) => m.role === 'user').map((m) => m.content),
    contexts: [],
    turnsAtUser: 0,
    usedTokens: 0,
    invalidCalls: 0,
    reason: '',
  }),
  initial: 'generating',
  after: {
    wallTime: { target: '.truncated', actions: assign({ reason: 'wall_time' }) },
  },
  on: {
    ABORT: {
      target: '.aborted',
      actions: assign({ reason: ({ event }) => abortReason('cancelled', event.reason), error: ({ event }) => event.reason }),
    },
  },
  states: {
    generating: {
      invoke: {
        src: 'generate',
        input: ({ context }) => context,
        onDone: [
          // Thinking hit its budget: inject the stop-thinking text (not sampled) and continue the same turn.
          {
            guard: 'budgetStop',
            target: 'generating',
            reenter: true,
            actions: assign(({ context, event }) => addGeneration(context, event.output, true)),
          },
          { target: 'parsing', actions: assign(({ context, event }) => addGeneration(context, event.output, false)) },
        ],
        onError: [
          // The policy filled its own context: its failure, trained on and counted (not an abort).
          {
            guard: 'policyContextFull',
            target: 'truncated',
            actions: assign(({ context, event }) => endForContext(context, event.error)),
          },
          {
            target: 'aborted',
            actions: assign({
              reason: ({ event }) => abortReason('policy', errorText(event.error)),
              error: ({ event }) => errorText(event.error),
            }),
          },
        ],
      },
    },
    parsing: {
      entry: assign({
        parsed: ({ context }) =>
          parseAssistant(context.draft?.text ?? '', context.deps.tools, { maxChars: context.deps.limits.maxTurnChars }),
      }),
      always: [
        {
          guard: 'contextFull',
          target: 'truncated',
          actions: assign(({ context }) => ({ ...commitTurn(context, []), reason: 'context_length' })),
        },
        {
          guard: 'cutAtTotal',
          target: 'budgetExceeded',
          actions: assign(({ context }) => ({ ...commitTurn(context, []), reason: 'max_tokens' })),
        },
        {
          guard: 'cutAtTurn',
          target: 'truncated',
          actions: assign(({ context }) => ({ ...commitTurn(context, []), reason: 'max_turn_tokens' })),
        },
        {
          guard: 'isAnswer',
          target: 'scoring',
          actions: assign(({ context }) => commitTurn(context, [], (context.parsed as ParsedLike).content.trim())),
        },
        { guard: 'hasCalls', target: 'callingTools' },
        // Only failures: the error observation is the whole response.
        { target: 'observing', actions: assign(({ context }) => commitTurn(context, [])) },
      ],
    },
    callingTools: {
      invoke: {
        src: 'callTools',
        input: ({ context }) => context,
        onDone: [
          {
            guard: ({ event }) => event.output.envEnd === 'terminated',
            target: 'envTerminated',
            actions: assign(({ context, event }) => ({
              ...commitTurn(context, event.output.exchanges),
              reason: 'env_terminated',
              scored: event.output.scored,
            })),
          },
          {
            guard: ({ event }) => event.output.envEnd === 'truncated',
            target: 'truncated',
            actions: assign(({ context, event }) => ({
              ...commitTurn(context, event.output.exchanges),
              reason: 'env_truncated',
            })),
          },
          { target: 'observing', actions: assign(({ context, event }) => commitTurn(context, event.output.exchanges)) },
        ],
        onError: {
          target: 'aborted',
          actions: assign({
            reason: ({ event }) => abortReason('env', errorText(event.error)),
            error: ({ event }) => errorText(event.error),
          }),
        },
      },
    },
    observing: {
      always: [
        { guard: 'maxTurns', target: 'truncated', actions: assign({ reason: 'max_turns' }) },
        { guard: 'tokensSpent', target: 'budgetExceeded', actions: assign({ reason: 'max_tokens' }) },
        { target: 'generating' },
      ],
    },
    scoring: {
      invoke: {
        src: 'submit',
        input: ({ context }) => context,
        onDone: [
          // The answer was a reply to a scripted user: the user's next turn, and the episode goes on.
          {
            guard: ({ event }) => 'kind' in event.output && event.output.truncated,
            target: 'truncated',
            actions: assign({ reason: 'env_truncated' }),
          },
          {
            guard: ({ event }) => 'kind' in event.output,
            target: 'observing',
            actions: assign(({ context, event }) => addUserTurn(context, event.output as UserTurnOutcome)),
          },
          { target: 'done', actions: assign({ scored: ({ event }) => event.output as Scored, reason: 'answer' }) },
        ],
        onError: {
          target: 'aborted',
          actions: assign({
            reason: ({ event }) => abortReason('submit', errorText(event.error)),
            error: ({ event }) => errorText(event.error),
          }),
        },
      },
    },
    done: { type: 'final', entry: assign({ ending: 'terminated' }) },
    // The environment ended the task from a tool call: no answer was scored (reward 0).
    envTerminated: { type: 'final', entry: assign({ ending: 'terminated' }) },
    truncated: { type: 'final', entry: assign({ ending: 'truncated' }) },
    budgetExceeded: { type: 'final', entry: assign({ ending: 'truncated' }) },
    aborted: { type: 'final', entry: assign({ ending: 'aborted' }) },
  },
});

export type EpisodeMachine = typeof episodeMachine;
