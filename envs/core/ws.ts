/**
 * `gym serve --ws HOST:PORT`: the `ws` gym protocol (ws-protocol.ts) on a WebSocket server (the `ws`
 * package), for remote trainers that want reset / step / close without MCP's per-call overhead.
 *
 * Many episodes share one socket, each an `EpisodeSession` (the same state machine the MCP transports
 * run, so step limits, argument caps, aborts and scoring are the same code), named by an unguessable
 * handle minted as MCP handles are (`<replicaId>.<token>`, episodes.ts). Handles are scoped to
 * their socket: another socket, even with the same token, cannot reach them. Closing the socket closes
 * its episodes.
 *
 * Requests are pipelined: the server works on up to `maxInflight` requests of a socket at once
 * (different episodes in parallel; one episode's steps in the order they arrived) and answers each
 * as it completes. Back-pressure is TCP's own: past `maxInflight` requests in flight, or when the
 * client does not read its answers (more than `maxBufferedBytes` unsent), the server stops reading
 * the socket until it catches up, so a fast client fills its own send buffer instead of this
 * server's memory.
 *
 * The upgrade request is checked like a Streamable HTTP request (access.ts): Host and Origin
 * allow-lists, then the bearer token; a refusal is an HTTP answer, before any WebSocket exists.
 */
import { createServer, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { accessPolicy } from './access.js';
import { checkReplicaId, mintHandle, randomReplicaId } from './episodes.js';
import { toolInputJsonSchema } from './schema.js';
import { DEFAULT_MAX_STEPS, EpisodeSession, type EpisodeSessionOptions, type SessionResult } from './session.js';
import type { EnvDefinition, ToolResult } from './types.js';
import { isControlTool, META, readEpisodeMeta, StartResultSchema, UserTurnResultSchema } from './wire.js';
import {
  RequestIdSchema,
  WS_CLOSE,
  WS_PATH,
  WS_PROTOCOL,
  type WsAction,
  type WsErrorCode,
  type WsErrorResult,
  type WsInfoResult,
  type WsOp,
  type WsRequest,
  WsRequestSchema,
  type WsResetResult,
  type WsResponse,
  type WsStepResult,
} from './ws-protocol.js';

export interface WsOptions extends EpisodeSessionOptions {
  /** Interface to bind (default 127.0.0.1). A non-loopback host requires `token`. */
  host?: string;
  /** Port (0 picks a free one; default 7778). */
  port?: number;
  /** Bearer token the upgrade request must carry (`Authorization: Bearer <token>`). */
  token?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** Endpoint path (default `/ws`). */
  path?: string;
  /** Prefix of every episode handle (`<replicaId>.<token>`; default a short random id), as MCP handles have. */
  replicaId?: string;
  /** Largest accepted frame (default 4 MiB); a larger one closes the socket with 1009. */
  maxMessageBytes?: number;
  /** Requests of one socket worked on at once (default 256); past it the server stops reading. */
  maxInflight?: number;
  /** Open episodes per socket (default 10,000). */
  maxEpisodes?: number;
  /** Unsent answer bytes of one socket past which the server stops reading it (default 8 MiB). */
  maxBufferedBytes?: number;
  log?: (line: string) => void;
}

export interface WsServerHandle {
  /** e.g. `ws://127.0.0.1:7778/ws`. */
  url: string;
  host: string;
  port: number;
  sockets(): number;
  episodes(): number;
  close(): Promise<void>;
}

interface Episode {
  session: EpisodeSession;
  /** Ended (terminated, truncated or aborted): a later step is answered `episode_over`. */
  over: boolean;
  /** This episode's requests, one after the other. */
  chain: Promise<unknown>;
}

export const DEFAULT_WS_PORT = 7778;

// ---------------------------------------------------------------------------------------------
// Pure helpers

function fail(id: WsErrorResult['id'], code: WsErrorCode, message: string, op?: WsOp, episode?: string): WsErrorResult {
  const e: WsErrorResult = { id, ok: false, error: { code, message } };
  if (op) e.op = op;
  if (episode !== undefined) e.episode = episode;
  return e;
}

/** The first problem zod found, as one line naming the field. */
function firstIssue(err: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  const i = err.issues[0];
  if (!i) return 'invalid request';
  return i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message;
}

/** The id of a frame that failed validation, when it has a readable one (so the error can be matched). */
function idOf(raw: unknown): WsErrorResult['id'] {
  if (!raw || typeof raw !== 'object') return null;
  const parsed = RequestIdSchema.safeParse((raw as { id?: unknown }).id);
  return parsed.success ? parsed.data : null;
}

function toolResultOf(r: SessionResult): ToolResult {
  const out: ToolResult = { content: r.content };
  if (r.isError) out.isError = true;
  if (r.structuredContent) out.structuredContent = r.structuredContent;
  return out;
}

function errorText(text: string): ToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function textOf(r: SessionResult): string {
  return r.content.map((c) => c.text).join('\n');
}

function refuse(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ ok: false, error: { code: 'refused', message } });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

// ---------------------------------------------------------------------------------------------
// One socket

class Connection {
  readonly #episodes = new Map<string, Episode>();
  /** Ids of the requests read and not yet answered (running or queued). */
  readonly #inflight = new Set<string | number>();
  /** The tool-call steps read and not yet answered, by request id: what a `cancel` aborts. */
  readonly #cancellable = new Map<string | number, AbortController>();
  /**
   * Requests read while `maxInflight` were running. Pausing the socket stops further reads, but the
   * frames of a chunk already read still arrive; they wait here (at most one socket read's worth).
   */
  readonly #queued: WsRequest[] = [];
  #running = 0;
  #readPaused = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly def: EnvDefinition,
    private readonly opts: Required<
      Pick<WsOptions, 'maxInflight' | 'maxEpisodes' | 'maxBufferedBytes' | 'maxMessageBytes' | 'replicaId'>
    > &
      WsOptions,
    private readonly info: () => Omit<WsInfoResult, 'id'>,
    private readonly log: (line: string) => void,
  ) {
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('close', () => void this.closeAll());
    ws.on('error', (err) => log(`[toolgym] ws socket error: ${err.message}`));
  }

  get episodeCount(): number {
    return this.#episodes.size;
  }

  async closeAll(): Promise<void> {
    const eps = [...this.#episodes.values()];
    this.#episodes.clear();
    await Promise.all(eps.map((e) => e.session.close().catch(() => undefined)));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#send(fail(null, 'bad_request', 'Binary frames are not part of the protocol: send JSON text frames.'));
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString());
    } catch (err) {
      this.#send(fail(null, 'bad_request', `The frame is not valid JSON (${(err as Error).message}).`));
      return;
    }
    const parsed = WsRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const op = (raw as { op?: unknown } | null)?.op;
      const known = op === 'info' || op === 'reset' || op === 'step' || op === 'close' || op === 'cancel';
      this.#send(
        fail(
          idOf(raw),
          'bad_request',
          `Bad request: ${firstIssue(parsed.error)}${known ? '' : ' (op is one of info, reset, step, close, cancel)'}; see docs/ws-protocol.schema.json.`,
          known ? (op as WsOp) : undefined,
        ),
      );
      return;
    }
    const req = parsed.data;
    if (this.#inflight.has(req.id)) {
      this.#send(
        fail(req.id, 'duplicate_id', `Request id ${JSON.stringify(req.id)} is already in flight: use a fresh id.`, req.op),
      );
      return;
    }
    if (req.op === 'cancel') {
      // Answered at once, ahead of any queue: it must reach a step that is running or waiting.
      const target = this.#cancellable.get(req.target);
      target?.abort();
      this.#send({ id: req.id, ok: true, op: 'cancel', target: req.target, cancelled: target !== undefined });
      return;
    }
    this.#inflight.add(req.id);
    if (req.op === 'step' && req.action.kind === 'tool_calls') this.#cancellable.set(req.id, new AbortController());
    if (this.#running >= this.opts.maxInflight) this.#queued.push(req);
    else this.#start(req);
    this.#throttle();
  }

  #start(req: WsRequest): void {
    this.#running++;
    this.#handle(req)
      .catch((err: Error) => {
        this.log(`[toolgym] ws ${req.op} failed: ${err.stack ?? err.message}`);
        return fail(req.id, 'internal', `The server failed on this ${req.op}: ${err.message}`, req.op);
      })
      .then((res) => {
        this.#running--;
        this.#inflight.delete(req.id);
        this.#cancellable.delete(req.id);
        this.#send(res);
        const next = this.#queued.shift();
        if (next) this.#start(next);
        this.#throttle();
      });
  }

  /** Pauses reading while too much is in flight or unsent; resumes once both are back under their caps. */
  #throttle(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const busy = this.#running >= this.opts.maxInflight || this.ws.bufferedAmount > this.opts.maxBufferedBytes;
    if (busy && !this.#readPaused) {
      this.#readPaused = true;
      this.ws.pause();
    } else if (!busy && this.#readPaused) {
      this.#readPaused = false;
      this.ws.resume();
    }
  }

  #send(res: WsResponse): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // The callback runs once the frame is handed to the kernel: the moment to look at the backlog again.
    this.ws.send(JSON.stringify(res), () => {
      if (this.#readPaused) this.#throttle();
    });
  }

  #handle(req: WsRequest): Promise<WsResponse> {
    switch (req.op) {
      case 'info':
        return Promise.resolve({ id: req.id, ...this.info() } as WsInfoResult);
      case 'reset':
        return this.#reset(req);
      case 'cancel':
        throw new Error('unreachable: cancel is answered on arrival');
      case 'step':
      case 'close': {
        const ep = this.#episodes.get(req.episode);
        if (!ep) {
          return Promise.resolve(
            fail(
              req.id,
              'unknown_episode',
              `No open episode "${req.episode}" on this socket (closed, never opened, or opened on another socket): reset a new one.`,
              req.op,
              req.episode,
            ),
          );
        }
        const run =
          req.op === 'step'
            ? () => this.#step(req.id, req.episode, ep, req.action, this.#cancellable.get(req.id)?.signal)
            : () => this.#close(req.id, req.episode, ep);
        const p = ep.chain.then(run, run);
        ep.chain = p.catch(() => undefined);
        return p;
      }
    }
  }

  async #reset(req: Extract<WsRequest, { op: 'reset' }>): Promise<WsResponse> {
    if (this.#episodes.size >= this.opts.maxEpisodes) {
      return fail(
        req.id,
        'too_many_episodes',
        `This socket holds ${this.#episodes.size} open episodes, the limit is ${this.opts.maxEpisodes}: close episodes you no longer use.`,
        'reset',
      );
    }
    const session = new EpisodeSession(this.def, this.opts);
    const args: Record<string, unknown> = {};
    if (req.seed !== undefined) args.seed = req.seed;
    if (req.taskId !== undefined) args.taskId = req.taskId;
    if (req.split !== undefined) args.split = req.split;
    const r = await session.start(args);
    const started = StartResultSchema.safeParse(r.structuredContent);
    if (r.isError || !started.success) {
      void session.close().catch(() => undefined);
      return fail(req.id, 'reset_failed', textOf(r), 'reset');
    }
    const episode = mintHandle(this.opts.replicaId);
    this.#episodes.set(episode, { session, over: false, chain: Promise.resolve() });
    if (this.ws.readyState !== this.ws.OPEN) void this.closeAll(); // the socket went while the env reset
    const res: WsResetResult = {
      id: req.id,
      ok: true,
      op: 'reset',
      episode,
      observation: { messages: started.data.messages },
      info: { task: started.data.task, step: 0 },
    };
    return res;
  }

  async #step(id: WsStepResult['id'], episode: string, ep: Episode, action: WsAction, signal?: AbortSignal): Promise<WsResponse> {
    if (ep.over) {
      return fail(id, 'episode_over', `Episode "${episode}" has ended: reset a new episode.`, 'step', episode);
    }
    const s = ep.session;
    let last: SessionResult | undefined;
    const toolResults: ToolResult[] = [];
    if (action.kind === 'answer') {
      last = await s.submit(action.answer);
    } else {
      for (const call of action.calls) {
        if (ep.over) {
          toolResults.push(errorText(`Not run: the episode ended before \`${call.name}\`.`));
          continue;
        }
        if (signal?.aborted) {
          toolResults.push(errorText(`Not run: the step was cancelled before \`${call.name}\`.`));
          continue;
        }
        if (isControlTool(call.name)) {
          // Episode control is the protocol's own (reset, the answer action): not a tool a step calls.
          toolResults.push(
            errorText(
              `\`${call.name}\` is not a tool here: the protocol's reset starts an episode and its answer action submits. Tools: ${this.def.tools.map((t) => t.name).join(', ')}.`,
            ),
          );
          continue;
        }
        last = await s.call(call.name, call.arguments, signal);
        toolResults.push(toolResultOf(last));
        const m = readEpisodeMeta(last._meta);
        if (m[META.terminated] || m[META.truncated] || m[META.aborted]) ep.over = true;
      }
    }
    const m = readEpisodeMeta(last?._meta ?? s.meta());
    const aborted = m[META.aborted] === true;
    const terminated = m[META.terminated] === true && !aborted;
    const truncated = m[META.truncated] === true && !aborted;
    if (terminated || truncated || aborted) ep.over = true;
    const res: WsStepResult = {
      id,
      ok: true,
      op: 'step',
      episode,
      observation: action.kind === 'answer' ? {} : { toolResults },
      reward: m[META.reward] ?? 0,
      terminated,
      truncated,
      aborted,
      info: { step: m[META.step] ?? s.step },
    };
    if (signal?.aborted) res.info.cancelled = true;
    if (m[META.components]) res.info.components = m[META.components];
    if (m[META.correct] !== undefined) res.info.correct = m[META.correct];
    const detail = s.verdict?.detail;
    if (action.kind === 'answer' && detail) res.info.detail = detail;
    const userTurn =
      action.kind === 'answer' && !terminated ? UserTurnResultSchema.safeParse(last?.structuredContent) : undefined;
    if (aborted && last) res.info.error = textOf(last);
    else if (userTurn?.success) {
      // The answer went to the environment's scripted user, who replied: the episode goes on.
      res.observation = { messages: userTurn.data.messages };
      res.info.newContext = userTurn.data.newContext;
      res.info.context = userTurn.data.context;
    } else if (action.kind === 'answer' && m[META.reward] === undefined) {
      // The answer was not scored (the session refused it): say why, as an error of this request.
      return fail(id, 'episode_over', last ? textOf(last) : 'The answer was not scored.', 'step', episode);
    }
    return res;
  }

  async #close(id: WsStepResult['id'], episode: string, ep: Episode): Promise<WsResponse> {
    this.#episodes.delete(episode);
    await ep.session.close();
    return { id, ok: true, op: 'close', episode };
  }
}

// ---------------------------------------------------------------------------------------------

/** Starts the `ws` gym protocol server for `def`; resolves once it listens. */
export async function serveWs(def: EnvDefinition, opts: WsOptions = {}): Promise<WsServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const access = accessPolicy({ host, token: opts.token, allowedHosts: opts.allowedHosts, allowedOrigins: opts.allowedOrigins });
  const path = opts.path ?? WS_PATH;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const full = {
    ...opts,
    replicaId: checkReplicaId(opts.replicaId ?? randomReplicaId()),
    maxInflight: opts.maxInflight ?? 256,
    maxEpisodes: opts.maxEpisodes ?? 10_000,
    maxBufferedBytes: opts.maxBufferedBytes ?? 8 * 1024 * 1024,
    maxMessageBytes: opts.maxMessageBytes ?? 4 * 1024 * 1024,
  };
  for (const k of ['maxInflight', 'maxEpisodes', 'maxBufferedBytes', 'maxMessageBytes'] as const) {
    if (!Number.isInteger(full[k]) || full[k] < 1) throw new Error(`${k} must be a positive integer, got ${full[k]}.`);
  }
  const info: Omit<WsInfoResult, 'id'> = {
    ok: true,
    op: 'info',
    protocol: WS_PROTOCOL,
    env: { id: def.id, version: def.version, description: def.description },
    replica: full.replicaId,
    tools: def.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: toolInputJsonSchema(t) })),
    limits: {
      maxInflight: full.maxInflight,
      maxEpisodes: full.maxEpisodes,
      maxMessageBytes: full.maxMessageBytes,
      maxSteps: opts.maxSteps ?? DEFAULT_MAX_STEPS,
    },
  };
  const connections = new Set<Connection>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: full.maxMessageBytes, perMessageDeflate: false });
  const server = createServer((_req, res) => {
    const body = JSON.stringify({
      ok: false,
      error: {
        code: 'refused',
        message: `This is the toolgym ws endpoint: open a WebSocket to ${path} (protocol ${WS_PROTOCOL}).`,
      },
    });
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade' });
    res.end(body);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const refusal = access.check({
      host: req.headers.host,
      origin: req.headers.origin,
      authorization: req.headers.authorization,
    });
    if (refusal) {
      refuse(socket, refusal.status, refusal.message, refusal.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q >= 0 ? url.slice(0, q) : url) !== path) {
      refuse(socket, 404, `Not found: the ws endpoint is ${path}.`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c = new Connection(ws, def, full, () => info, log);
      connections.add(c);
      ws.once('close', () => connections.delete(c));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_WS_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `ws://${shownHost}:${addr.port}${path}`,
    host: addr.address,
    port: addr.port,
    sockets: () => connections.size,
    episodes: () => [...connections].reduce((n, c) => n + c.episodeCount, 0),
    async close() {
      for (const ws of wss.clients) ws.close(WS_CLOSE.goingAway, 'server shutting down');
      await Promise.all([...connections].map((c) => c.closeAll()));
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        wss.close(() => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
