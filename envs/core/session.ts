/**
 * `EpisodeSession`: one MCP session's episode state machine around one `Environment`.
 *
 *   idle --gym_start--> running --(answer | step limit | env end)--> ended --gym_start--> running
 *   any --close--> closed
 *
 * The MCP layer is a thin shell over `call(name, args)`: `gym_start` resets, an env tool is one
 * `step({kind:'tool_calls'})`, `gym_submit` is `step({kind:'answer'})`. Every result carries the
 * episode state in `_meta`; the final one adds the reward. Calls are serialised per session, so
 * concurrent requests on one session can't interleave inside the environment.
 */
import { z } from 'zod';
import { checkArgs } from './schema.js';
import { toPublic } from './tool-env.js';
import type { EnvDefinition, Environment, Observation, Split, TaskPublic, ToolResult, Verdict } from './types.js';
import {
  CONTROL,
  type ControlToolName,
  controlTools,
  type EpisodeMeta,
  type ListTasksArgs,
  META,
  type StartArgs,
  type SubmitArgs,
  type UserTurnResult,
} from './wire.js';

export type SessionResult = ToolResult & { _meta: EpisodeMeta };

export type EpisodeState = 'idle' | 'running' | 'ended' | 'closed';

export interface EpisodeSessionOptions {
  /** Steps (tool calls and the answer) per episode; the step that reaches it without an answer is truncated. */
  maxSteps?: number;
  /** Serialised size limit of one call's arguments. */
  maxArgBytes?: number;
  /** Passed to `def.create()`. */
  envOptions?: Record<string, unknown>;
  /** Split used by gym_start when none is given. */
  defaultSplit?: Split;
}

/** What an `EpisodeTable` tells the session of one episode (not a server option). */
export interface EpisodeIdentity {
  /** The episode's handle, reported in every result's `_meta` (`toolgym/handle`). */
  handle?: string;
  /** Episodes already started on the same connection: numbers this one and is its default seed. */
  episodesBefore?: number;
}

export const DEFAULT_MAX_STEPS = 64;
export const DEFAULT_MAX_ARG_BYTES = 1_000_000;

/**
 * A tool this session answers, resolved from its name once per call: the MCP layer resolves it to
 * refuse an unknown name as a protocol error, and the session runs what it was handed.
 */
export type SessionTool =
  | { kind: 'control'; name: ControlToolName; inputSchema: z.ZodRawShape }
  | { kind: 'env'; name: string; inputSchema: z.ZodRawShape };

// ---------------------------------------------------------------------------------------------
// Pure helpers

function result(text: string, meta: EpisodeMeta, extra: Partial<ToolResult> = {}): SessionResult {
  return { content: [{ type: 'text', text }], ...extra, _meta: meta };
}

function errorResult(text: string, meta: EpisodeMeta): SessionResult {
  return result(text, meta, { isError: true });
}

function byteLength(args: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(args ?? {}), 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

// ---------------------------------------------------------------------------------------------

export class EpisodeSession {
  readonly def: EnvDefinition;
  readonly maxSteps: number;
  readonly maxArgBytes: number;
  #env: Environment | undefined;
  #state: EpisodeState = 'idle';
  #step = 0;
  #terminated = false;
  #truncated = false;
  #aborted = false;
  #episodes = 0;
  /** Index of the current context; a scripted user's `newContext` turn moves it on. */
  #context = 0;
  #task: TaskPublic | undefined;
  #verdict: Verdict | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  readonly #tools: Map<string, SessionTool>;

  readonly #handle: string | undefined;

  constructor(
    def: EnvDefinition,
    private readonly opts: EpisodeSessionOptions = {},
    identity: EpisodeIdentity = {},
  ) {
    this.def = def;
    this.#handle = identity.handle;
    this.#episodes = identity.episodesBefore ?? 0;
    this.maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxArgBytes = opts.maxArgBytes ?? DEFAULT_MAX_ARG_BYTES;
    this.#tools = new Map<string, SessionTool>([
      ...Object.entries(controlTools).map(([name, c]): [string, SessionTool] => [
        name,
        { kind: 'control', name: name as ControlToolName, inputSchema: c.inputSchema },
      ]),
      ...def.tools.map((t): [string, SessionTool] => [t.name, { kind: 'env', name: t.name, inputSchema: t.inputSchema }]),
    ]);
  }

  get state(): EpisodeState {
    return this.#state;
  }
  get step(): number {
    return this.#step;
  }
  get task(): TaskPublic | undefined {
    return this.#task;
  }
  get verdict(): Verdict | undefined {
    return this.#verdict;
  }

  /** The tool `name` names (control or environment), or undefined: the one lookup of a tool name. */
  tool(name: string): SessionTool | undefined {
    return this.#tools.get(name);
  }

  /** The argument names `tool` takes, required ones first. */
  argumentNames(tool: SessionTool): { required: string[]; optional: string[] } {
    const out = { required: [] as string[], optional: [] as string[] };
    for (const [key, field] of Object.entries(tool.inputSchema)) {
      // A field that accepts `undefined` (optional, or with a default) may be left out.
      (z.safeParse(field, undefined).success ? out.optional : out.required).push(key);
    }
    return out;
  }

  meta(): EpisodeMeta {
    const m: EpisodeMeta = {
      [META.step]: this.#step,
      [META.terminated]: this.#terminated,
      [META.truncated]: this.#truncated,
    };
    if (this.#aborted) m[META.aborted] = true;
    if (this.#task) m[META.taskId] = this.#task.id;
    if (this.#episodes > 0) m[META.episode] = this.#episodes;
    if (this.#handle) m[META.handle] = this.#handle;
    if (this.#context > 0) m[META.context] = this.#context;
    return m;
  }

  /**
   * Handles one tool call by name; never throws for bad input (the result says what went wrong,
   * an unknown name included).
   */
  call(name: string, args: unknown, signal?: AbortSignal): Promise<SessionResult> {
    const tool = this.tool(name);
    if (tool) return this.run(tool, args, signal);
    return this.#serial(async () => {
      const names = [...this.#tools.keys()].join(', ');
      return errorResult(`Unknown tool \`${name}\`. Available tools: ${names}.`, this.meta());
    });
  }

  /**
   * Runs a tool `tool()` resolved. When `signal` aborts (the client cancelled or timed out), the
   * call answers at once and the session moves on, even if the environment ignores the signal: a
   * stuck tool must not wedge the session's later calls (gym_submit, gym_start).
   */
  run(tool: SessionTool, args: unknown, signal?: AbortSignal): Promise<SessionResult> {
    return this.#serial(() => {
      const work = this.#dispatch(tool, args ?? {}, signal);
      if (!signal) return work;
      const cancelled = (): SessionResult =>
        errorResult(`The call to \`${tool.name}\` was cancelled before it finished.`, this.meta());
      if (signal.aborted) return Promise.resolve(cancelled());
      return new Promise<SessionResult>((resolve, reject) => {
        const onAbort = (): void => resolve(cancelled());
        signal.addEventListener('abort', onAbort, { once: true });
        work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    });
  }

  start(args: StartArgs = {}): Promise<SessionResult> {
    return this.call(CONTROL.gym_start, args);
  }

  submit(answer: string): Promise<SessionResult> {
    return this.call(CONTROL.gym_submit, { answer } satisfies SubmitArgs);
  }

  /** Closes the environment; safe to call more than once. */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === 'closed') return;
      this.#state = 'closed';
      const env = this.#env;
      this.#env = undefined;
      await env?.close();
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn, fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async #dispatch(tool: SessionTool, args: unknown, signal?: AbortSignal): Promise<SessionResult> {
    if (this.#state === 'closed') return errorResult('This session is closed: open a new MCP session.', this.meta());
    const bytes = byteLength(args);
    if (bytes > this.maxArgBytes) {
      return errorResult(
        `Arguments of \`${tool.name}\` are ${bytes} bytes, over the limit of ${this.maxArgBytes} bytes. Send smaller arguments.`,
        this.meta(),
      );
    }
    if (tool.kind === 'env') return this.#envTool(tool.name, args, signal);
    switch (tool.name) {
      case CONTROL.gym_list_tasks:
        return this.#listTasks(args);
      case CONTROL.gym_start:
        return this.#start(args, signal);
      case CONTROL.gym_submit:
        return this.#submit(args, signal);
    }
  }

  #notRunning(): SessionResult | undefined {
    if (this.#state === 'idle')
      return errorResult(
        'No episode is running: call gym_start first (optionally with {seed}, {taskId} or {split}).',
        this.meta(),
      );
    if (this.#state === 'ended') {
      const how = this.#aborted
        ? 'was aborted by an environment fault'
        : this.#truncated
          ? 'was truncated (step limit reached)'
          : 'is over (an answer was submitted)';
      return errorResult(`The episode ${how}. Call gym_start to begin a new episode.`, this.meta());
    }
    return undefined;
  }

  async #listTasks(raw: unknown): Promise<SessionResult> {
    const checked = checkArgs(CONTROL.gym_list_tasks, controlTools.gym_list_tasks.inputSchema, raw);
    if (!checked.ok) return errorResult(checked.message, this.meta());
    const a = checked.args as ListTasksArgs;
    const split = a.split ?? 'test';
    const offset = a.offset ?? 0;
    const limit = a.limit ?? 10;
    const families = this.def.families.filter((f) => a.family === undefined || f.name === a.family);
    if (families.length === 0) {
      return errorResult(`No family "${a.family}". Families: ${this.def.families.map((f) => f.name).join(', ')}.`, this.meta());
    }
    const tasks: Array<Omit<TaskPublic, 'prompt' | 'seed'>> = [];
    try {
      for (const f of families) {
        const end = Math.min(f.splitSizes[split], offset + limit);
        for (let i = offset; i < end; i++) {
          const t = toPublic(f.generate(split, i));
          tasks.push({ id: t.id, family: t.family, split: t.split, difficulty: t.difficulty });
        }
      }
    } catch (err) {
      return errorResult(`Could not list tasks: ${(err as Error).message}`, this.meta());
    }
    const summary = families.map((f) => ({ name: f.name, description: f.description, size: f.splitSizes[split] }));
    const text = [
      `Environment ${this.def.id} v${this.def.version}, split "${split}".`,
      ...summary.map((s) => `family ${s.name} (${s.size} tasks): ${s.description}`),
      ...tasks.map((t) => `${t.id}  difficulty ${t.difficulty}`),
      'Start one with gym_start {"taskId": "..."}.',
    ].join('\n');
    return result(text, this.meta(), { structuredContent: { split, families: summary, tasks } });
  }

  async #start(raw: unknown, signal?: AbortSignal): Promise<SessionResult> {
    const checked = checkArgs(CONTROL.gym_start, controlTools.gym_start.inputSchema, raw);
    if (!checked.ok) return errorResult(checked.message, this.meta());
    const a = checked.args as StartArgs;
    this.#env ??= this.def.create(this.opts.envOptions);
    const seed = a.seed ?? this.#episodes;
    let reset: Awaited<ReturnType<Environment['reset']>>;
    try {
      signal?.throwIfAborted();
      reset = await this.#env.reset({ seed, taskId: a.taskId, split: a.split ?? this.opts.defaultSplit ?? 'train' });
    } catch (err) {
      // The previous episode (if any) is gone either way: the env was asked to reset.
      this.#state = 'idle';
      this.#task = undefined;
      return errorResult(`Could not start an episode: ${(err as Error)?.message ?? String(err)}`, this.meta());
    }
    this.#episodes++;
    this.#state = 'running';
    this.#step = 0;
    this.#context = 0;
    this.#terminated = this.#truncated = this.#aborted = false;
    this.#verdict = undefined;
    this.#task = toPublic(reset.info.task);
    const messages = (reset.observation.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
    const t = this.#task;
    const text = [
      ...messages.map((m) => m.content),
      `(task ${t.id}, family ${t.family}, difficulty ${t.difficulty}; when done, call gym_submit with your final answer)`,
    ].join('\n\n');
    const structuredContent: Record<string, unknown> = { task: { ...t }, messages };
    if (this.#handle) structuredContent.episode = this.#handle;
    return result(text, this.meta(), { structuredContent });
  }

  /**
   * One environment step. The environment validates the arguments (every environment answers bad
   * ones with an `isError` result: the conformance suite checks it) and counts the step; the session
   * reads the count from the step's `info` rather than keeping its own.
   */
  async #envTool(name: string, raw: unknown, signal?: AbortSignal): Promise<SessionResult> {
    const blocked = this.#notRunning();
    if (blocked) return blocked;
    const args = raw as Record<string, unknown>;
    let out: ToolResult;
    try {
      const r = await this.#env!.step(
        { kind: 'tool_calls', calls: [{ id: `call_${this.#step + 1}`, name, arguments: args }] },
        signal,
      );
      this.#step = r.info.step;
      out = r.observation.toolResults?.[0] ?? {
        content: [{ type: 'text', text: `Tool \`${name}\` returned no result.` }],
        isError: true,
      };
      if (r.terminated) this.#terminated = true;
      if (r.truncated) this.#truncated = true;
    } catch (err) {
      return this.#abort(err);
    }
    return this.#finishStep(out);
  }

  async #submit(raw: unknown, signal?: AbortSignal): Promise<SessionResult> {
    const blocked = this.#notRunning();
    if (blocked) return blocked;
    const checked = checkArgs(CONTROL.gym_submit, controlTools.gym_submit.inputSchema, raw);
    if (!checked.ok) return errorResult(checked.message, this.meta());
    let verdict: Verdict | undefined;
    try {
      const r = await this.#env!.step({ kind: 'answer', answer: (checked.args as SubmitArgs).answer }, signal);
      this.#step = r.info.step;
      if (!r.terminated && r.observation.messages?.length) return this.#userTurn(r.observation, r.truncated);
      verdict = r.info.verdict ?? { reward: r.reward, components: { correct: r.reward }, correct: r.reward >= 1 };
    } catch (err) {
      return this.#abort(err);
    }
    this.#verdict = verdict;
    this.#terminated = true;
    this.#state = 'ended';
    this.#releaseEnv();
    const meta: EpisodeMeta = {
      ...this.meta(),
      [META.reward]: verdict.reward,
      [META.components]: { ...verdict.components },
      [META.correct]: verdict.correct,
    };
    const text = `Answer submitted. Reward ${verdict.reward} (${verdict.correct ? 'correct' : 'not correct'}).${verdict.detail ? ` ${verdict.detail}` : ''} Call gym_start for a new episode.`;
    const structuredContent: Record<string, unknown> = {
      reward: verdict.reward,
      components: { ...verdict.components },
      correct: verdict.correct,
    };
    if (verdict.detail) structuredContent.detail = verdict.detail;
    return result(text, meta, { structuredContent });
  }

  /**
   * The answer was a reply to a scripted user, who answers it: the episode goes on with the user's
   * next turn (in `structuredContent`, and as text for a plain MCP client). A new context is said in
   * words too, since a client that only reads text must know its earlier conversation is gone.
   */
  #userTurn(obs: Observation, truncated: boolean): SessionResult {
    const messages = (obs.messages ?? []).map((m) => ({ role: m.role, content: m.content }));
    if (obs.newContext) this.#context++;
    const lead = obs.newContext
      ? `[toolgym] A new session begins (context ${this.#context}): the conversation so far is over and forgotten; only the environment's state (such as a memory store) is kept. Continue from these messages:`
      : '[toolgym] The user replies:';
    const body: ToolResult = {
      content: [{ type: 'text', text: [lead, ...messages.map((m) => m.content)].join('\n\n') }],
      structuredContent: { messages, newContext: obs.newContext === true, context: this.#context } satisfies UserTurnResult,
    };
    if (truncated) this.#truncated = true;
    return this.#finishStep(body);
  }

  #finishStep(out: ToolResult): SessionResult {
    if (!this.#terminated && !this.#truncated && this.#step >= this.maxSteps) this.#truncated = true;
    const content = [...out.content];
    if (this.#terminated || this.#truncated) {
      this.#state = 'ended';
      this.#releaseEnv();
      const why = this.#truncated
        ? `the step limit (${this.maxSteps}) was reached, so the episode is truncated`
        : 'the environment ended the episode';
      content.push({ type: 'text', text: `[toolgym] ${why}. Call gym_start to begin a new episode.` });
    }
    const r: SessionResult = { content, _meta: this.meta() };
    if (out.isError) r.isError = true;
    if (out.structuredContent) r.structuredContent = out.structuredContent;
    return r;
  }

  /**
   * An ended episode needs nothing of its environment (its tools answer "call gym_start" without
   * it), so the environment is closed as soon as the ending is answered: its sandbox or browser tab
   * goes back then, not when an abandoned session finally expires. gym_start makes a new one (cheap:
   * per-episode resources are made at reset anyway). Closed after the answer is out, and outside
   * the call chain, so neither the reply nor the session's next call waits on it.
   */
  #releaseEnv(): void {
    const env = this.#env;
    if (!env) return;
    this.#env = undefined;
    setImmediate(() => void Promise.resolve(env.close()).catch(() => undefined));
  }

  #abort(err: unknown): SessionResult {
    this.#aborted = true;
    this.#state = 'ended';
    this.#releaseEnv();
    return errorResult(
      `The environment failed (${(err as Error)?.message ?? String(err)}); this episode is aborted and does not count against you. Call gym_start to begin a new episode.`,
      this.meta(),
    );
  }
}
