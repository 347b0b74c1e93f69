/**
 * The MCP face of the episodes: `createEpisodeServer(def)` returns an `McpServer` (the official v2
 * SDK's) that lists the environment's tools plus the control tools, exposes task descriptions as
 * resources, and routes every `tools/call` through an `EpisodeRouter` to the episode its `episode`
 * argument names. One factory serves both protocol eras: a 2025-11-25 session (in-memory, stdio,
 * Streamable HTTP with `Mcp-Session-Id`) and a 2026-07-28 request (no session; `server/discover`,
 * the per-request `_meta` envelope, `Mcp-Method`/`Mcp-Name`/`Mcp-Param-Episode` headers, cacheable
 * list results, all handled by the SDK; `sessionlessServers` hands the SDK's per-request handler
 * pooled instances). `connectInMemory` links a `Client` to one in-process (the rollout loop's default
 * path, so the in-process path is the MCP path too).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport as ClientTransport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CacheHint,
  type CallToolResult,
  InMemoryTransport,
  type JSONRPCMessage,
  McpServer,
  type McpServerFactory,
  ProtocolError,
  ResourceTemplate,
  type StandardSchemaWithJSON,
  type Transport,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';
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
  /** The connection's router (stdio shares one between the SDK's per-connection instances); default: a new one. */
  router?: EpisodeRouter;
  /** The bearer-token scope of this connection (`scopeOfToken`), for a router made here. */
  scope?: string;
  /** Whether the connection is a session (calls may leave `episode` out; default true), for a router made here. */
  session?: boolean;
  /** Task resources listed per family and split (reading works for every task id). */
  listedTasksPerFamily?: number;
  /** Told of each message the transport delivers to this server (stdio's tool-call lane learns the pinned era from it). */
  onInbound?: (message: JSONRPCMessage) => void;
}

const routers = new WeakMap<McpServer, EpisodeRouter>();

/** The `EpisodeRouter` behind a server made by `createEpisodeServer` (its table holds the episodes). */
export function episodeRouterOf(server: McpServer): EpisodeRouter {
  const r = routers.get(server);
  if (!r) throw new Error('This McpServer was not made by createEpisodeServer: it has no episode router.');
  return r;
}

/**
 * Cache hints for the 2026-07-28 cacheable results: a process serves one environment whose tools,
 * resource list and advertisement never change while it runs, and are the same for every caller.
 */
const CACHE_HINTS: Partial<Record<'tools/list' | 'resources/list' | 'resources/templates/list' | 'server/discover', CacheHint>> =
  {
    'tools/list': { ttlMs: 300_000, cacheScope: 'public' },
    'resources/list': { ttlMs: 300_000, cacheScope: 'public' },
    'resources/templates/list': { ttlMs: 300_000, cacheScope: 'public' },
    'server/discover': { ttlMs: 300_000, cacheScope: 'public' },
  };

const registeredSchemas = new WeakMap<z.ZodRawShape, StandardSchemaWithJSON>();

/**
 * The schema a tool is registered with: zod's (validation unchanged) with its JSON Schema converted
 * once per process. The SDK converts a registered schema on each instance that needs it (tools/list,
 * and the `Mcp-Param-*` check of every 2026-07-28 tools/call), and a 2026-07-28 request gets a fresh
 * instance, so without this every call paid for a zod-to-JSON-Schema conversion (~0.1 ms, a tenth
 * of the call). The converted object is shared and never mutated (the SDK copies it).
 */
function registeredSchema(shape: z.ZodRawShape): StandardSchemaWithJSON {
  let schema = registeredSchemas.get(shape);
  if (!schema) {
    const std = toolArgsSchema(shape)['~standard'];
    const memo = new Map<string, Record<string, unknown>>();
    const once =
      (io: 'input' | 'output') =>
      (opts: { target: string }): Record<string, unknown> => {
        const key = `${io} ${opts.target}`;
        let json = memo.get(key);
        if (!json) {
          json = std.jsonSchema[io](opts);
          memo.set(key, json);
        }
        return json;
      };
    schema = { '~standard': { ...std, jsonSchema: { input: once('input'), output: once('output') } } };
    registeredSchemas.set(shape, schema);
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Protocol errors: codes and one-line messages a client can act on

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === undefined) return 'none';
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
    throw new ProtocolError(
      WIRE_ERROR.invalidParams,
      `tools/call needs "name", the tool to call as a string, got ${jsonKind(name)}: call tools/list to see the tools of environment "${envId}".`,
    );
  }
  const tool = router.tool(name);
  if (!tool) {
    throw new ProtocolError(
      WIRE_ERROR.invalidParams,
      `Unknown tool "${name}": call tools/list to see the tools of environment "${envId}".`,
    );
  }
  const args = (params as Record<string, unknown>).arguments;
  if (isPlainObject(args)) return { tool, args };
  const names = router.table.probe.argumentNames(tool);
  if (args === undefined && names.required.length === 0) return { tool, args: {} };
  const why = args === undefined ? 'no "arguments"' : `"arguments" must be a JSON object, got ${jsonKind(args)}`;
  throw new ProtocolError(
    WIRE_ERROR.invalidParams,
    `Invalid arguments for tool "${name}": ${why}; send ${argumentsHint(names)}.`,
  );
}

/**
 * The SDK checks a tools/call's params against its wire schema before any handler runs and answers
 * a malformed one (no tool name, `arguments` that are not an object) with a multi-line validation
 * dump (and a resources/read without a string `uri` with the same dump as -32603, an internal
 * error). `callOf` says the same in one line that names what to send, so malformed calls (and
 * reads without a uri, as -32602) are answered here, on the way in, and never reach the SDK: the
 * transport's `onmessage` is wrapped (it is set by `connect`, so the wrapper is an accessor that
 * wraps whatever the SDK installs). The same wrapper tells `onInbound` of every message delivered.
 */
function answerMalformedCalls(
  transport: Transport,
  router: EpisodeRouter,
  envId: string,
  onInbound?: (message: JSONRPCMessage) => void,
): void {
  type OnMessage = NonNullable<Transport['onmessage']>;
  let inner: OnMessage | undefined;
  const refuse = (id: string | number, message: string): void => {
    void transport.send({ jsonrpc: '2.0', id, error: { code: WIRE_ERROR.invalidParams, message } } as JSONRPCMessage, {
      relatedRequestId: id,
    });
  };
  const gated: OnMessage = (message, extra) => {
    onInbound?.(message);
    const m = message as { method?: unknown; id?: unknown; params?: unknown };
    const id = typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined;
    if (m.method === 'tools/call' && id !== undefined) {
      try {
        callOf(m.params, router, envId);
      } catch (err) {
        if (err instanceof ProtocolError && isMalformedCall(m.params)) {
          refuse(id, err.message);
          return;
        }
      }
    }
    if (m.method === 'resources/read' && id !== undefined) {
      const uri = isPlainObject(m.params) ? m.params.uri : undefined;
      if (typeof uri !== 'string') {
        refuse(
          id,
          `resources/read needs "uri", the resource to read as a string, got ${jsonKind(uri)}: call resources/list to see the resources.`,
        );
        return;
      }
    }
    inner?.(message, extra);
  };
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    enumerable: true,
    get: () => (inner ? gated : undefined),
    set: (fn: OnMessage | undefined) => {
      inner = fn;
    },
  });
}

/** Params the SDK's wire schema refuses: a missing or non-string name, or arguments that are not an object. */
function isMalformedCall(params: unknown): boolean {
  if (!isPlainObject(params) || typeof params.name !== 'string') return true;
  return params.arguments !== undefined && !isPlainObject(params.arguments);
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
        throw new ProtocolError(
          WIRE_ERROR.invalidParams,
          `Malformed task URI ${uri.href}: use toolgym://tasks/<env>/<family>/<split>/<index>.`,
        );
      let task: TaskPublic;
      try {
        task = toPublic(def.getTask(id));
      } catch (err) {
        throw new ProtocolError(WIRE_ERROR.invalidParams, (err as Error).message);
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
        throw new ProtocolError(
          WIRE_ERROR.invalidParams,
          `Resource ${uri.href} not found: call resources/list to see the documents.`,
        );
      return { contents: [{ uri: uri.href, mimeType: r.mimeType, text: r.read() }] };
    },
  );
}

/** The server's identity (`serverInfo`): the same on every path and both revisions. */
export function serverIdentity(def: EnvDefinition): { name: string; version: string } {
  return { name: `toolgym-${def.id}`, version: def.version };
}

/** Every tool an episode server lists, in listing order: the control tools, then the environment's own. */
export function listedToolNames(def: EnvDefinition): string[] {
  return [...Object.keys(controlTools), ...def.tools.map((t) => t.name)];
}

/**
 * An `McpServer` for one connection (an MCP session, stdio, or one 2026-07-28 request): many
 * episodes, each named by the handle `gym_start` returns; on a session the last one started is
 * current. Closing the server closes the episodes its router started (and its table, when it made
 * its own).
 */
export function createEpisodeServer(def: EnvDefinition, opts: EpisodeServerOptions = {}): McpServer {
  const table = opts.table ?? new EpisodeTable(def, opts);
  const router = opts.router ?? new EpisodeRouter(table, { scope: opts.scope, session: opts.session ?? true });
  const server = new McpServer(serverIdentity(def), {
    capabilities: { tools: {}, resources: {} },
    instructions: `toolgym environment "${def.id}" (${def.description}). Call gym_start to begin an episode (it returns the episode handle), use the tools, then gym_submit your final answer to get a reward.`,
    cacheHints: CACHE_HINTS,
  });
  routers.set(server, router);

  const unused = async (): Promise<CallToolResult> => {
    throw new Error('unreachable: tools/call is routed to the episode router');
  };
  // Registration order is the listing order: control tools, then the environment's own, as declared.
  for (const [name, c] of Object.entries(controlTools)) {
    server.registerTool(
      name,
      {
        title: c.title,
        description: c.description,
        inputSchema: registeredSchema(name === CONTROL.gym_submit ? withEpisodeArg(c.inputSchema) : c.inputSchema),
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
        inputSchema: registeredSchema(withEpisodeArg(t.inputSchema)),
        annotations: t.annotations,
      },
      unused,
    );
  }
  registerResources(server, def, opts.listedTasksPerFamily ?? 5);
  registerEnvResources(server, def);

  // McpServer turns an unknown tool into an isError result and validates arguments with its own
  // message; episodes need both differently (a protocol error for an unknown tool or a malformed
  // request, an isError naming the field with episode `_meta` for bad argument values), so
  // tools/call goes straight to the router. tools/list (and the SDK's `Mcp-Param-*` check, which
  // reads the registered schemas) stay McpServer's.
  server.server.setRequestHandler('tools/call', async (req, ctx) => {
    const { tool, args } = callOf(req.params, router, def.id);
    return (await router.run(tool, args, ctx.mcpReq.signal)) as unknown as CallToolResult;
  });

  const connect = server.connect.bind(server);
  server.connect = (transport: Transport) => {
    answerMalformedCalls(transport, router, def.id, opts.onInbound);
    return connect(transport);
  };

  const prevClose = server.server.onclose;
  server.server.onclose = () => {
    prevClose?.();
    if (!opts.router) router.close();
    if (!opts.table) void table.close().catch(() => undefined);
  };
  return server;
}

/** How many idle instances `sessionlessServers` keeps per scope by default. */
export const DEFAULT_IDLE_SESSIONLESS_SERVERS = 64;

/**
 * The server factory for the SDK's `createMcpHandler` (2026-07-28 requests: no session, each request
 * served by an instance of its own): instances are reused, one request at a time, rather than built
 * per request. Building one (an `McpServer`, its protocol handlers, every tool and resource
 * registered) and dropping it after one call cost more CPU than the call itself; a 2025-11-25
 * session pays for it once.
 *
 * Reuse is the SDK's own contract: the handler connects the instance it is given to a fresh
 * single-exchange transport and refuses only an instance still connected to another exchange
 * (`assertNotServing`), and `Server.connect` takes a new transport once the previous one closed,
 * re-binding the protocol revision each time. So an instance is taken from the idle list when the
 * handler asks for one (never handed to two requests at once) and put back when its exchange's
 * transport closes; one that was never connected (a request refused before dispatch) is simply
 * dropped. Per-request state lives in the request: the handler sets the revision and the client's
 * `_meta` identity on the instance before each exchange, and the router is sessionless (no current
 * episode; each call names its episode by handle), one per bearer-token scope.
 */
export function sessionlessServers(
  def: EnvDefinition,
  opts: EpisodeServerOptions & { table: EpisodeTable; maxIdle?: number },
): { factory: McpServerFactory; close(): void } {
  const maxIdle = opts.maxIdle ?? DEFAULT_IDLE_SESSIONLESS_SERVERS;
  const idle = new Map<string, McpServer[]>();
  let closed = false;
  const build = (scope: string): McpServer => {
    const server = createEpisodeServer(def, { ...opts, scope, session: false });
    const closeEpisodes = server.server.onclose;
    server.server.onclose = () => {
      closeEpisodes?.();
      const list = idle.get(scope) ?? [];
      if (!closed && server.server.transport === undefined && list.length < maxIdle) {
        list.push(server);
        idle.set(scope, list);
      }
    };
    return server;
  };
  return {
    factory: ({ authInfo }) => {
      const scope = authInfo?.token ?? '';
      return idle.get(scope)?.pop() ?? build(scope);
    },
    close: () => {
      closed = true;
      idle.clear();
    },
  };
}

/**
 * A `Client` (the 2025-11-25 one the rollout loop uses) connected to a fresh episode server
 * through the SDK's in-memory transport pair.
 */
export async function connectInMemory(
  def: EnvDefinition,
  opts: EpisodeServerOptions & { clientName?: string } = {},
): Promise<Client> {
  const server = createEpisodeServer(def, opts);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: opts.clientName ?? 'toolgym-inmemory', version: '0.1.0' });
  // The v2 transport speaks the same JSON-RPC messages; only the SDKs' type declarations differ.
  await client.connect(clientSide as unknown as ClientTransport);
  return client;
}
