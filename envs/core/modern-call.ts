/**
 * The 2026-07-28 tool-call lane: a well-formed, sessionless `tools/call` served straight from the
 * episode router, without an SDK server instance and transport per request.
 *
 * Why. On the 2026-07-28 revision every call is a request of its own; the SDK's `createMcpHandler`
 * serves each by classifying it, building a web `Request`, connecting a server instance to a fresh
 * single-exchange transport, dispatching through the protocol layer, tearing the exchange down and
 * returning a web `Response`. For a trivial step that machinery was most of the cost, and made a
 * 2026-07-28 call 1.2-1.5x the CPU of a 2025-11-25 session call (bench/scale), against a target of
 * no slower. A session pays for its instance and transport once.
 *
 * What this lane serves, and only this: a single JSON-RPC request whose method is `tools/call`,
 * with nothing but `name`, `arguments` (an object) and the `_meta` envelope (protocol version,
 * client info, client capabilities) in its params; that the SDK's own `classifyInboundRequest` (its
 * exported era decision) classifies as a modern request naming 2026-07-28; whose
 * `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers are present and equal to the body
 * as plain values; naming a tool of this environment whose only `x-mcp-header` is `episode`, with
 * `Mcp-Param-Episode` equal to the `episode` argument whenever that is a string. Every other
 * request, every request this lane would have to refuse, and every other method goes to the SDK's
 * handler as before, so the SDK still owns every protocol rejection (the validation ladder, header
 * mismatches, unsupported revisions, malformed envelopes) and every other method. What the lane
 * answers is what the SDK's handler answers for the same request: the router's result with
 * `resultType: "complete"` and the server's identity in `_meta`
 * (`io.modelcontextprotocol/serverInfo`), as HTTP 200 JSON. test/envs/core/modern-call.test.ts sends
 * the same requests down both paths and compares the answers, so a change in the SDK's encoding shows
 * up as a failing test, not as drift. The request shape, the envelope screen and the result encoding
 * are shared with the stdio lane (call-lane.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { classifyInboundRequest, isJsonContentType } from '@modelcontextprotocol/server';
import { isLaneEnvelope, isPlainObject, type LaneCall, MODERN_REVISION, modernResult, wellFormedCall } from './call-lane.js';
import { EpisodeRouter, type EpisodeTable } from './episodes.js';
import { createEpisodeServer, type EpisodeServerOptions, listedToolNames, serverIdentity } from './server.js';
import type { SessionTool } from './session.js';
import type { EnvDefinition } from './types.js';
import { EPISODE_ARG, EPISODE_HEADER, EPISODE_HTTP_HEADER, WIRE_ERROR } from './wire.js';

const PARAM_KEYS = new Set(['name', 'arguments', '_meta']);
/** A header value in the SDK's Base64 form (`=?base64?...?=`): the SDK decodes it; the lane leaves it to the SDK. */
const BASE64_SENTINEL = '=?base64?';

/** One header's value as the SDK reads it (`Headers.get` trims surrounding white space); undefined when absent or repeated. */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v.trim() : undefined;
}

/**
 * Whether a tool's listed JSON Schema declares `x-mcp-header` on `episode` and nowhere else:
 * `'episode'`; `'none'` when it declares none; `'other'` when it declares another (the SDK checks
 * those; the lane leaves such a tool to it).
 */
export function headerDeclarations(schema: Record<string, unknown> | undefined): 'episode' | 'none' | 'other' {
  if (!schema) return 'other';
  let episode = false;
  let other = false;
  const visit = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x, path);
      return;
    }
    if (!isPlainObject(node)) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'x-mcp-header') {
        if (path.length === 2 && path[0] === 'properties' && path[1] === EPISODE_ARG && v === EPISODE_HEADER) episode = true;
        else other = true;
      } else visit(v, [...path, k]);
    }
  };
  visit(schema, []);
  if (other) return 'other';
  return episode ? 'episode' : 'none';
}

export class ModernCallLane {
  readonly #table: EpisodeTable;
  readonly #serverInfo: { name: string; version: string };
  /** Tools the lane serves, and whether each mirrors `episode` into `Mcp-Param-Episode`. */
  readonly #tools: Map<string, { tool: SessionTool; episodeHeader: boolean }>;
  /** One sessionless router per bearer-token scope (a sessionless router holds no state of its own). */
  readonly #routers = new Map<string, EpisodeRouter>();
  readonly #closing = new AbortController();

  /**
   * @param schemaOf each tool's listed input JSON Schema, as the SDK's server lists it (so the lane
   *   reads the same `x-mcp-header` declarations the SDK checks).
   */
  constructor(
    table: EpisodeTable,
    serverInfo: { name: string; version: string },
    toolNames: readonly string[],
    schemaOf: (name: string) => Record<string, unknown> | undefined,
  ) {
    this.#table = table;
    this.#serverInfo = serverInfo;
    this.#tools = new Map();
    for (const name of toolNames) {
      const tool = table.probe.tool(name);
      const decl = headerDeclarations(schemaOf(name));
      if (tool && decl !== 'other' && !name.startsWith(BASE64_SENTINEL))
        this.#tools.set(name, { tool, episodeHeader: decl === 'episode' });
    }
  }

  /** The tools this lane serves (the rest go to the SDK's handler). */
  get tools(): string[] {
    return [...this.#tools.keys()];
  }

  /** The call, when `body` with `headers` is a request this lane serves; undefined sends it to the SDK's handler. */
  accept(headers: IncomingHttpHeaders, body: unknown): LaneCall | undefined {
    const call = wellFormedCall(body, PARAM_KEYS);
    if (!call || !isLaneEnvelope(call.params._meta)) return undefined;
    const { id, name, args } = call;
    const known = this.#tools.get(name);
    if (!known) return undefined;
    if (!isJsonContentType(header(headers, 'content-type') ?? null)) return undefined;
    const protocolVersionHeader = header(headers, 'mcp-protocol-version');
    const mcpMethodHeader = header(headers, 'mcp-method');
    const mcpNameHeader = header(headers, 'mcp-name');
    if (protocolVersionHeader !== MODERN_REVISION || mcpMethodHeader !== 'tools/call' || mcpNameHeader !== name) return undefined;
    if (known.episodeHeader) {
      const episode = args[EPISODE_ARG];
      if (episode !== undefined && episode !== null) {
        const h = header(headers, EPISODE_HTTP_HEADER);
        if (typeof episode !== 'string' || h !== episode || h.startsWith(BASE64_SENTINEL)) return undefined;
      }
    }
    // The SDK's own era decision (it also checks the envelope's client info and capabilities).
    const route = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader, mcpMethodHeader, mcpNameHeader, body });
    if (route.kind !== 'modern' || route.messageKind !== 'request' || route.classification.revision !== MODERN_REVISION)
      return undefined;
    return { id, tool: known.tool, args };
  }

  /**
   * Runs an accepted call in `scope` (the bearer token's) and returns the HTTP status and the
   * JSON-RPC response text. A call never throws for bad input (the result says what went wrong); a
   * throw is a server fault, answered as the SDK answers one (-32603, HTTP 500).
   */
  async serve(call: LaneCall, scope: string): Promise<{ status: number; body: string }> {
    let router = this.#routers.get(scope);
    if (!router) {
      router = new EpisodeRouter(this.#table, { scope, session: false });
      this.#routers.set(scope, router);
    }
    try {
      const r = await router.run(call.tool, call.args, this.#closing.signal);
      return { status: 200, body: JSON.stringify({ result: modernResult(r, this.#serverInfo), jsonrpc: '2.0', id: call.id }) };
    } catch (err) {
      const error = { code: WIRE_ERROR.internal, message: `Internal error: ${(err as Error).message}` };
      return { status: 500, body: JSON.stringify({ jsonrpc: '2.0', id: call.id, error }) };
    }
  }

  /** Aborts the calls in flight (the server is closing). */
  close(): void {
    this.#closing.abort(new Error('The server is closing.'));
  }
}

/**
 * The lane for `def`'s episodes in `table`: the tools' `x-mcp-header` declarations are read from
 * the schemas an episode server lists (the ones the SDK's handler checks).
 */
export function createModernCallLane(def: EnvDefinition, opts: EpisodeServerOptions & { table: EpisodeTable }): ModernCallLane {
  const source = createEpisodeServer(def, { ...opts, session: false });
  const lane = new ModernCallLane(opts.table, serverIdentity(def), listedToolNames(def), (name) =>
    source.toolInputSchemaJson(name),
  );
  void source.close().catch(() => undefined);
  return lane;
}
