/**
 * The wire contract between an environment server and its clients: what toolgym adds to MCP.
 *
 *  - the `_meta` keys every tool result carries (episode state, and the reward on the last step);
 *  - the control marker on `gym_list_tasks`, `gym_start` and `gym_submit`, and their arguments;
 *  - what `gym_start` returns in `structuredContent`;
 *  - a tool in the OpenAI function format (what a policy and a chat template are shown);
 *  - the JSON-RPC error codes the server answers with, and which of them are the caller's mistake.
 *
 * The server (session.ts, server.ts, http.ts, stdio.ts) and every client path (the rollout loop's
 * `EnvClient` over in-memory, MessagePort, stdio and Streamable HTTP; the conformance checker)
 * import these schemas, so a key is spelt in one place.
 */
import { ProtocolError } from '@modelcontextprotocol/client';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// `_meta` of a tool result

/** The `_meta` keys toolgym uses, by what they hold. */
export const META = {
  /** On a tool listing: a control tool (the rollout loop hides it from the policy). */
  control: 'toolgym/control',
  step: 'toolgym/step',
  terminated: 'toolgym/terminated',
  truncated: 'toolgym/truncated',
  aborted: 'toolgym/aborted',
  reward: 'toolgym/reward',
  components: 'toolgym/components',
  correct: 'toolgym/correct',
  taskId: 'toolgym/taskId',
  episode: 'toolgym/episode',
  /** The episode's handle (`<replicaId>.<token>`): what `episode` arguments name. */
  handle: 'toolgym/handle',
  context: 'toolgym/context',
} as const;

/** Episode state carried by every tool result's `_meta`; the final step adds the reward. */
export const EpisodeMetaSchema = z.object({
  /** Steps taken in this episode (tool calls and the answer); 0 right after `gym_start`. */
  [META.step]: z.number().int().min(0),
  [META.terminated]: z.boolean(),
  [META.truncated]: z.boolean(),
  /** An infrastructure fault ended the episode (not the agent's fault). */
  [META.aborted]: z.boolean().optional(),
  [META.reward]: z.number().optional(),
  [META.components]: z.record(z.string(), z.number()).optional(),
  [META.correct]: z.boolean().optional(),
  [META.taskId]: z.string().optional(),
  /** How many episodes this session has started (1 for the first). */
  [META.episode]: z.number().int().min(1).optional(),
  [META.handle]: z.string().optional(),
  /** Environments with a scripted user: the index of the current context (0 for the first), once a new one began. */
  [META.context]: z.number().int().min(0).optional(),
});
export type EpisodeMeta = z.infer<typeof EpisodeMetaSchema>;

const metaFields = Object.entries(EpisodeMetaSchema.shape) as Array<[keyof EpisodeMeta, z.ZodType]>;

/**
 * The episode state in a result's `_meta`, read field by field: a field that is missing or of the
 * wrong type is left out (a client reads what a server it does not control sent).
 */
export function readEpisodeMeta(meta: unknown): Partial<EpisodeMeta> {
  const out: Record<string, unknown> = {};
  if (!meta || typeof meta !== 'object') return out;
  for (const [key, schema] of metaFields) {
    const parsed = schema.safeParse((meta as Record<string, unknown>)[key]);
    if (parsed.success && parsed.data !== undefined) out[key] = parsed.data;
  }
  return out as Partial<EpisodeMeta>;
}

// ---------------------------------------------------------------------------------------------
// Control tools

/** The `_meta` of a control tool's listing. */
export const CONTROL_META = { [META.control]: true } as const;

/** Whether a listed tool carries the control marker. */
export function hasControlMarker(tool: { _meta?: Record<string, unknown> | undefined }): boolean {
  return tool._meta?.[META.control] === true;
}

export const SplitSchema = z.enum(['train', 'test']);

/** Episode control as MCP tools: their titles, descriptions and argument shapes. */
export const controlTools = {
  gym_list_tasks: {
    title: 'List tasks',
    description: 'List the tasks of this environment (id, family, split, difficulty), a page at a time.',
    inputSchema: {
      split: SplitSchema.optional().describe('Which split to list: "train" or "test" (default "test").'),
      family: z.string().optional().describe('Only tasks of this family (see the families in the result).'),
      offset: z.number().int().min(0).optional().describe('Index of the first task to list within each family (default 0).'),
      limit: z.number().int().min(1).max(100).optional().describe('Tasks to list per family (default 10, at most 100).'),
    },
  },
  gym_start: {
    title: 'Start an episode',
    description:
      'Start a new episode: picks a task by id, or by seed within a split, and returns the task and the episode handle (structuredContent.episode). Pass the handle as "episode" to every later call of the episode; on an MCP session it may be left out (the last episode started).',
    inputSchema: {
      seed: z
        .number()
        .int()
        .optional()
        .describe(
          'Seed that picks the task and seeds the tools (default: the number of episodes already started in this session).',
        ),
      taskId: z
        .string()
        .optional()
        .describe(
          'Exact task id, e.g. "code-interp/compute.bigint/test/3" (see gym_list_tasks); overrides seed for the choice of task.',
        ),
      split: SplitSchema.optional().describe('Split to draw the task from when no taskId is given: "train" or "test".'),
    },
  },
  gym_submit: {
    title: 'Submit the final answer',
    description:
      "Submit the final answer to the current task. Ends the episode and returns the reward, unless the environment has a scripted user: then your answer is your reply and the result is the user's next message (which may open a new session) until the last one.",
    inputSchema: {
      answer: z.string().describe('The final answer, exactly as the task asks for it (no explanation).'),
    },
  },
} as const;

export const ControlToolNameSchema = z.enum(Object.keys(controlTools) as [keyof typeof controlTools]);
export type ControlToolName = z.infer<typeof ControlToolNameSchema>;
/** The control tools by name: `CONTROL.gym_start` is `'gym_start'`. */
export const CONTROL = ControlToolNameSchema.enum;

export const StartArgsSchema = z.object(controlTools.gym_start.inputSchema);
export type StartArgs = z.infer<typeof StartArgsSchema>;
export const SubmitArgsSchema = z.object(controlTools.gym_submit.inputSchema);
export type SubmitArgs = z.infer<typeof SubmitArgsSchema>;
export const ListTasksArgsSchema = z.object(controlTools.gym_list_tasks.inputSchema);
export type ListTasksArgs = z.infer<typeof ListTasksArgsSchema>;

/** Whether `name` is one of the control tools. */
export function isControlTool(name: string): name is ControlToolName {
  return Object.hasOwn(controlTools, name);
}

/** A task as `gym_start` returns it (never its reference). */
export const StartedTaskSchema = z.object({
  id: z.string(),
  family: z.string(),
  split: SplitSchema,
  difficulty: z.literal([1, 2, 3, 4, 5]),
  prompt: z.string(),
  seed: z.number(),
});

/** `gym_start`'s `structuredContent`: the episode handle, the task and the opening messages (system prompt, task). */
export const StartResultSchema = z.object({
  /** The episode's handle, to pass as `episode` to every later call of the episode (optional on a 2025 session). */
  episode: z.string().optional(),
  task: StartedTaskSchema,
  messages: z.array(z.object({ role: z.enum(['system', 'user']), content: z.string() })),
});
export type StartResult = z.infer<typeof StartResultSchema>;

/**
 * `gym_submit`'s `structuredContent` when the episode goes on (an environment with a scripted user):
 * the user's next turn. With `newContext` the messages (system prompt and user turn) open a new
 * context: a client drops the conversation so far and starts again from them.
 */
export const UserTurnResultSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user']), content: z.string() })).min(1),
  newContext: z.boolean(),
  /** Index of the context the messages belong to (0 for the first). */
  context: z.number().int().min(0),
});
export type UserTurnResult = z.infer<typeof UserTurnResultSchema>;

// ---------------------------------------------------------------------------------------------
// Episode handles

/** The tool argument naming an episode: every environment tool and `gym_submit` take it. */
export const EPISODE_ARG = 'episode';
/** Its `x-mcp-header` name: a 2026-07-28 client mirrors the argument into `Mcp-Param-Episode`. */
export const EPISODE_HEADER = 'Episode';
/** The HTTP header a load balancer routes on (lower-cased, as Node reads it). */
export const EPISODE_HTTP_HEADER = `mcp-param-${EPISODE_HEADER.toLowerCase()}`;

/**
 * The listed schema of `episode`. Optional: a 2025-11-25 session or stdio may leave it out and act
 * on the session's current episode; a 2026-07-28 request (no session) must send it.
 */
export const EpisodeArgSchema = z
  .string()
  .min(1)
  .optional()
  .describe('The episode handle gym_start returned; may be left out on an MCP session (the current episode).')
  .meta({ 'x-mcp-header': EPISODE_HEADER });

const withEpisodeCache = new WeakMap<z.ZodRawShape, z.ZodRawShape>();

/** A tool's argument shape as listed: its own fields plus `episode`. Cached per shape. */
export function withEpisodeArg(shape: z.ZodRawShape): z.ZodRawShape {
  let out = withEpisodeCache.get(shape);
  if (!out) {
    out = { ...shape, [EPISODE_ARG]: EpisodeArgSchema };
    withEpisodeCache.set(shape, out);
  }
  return out;
}

/**
 * A tool's JSON Schema as a policy sees it: `episode` removed (the rollout loop passes it itself),
 * so prompts and token ids are those of the environment's own tools. Other schemas are returned as is.
 */
export function withoutEpisodeArg(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema.properties;
  if (!props || typeof props !== 'object' || !Object.hasOwn(props, EPISODE_ARG)) return schema;
  const { [EPISODE_ARG]: _drop, ...rest } = props as Record<string, unknown>;
  const out: Record<string, unknown> = { ...schema, properties: rest };
  if (Array.isArray(schema.required)) {
    const required = (schema.required as unknown[]).filter((k) => k !== EPISODE_ARG);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A tool as a policy sees it

/** OpenAI function format: what a chat template's `tools` takes and what `EnvClient.tools()` lists. */
export const ToolSchemaJsonSchema = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string(), description: z.string(), parameters: z.record(z.string(), z.unknown()) }),
});
export type ToolSchemaJson = z.infer<typeof ToolSchemaJsonSchema>;

// ---------------------------------------------------------------------------------------------
// Errors

/** The JSON-RPC error codes toolgym servers answer with. */
export const WIRE_ERROR = {
  parse: ErrorCode.ParseError,
  invalidRequest: ErrorCode.InvalidRequest,
  methodNotFound: ErrorCode.MethodNotFound,
  /** An unknown tool, a missing name, arguments that are not an object. */
  invalidParams: ErrorCode.InvalidParams,
  internal: ErrorCode.InternalError,
  /** Streamable HTTP, before MCP: a refused host, origin or token, a full server, a wrong path or method. */
  refused: -32000,
  /** Streamable HTTP: an unknown or expired session id. */
  sessionNotFound: -32001,
} as const;
export const WireErrorCodeSchema = z.literal(Object.values(WIRE_ERROR));
export type WireErrorCode = z.infer<typeof WireErrorCodeSchema>;

/** Codes that blame the request (the tool name or its arguments), not the server: a policy's mistake. */
export const CallerErrorCodeSchema = z.literal([WIRE_ERROR.invalidParams, WIRE_ERROR.methodNotFound]);

/**
 * Whether `err` is a JSON-RPC error the caller caused by what it sent (answered, not a fault): a
 * 2025-11-25 client's `McpError` or the v2 client's `ProtocolError` (whose `instanceof` is by brand,
 * so it holds across the SDK's packages).
 */
export function isCallerError(err: unknown): err is McpError | ProtocolError {
  return (err instanceof McpError || err instanceof ProtocolError) && CallerErrorCodeSchema.safeParse(err.code).success;
}
