/**
 * The MCP face of one episode session: `createEpisodeServer(def)` returns an `McpServer` that lists
 * the environment's tools plus the control tools, exposes task descriptions as resources, and routes
 * every `tools/call` to an `EpisodeSession`. `connectInMemory` links a `Client` to one in-process
 * (the rollout loop's default path, so the in-process path is the MCP path too).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CallToolResult, type JSONRPCMessage, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { EpisodeRouter, EpisodeTable, type EpisodeTableOptions } from './episodes.js';
import { summarizeEnv } from './registry.js';
import { toolArgsSchema } from './schema.js';
import type { SessionTool } from './session.js';
import { parseTaskId, toPublic } from './tool-env.js';
import type { EnvDefinition, EnvResource, TaskPublic } from './types.js';
import { CONTROL, CONTROL_META, controlTools, WIRE_ERROR, withEpisodeArg } from './wire.js';

export interface EpisodeServerOptions extends EpisodeTableOptions {
  /** The episode table to start episodes in (a server process shares one); default: a table of this server's own. */
  table?: EpisodeTable;
  /** The bearer-token scope of this connection (`scopeOfToken`). */
  scope?: string;
  /** Task resources listed per family and split (reading works for every task id). */
  listedTasksPerFamily?: number;
}

const routers = new WeakMap<McpServer, EpisodeRouter>();

/** The `EpisodeRouter` behind a server made by `createEpisodeServer` (its table holds the episodes). */
export function episodeRouterOf(server: McpServer): EpisodeRouter {
  const r = routers.get(server);
  if (!r) throw new Error('This McpServer was not made by createEpisodeServer: it has no episode router.');
  return r;
}

// ---------------------------------------------------------------------------------------------
// Protocol errors: codes and one-line messages a client can act on

/**
 * A tools/call as the wire may bring it: only the method is checked here. The SDK's own request
 * schema would reject malformed params with a multi-line validation dump as an internal error
 * (-32603); `callOf` answers them with -32602 and one line instead.
 */
const LooseCallToolRequestSchema = z.object({ method: z.literal('tools/call'), params: z.unknown() });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** What to send instead: the required arguments as an object, or `{}` and the optional ones. */
function argumentsHint(names: { required: string[]; optional: string[] }): string {
  if (names.required.length > 0) return `{${names.required.map((k) => `"${k}": ...`).join(', ')}}`;
  return names.optional.length > 0 ? `{} (optional: ${names.optional.map((k) => `"${k}"`).join(', ')})` : '{}';
}

/**
 * The tool and argument object of a tools/call's params, or an `InvalidParams` error whose message
 * is one line saying what to send. Arguments may be left out (MCP makes them optional) only for a
 * tool that requires none. The tool name is checked here and only here on the server path.
 */
function callOf(params: unknown, router: EpisodeRouter, envId: string): { tool: SessionTool; args: Record<string, unknown> } {
  const name = isPlainObject(params) ? params.name : undefined;
  if (typeof name !== 'string' || name === '') {
    throw new McpError(
      WIRE_ERROR.invalidParams,
      `tools/call needs "name", the tool to call as a string, got ${jsonKind(name)}: call tools/list to see the tools of environment "${envId}".`,
    );
  }
  const tool = router.tool(name);
  if (!tool) {
    throw new McpError(
      WIRE_ERROR.invalidParams,
      `Unknown tool "${name}": call tools/list to see the tools of environment "${envId}".`,
    );
  }
  const args = (params as Record<string, unknown>).arguments;
  if (isPlainObject(args)) return { tool, args };
  const names = router.table.probe.argumentNames(tool);
  if (args === undefined && names.required.length === 0) return { tool, args: {} };
  const why = args === undefined ? 'no "arguments"' : `"arguments" must be a JSON object, got ${jsonKind(args)}`;
  throw new McpError(WIRE_ERROR.invalidParams, `Invalid arguments for tool "${name}": ${why}; send ${argumentsHint(names)}.`);
}

/**
 * The wire carries a JSON-RPC error's message without the SDK's "MCP error <code>: " prefix: the
 * SDK's `McpError` bakes it into `.message`, the SDK serialises that, and a client adds it again
 * ("MCP error -32602: MCP error -32602: ..."). Stripped here, on the way out, for every error this
 * server sends (its own and the SDK's).
 */
function unprefixedError(message: JSONRPCMessage): JSONRPCMessage {
  if (!('error' in message) || typeof message.error?.message !== 'string') return message;
  const prefix = `MCP error ${message.error.code}: `;
  if (!message.error.message.startsWith(prefix)) return message;
  return { ...message, error: { ...message.error, message: message.error.message.slice(prefix.length) } };
}

function sendUnprefixedErrors(transport: Transport): void {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(unprefixedError(message), options);
}

// ---------------------------------------------------------------------------------------------
// Resources

function registerResources(server: McpServer, def: EnvDefinition, perFamily: number): void {
  server.registerResource(
    'environment',
    'toolgym://env',
    {
      title: `${def.id} environment`,
      description: 'Environment id, version, tools, task families and split sizes.',
      mimeType: 'application/json',
    },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(summarizeEnv(def), null, 2) }],
    }),
  );
  const template = new ResourceTemplate('toolgym://tasks/{env}/{family}/{split}/{index}', {
    list: async () => ({
      resources: def.families.flatMap((f) =>
        (['train', 'test'] as const).flatMap((split) =>
          Array.from({ length: Math.min(perFamily, f.splitSizes[split]) }, (_, i) => ({
            uri: `toolgym://tasks/${def.id}/${f.name}/${split}/${i}`,
            name: `${def.id}/${f.name}/${split}/${i}`,
            mimeType: 'application/json',
          })),
        ),
      ),
    }),
  });
  server.registerResource(
    'task',
    template,
    {
      title: 'Task description',
      description: 'A task as the agent sees it (never its reference answer).',
      mimeType: 'application/json',
    },
    async (uri) => {
      const id = uri.href.slice('toolgym://tasks/'.length);
      if (!parseTaskId(id))
        throw new McpError(
          WIRE_ERROR.invalidParams,
          `Malformed task URI ${uri.href}: use toolgym://tasks/<env>/<family>/<split>/<index>.`,
        );
      let task: TaskPublic;
      try {
        task = toPublic(def.getTask(id));
      } catch (err) {
        throw new McpError(WIRE_ERROR.invalidParams, (err as Error).message);
      }
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(task, null, 2) }] };
    },
  );
}

const envResourceIndex = new WeakMap<EnvDefinition, Map<string, EnvResource>>();

/** The env's own resources by URI, built on first use and shared by every session of the env. */
function envResources(def: EnvDefinition): Map<string, EnvResource> {
  let index = envResourceIndex.get(def);
  if (!index) {
    index = new Map((def.resources?.() ?? []).map((r) => [new URL(r.uri).toString(), r]));
    envResourceIndex.set(def, index);
  }
  return index;
}

/** The environment's own documents (corpora, ...): listed and read lazily, so a session costs nothing until asked. */
function registerEnvResources(server: McpServer, def: EnvDefinition): void {
  if (!def.resources) return;
  const template = new ResourceTemplate('toolgym://{+path}', {
    list: async () => ({
      resources: [...envResources(def).values()].map((r) => ({
        uri: r.uri,
        name: r.name,
        title: r.title,
        description: r.description,
        mimeType: r.mimeType,
      })),
    }),
  });
  server.registerResource(
    'documents',
    template,
    { title: `${def.id} documents`, description: `Documents of the ${def.id} environment.` },
    async (uri) => {
      const r = envResources(def).get(uri.toString());
      if (!r)
        throw new McpError(WIRE_ERROR.invalidParams, `Resource ${uri.href} not found: call resources/list to see the documents.`);
      return { contents: [{ uri: uri.href, mimeType: r.mimeType, text: r.read() }] };
    },
  );
}

/**
 * An `McpServer` for ONE connection (an MCP session or stdio): many episodes, each named by the
 * handle `gym_start` returns, the last one started being current. Closing the server closes the
 * episodes it started (and its table, when it made its own).
 */
export function createEpisodeServer(def: EnvDefinition, opts: EpisodeServerOptions = {}): McpServer {
  const table = opts.table ?? new EpisodeTable(def, opts);
  const router = new EpisodeRouter(table, { scope: opts.scope, session: true });
  const server = new McpServer(
    { name: `toolgym-${def.id}`, version: def.version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions: `toolgym environment "${def.id}" (${def.description}). Call gym_start to begin an episode, use the tools, then gym_submit your final answer to get a reward.`,
    },
  );
  routers.set(server, router);

  const unused = async (): Promise<CallToolResult> => {
    throw new Error('unreachable: tools/call is routed to the episode session');
  };
  for (const [name, c] of Object.entries(controlTools)) {
    server.registerTool(
      name,
      {
        title: c.title,
        description: c.description,
        inputSchema: toolArgsSchema(name === CONTROL.gym_submit ? withEpisodeArg(c.inputSchema) : c.inputSchema),
        _meta: { ...CONTROL_META },
      },
      unused,
    );
  }
  for (const t of def.tools) {
    server.registerTool(
      t.name,
      {
        title: t.title,
        description: t.description,
        inputSchema: toolArgsSchema(withEpisodeArg(t.inputSchema)),
        annotations: t.annotations,
      },
      unused,
    );
  }
  registerResources(server, def, opts.listedTasksPerFamily ?? 5);
  registerEnvResources(server, def);

  // McpServer turns an unknown tool into an isError result and validates arguments with its own
  // message; the episode session needs both differently (a protocol error for an unknown tool or a
  // malformed request, an isError naming the field with episode `_meta` for bad argument values),
  // so tools/call goes straight to the session. tools/list stays McpServer's. The handler is set
  // through Protocol's method: `Server.setRequestHandler` wraps tools/call in the SDK's strict
  // request schema, whose failures reach the client as a validation dump.
  Protocol.prototype.setRequestHandler.call(server.server, LooseCallToolRequestSchema, async (req, extra) => {
    const { tool, args } = callOf(req.params, router, def.id);
    return (await router.run(tool, args, extra.signal)) as unknown as CallToolResult;
  });

  const connect = server.connect.bind(server);
  server.connect = (transport: Transport) => {
    sendUnprefixedErrors(transport);
    return connect(transport);
  };

  const prevClose = server.server.onclose;
  server.server.onclose = () => {
    prevClose?.();
    router.close();
    if (!opts.table) void table.close().catch(() => undefined);
  };
  return server;
}

/** A `Client` connected to a fresh episode server through the SDK's in-memory transport pair. */
export async function connectInMemory(
  def: EnvDefinition,
  opts: EpisodeServerOptions & { clientName?: string } = {},
): Promise<Client> {
  const server = createEpisodeServer(def, opts);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: opts.clientName ?? 'toolgym-inmemory', version: '0.1.0' });
  await client.connect(clientSide);
  return client;
}
