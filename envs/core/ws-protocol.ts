/**
 * The `ws` gym protocol (`toolgym.ws/1`): Gymnasium's reset / step / close for many episodes
 * multiplexed on one WebSocket, as JSON text frames. The schemas here are the contract: the server
 * (envs/core/ws.ts) and the client (agent/rollout/ws-client.ts) both import them, and
 * docs/ws-protocol.schema.json is generated from them (`npx tsx scripts/ws-schema.ts`; a test checks
 * that the shipped file is what they generate).
 *
 * Every request carries an `id` chosen by the client; the answer echoes it. Requests are pipelined:
 * a client may send many before the first answer, and answers come in completion order, not send
 * order (one episode's steps are answered in its own order: an episode runs one step at a time).
 *
 *   -> {"id":1,"op":"reset","seed":7}
 *   <- {"id":1,"ok":true,"op":"reset","episode":"r1.kX...","observation":{"messages":[...]},"info":{"task":{...},"step":0}}
 *   -> {"id":2,"op":"step","episode":"r1.kX...","action":{"kind":"tool_calls","calls":[{"name":"add","arguments":{"a":1,"b":2}}]}}
 *   <- {"id":2,"ok":true,"op":"step","episode":"r1.kX...","observation":{"toolResults":[...]},"reward":0,
 *       "terminated":false,"truncated":false,"aborted":false,"info":{"step":1}}
 *   -> {"id":3,"op":"close","episode":"r1.kX..."}
 *   <- {"id":3,"ok":true,"op":"close","episode":"r1.kX..."}
 *
 * Three endings are kept apart in every step answer: `terminated` (an answer was scored, or the
 * environment ended the task), `truncated` (the server's step limit) and `aborted` (the environment's
 * machinery failed: not the policy's doing; `info.error` says what failed). An error answer
 * (`ok: false`) concerns one request only: the socket and the other episodes go on.
 */
import { z } from 'zod';

export const WS_PROTOCOL = 'toolgym.ws/1';
/** The endpoint path `gym serve --ws` answers on. */
export const WS_PATH = '/ws';

// ---------------------------------------------------------------------------------------------
// Client -> server

export const RequestIdSchema = z
  .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(128)])
  .describe('Chosen by the client, echoed by the answer; unique among the requests it has in flight.');
export type RequestId = z.infer<typeof RequestIdSchema>;

export const EpisodeHandleSchema = z
  .string()
  .min(1)
  .max(200)
  .describe('The episode handle `reset` returned: `<replica>.<token>` (unguessable), or `<token>` without a replica id.');

const ToolCallSchema = z
  .object({
    id: z.string().max(128).optional().describe('The call id from the assistant turn (echoed in the trajectory only).'),
    name: z.string().min(1).describe('The tool to call (see `info`).'),
    arguments: z.record(z.string(), z.unknown()).describe('The tool arguments, a JSON object.'),
  })
  .strict();

/** One assistant turn, already parsed: tool calls (answered in order) or the final answer. */
export const WsActionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('tool_calls'),
      calls: z.array(ToolCallSchema).min(1).max(64).describe('Calls run one after the other, in this order.'),
    })
    .strict(),
  z
    .object({ kind: z.literal('answer'), answer: z.string().describe('The final answer; it is scored and the episode ends.') })
    .strict(),
]);
export type WsAction = z.infer<typeof WsActionSchema>;

export const InfoRequestSchema = z.object({ id: RequestIdSchema, op: z.literal('info') }).strict();

export const ResetRequestSchema = z
  .object({
    id: RequestIdSchema,
    op: z.literal('reset'),
    seed: z.number().int().optional().describe('Seed that picks the task (index = seed mod split size) and seeds the tools.'),
    taskId: z.string().optional().describe('Exact task id, e.g. "arith/sum3/test/3"; overrides seed for the choice of task.'),
    split: z.enum(['train', 'test']).optional().describe('Split to draw the task from when no taskId is given.'),
  })
  .strict();

export const StepRequestSchema = z
  .object({ id: RequestIdSchema, op: z.literal('step'), episode: EpisodeHandleSchema, action: WsActionSchema })
  .strict();

export const CloseRequestSchema = z
  .object({ id: RequestIdSchema, op: z.literal('close'), episode: EpisodeHandleSchema })
  .strict();

export const CancelRequestSchema = z
  .object({
    id: RequestIdSchema,
    op: z.literal('cancel'),
    target: RequestIdSchema.describe('The id of a tool-call step of this socket, in flight or waiting its turn.'),
  })
  .strict();

export const WsRequestSchema = z.discriminatedUnion('op', [
  InfoRequestSchema,
  ResetRequestSchema,
  StepRequestSchema,
  CloseRequestSchema,
  CancelRequestSchema,
]);
export type WsRequest = z.infer<typeof WsRequestSchema>;
export type WsOp = WsRequest['op'];

// ---------------------------------------------------------------------------------------------
// Server -> client

const ToolResultSchema = z.object({
  content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
  isError: z.boolean().optional().describe('The tool failed (bad arguments, a tool error): the episode goes on.'),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
});

const TaskSchema = z.object({
  id: z.string(),
  family: z.string(),
  split: z.enum(['train', 'test']),
  difficulty: z.number().int().min(1).max(5),
  prompt: z.string(),
  seed: z.number(),
});

export const WsToolSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments, as MCP tools/list shows it.'),
});
export type WsTool = z.infer<typeof WsToolSchema>;

export const InfoResultSchema = z.object({
  id: RequestIdSchema,
  ok: z.literal(true),
  op: z.literal('info'),
  protocol: z.literal(WS_PROTOCOL),
  env: z.object({ id: z.string(), version: z.string(), description: z.string() }),
  replica: z.string().optional().describe('The replica id the server was started with (`--replica-id`).'),
  tools: z.array(WsToolSchema).describe('The policy-visible tools, in a fixed order.'),
  limits: z.object({
    maxInflight: z.number().int().describe('Requests the server works on at once per socket; it stops reading past it.'),
    maxEpisodes: z.number().int().describe('Open episodes per socket; a reset past it is answered `too_many_episodes`.'),
    maxMessageBytes: z.number().int().describe('Largest accepted frame; a larger one closes the socket (1009).'),
    maxSteps: z.number().int().describe('Tool calls and answers per episode before it is truncated.'),
  }),
});

export const ResetResultSchema = z.object({
  id: RequestIdSchema,
  ok: z.literal(true),
  op: z.literal('reset'),
  episode: EpisodeHandleSchema,
  observation: z.object({
    messages: z.array(z.object({ role: z.enum(['system', 'user']), content: z.string() })),
  }),
  info: z.object({ task: TaskSchema, step: z.literal(0) }),
});

export const StepResultSchema = z.object({
  id: RequestIdSchema,
  ok: z.literal(true),
  op: z.literal('step'),
  episode: EpisodeHandleSchema,
  observation: z.object({
    toolResults: z.array(ToolResultSchema).optional().describe('One per tool call, in call order.'),
    messages: z
      .array(z.object({ role: z.enum(['system', 'user']), content: z.string() }))
      .optional()
      .describe("After an answer to a scripted user (the memory env): the user's next turn; the episode goes on."),
  }),
  reward: z.number().describe('0 until the answer is scored.'),
  terminated: z.boolean().describe('An answer was scored, or the environment ended the task.'),
  truncated: z.boolean().describe("The server's step limit ended the episode."),
  aborted: z.boolean().describe("The environment's machinery failed: not the policy's doing (leave it out of training)."),
  info: z.object({
    step: z.number().int().min(0),
    components: z.record(z.string(), z.number()).optional(),
    correct: z.boolean().optional(),
    detail: z.string().optional().describe('The verifier note on the answer (never the reference).'),
    error: z.string().optional().describe('Why the episode was aborted.'),
    newContext: z
      .boolean()
      .optional()
      .describe("With `observation.messages`: the user's turn starts a new context (earlier turns are dropped)."),
    context: z.number().int().min(0).optional().describe('With `observation.messages`: the index of its context.'),
    cancelled: z
      .boolean()
      .optional()
      .describe(
        'The client cancelled the step: the call running then is answered as cancelled (its tool may still finish on the server) and later calls were not run.',
      ),
  }),
});

export const CloseResultSchema = z.object({
  id: RequestIdSchema,
  ok: z.literal(true),
  op: z.literal('close'),
  episode: EpisodeHandleSchema,
});

export const CancelResultSchema = z.object({
  id: RequestIdSchema,
  ok: z.literal(true),
  op: z.literal('cancel'),
  target: RequestIdSchema,
  cancelled: z
    .boolean()
    .describe(
      'Whether the target was a tool-call step still in flight (its answer then says `info.cancelled`); false for an id that finished, never was, or is not a tool-call step.',
    ),
});

/** What an `ok: false` answer's `error.code` can be. */
export const WsErrorCodeSchema = z.enum([
  /** The frame is not JSON, or not a request this schema describes (the message says which field). */
  'bad_request',
  /** The episode handle names no open episode of this socket (closed, never opened, or another socket's). */
  'unknown_episode',
  /** A step on an episode that has already ended (terminated, truncated or aborted): reset a new one. */
  'episode_over',
  /** A reset past the socket's `maxEpisodes`: close some episodes first. */
  'too_many_episodes',
  /** The environment could not start the episode (e.g. an unknown task id). */
  'reset_failed',
  /** The request id is already in flight on this socket. */
  'duplicate_id',
  /** The server failed on this request; the socket and other episodes go on. */
  'internal',
]);
export type WsErrorCode = z.infer<typeof WsErrorCodeSchema>;

export const ErrorResultSchema = z.object({
  id: RequestIdSchema.nullable().describe('The request id, or null when the frame had none that could be read.'),
  ok: z.literal(false),
  op: z.enum(['info', 'reset', 'step', 'close', 'cancel']).optional(),
  episode: EpisodeHandleSchema.optional(),
  error: z.object({ code: WsErrorCodeSchema, message: z.string().describe('One line that says what to do.') }),
});

export const WsResponseSchema = z.union([
  InfoResultSchema,
  ResetResultSchema,
  StepResultSchema,
  CloseResultSchema,
  CancelResultSchema,
  ErrorResultSchema,
]);
export type WsResponse = z.infer<typeof WsResponseSchema>;
export type WsCancelResult = z.infer<typeof CancelResultSchema>;
export type WsInfoResult = z.infer<typeof InfoResultSchema>;
export type WsResetResult = z.infer<typeof ResetResultSchema>;
export type WsStepResult = z.infer<typeof StepResultSchema>;
export type WsCloseResult = z.infer<typeof CloseResultSchema>;
export type WsErrorResult = z.infer<typeof ErrorResultSchema>;

/** Close codes the server uses (besides 1000 and ws's own 1009 for an oversized frame). */
export const WS_CLOSE = {
  /** The server is shutting down: every open episode of the socket is gone. */
  goingAway: 1001,
} as const;

// ---------------------------------------------------------------------------------------------
// The shipped JSON Schema

/** The JSON Schema (draft 2020-12) of both directions: what docs/ws-protocol.schema.json holds. */
export function wsProtocolJsonSchema(): Record<string, unknown> {
  const toJson = (s: z.ZodType): Record<string, unknown> => {
    const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'output' }) as Record<string, unknown>;
    return rest;
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://toolgym.dev/schemas/ws-protocol.schema.json',
    title: `toolgym ws gym protocol (${WS_PROTOCOL})`,
    description:
      'JSON text frames on ws://HOST:PORT/ws (`gym serve --ws`). A client sends `request`s; the server answers each with a `response` echoing its id, in completion order.',
    $defs: { request: toJson(WsRequestSchema), response: toJson(WsResponseSchema) },
    oneOf: [{ $ref: '#/$defs/request' }, { $ref: '#/$defs/response' }],
  };
}
