/**
 * `defineToolEnv`: the usual way to build an `EnvDefinition` from task families, tools and a
 * per-episode state. It implements the parts every environment shares (task lookup by id or seed,
 * argument validation naming the field, tool failures as `isError` results, step counting,
 * verdicts), so an environment file only says what is particular to it.
 */
import { mixSeed } from '../../tools/index.js';
import { EpisodeNotStartedError, isEnvFault, UnknownTaskError } from './errors.js';
import { checkArgs } from './schema.js';
import type {
  Action,
  ChatMessageLite,
  EnvDefinition,
  Environment,
  EpisodeInfo,
  Observation,
  ResetOptions,
  Split,
  StepResult,
  Task,
  TaskFamily,
  TaskPublic,
  ToolCall,
  ToolResult,
  ToolSpec,
  UserTurn,
} from './types.js';

export interface ToolEnvConfig<E> {
  id: string;
  version: string;
  description: string;
  families: readonly TaskFamily<any>[];
  tools: readonly ToolSpec<E, any>[];
  /** The system message of every episode (the chat template adds the tool list itself). */
  systemPrompt: string | ((task: TaskPublic) => string);
  /** Builds the episode state the tools work on (a sandbox, an index view, ...). */
  createEpisode(task: Task, ctx: { seed: number; options: Record<string, unknown> }): E | Promise<E>;
  /** Frees an episode's state; called on the next reset and on close. */
  disposeEpisode?(episode: E): void | Promise<void>;
  /**
   * A scripted user (tau-bench style), called with each answer the agent gives: a `UserTurn`
   * continues the episode (the answer was a reply in the conversation; `newContext` starts a new
   * conversation that keeps only the episode state), `undefined` lets the family verify the answer
   * and end the episode. Without it every answer ends the episode.
   */
  user?(task: Task, episode: E, reply: string): UserTurn | undefined | Promise<UserTurn | undefined>;
  /** Env-level step limit (the MCP session has its own); the step reaching it is truncated. */
  maxSteps?: number;
  /** Task lookup by id (set by `defineToolEnv`: `findTask` behind a cache). */
  getTask?: (id: string) => Task;
  /** See `EnvDefinition.preflight`. */
  preflight?: () => void;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** `<env>/<family>/<split>/<index>`; the family name may itself contain dots but not slashes. */
export function taskId(envId: string, family: string, split: Split, index: number): string {
  return `${envId}/${family}/${split}/${index}`;
}

export function parseTaskId(id: string): { envId: string; family: string; split: Split; index: number } | undefined {
  const m = /^([^/]+)\/([^/]+)\/(train|test)\/(\d+)$/.exec(id);
  if (!m) return undefined;
  return { envId: m[1], family: m[2], split: m[3] as Split, index: Number(m[4]) };
}

/** The policy-visible part of a task: only the public fields are copied, so the reference can't ride along. */
export function toPublic(task: TaskPublic): TaskPublic {
  return {
    id: task.id,
    family: task.family,
    split: task.split,
    difficulty: task.difficulty,
    prompt: task.prompt,
    seed: task.seed,
  };
}

/** Looks a task up in a family list; throws `UnknownTaskError` saying why not. */
export function findTask(envId: string, families: readonly TaskFamily<any>[], id: string): Task {
  const p = parseTaskId(id);
  if (!p) throw new UnknownTaskError(id, 'malformed id');
  if (p.envId !== envId) throw new UnknownTaskError(id, `it belongs to environment "${p.envId}", not "${envId}"`);
  const fam = families.find((f) => f.name === p.family);
  if (!fam) throw new UnknownTaskError(id, `no family "${p.family}" (families: ${families.map((f) => f.name).join(', ')})`);
  if (p.index >= fam.splitSizes[p.split])
    throw new UnknownTaskError(id, `index ${p.index} is past the ${p.split} split size ${fam.splitSizes[p.split]}`);
  return fam.generate(p.split, p.index);
}

/** The task a seed picks: index = seed mod (total split size), walking the families in order. */
export function taskForSeed(families: readonly TaskFamily<any>[], split: Split, seed: number): Task {
  const total = families.reduce((n, f) => n + f.splitSizes[split], 0);
  if (total === 0) throw new UnknownTaskError(`(seed ${seed})`, `the ${split} split is empty`);
  let idx = ((Math.trunc(seed) % total) + total) % total;
  for (const f of families) {
    if (idx < f.splitSizes[split]) return f.generate(split, idx);
    idx -= f.splitSizes[split];
  }
  throw new Error('unreachable: index past every family');
}

export function textResult(text: string, isError = false): ToolResult {
  return isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] };
}

// ---------------------------------------------------------------------------------------------
// The environment

interface Running<E> {
  task: Task;
  family: TaskFamily<any>;
  episode: E;
  seed: number;
  step: number;
  ended: boolean;
  info: EpisodeInfo;
  /** The episode's system message (a new context opens with it again). */
  system: string;
}

class ToolEnvironment<E> implements Environment {
  readonly id: string;
  readonly version: string;
  readonly tools: readonly ToolSpec<E, any>[];
  #run: Running<E> | undefined;
  #closed = false;
  readonly #byName: Map<string, ToolSpec<E, any>>;

  constructor(
    private readonly cfg: ToolEnvConfig<E>,
    private readonly options: Record<string, unknown>,
  ) {
    this.id = cfg.id;
    this.version = cfg.version;
    this.tools = cfg.tools;
    this.#byName = new Map(cfg.tools.map((t) => [t.name, t]));
  }

  async reset(opts: ResetOptions = {}): Promise<{ observation: Observation; info: EpisodeInfo }> {
    await this.#dispose();
    this.#closed = false;
    const split = opts.split ?? 'train';
    const task = opts.taskId
      ? (this.cfg.getTask ?? ((id: string) => findTask(this.id, this.cfg.families, id)))(opts.taskId)
      : taskForSeed(this.cfg.families, split, opts.seed ?? 0);
    const family = this.cfg.families.find((f) => f.name === task.family);
    if (!family) throw new UnknownTaskError(task.id, `generated by an unknown family "${task.family}"`);
    const seed = mixSeed(task.seed, opts.seed ?? 0, 'episode');
    const episode = await this.cfg.createEpisode(task, { seed, options: { ...this.options, ...opts.options } });
    const pub = toPublic(task);
    const info: EpisodeInfo = { envId: this.id, envVersion: this.version, task: pub, step: 0 };
    const system = typeof this.cfg.systemPrompt === 'function' ? this.cfg.systemPrompt(pub) : this.cfg.systemPrompt;
    this.#run = { task, family, episode, seed, step: 0, ended: false, info, system };
    const messages: ChatMessageLite[] = [
      { role: 'system', content: system },
      { role: 'user', content: task.prompt },
    ];
    return { observation: { messages }, info: { ...info } };
  }

  async step(action: Action, signal?: AbortSignal): Promise<StepResult> {
    const run = this.#run;
    if (!run || this.#closed) throw new EpisodeNotStartedError(this.id);
    if (run.ended) {
      const msg = 'The episode has ended: reset() to start a new one.';
      const toolResults = action.kind === 'tool_calls' ? action.calls.map(() => textResult(msg, true)) : [textResult(msg, true)];
      return { observation: { toolResults }, reward: 0, terminated: true, truncated: false, info: { ...run.info, error: msg } };
    }
    run.step++;
    const sig = signal ?? new AbortController().signal;
    let reward = 0;
    let terminated = false;
    let observation: Observation;
    const next =
      action.kind === 'answer' && this.cfg.user ? await this.cfg.user(run.task, run.episode, action.answer) : undefined;
    if (next) {
      const user: ChatMessageLite = { role: 'user', content: next.content };
      observation = next.newContext
        ? { messages: [{ role: 'system', content: run.system }, user], newContext: true }
        : { messages: [user] };
    } else if (action.kind === 'answer') {
      const verdict = await run.family.verify(run.task, action.answer, run.episode);
      reward = verdict.reward;
      terminated = true;
      run.info = { ...run.info, verdict };
      observation = { toolResults: [textResult(verdict.detail ?? (verdict.correct ? 'Correct.' : 'Incorrect.'))] };
    } else {
      const toolResults: ToolResult[] = [];
      for (const call of action.calls) toolResults.push(await this.#call(run, call, sig));
      observation = { toolResults };
    }
    const truncated = !terminated && this.cfg.maxSteps !== undefined && run.step >= this.cfg.maxSteps;
    run.ended = terminated || truncated;
    run.info = { ...run.info, step: run.step };
    return { observation, reward, terminated, truncated, info: { ...run.info } };
  }

  async #call(run: Running<E>, call: ToolCall, signal: AbortSignal): Promise<ToolResult> {
    const tool = this.#byName.get(call.name);
    if (!tool) return textResult(`Unknown tool \`${call.name}\`. Available tools: ${[...this.#byName.keys()].join(', ')}.`, true);
    const checked = checkArgs(tool.name, tool.inputSchema, call.arguments);
    if (!checked.ok) return textResult(checked.message, true);
    try {
      return await tool.handler(checked.args as never, run.episode, { signal, seed: run.seed });
    } catch (err) {
      // The environment's machinery failing is no one's move: the session aborts the episode.
      if (isEnvFault(err)) throw err;
      // A tool that throws otherwise is the tool's failure, reported to the agent; the episode goes on.
      return textResult(`Tool \`${tool.name}\` failed: ${(err as Error)?.message ?? String(err)}`, true);
    }
  }

  async #dispose(): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    if (run && this.cfg.disposeEpisode) await this.cfg.disposeEpisode(run.episode);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

/** Tasks kept per environment definition: GRPO groups and the oracle ask for the same task many times. */
const TASK_CACHE_SIZE = 2048;

/**
 * A bounded cache in front of `findTask`. Families generate tasks deterministically from (split,
 * index), and generating one can cost a millisecond (references are computed), so the env's resets
 * and `getTask` (the oracle's lookup) share the generated task instead of building it again. Cached
 * tasks are frozen (shallowly) so a consumer cannot change what later episodes get.
 */
function cachedFinder(envId: string, families: readonly TaskFamily<any>[]): (id: string) => Task {
  const cache = new Map<string, Task>();
  return (id) => {
    let t = cache.get(id);
    if (t) return t;
    t = Object.freeze(findTask(envId, families, id)) as Task;
    if (cache.size >= TASK_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(id, t);
    return t;
  };
}

export function defineToolEnv<E>(cfg: ToolEnvConfig<E>): EnvDefinition {
  const getTask = cachedFinder(cfg.id, cfg.families);
  cfg = { ...cfg, getTask } as ToolEnvConfig<E>;
  return {
    id: cfg.id,
    version: cfg.version,
    description: cfg.description,
    families: cfg.families,
    tools: cfg.tools,
    create: (options = {}) => new ToolEnvironment(cfg, options),
    getTask,
    ...(cfg.preflight ? { preflight: cfg.preflight } : {}),
  };
}
