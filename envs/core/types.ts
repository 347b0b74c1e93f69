/**
 * The environment contract: Gymnasium semantics for LLM episodes.
 *
 * An episode is `reset` (seeded), then `step` with one parsed assistant action at a time (tool calls or
 * a final answer), then `close`. The observation is chat-shaped text; the reference answer of a task
 * never appears in anything an `Environment` returns to the policy.
 *
 * Three endings are kept apart:
 *  - terminated: the answer was given (or the task can no longer be solved);
 *  - truncated: a turn, token or time limit ended the episode;
 *  - aborted: an infrastructure fault (not the policy's fault; masked from training, reported apart).
 */
import type { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Tasks and verifiers

export type Split = 'train' | 'test';
export type Difficulty = 1 | 2 | 3 | 4 | 5;

/** What the policy may see of a task. */
export interface TaskPublic {
  /** Stable id; `getTask(id)` regenerates the same task: `<env>/<family>/<split>/<index>`. */
  id: string;
  family: string;
  split: Split;
  difficulty: Difficulty;
  /** The user message that states the task. */
  prompt: string;
  /** The seed the task (and its sandbox state) was generated from. */
  seed: number;
}

/** A task with its hidden reference: never sent to the policy. */
export interface Task<Ref = unknown> extends TaskPublic {
  reference: Ref;
}

/** Named reward components; `reward` is their weighted sum as the env defines it. */
export type RewardComponents = Record<string, number>;

export interface Verdict {
  /** Total scalar reward in [0, 1] for generated tasks. */
  reward: number;
  components: RewardComponents;
  /** Whether the task counts as solved (drives success rates, pass@k). */
  correct: boolean;
  /** A short, policy-safe explanation (never the reference). */
  detail?: string;
}

/** One step of a scripted oracle: call tools, or answer. */
export type OracleAction =
  | { kind: 'tool_calls'; calls: ToolCall[]; thought?: string }
  | { kind: 'answer'; answer: string; thought?: string };

/**
 * A scripted solver for a task family, used by the rollout `oracle` policy (cold-start data, test
 * doubles). It sees the task with its reference and the tool results so far, and acts only through
 * real tool calls; its answer must verify.
 */
export type Oracle<Ref = unknown> = (
  task: Task<Ref>,
  history: readonly OracleObservation[],
  /**
   * What the user has said so far, in order: the task prompt first, then every turn a scripted user
   * added (`ToolEnvConfig.user`). Oracles of single-prompt environments ignore it.
   */
  user?: readonly string[],
) => OracleAction;

export interface OracleObservation {
  call: ToolCall;
  result: ToolResult;
}

export interface TaskFamily<Ref = unknown, E = any> {
  /** e.g. `compute.bigint`, `program`, `lookup`, `multihop`. */
  name: string;
  description: string;
  /** Deterministic: the same (split, index) always gives the same task, and train/test never overlap. */
  generate(split: Split, index: number): Task<Ref>;
  /** Number of tasks in each split (generators are finite so splits have sizes). */
  splitSizes: Record<Split, number>;
  /**
   * Scores the final answer. `episode` is the environment's episode state, for verifiers that score
   * more than the answer (a memory store's hygiene, the replies of a scripted dialogue); the
   * environment passes it, a caller holding only a task and an answer leaves it out.
   */
  verify(task: Task<Ref>, answer: string, episode?: E): Promise<Verdict>;
  oracle: Oracle<Ref>;
}

// ---------------------------------------------------------------------------------------------
// Tools, actions, steps

/** A tool call as parsed from an assistant turn. `id` is assigned by the caller (loop or MCP). */
export interface ToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** MCP-shaped tool result. A failure inside a tool is `isError: true`, never a throw. */
export interface ToolResult {
  content: Array<{ type: 'text'; text: string }>;
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
}

/** Context a tool handler runs in: the episode's state and its abort signal. */
export interface ToolContext {
  signal: AbortSignal;
  /** Episode-scoped seed (derived from the task seed): all tool randomness flows from it. */
  seed: number;
}

/**
 * A tool is an MCP tool: name, description, zod input schema (every field `.describe()`d), handler.
 * `E` is the environment-specific episode state the handler works on.
 */
export interface ToolSpec<E = unknown, S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title?: string;
  description: string;
  inputSchema: S;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  handler(args: z.infer<z.ZodObject<S>>, episode: E, ctx: ToolContext): Promise<ToolResult>;
}

export type Action = { kind: 'tool_calls'; calls: ToolCall[] } | { kind: 'answer'; answer: string };

export interface ChatMessageLite {
  role: 'system' | 'user';
  content: string;
}

export interface Observation {
  /**
   * On reset: the system instructions (without the tool list: the chat template adds it) and the task.
   * After an answer that does not end the episode: the user's next turn (a scripted user).
   */
  messages?: ChatMessageLite[];
  /** On a tool step: one result per call, in call order. */
  toolResults?: ToolResult[];
  /**
   * With `messages` after an answer: the messages (system prompt and user turn) open a new context.
   * The earlier turns are dropped; the episode goes on, and only the environment's state (a memory
   * store) carries over. Absent: the messages continue the current context.
   */
  newContext?: boolean;
}

/** A scripted user's next turn, answering the agent's reply (see `ToolEnvConfig.user`). */
export interface UserTurn {
  content: string;
  /** The turn opens a new context (a new conversation; only the environment's state is kept). */
  newContext?: boolean;
}

export interface EpisodeInfo {
  envId: string;
  envVersion: string;
  task: TaskPublic;
  step: number;
  /** Present once the episode has ended by an answer. */
  verdict?: Verdict;
  [key: string]: unknown;
}

export interface ResetOptions {
  /** Seed picks the task (index = seed mod split size) unless `taskId` is given. */
  seed?: number;
  taskId?: string;
  split?: Split;
  options?: Record<string, unknown>;
}

export interface StepResult {
  observation: Observation;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: EpisodeInfo;
}

export interface Environment {
  readonly id: string;
  readonly version: string;
  /** The policy-visible tools (names, descriptions, zod shapes). */
  readonly tools: readonly ToolSpec<any, any>[];
  reset(opts?: ResetOptions): Promise<{ observation: Observation; info: EpisodeInfo }>;
  step(action: Action, signal?: AbortSignal): Promise<StepResult>;
  /** Safe to call twice. */
  close(): Promise<void>;
}

/** Registered environment: builds fresh `Environment` instances, one per episode/session. */
export interface EnvDefinition {
  id: string;
  version: string;
  description: string;
  families: readonly TaskFamily<any>[];
  /** Tools (for `gym envs` and MCP listing without an episode). */
  tools: readonly ToolSpec<any, any>[];
  create(options?: Record<string, unknown>): Environment;
  /** Look a task up by id (with its reference): used by verifiers and the oracle, never sent to a policy. */
  getTask(id: string): Task;
  /** Documents the environment exposes as MCP resources (`toolgym://...`): corpora, task descriptions. */
  resources?: () => readonly EnvResource[];
  /**
   * Checks, before any episode, that what the environment needs on this machine works (a native
   * build for the running Node, a browser); throws a named error that says what to do. Commands call
   * it when they build the environment, so a broken install fails at once with that message instead
   * of as aborted episodes.
   */
  preflight?: () => void;
}

/** One MCP resource of an environment; `read()` is called only when a client reads it. */
export interface EnvResource {
  /** e.g. `toolgym://search/docs/ilvar-tesk`. */
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType: string;
  read(): string;
}
