/**
 * The rollout loop's only door to an environment: an MCP `Client`.
 *
 * `EnvClient` lists the tools (hiding those with the control marker), starts an episode with
 * `gym_start`, calls the policy's tools with a per-call timeout, and submits the final answer with
 * `gym_submit`, reading the episode state and reward from each result's `_meta`. The same code
 * path serves the in-memory transport, MessagePort workers, stdio and Streamable HTTP; what it
 * reads and sends is envs/core's wire contract.
 */
import { Client as ModernClient } from '@modelcontextprotocol/client';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ChatMessageLite,
  CONTROL,
  EPISODE_ARG,
  hasControlMarker,
  isCallerError,
  META,
  readEpisodeMeta,
  type StartArgs,
  StartResultSchema,
  type SubmitArgs,
  type TaskPublic,
  type ToolSchemaJson,
  UserTurnResultSchema,
  withoutEpisodeArg,
} from '../../envs/core/index.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Episode state carried by every tool result's `_meta`. */
export interface StepMeta {
  step?: number;
  terminated: boolean;
  truncated: boolean;
  /** The environment's machinery failed (`toolgym/aborted`): the episode is over and no one's doing. */
  aborted?: boolean;
  reward?: number;
  components?: Record<string, number>;
  correct?: boolean;
}

export interface ToolOutcome {
  text: string;
  isError: boolean;
  /** The result's `structuredContent` (an object), passed on to policies as MCP clients see it. */
  structuredContent?: Record<string, unknown>;
  meta: StepMeta;
  /** The call did not finish within the per-tool timeout. */
  timedOut?: boolean;
}

export interface StartedEpisode {
  task: TaskPublic;
  messages: ChatMessageLite[];
  /** The episode's handle, which every later call of the episode passes as `episode` (absent from an older server). */
  episode?: string;
}

export interface Scored {
  reward: number;
  components: Record<string, number>;
  correct: boolean;
  text: string;
}

/**
 * The answer was a reply to the environment's scripted user, who answered it: the episode goes on
 * with these messages (a new context when `newContext`), unless the reply used the last step
 * (`truncated`).
 */
export interface UserTurnOutcome {
  kind: 'user';
  messages: ChatMessageLite[];
  newContext: boolean;
  truncated: boolean;
}

/** A scheduler for timeouts: xstate's `Clock` shape, so tests can hand in a `SimulatedClock`. */
export interface TimerClock {
  setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The environment answered in a way the loop cannot use (not the policy's fault: the episode aborts). */
export class EnvProtocolError extends Error {
  override name = 'EnvProtocolError';
}

/** The environment aborted the episode (`toolgym/aborted`): its own machinery failed during a call. */
export class EnvAbortedError extends Error {
  override name = 'EnvAbortedError';
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

interface RawResult {
  content?: unknown;
  isError?: unknown;
  structuredContent?: unknown;
  _meta?: unknown;
}

/** Joins the text parts of an MCP result; non-text parts are named so the policy knows they exist. */
export function resultText(result: RawResult): string {
  const parts = Array.isArray(result.content) ? result.content : [];
  return parts
    .map((p: { type?: string; text?: string }) => (p.type === 'text' ? (p.text ?? '') : `[${p.type ?? 'unknown'} content]`))
    .join('\n');
}

/** The episode state in a result's `_meta` (a field the server left out or got wrong is absent). */
export function readMeta(result: RawResult): StepMeta {
  const m = readEpisodeMeta(result._meta);
  return {
    step: m[META.step],
    terminated: m[META.terminated] === true,
    truncated: m[META.truncated] === true,
    ...(m[META.aborted] === true ? { aborted: true } : {}),
    reward: m[META.reward],
    components: m[META.components],
    correct: m[META.correct],
  };
}

/** The result's `structuredContent` when it is a JSON object (MCP requires one), else undefined. */
export function structuredOf(result: RawResult): Record<string, unknown> | undefined {
  const sc = result.structuredContent;
  return sc && typeof sc === 'object' && !Array.isArray(sc) ? (sc as Record<string, unknown>) : undefined;
}

/**
 * What the loop acts through, whatever carries the episode: MCP (`EnvClient`) or the `ws` gym
 * protocol (`WsEnvClient`, ws-client.ts).
 */
export interface EpisodeEnv {
  tools(signal?: AbortSignal): Promise<ToolSchemaJson[]>;
  start(args: StartArgs, signal?: AbortSignal): Promise<StartedEpisode>;
  call(name: string, args: Record<string, unknown>, timeoutMs: number, signal: AbortSignal): Promise<ToolOutcome>;
  /** The answer's score, or the scripted user's next turn when the episode goes on. */
  submit(answer: string, signal?: AbortSignal): Promise<Scored | UserTurnOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Client wrapper

/**
 * One episode's door (one `EnvClient` per episode; the MCP `Client` under it may be shared by many).
 * `start` keeps the handle the server minted, and every later call passes it as `episode`: the
 * policy never sees it, since `tools()` lists each schema without the `episode` property, so prompts
 * and token ids are those of the environment's own tools.
 */
export class EnvClient implements EpisodeEnv {
  private toolCache?: ToolSchemaJson[];
  #episode: string | undefined;

  constructor(
    /** A 2025-11-25 client (`@modelcontextprotocol/sdk`) or the v2 SDK's, which may speak 2026-07-28. */
    readonly client: Client | ModernClient,
    private readonly clock: TimerClock = globalThis as unknown as TimerClock,
  ) {}

  /** One tools/call through either SDK's client (v1 takes a result schema before the options, v2 does not). */
  #callTool(params: { name: string; arguments: Record<string, unknown> }, options: { signal?: AbortSignal; timeout?: number }) {
    return this.client instanceof ModernClient
      ? this.client.callTool(params, options)
      : this.client.callTool(params, undefined, options);
  }

  /** Policy-visible tools in OpenAI function format (control tools removed). Cached per client. */
  async tools(signal?: AbortSignal): Promise<ToolSchemaJson[]> {
    if (this.toolCache) return this.toolCache;
    const out: ToolSchemaJson[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.listTools(cursor ? { cursor } : {}, { signal });
      for (const t of page.tools) {
        if (hasControlMarker(t)) continue;
        out.push({
          type: 'function',
          function: {
            name: t.name,
            description: t.description ?? '',
            parameters: policySchema(t.inputSchema as Record<string, unknown>),
          },
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.toolCache = out;
    return out;
  }

  async start(args: StartArgs, signal?: AbortSignal): Promise<StartedEpisode> {
    const res = (await this.#callTool({ name: CONTROL.gym_start, arguments: stripUndefined(args) }, { signal })) as RawResult;
    if (res.isError) throw new EnvProtocolError(`${CONTROL.gym_start} failed: ${resultText(res)}`);
    const started = StartResultSchema.safeParse(res.structuredContent);
    if (!started.success) {
      throw new EnvProtocolError(
        `${CONTROL.gym_start} returned no structuredContent {task, messages}: is the server a toolgym env (\`gym serve\`)?`,
      );
    }
    this.#episode = started.data.episode;
    return started.data;
  }

  /** The handle of the episode `start` began (undefined before, or from a server without handles). */
  get episode(): string | undefined {
    return this.#episode;
  }

  /** `args` with this episode's handle added (a policy's own `episode` argument is replaced). */
  #withEpisode<T extends Record<string, unknown>>(args: T): T {
    return this.#episode === undefined ? args : { ...args, [EPISODE_ARG]: this.#episode };
  }

  /**
   * Calls one policy tool. A timeout or a tool failure is an `isError` outcome the policy sees;
   * only a transport failure (or the episode's own abort) throws.
   */
  async call(name: string, args: Record<string, unknown>, timeoutMs: number, signal: AbortSignal): Promise<ToolOutcome> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(signal.reason);
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => {
        timedOut = true;
        const err = new Error(`tool ${name} timed out`);
        ctl.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      // The SDK's own request timeout runs on the real clock: keep it as a backstop well past ours.
      const req = this.#callTool(
        { name, arguments: this.#withEpisode(args) },
        {
          signal: ctl.signal,
          timeout: Math.max(60_000, timeoutMs * 2),
        },
      );
      req.catch(() => {}); // settled by the race below; a late rejection after a timeout is expected
      const res = (await Promise.race([req, timeout])) as RawResult;
      const out: ToolOutcome = { text: resultText(res), isError: res.isError === true, meta: readMeta(res) };
      const sc = structuredOf(res);
      if (sc) out.structuredContent = sc;
      return out;
    } catch (err) {
      if (timedOut) {
        return {
          text: `Error: tool \`${name}\` did not finish within ${timeoutMs} ms and was cancelled. Try a smaller input or a faster approach.`,
          isError: true,
          meta: { terminated: false, truncated: false },
          timedOut: true,
        };
      }
      if (signal.aborted) throw signal.reason ?? err;
      // An unknown tool or malformed arguments, refused by code, is the policy's mistake, not a fault.
      if (isCallerError(err)) {
        return { text: `Error: ${err.message}`, isError: true, meta: { terminated: false, truncated: false } };
      }
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Submits the answer: its score, or the scripted user's next turn when the episode goes on. */
  async submit(answer: string, signal?: AbortSignal): Promise<Scored | UserTurnOutcome> {
    const args = this.#withEpisode<SubmitArgs>({ answer });
    const res = (await this.#callTool({ name: CONTROL.gym_submit, arguments: args }, { signal })) as RawResult;
    const meta = readMeta(res);
    const next = meta.terminated || meta.reward !== undefined ? undefined : UserTurnResultSchema.safeParse(res.structuredContent);
    if (next?.success)
      return { kind: 'user', messages: next.data.messages, newContext: next.data.newContext, truncated: meta.truncated };
    if (meta.reward === undefined) {
      throw new EnvProtocolError(
        `${CONTROL.gym_submit} returned no ${META.reward} in _meta${res.isError ? `: ${resultText(res)}` : ''}`,
      );
    }
    return {
      reward: meta.reward,
      components: meta.components ?? {},
      correct: meta.correct ?? meta.reward >= 1,
      text: resultText(res),
    };
  }
}

/**
 * A listed tool schema as the policy sees it: without `episode` (the loop passes it) and without
 * `$schema` (which names the SDK's JSON Schema dialect, not the tool): the environment's own
 * argument schema, the same whichever SDK or protocol revision listed it.
 */
export function policySchema(listed: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = withoutEpisodeArg(listed);
  return schema;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
