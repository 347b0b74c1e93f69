/**
 * Contracts shared by the rollout loop, the policies, the trainer and the evaluator:
 * chat messages, the `Policy` seam and the trajectory record (one JSONL line per episode).
 *
 * Schema first, type derived: the trajectory is a zod schema so a stored file is validated on read.
 */

import { z } from 'zod';
import type { ToolSchemaJson } from '../envs/core/index.js';
import type { ChatTemplate } from './format/template.js';

export type { ToolSchemaJson };

// ---------------------------------------------------------------------------------------------
// Chat messages (the shape Qwen3's chat template consumes)

export const ToolCallMsgSchema = z.object({
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type ToolCallMsg = z.infer<typeof ToolCallMsgSchema>;

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  /** Assistant thinking (rendered as `<think>...</think>` by the template). */
  reasoning_content: z.string().optional(),
  /** Assistant tool calls (rendered as `<tool_call>` blocks). */
  tool_calls: z.array(z.object({ type: z.literal('function').optional(), function: ToolCallMsgSchema })).optional(),
  /** For role `tool`: the name of the tool that produced it (informational). */
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

// ---------------------------------------------------------------------------------------------
// Tokenizer seam: the built-in model's byte-level tokenizer and Qwen3's BPE both implement it.

export interface Tokenizer {
  readonly name: string;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** Id of a special token such as `<|im_end|>` or `</think>`; undefined if the vocabulary lacks it. */
  specialId(token: string): number | undefined;
  readonly vocabSize: number;
}

// ---------------------------------------------------------------------------------------------
// Policy seam

export interface GenerateRequest {
  /** The conversation so far (text-level policies render or send it themselves). */
  messages: ChatMessage[];
  /** Policy-visible tools (control tools already hidden). */
  tools: ToolSchemaJson[];
  /**
   * For token-level policies: the exact token ids of the episode so far, ending with the generation
   * prompt (`<|im_start|>assistant\n`, or after the injected stop-thinking text when continuing).
   */
  promptIds?: number[];
  /** Stop generating once this many tokens are produced. */
  maxTokens: number;
  /** Stop when thinking reaches this many tokens without `</think>` (finishReason `budget`). */
  thinkingBudget?: number;
  /** Whether this turn is in thinking mode (latest `/think` / `/no_think` flag, or enable_thinking). */
  enableThinking: boolean;
  /** When set, the policy continues an assistant turn whose text so far is this (after a budget stop). */
  continuation?: string;
  /** Per-episode seed and turn index: sampling randomness flows from them. */
  seed: number;
  turn: number;
  /** Ids for scripted policies that act on a known task (oracle, replay). */
  episode: { taskId: string; envId: string; sample: number };
  /** Valid tool calls of the episode so far with their results, in order (scripted policies read them). */
  history?: ToolExchange[];
  /**
   * What the user has said so far, in order: the task prompt first, then each turn of the
   * environment's scripted user, across contexts (scripted policies of such environments read it).
   */
  userTurns?: string[];
  signal: AbortSignal;
}

export interface GenerateResult {
  /** Raw assistant text as generated (without the closing `<|im_end|>`). */
  text: string;
  /** Token-level policies: exact sampled ids (including `<|im_end|>` when it stopped there). */
  tokenIds?: number[];
  /** Token-level policies: behaviour log-probabilities of `tokenIds`. */
  logprobs?: number[];
  /**
   * `stop`: the turn ended (`<|im_end|>` or a stop condition); `length`: `maxTokens` were produced;
   * `budget`: the thinking budget was reached; `context_length`: the policy's context window filled
   * up before `maxTokens` (the conversation cannot go on: the episode ends `truncated`).
   */
  finishReason: 'stop' | 'length' | 'budget' | 'context_length';
  /** Tokens produced (counted by the policy's tokenizer where it has one). */
  completionTokens?: number;
}

/**
 * Thrown by a policy whose context window cannot hold the conversation any longer (the prompt alone
 * fills it, or a server answers with a context-length error). The policy filled its own context, so
 * the loop ends the episode `truncated` with reason `context_length` (it is trained on and counts as
 * a failure), not `aborted`.
 */
export class ContextLengthError extends Error {
  override name: string = 'ContextLengthError';
  /** Marks the class across realms and subclasses (`instanceof` fails across a worker boundary). */
  readonly contextLength = true;
}

/** Whether `err` says the conversation no longer fits the policy's context window. */
export function isContextLengthError(err: unknown): boolean {
  return (
    err instanceof ContextLengthError ||
    (typeof err === 'object' && err !== null && (err as { contextLength?: unknown }).contextLength === true)
  );
}

export interface Policy {
  /** A spec string that recreates the policy: `oracle`, `oracle:err=0.2`, `openai:http://...`, `builtin:path`. */
  readonly spec: string;
  /** Token-level policies return ids and logprobs; the loop then builds the episode's tokens incrementally. */
  readonly tokenizer?: Tokenizer;
  /**
   * The chat template a token-level policy was trained with (a model folder's own); the rollout
   * loop renders its prompts with it. Absent: Qwen3's.
   */
  readonly chatTemplate?: ChatTemplate;
  generate(req: GenerateRequest): Promise<GenerateResult>;
  close?(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Trajectory: the unit handed to the trainer and the evaluator

export const ParseFailureKindSchema = z.enum([
  'unclosed_tag',
  'invalid_json',
  'missing_name',
  'non_string_name',
  'non_object_arguments',
  'call_in_think',
  'unbalanced_think',
  'unknown_tool',
  'schema_missing_required',
  'schema_unexpected_parameter',
  'schema_wrong_type',
  'schema_wrong_value',
  'empty_turn',
  /** A `<tool_call>` opened inside an open call: the turn runs no call. */
  'nested_call',
  /** The raw turn is over the parser's character limit: not parsed, runs no call. */
  'oversized_turn',
]);
export type ParseFailureKind = z.infer<typeof ParseFailureKindSchema>;

export const ParseFailureSchema = z.object({ kind: ParseFailureKindSchema, message: z.string(), field: z.string().optional() });
export type ParseFailure = z.infer<typeof ParseFailureSchema>;

export const ToolExchangeSchema = z.object({
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  /** Text of the tool result (as the policy saw it). */
  result: z.string(),
  isError: z.boolean(),
  /** The result's MCP `structuredContent`, when the tool gave one (what an MCP client reads beside the text). */
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  latencyMs: z.number(),
});
export type ToolExchange = z.infer<typeof ToolExchangeSchema>;

export const TurnSchema = z.object({
  index: z.number().int(),
  /** Raw assistant text of this turn. */
  raw: z.string(),
  /** Thinking text, when a think block was present. */
  thinking: z.string().optional(),
  /** Mode the turn was asked in (latest soft switch). */
  mode: z.enum(['think', 'no_think']),
  /** Valid calls parsed from the turn. */
  calls: z.array(ToolExchangeSchema),
  /** Parse / validation failures of this turn (each one counted, fed back as an error observation). */
  failures: z.array(ParseFailureSchema),
  /** The final answer, if this turn gave one (no tool call). */
  answer: z.string().optional(),
  finishReason: z.enum(['stop', 'length', 'budget', 'context_length']),
  /** Thinking budget was hit and the stop-thinking text injected. */
  budgetHit: z.boolean().optional(),
  generationMs: z.number(),
  completionTokens: z.number().int(),
  /** Index of the context the turn was generated in (episodes of several contexts); absent means 0. */
  context: z.number().int().min(1).optional(),
});
export type Turn = z.infer<typeof TurnSchema>;

/**
 * One finished context of an episode of several (a scripted user opened a new one after it): its
 * conversation and, for token-level policies, its exact tokens, mask and log-probs.
 */
export const ContextRecordSchema = z.object({
  messages: z.array(ChatMessageSchema),
  tokens: z.array(z.number().int()).optional(),
  mask: z.array(z.number().int()).optional(),
  logprobs: z.array(z.number()).optional(),
});
export type ContextRecord = z.infer<typeof ContextRecordSchema>;

export const EndingSchema = z.enum(['terminated', 'truncated', 'aborted']);
export type Ending = z.infer<typeof EndingSchema>;

export const TrajectorySchema = z.object({
  /** Format version of this record. */
  format: z.literal('toolgym.trajectory/1'),
  ids: z.object({
    run: z.string(),
    episode: z.string(),
    group: z.string(),
    task: z.string(),
    family: z.string(),
    difficulty: z.number().int(),
    split: z.enum(['train', 'test']),
    seed: z.number().int(),
    sample: z.number().int(),
    env: z.string(),
    envVersion: z.string(),
    policy: z.string(),
  }),
  /** The conversation of the episode's last (for most environments, only) context. */
  messages: z.array(ChatMessageSchema),
  turns: z.array(TurnSchema),
  /**
   * Episodes of several contexts (an environment's scripted user opened new ones): the earlier
   * contexts, in order. `messages`, `tokens`, `mask` and `logprobs` are the last one's; every
   * context shares the episode's reward. Absent for an episode of one context.
   */
  contexts: z.array(ContextRecordSchema).optional(),
  /** Token-level policies only: exact tokens, mask (1 = policy-sampled) and logprobs (0 where mask is 0) of the last context. */
  tokens: z.array(z.number().int()).optional(),
  mask: z.array(z.number().int()).optional(),
  logprobs: z.array(z.number()).optional(),
  reward: z.number(),
  components: z.record(z.string(), z.number()),
  correct: z.boolean(),
  ending: EndingSchema,
  /** Why it ended: one of the reasons of `ENDINGS` (agent/rollout/endings.ts); aborted ones are `error: <source>: <message>`. */
  reason: z.string(),
  error: z.string().optional(),
  metrics: z.object({
    turns: z.number().int(),
    toolCalls: z.number().int(),
    invalidCalls: z.number().int(),
    completionTokens: z.number().int(),
    wallMs: z.number(),
  }),
  /** Mode the episode started in and any switches (`/think`, `/no_think`). */
  mode: z.enum(['think', 'no_think', 'mixed']),
  thinkingBudget: z.number().int().optional(),
});
export type Trajectory = z.infer<typeof TrajectorySchema>;
