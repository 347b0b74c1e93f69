/**
 * The client side of the `ws` gym protocol (envs/core/ws-protocol.ts): `WsGymClient` is one socket
 * with pipelined requests (ids, answers matched as they come, in any order), and `WsEnvClient` is one
 * episode at a time on a shared socket, in the shape the rollout loop acts through (`EpisodeEnv`), so
 * `gym rollout --url ws://...` runs the same machine as over MCP.
 *
 * Back-pressure: at most `maxInflight` requests are on the wire at once (the server's own limit, read
 * from `info`, unless a lower one is given); later ones wait here, in order, for a free slot.
 *
 * Cancelling: a request given an `AbortSignal` that aborts while it is on the wire gets the protocol's
 * `cancel` (sent at once, outside the slots: the server answers it on arrival), and still resolves
 * with the server's answer (a tool-call step's says `info.cancelled: true`); one that aborts before it
 * was sent is never sent. `WsEnvClient` cancels the step of a tool call that timed out, or whose
 * episode the caller aborted, so the server stops the call and the episode's next step is not held
 * behind it.
 *
 * `openWsSession` shares one socket per (url, token) among the sessions of a process: a batch of
 * episodes runs as many episodes multiplexed on one connection, which is what the protocol is for.
 */
import { WebSocket } from 'ws';
import {
  type StartArgs,
  type ToolSchemaJson,
  WS_PROTOCOL,
  type WsAction,
  type WsCancelResult,
  type WsCloseResult,
  type WsErrorCode,
  type WsInfoResult,
  type WsRequest,
  type WsResetResult,
  WsResponseSchema,
  type WsStepResult,
} from '../../envs/core/index.js';
import type { EpisodeEnv, Scored, StartedEpisode, StepMeta, TimerClock, ToolOutcome, UserTurnOutcome } from './env-client.js';

// ---------------------------------------------------------------------------------------------
// Types and errors

export interface WsClientOptions {
  /** Bearer token (default `$GYM_TOKEN`). */
  token?: string;
  /** Most requests on the wire at once (default: the server's `maxInflight`). */
  maxInflight?: number;
  /** Extra headers of the upgrade request (e.g. `Origin`). */
  headers?: Record<string, string>;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** The server answered a request with `ok: false`; `code` says which kind (see ws-protocol.ts). */
export class WsRequestError extends Error {
  override name = 'WsRequestError';
  constructor(
    readonly code: WsErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The socket closed (or never opened): every request in flight on it fails with this. */
export class WsClosedError extends Error {
  override name = 'WsClosedError';
}

type Pending = { resolve: (r: unknown) => void; reject: (e: Error) => void };

/** How long a timed-out call waits for its cancelled step's answer (normally back at once) before giving up on it. */
export const CANCEL_ANSWER_GRACE_MS = 5_000;
type Outgoing = DistributiveOmit<WsRequest, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ---------------------------------------------------------------------------------------------
// Pure helpers

function textOf(results: ReadonlyArray<{ content: Array<{ text: string }> }> | undefined): string {
  return (results ?? []).map((r) => r.content.map((c) => c.text).join('\n')).join('\n');
}

/** A step answer's episode state, as `EnvClient` reads it from MCP `_meta`. */
export function stepMeta(r: WsStepResult): StepMeta {
  const m: StepMeta = { step: r.info.step, terminated: r.terminated, truncated: r.truncated };
  if (r.aborted) m.aborted = true;
  if (r.info.components) {
    m.reward = r.reward;
    m.components = r.info.components;
    if (r.info.correct !== undefined) m.correct = r.info.correct;
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// One socket

export class WsGymClient {
  readonly #pending = new Map<number, Pending>();
  /** Ids of the `cancel` requests in #pending: they take no slot. */
  readonly #cancels = new Set<number>();
  readonly #waiting: Array<() => void> = [];
  #nextId = 1;
  #closed: WsClosedError | undefined;
  #info: WsInfoResult | undefined;
  #limit: number;

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
    limit: number,
  ) {
    this.#limit = limit;
    ws.on('message', (data) => this.#onMessage(data.toString()));
    ws.on('close', (code, reason) => {
      const why = reason.length ? `: ${reason.toString()}` : '';
      this.#fail(new WsClosedError(`the ws connection to ${this.#where()} closed (code ${code}${why})`));
    });
    ws.on('error', (err) => this.#fail(new WsClosedError(`the ws connection to ${this.#where()} failed: ${err.message}`)));
  }

  /** Opens a socket and reads the server's `info` (env, tools, limits). */
  static async connect(url: string, opts: WsClientOptions = {}): Promise<WsGymClient> {
    const token = opts.token ?? process.env.GYM_TOKEN;
    const headers: Record<string, string> = { ...opts.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: opts.connectTimeoutMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new WsClosedError(`cannot open ${url}: ${err.message}`));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          let msg = body;
          try {
            msg = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body;
          } catch {}
          reject(new WsClosedError(`cannot open ${url}: HTTP ${res.statusCode}${msg ? `: ${msg}` : ''}`));
          ws.terminate(); // with this listener set, ending the refused handshake is the caller's job
        });
      });
      ws.once('error', onError);
      ws.once('open', () => {
        ws.off('error', onError);
        resolve();
      });
    });
    const client = new WsGymClient(ws, url, opts.maxInflight ?? 64);
    const info = await client.request<WsInfoResult>({ op: 'info' });
    if (info.protocol !== WS_PROTOCOL) {
      client.close();
      throw new WsClosedError(`${url} speaks ${info.protocol}, this client ${WS_PROTOCOL}`);
    }
    client.#info = info;
    client.#limit = Math.min(opts.maxInflight ?? info.limits.maxInflight, info.limits.maxInflight);
    return client;
  }

  get info(): WsInfoResult {
    if (!this.#info) throw new WsClosedError('not connected');
    return this.#info;
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Requests sent and not yet answered, and those waiting for a slot. */
  get load(): { inflight: number; queued: number } {
    return { inflight: this.#pending.size, queued: this.#waiting.length };
  }

  /**
   * Sends one request and resolves with its answer (`ok: true`), or rejects with `WsRequestError`
   * (`ok: false`) or `WsClosedError`. Waits for a slot when `maxInflight` requests are on the wire.
   * When `signal` aborts: before the request was sent, it is not sent and rejects with the signal's
   * reason; after, the server is sent a `cancel` for it and the answer is still awaited (a cancelled
   * tool-call step answers at once, with `info.cancelled: true`).
   */
  async request<R>(msg: Outgoing, opts: { signal?: AbortSignal } = {}): Promise<R> {
    const { signal } = opts;
    if (this.#closed) throw this.#closed;
    if (this.#pending.size - this.#cancels.size >= this.#limit) await new Promise<void>((go) => this.#waiting.push(go));
    if (this.#closed) throw this.#closed;
    if (signal?.aborted) {
      this.#waiting.shift()?.(); // the slot this request was given goes to the next one
      throw signal.reason ?? new Error('aborted');
    }
    const id = this.#nextId++;
    const onAbort = (): void => void this.cancel(id).catch(() => undefined);
    return new Promise<R>((resolve, reject) => {
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.#pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r as R);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#send(id, { ...msg, id });
    });
  }

  /**
   * Asks the server to stop request `target` (a tool-call step of this socket still in flight):
   * sent at once, taking no slot. Resolves with whether there was something to cancel; the target
   * then answers as usual, a step with `info.cancelled: true`.
   */
  cancel(target: number | string): Promise<WsCancelResult> {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<WsCancelResult>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.#cancels.add(id);
      this.#send(id, { op: 'cancel', target, id });
    });
  }

  #send(id: number, frame: WsRequest): void {
    this.ws.send(JSON.stringify(frame), (err) => {
      if (err) this.#settle(id)?.reject(new WsClosedError(`sending to ${this.#where()} failed: ${err.message}`));
    });
  }

  reset(args: { seed?: number; taskId?: string; split?: 'train' | 'test' } = {}): Promise<WsResetResult> {
    const msg: Outgoing = { op: 'reset' };
    if (args.seed !== undefined) msg.seed = args.seed;
    if (args.taskId !== undefined) msg.taskId = args.taskId;
    if (args.split !== undefined) msg.split = args.split;
    return this.request<WsResetResult>(msg);
  }

  /** One step; a tool-call step whose `signal` aborts on the wire is cancelled (see `request`). */
  step(episode: string, action: WsAction, opts: { signal?: AbortSignal } = {}): Promise<WsStepResult> {
    return this.request<WsStepResult>({ op: 'step', episode, action }, opts);
  }

  closeEpisode(episode: string): Promise<WsCloseResult> {
    return this.request<WsCloseResult>({ op: 'close', episode });
  }

  close(): void {
    this.#fail(new WsClosedError(`the ws connection to ${this.#where()} was closed by this client`));
    this.ws.close(1000);
  }

  #where(): string {
    return this.#info?.replica ? `replica ${this.#info.replica} (${this.url})` : this.url;
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    if (!this.#cancels.delete(id)) this.#waiting.shift()?.(); // an answered cancel frees no slot
    return p;
  }

  #onMessage(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.#fail(new WsClosedError(`${this.#where()} sent a frame that is not JSON: is it a toolgym ws server?`));
      this.ws.close(1002);
      return;
    }
    const parsed = WsResponseSchema.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: unknown })?.id;
      const p = typeof id === 'number' ? this.#settle(id) : undefined;
      p?.reject(new WsClosedError(`${this.#where()} sent an answer this client cannot read: ${parsed.error.issues[0]?.message}`));
      return;
    }
    const res = parsed.data;
    const p = typeof res.id === 'number' ? this.#settle(res.id) : undefined;
    if (!p) return; // an answer to a request nobody waits for (e.g. an error about an unreadable frame)
    if (res.ok) p.resolve(res);
    else p.reject(new WsRequestError(res.error.code, res.error.message));
  }

  #fail(err: WsClosedError): void {
    if (this.#closed) return;
    this.#closed = err;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#cancels.clear();
    for (const p of pending) p.reject(err);
    for (const go of this.#waiting.splice(0)) go();
  }
}

// ---------------------------------------------------------------------------------------------
// One episode at a time, for the rollout loop

export class WsEnvClient implements EpisodeEnv {
  #episode: string | undefined;

  constructor(
    readonly socket: WsGymClient,
    private readonly clock: TimerClock = globalThis as unknown as TimerClock,
  ) {}

  /** The handle of the episode in progress. */
  get episode(): string | undefined {
    return this.#episode;
  }

  async tools(): Promise<ToolSchemaJson[]> {
    return this.socket.info.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.inputSchema },
    }));
  }

  async start(args: StartArgs): Promise<StartedEpisode> {
    await this.release();
    const r = await this.socket.reset(args);
    this.#episode = r.episode;
    return { task: r.info.task as StartedEpisode['task'], messages: r.observation.messages };
  }

  /**
   * Calls one tool as a one-call step. On timeout the step is cancelled on the server (its tool call
   * is aborted and the episode's next step is not held behind it) and its answer, which comes at
   * once, gives the episode state of the timed-out outcome; when the caller aborts, the step is
   * cancelled and the abort thrown. Either way the step's answer settles its request: nothing leaks.
   */
  async call(name: string, args: Record<string, unknown>, timeoutMs: number, signal: AbortSignal): Promise<ToolOutcome> {
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    const episode = this.#current();
    const cancel = new AbortController();
    const timers: unknown[] = [];
    const after = (ms: number): Promise<'timeout'> =>
      new Promise((resolve) => {
        timers.push(this.clock.setTimeout(() => resolve('timeout'), ms));
      });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        cancel.abort(signal.reason);
        reject(signal.reason ?? new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const req = this.socket.step(episode, { kind: 'tool_calls', calls: [{ name, arguments: args }] }, { signal: cancel.signal });
    req.catch(() => {}); // settled by the races below
    try {
      const r = await Promise.race([req, after(timeoutMs), aborted]);
      if (r === 'timeout') {
        cancel.abort(new Error(`tool ${name} timed out`));
        // The cancelled step answers at once; its state (a step that used the last one is truncated)
        // is the episode's. A server that does not answer in the grace leaves the state unknown.
        const late = await Promise.race([req.catch(() => undefined), after(CANCEL_ANSWER_GRACE_MS), aborted]);
        return {
          text: `Error: tool \`${name}\` did not finish within ${timeoutMs} ms and was cancelled. Try a smaller input or a faster approach.`,
          isError: true,
          meta: late && late !== 'timeout' ? stepMeta(late) : { terminated: false, truncated: false },
          timedOut: true,
        };
      }
      const result = r.observation.toolResults?.[0];
      const out: ToolOutcome = {
        text: r.aborted ? (r.info.error ?? textOf(r.observation.toolResults)) : textOf(r.observation.toolResults),
        isError: result?.isError === true,
        meta: stepMeta(r),
      };
      if (result?.structuredContent) out.structuredContent = result.structuredContent;
      return out;
    } finally {
      for (const t of timers) this.clock.clearTimeout(t);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async submit(answer: string): Promise<Scored | UserTurnOutcome> {
    const r = await this.socket.step(this.#current(), { kind: 'answer', answer });
    if (r.observation.messages?.length && !r.terminated && !r.aborted) {
      return { kind: 'user', messages: r.observation.messages, newContext: r.info.newContext === true, truncated: r.truncated };
    }
    if (r.aborted)
      throw new WsRequestError('internal', `scoring failed: ${r.info.error ?? 'the environment aborted the episode'}`);
    if (!r.terminated) throw new WsRequestError('internal', `the answer was not scored (step ${r.info.step})`);
    return {
      reward: r.reward,
      components: r.info.components ?? {},
      correct: r.info.correct ?? r.reward >= 1,
      text: `Answer submitted. Reward ${r.reward}${r.info.detail ? `. ${r.info.detail}` : ''}`,
    };
  }

  /** Closes the episode in progress on the server (its answer is not waited for by `start`). */
  async release(): Promise<void> {
    const e = this.#episode;
    this.#episode = undefined;
    if (e && this.socket.isOpen) await this.socket.closeEpisode(e).catch(() => undefined);
  }

  #current(): string {
    if (!this.#episode) throw new WsRequestError('unknown_episode', 'no episode started on this client: call start() first');
    return this.#episode;
  }
}

// ---------------------------------------------------------------------------------------------
// Sockets shared per (url, token)

const shared = new Map<string, { socket: Promise<WsGymClient>; refs: number }>();

/** Whether `url` is a `ws://` or `wss://` URL (the rollout's cue to speak this protocol). */
export function isWsUrl(url: string | URL): boolean {
  return /^wss?:\/\//i.test(String(url));
}

/**
 * A `WsEnvClient` on the process's shared socket to `url` (opened on first use, closed when its last
 * user releases it; a socket that died is replaced by the next open).
 */
export async function openWsEpisodeClient(
  url: string,
  opts: WsClientOptions & { clock?: TimerClock } = {},
): Promise<{ env: WsEnvClient; close: () => Promise<void> }> {
  const key = `${url}\0${opts.token ?? process.env.GYM_TOKEN ?? ''}`;
  let entry = shared.get(key);
  if (entry) {
    const s = await entry.socket.catch(() => undefined);
    if (!s?.isOpen) {
      if (shared.get(key) === entry) shared.delete(key);
      entry = undefined;
    }
  }
  if (!entry) {
    entry = { socket: WsGymClient.connect(url, opts), refs: 0 };
    shared.set(key, entry);
    entry.socket.catch(() => {
      if (shared.get(key) === entry) shared.delete(key);
    });
  }
  entry.refs++;
  const mine = entry;
  let socket: WsGymClient;
  try {
    socket = await mine.socket;
  } catch (err) {
    mine.refs--;
    throw err;
  }
  const env = new WsEnvClient(socket, opts.clock);
  let released = false;
  return {
    env,
    close: async () => {
      if (released) return;
      released = true;
      await env.release();
      if (--mine.refs === 0) {
        if (shared.get(key) === mine) shared.delete(key);
        socket.close();
      }
    },
  };
}
