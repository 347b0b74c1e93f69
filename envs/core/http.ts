/**
 * Streamable HTTP serving, both MCP revisions on one endpoint and one episode table (episodes.ts):
 * 2025-11-25 clients get sessions (`Mcp-Session-Id`; a call may leave `episode` out), 2026-07-28
 * requests are sessionless and served by the v2 SDK's `createMcpHandler`, each on a server instance
 * of its own (reused from an idle pool: server.ts `sessionlessServers`), each call naming its episode
 * by handle. A request with a session id or an `initialize` goes to the sessions; one whose
 * `MCP-Protocol-Version` header names 2026-07-28 or later to the handler; any other is classified by
 * the SDK's `isLegacyRequest`.
 *
 * Security follows the MCP transport spec: bind 127.0.0.1 unless told otherwise; check `Host` and
 * `Origin` against allow-lists before anything else (DNS-rebinding protection: a page on evil.com
 * that rebinds its name to 127.0.0.1 still sends `Host: evil.com` and `Origin: http://evil.com`);
 * cap the request body; an optional bearer token, required for any non-loopback bind.
 * The SDK deprecates its in-transport host checks in favour of middleware, so the checks live here
 * (access.ts: one policy, which the ws transport shares).
 *
 * Each session is the v2 SDK's `WebStandardStreamableHTTPServerTransport` (JSON responses by default),
 * fed by a small Node adapter here rather than the SDK's Node wrapper: the wrapper builds a Hono
 * request listener per call, re-reads the body through a web stream and copies native `Response`
 * bodies back chunk by chunk (timers included), which cost more CPU per trivial step than the MCP
 * handling itself. Here the body is read and parsed once (size-capped) and passed as `parsedBody`,
 * and a JSON answer goes out in one write.
 *
 * A session lives in `sessions` from its `initialize` until DELETE, idle expiry or `close()`.
 * Every request is handled inside try/catch so one sick session never affects another.
 *
 * Live sessions are capped in total (`maxSessions`, answered 503: the server is full) and per client
 * (`maxSessionsPerClient`, answered 429: this client holds too many), so one client that opens
 * sessions and never closes them cannot take the memory every other client needs. A client is its
 * remote address: the server has one bearer token, so the token names no one. Behind a reverse proxy
 * every client has the proxy's address; there, set the per-client cap to the total. Only a new
 * session is refused: sessions already open keep working.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  createMcpHandler,
  isLegacyRequest,
  type McpServer,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { accessPolicy } from './access.js';
import { MODERN_REVISION } from './call-lane.js';
import { EpisodeTable, scopeOfToken } from './episodes.js';
import { ServerConfigError } from './errors.js';
import { createModernCallLane } from './modern-call.js';
import { createEpisodeServer, type EpisodeServerOptions, sessionlessServers } from './server.js';
import type { EnvDefinition } from './types.js';
import { WIRE_ERROR, type WireErrorCode } from './wire.js';

export interface HttpOptions extends EpisodeServerOptions {
  /** Interface to bind (default 127.0.0.1). A non-loopback host requires `token`. */
  host?: string;
  /** Port (0 picks a free one; default 7777). */
  port?: number;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`). */
  token?: string;
  /** Extra accepted `Host` header names (port optional), beyond the loopback names and the bind host. */
  allowedHosts?: string[];
  /** Extra accepted `Origin`s (e.g. `http://localhost:6274`); loopback origins are accepted by default. */
  allowedOrigins?: string[];
  /** A session with no request for this long is closed (default 30 minutes). */
  idleTimeoutMs?: number;
  /** Largest accepted request body (default 4 MiB): a larger one is answered 413. */
  maxBodyBytes?: number;
  /** Most live sessions in total (default 1,000): a new one past it is answered 503. */
  maxSessions?: number;
  /** Most live sessions of one client, by remote address (default 250): a new one past it is answered 429. */
  maxSessionsPerClient?: number;
  /** Endpoint path (default `/mcp`). */
  path?: string;
  /**
   * Serve well-formed 2026-07-28 tools/call requests on the lane in modern-call.ts (default true).
   * false sends them through the SDK's per-request handler like every other 2026-07-28 request:
   * the same answers at a higher cost per call (the tests compare the two; bench/scale measures them).
   */
  modernCallLane?: boolean;
  /** Answer POSTs with plain JSON instead of an SSE stream (default true: cheaper per call). */
  jsonResponse?: boolean;
  log?: (line: string) => void;
}

export interface HttpServerHandle {
  /** The MCP endpoint, e.g. `http://127.0.0.1:7777/mcp`. */
  url: string;
  host: string;
  port: number;
  /** This process's replica id: the prefix of every episode handle it mints. */
  replicaId: string;
  /** Open sessions now. */
  sessionCount(): number;
  /** Episodes running now (over every session and sessionless request). */
  episodeCount(): number;
  close(): Promise<void>;
}

interface Entry {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  /** The client that opened the session (its remote address). */
  client: string;
  /** Whether the session still counts against the caps (released once, on drop or a failed initialize). */
  held: boolean;
  lastActive: number;
  inflight: number;
}

export const DEFAULT_MAX_SESSIONS = 1000;
export const DEFAULT_MAX_SESSIONS_PER_CLIENT = 250;

export { hostnameOf, isLoopbackHost } from './access.js';

// ---------------------------------------------------------------------------------------------
// Pure functions

/** The client a request comes from: its remote address, an IPv4-mapped IPv6 address as IPv4. */
export function clientOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
}

function jsonRpcError(
  res: ServerResponse,
  status: number,
  code: WireErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/**
 * The first protocol revision without sessions: an `MCP-Protocol-Version` header at or after it
 * names the per-request era (the SDK compares revisions as date strings, as here).
 */
const FIRST_SESSIONLESS_REVISION = MODERN_REVISION;

/** An `initialize` request: the method is checked first, so other bodies skip the schema parse. */
function isInitialize(body: unknown): boolean {
  return (body as { method?: unknown } | null)?.method === 'initialize' && isInitializeRequest(body);
}

/**
 * Whether a POST is one the SDK's classification never routes to its 2025 era: a single message
 * (not a batch) whose `MCP-Protocol-Version` header names 2026-07-28 or later is either served on
 * the 2026-07-28 path or rejected by it (`isLegacyRequest`'s documented rule: a modern header
 * without the `_meta` envelope, or with a body that disagrees, is the modern path's to answer).
 * Such requests (every call of a 2026-07-28 client) go straight to the handler, which classifies
 * the request itself; asking `isLegacyRequest` too classified it twice. Anything else still asks it.
 */
function namesModernRevision(req: IncomingMessage, body: unknown): boolean {
  const v = req.headers['mcp-protocol-version'];
  return typeof v === 'string' && v.trim() >= FIRST_SESSIONLESS_REVISION && !Array.isArray(body);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The web `Request` the SDK's transport reads: method, URL and headers only. The body is already
 * parsed (and size-capped) here and handed over as `parsedBody`, so it is neither copied nor
 * parsed twice.
 */
function toWebRequest(req: IncomingMessage, url: string): Request {
  const headers: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i], raw[i + 1]]);
  return new Request(url, { method: req.method, headers });
}

/**
 * Writes the transport's web `Response` to Node's `res`. A JSON or empty answer (every POST in
 * JSON-response mode) goes out in one write with its Content-Length; an SSE stream is piped, and
 * cancelled when the client goes away so the transport drops the stream (and its keep-alive timer).
 */
async function writeWebResponse(r: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const body = r.body;
  if (!body) {
    res.writeHead(r.status, headers);
    res.end();
    return;
  }
  const reader = body.getReader();
  if (!(headers['content-type'] ?? '').startsWith('text/event-stream')) {
    // Reading the stream directly is cheaper than arrayBuffer(); a JSON answer is one chunk.
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    headers['content-length'] = String(buf.byteLength);
    res.writeHead(r.status, headers);
    res.end(buf);
    return;
  }
  res.writeHead(r.status, headers);
  res.flushHeaders();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      res.write(value);
    }
  } catch {
    // The stream errored or was cancelled: end the response below.
  } finally {
    res.off('close', cancel);
    res.end();
  }
}

// ---------------------------------------------------------------------------------------------

/** Starts a Streamable HTTP MCP server for `def`; resolves once it listens. */
export async function serveHttp(def: EnvDefinition, opts: HttpOptions = {}): Promise<HttpServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token || undefined;
  // Host and Origin allow-lists and the bearer token: one policy, shared with the ws transport.
  const access = accessPolicy({ host, token, allowedHosts: opts.allowedHosts, allowedOrigins: opts.allowedOrigins });
  const path = opts.path ?? '/mcp';
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30 * 60_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const maxPerClient = opts.maxSessionsPerClient ?? DEFAULT_MAX_SESSIONS_PER_CLIENT;
  for (const [flag, v] of [
    ['maxSessions', maxSessions],
    ['maxSessionsPerClient', maxPerClient],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ServerConfigError(`${flag} must be a positive integer, got ${v}.`);
  }
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const sessions = new Map<string, Entry>();
  const table = opts.table ?? new EpisodeTable(def, { ...opts, episodeIdleMs: opts.episodeIdleMs ?? idleTimeoutMs });
  table.startSweeping();
  // Sessions held per client, counted from the moment an initialize is admitted (so concurrent
  // initializes cannot overshoot the cap) until the session is dropped or its initialize fails.
  const held = new Map<string, number>();
  let admitted = 0;
  const hold = (client: string, delta: 1 | -1): void => {
    admitted += delta;
    const n = (held.get(client) ?? 0) + delta;
    if (n > 0) held.set(client, n);
    else held.delete(client);
  };
  const release = (e: Entry): void => {
    if (!e.held) return;
    e.held = false;
    hold(e.client, -1);
  };
  // Origin of the URLs handed to the transport: the bound address, never the client's Host header.
  let base = 'http://127.0.0.1';

  const drop = (id: string): void => {
    const e = sessions.get(id);
    if (!e) return;
    sessions.delete(id);
    release(e);
    e.server.close().catch((err: Error) => log(`[toolgym] closing session ${id}: ${err.message}`));
  };

  // 2026-07-28 requests carry no session: the SDK's per-request handler serves each on an instance
  // of its own, taken from a pool of idle ones (sessionlessServers) whose router (sessionless:
  // `episode` required) shares this process's episode table. 2025-era requests never reach it
  // (they are routed to the sessions below first).
  const sessionless = sessionlessServers(def, { ...opts, table });
  const modern = createMcpHandler(sessionless.factory, {
    legacy: 'reject',
    maxRequestBodySize: maxBodyBytes,
    onerror: (err) => log(`[toolgym] request error: ${err.message}`),
  });
  // The well-formed 2026-07-28 tools/call (every step of a 2026-07-28 client) skips the SDK's
  // per-request instance and transport (modern-call.ts); anything else still goes to `modern`.
  const lane = createModernCallLane(def, { ...opts, table });
  const serveModern = async (res: ServerResponse, request: Request, scope: string, body?: unknown) => {
    const init = { authInfo: { token: scope, clientId: 'toolgym', scopes: [] }, parsedBody: body };
    await writeWebResponse(await modern.fetch(request, init), res);
  };

  const newEntry = async (client: string, scope: string): Promise<Entry> => {
    const server = createEpisodeServer(def, { ...opts, table, scope });
    const entry: Entry = { server, transport: undefined as never, client, held: true, lastActive: Date.now(), inflight: 0 };
    entry.transport = new WebStandardStreamableHTTPServerTransport({
      // `<replicaId>.<uuid>`: a balancer routes a 2025-11-25 session by its prefix, as it routes a
      // handle, with no table of its own (README, Deployment).
      sessionIdGenerator: () => `${table.replicaId}.${randomUUID()}`,
      enableJsonResponse: opts.jsonResponse ?? true,
      onsessioninitialized: (id) => {
        sessions.set(id, entry);
      },
      onsessionclosed: (id) => drop(id),
    });
    server.server.onerror = (err) => log(`[toolgym] session error: ${err.message}`);
    await server.connect(entry.transport);
    return entry;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Which replica answered: a balancer's health checks and an operator's logs read it.
    res.setHeader('x-gym-replica', table.replicaId);
    const cors: Record<string, string> = {};
    const refused = access.checkHost(req.headers.host) ?? access.checkOrigin(req.headers.origin);
    if (refused) {
      jsonRpcError(res, refused.status, WIRE_ERROR.refused, refused.message);
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      cors['access-control-allow-origin'] = origin;
      cors['access-control-expose-headers'] = 'mcp-session-id, mcp-protocol-version, x-gym-replica';
      cors.vary = 'Origin';
    }
    const reqUrl = req.url ?? '/';
    const q = reqUrl.indexOf('?');
    if ((q >= 0 ? reqUrl.slice(0, q) : reqUrl) !== path) {
      jsonRpcError(res, 404, WIRE_ERROR.refused, `Not found: the MCP endpoint is ${path}.`, cors);
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
        'access-control-allow-headers':
          'content-type, authorization, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, mcp-param-episode, last-event-id',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    let scope = '';
    const unauthorized = access.checkToken(req.headers.authorization);
    if (unauthorized) {
      jsonRpcError(res, unauthorized.status, WIRE_ERROR.refused, unauthorized.message, { 'www-authenticate': 'Bearer' });
      return;
    }
    if (token) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (m) scope = scopeOfToken(m[1].trim());
    }
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;

    if (req.method === 'POST') {
      let body: unknown;
      try {
        const raw = await readBody(req, maxBodyBytes);
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        if (err instanceof BodyTooLarge)
          jsonRpcError(res, 413, WIRE_ERROR.invalidRequest, `Request body over ${maxBodyBytes} bytes: send smaller requests.`, {
            connection: 'close',
          });
        else jsonRpcError(res, 400, WIRE_ERROR.parse, `Parse error: the body is not valid JSON (${(err as Error).message}).`);
        return;
      }
      let entry: Entry | undefined;
      if (sessionId) {
        entry = sessions.get(sessionId);
        if (!entry) {
          jsonRpcError(
            res,
            404,
            WIRE_ERROR.sessionNotFound,
            'Session not found (it expired or was closed): send a new initialize request without mcp-session-id.',
          );
          return;
        }
      } else {
        const call = opts.modernCallLane === false ? undefined : lane.accept(req.headers, body);
        if (call) {
          const answer = await lane.serve(call, scope);
          if (answer.status !== 200) log(`[toolgym] request error: ${answer.body}`);
          res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) });
          res.end(answer.body);
          return;
        }
        const init = Array.isArray(body) ? body.some(isInitialize) : isInitialize(body);
        if (!init) {
          const request = toWebRequest(req, base + reqUrl);
          if (namesModernRevision(req, body) || !(await isLegacyRequest(request, body))) {
            await serveModern(res, request, scope, body);
            return;
          }
        }
        if (!init) {
          jsonRpcError(
            res,
            400,
            WIRE_ERROR.refused,
            'Bad Request: no mcp-session-id header; start a session with an initialize request first.',
          );
          return;
        }
        const client = clientOf(req);
        if (admitted >= maxSessions) {
          jsonRpcError(
            res,
            503,
            WIRE_ERROR.refused,
            `Server full: ${admitted} live sessions, the limit (--max-sessions) is ${maxSessions}. Close sessions you no longer use (HTTP DELETE with their mcp-session-id), wait for idle ones to expire, or raise --max-sessions.`,
            { 'retry-after': '5' },
          );
          return;
        }
        if ((held.get(client) ?? 0) >= maxPerClient) {
          jsonRpcError(
            res,
            429,
            WIRE_ERROR.refused,
            `Too many sessions from ${client}: it holds ${held.get(client)}, the limit (--max-sessions-per-client) is ${maxPerClient}. Close sessions you no longer use (HTTP DELETE with their mcp-session-id) or raise --max-sessions-per-client.`,
          );
          return;
        }
        hold(client, 1);
        try {
          entry = await newEntry(client, scope);
        } catch (err) {
          hold(client, -1);
          throw err;
        }
      }
      entry.inflight++;
      entry.lastActive = Date.now();
      try {
        await writeWebResponse(await entry.transport.handleRequest(toWebRequest(req, base + reqUrl), { parsedBody: body }), res);
      } finally {
        entry.inflight--;
        entry.lastActive = Date.now();
        // An initialize that failed leaves a server no session id points to.
        if (!sessionId && !(entry.transport.sessionId && sessions.has(entry.transport.sessionId))) {
          release(entry);
          void entry.server.close().catch(() => undefined);
        }
      }
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sessionId && String(req.headers['mcp-protocol-version'] ?? '').trim() >= FIRST_SESSIONLESS_REVISION) {
        await serveModern(res, toWebRequest(req, base + reqUrl), scope);
        return;
      }
      const entry = sessionId ? sessions.get(sessionId) : undefined;
      if (!entry) {
        jsonRpcError(
          res,
          sessionId ? 404 : 400,
          sessionId ? WIRE_ERROR.sessionNotFound : WIRE_ERROR.refused,
          sessionId ? 'Session not found.' : 'Bad Request: mcp-session-id header required.',
        );
        return;
      }
      entry.lastActive = Date.now();
      await writeWebResponse(await entry.transport.handleRequest(toWebRequest(req, base + reqUrl)), res);
      if (req.method === 'DELETE' && sessionId) drop(sessionId);
      return;
    }
    jsonRpcError(res, 405, WIRE_ERROR.refused, `Method ${req.method} not allowed: use POST, GET or DELETE.`, {
      allow: 'GET, POST, DELETE, OPTIONS',
    });
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`[toolgym] request failed: ${err.stack ?? err.message}`);
      jsonRpcError(res, 500, WIRE_ERROR.internal, `Internal error: ${err.message}`);
    });
  });
  // Agents pause between steps while their model thinks; a longer keep-alive than Node's 5 s avoids
  // the race where the server closes an idle socket just as the client reuses it (ECONNRESET).
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  const sweepEvery = Math.max(20, Math.min(idleTimeoutMs / 4, 30_000));
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, e] of sessions) if (e.inflight === 0 && now - e.lastActive > idleTimeoutMs) drop(id);
  }, sweepEvery);
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 7777, host, () => {
      http.off('error', reject);
      const a = http.address() as AddressInfo;
      base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      resolve();
    });
  });
  const addr = http.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${urlHost}:${addr.port}${path}`;
  log(
    `[toolgym] serving environment "${def.id}" v${def.version} over Streamable HTTP at ${url} as replica "${table.replicaId}"${token ? ' (bearer token required)' : ''}`,
  );

  return {
    url,
    host: addr.address,
    port: addr.port,
    replicaId: table.replicaId,
    sessionCount: () => sessions.size,
    episodeCount: () => table.running,
    close: async () => {
      clearInterval(sweeper);
      lane.close();
      sessionless.close();
      await modern.close().catch(() => undefined);
      const closing = [...sessions.values()].map((e) => e.server.close().catch(() => undefined));
      sessions.clear();
      held.clear();
      admitted = 0;
      await Promise.all(closing);
      if (!opts.table) await table.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
