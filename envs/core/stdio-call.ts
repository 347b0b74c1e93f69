/**
 * The stdio tool-call lane: once a stdio connection is established, a well-formed `tools/call` on it
 * is answered straight from the connection's episode router, without the SDK's per-message machinery.
 *
 * Why. stdio serving goes through the SDK's `serveStdio` (stdio.ts), which owns the era decision:
 * every inbound message is queued, classified with the SDK's zod schemas on the way in (the entry,
 * the connection channel and the protocol layer each ask again), validated as a `tools/call`
 * request, dispatched through the `McpServer`'s protocol handler, its result validated against the
 * result schema, and classified once more on the way out. For a trivial step that was most of the
 * cost: bench/mcp put toolgym's stdio p50 at 1.34-1.57x the reference server's (target 1.2x) after
 * the move to the v2 server SDK, against 0.66-0.80x before it.
 *
 * What the lane serves, and only this: on a connection the SDK has pinned to an era (the opening
 * exchange, `initialize` or `server/discover` or the first enveloped request, was the SDK's and it
 * has delivered a request to the pinned instance), a single JSON-RPC request whose method is
 * `tools/call`, with a string or integer id not already in flight on the lane, naming a tool of this
 * environment, with params of exactly `name` and `arguments` (an object); on a 2026-07-28 connection
 * also the `_meta` envelope (protocol version 2026-07-28, client info, client capabilities; nothing
 * else), which the SDK's own `classifyInboundRequest` must call a valid 2026-07-28 request. It runs
 * the call on the pinned instance's router (so a 2025-11-25 session's current episode, the one
 * `gym_start` last started, is the same whichever path a call takes) and answers what the SDK's path
 * answers: the router's result as is on 2025-11-25, with `resultType: "complete"` and the server's
 * identity in `_meta` on 2026-07-28; a throw (never for bad input: the router answers that with an
 * `isError` result) as the SDK's protocol layer answers one. A `notifications/cancelled` naming a
 * call in flight on the lane aborts it and its answer is dropped, as the SDK does; the notification
 * still goes on to the SDK. When the connection closes, calls in flight are aborted unanswered.
 *
 * Everything else goes to the SDK as before: the opening exchange, `initialize`, `ping`, the list
 * and resource methods, notifications, every request of another shape (a progress token or any
 * other `_meta`, task augmentation, missing or non-object arguments, an unknown tool, a fractional
 * or null id, extra keys), so every protocol error and every validation message stays the SDK's.
 * Malformed lines are answered by the line transport before either path sees them.
 *
 * Order. A lane call starts when its line is read; the SDK delivers a pinned connection's messages
 * within the same turn of the event loop unless the wire is back-pressured, so a lane call can start
 * ahead of an SDK-bound request read just before it only when both are in flight at once, which MCP
 * leaves unordered (the SDK runs concurrent requests' handlers concurrently too).
 *
 * test/envs/core/stdio-call.test.ts sends the same lines to a server with the lane and one without
 * (`callLane: false`) and requires the same answers, on both revisions.
 */
import { classifyInboundRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { isLaneEnvelope, type LaneCall, MODERN_REVISION, modernResult, wellFormedCall } from './call-lane.js';
import type { EpisodeRouter } from './episodes.js';
import { WIRE_ERROR } from './wire.js';

/** The era the SDK pinned a stdio connection to: 2025-11-25 (`legacy`) or 2026-07-28 (`modern`). */
export type StdioEra = 'legacy' | 'modern';

const PARAM_KEYS: Record<StdioEra, ReadonlySet<string>> = {
  legacy: new Set(['name', 'arguments']),
  modern: new Set(['name', 'arguments', '_meta']),
};

/** Distinct envelopes whose validation is remembered (a client sends one envelope, the same every call). */
const ENVELOPE_MEMO = 16;

/**
 * The JSON-RPC error the SDK's protocol layer answers a throwing handler with: the error's own
 * integer `code` (the 2026-07-28 "resource not found" code -32002 written as -32602, as both codecs
 * do), else -32603; its message; its `data` when it has some.
 */
function thrownError(id: string | number, err: unknown): JSONRPCMessage {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; data?: unknown };
  const code = Number.isSafeInteger(e.code) ? (e.code as number) : WIRE_ERROR.internal;
  const error = {
    code: code === -32002 ? WIRE_ERROR.invalidParams : code,
    message: e.message ?? 'Internal error',
    ...(e.data !== undefined && { data: e.data }),
  };
  return { jsonrpc: '2.0', id, error } as JSONRPCMessage;
}

export class StdioCallLane {
  #pinned: { era: StdioEra; router: EpisodeRouter } | undefined;
  readonly #inflight = new Map<string | number, AbortController>();
  readonly #envelopes = new Map<string, boolean>();
  #closed = false;
  #served = 0;

  /**
   * @param send writes one message to the connection (the line transport's `send`).
   * @param serverInfo the server's identity, stamped into 2026-07-28 results as the SDK does.
   */
  constructor(
    private readonly send: (message: JSONRPCMessage) => Promise<void>,
    private readonly serverInfo: { name: string; version: string },
  ) {}

  /** The era the connection is pinned to, once the lane has seen it (undefined before). */
  get era(): StdioEra | undefined {
    return this.#pinned?.era;
  }

  /** Tool calls the lane has answered (or dropped as cancelled) on this connection. */
  get served(): number {
    return this.#served;
  }

  /**
   * Told of every message the SDK delivers to a server instance of `era` whose router is `router`:
   * a message delivered to a 2025-11-25 instance, or a request other than `server/discover` delivered
   * to a 2026-07-28 one, means the SDK has pinned the connection to that instance (a 2026-07-28
   * probe instance that answered only `server/discover` may still be replaced by a 2025-11-25
   * `initialize`). A pinned connection stays pinned until it closes.
   */
  observe(era: StdioEra, router: EpisodeRouter, message: JSONRPCMessage): void {
    if (this.#pinned || this.#closed) return;
    const m = message as { id?: unknown; method?: unknown };
    if (era === 'legacy' || (m.id !== undefined && typeof m.method === 'string' && m.method !== 'server/discover'))
      this.#pinned = { era, router };
  }

  /**
   * Takes `body` (one inbound line, parsed) when it is a call the lane serves, and answers it;
   * returns false to hand the line to the SDK.
   */
  take(body: unknown): boolean {
    const pinned = this.#pinned;
    if (!pinned || this.#closed) return false;
    const call = this.#accept(pinned, body);
    if (!call) return false;
    const abort = new AbortController();
    this.#inflight.set(call.id, abort);
    void this.#serve(pinned, call, abort);
    return true;
  }

  /**
   * Sees each valid message on its way to the SDK: a `notifications/cancelled` naming a call in
   * flight on the lane aborts it (with the notification's reason, as the SDK's protocol layer does),
   * and its answer is dropped. The SDK gets the notification too and finds nothing of its own to cancel.
   */
  passing(message: JSONRPCMessage): void {
    if (this.#inflight.size === 0) return;
    const m = message as { method?: unknown; id?: unknown; params?: { requestId?: unknown; reason?: unknown } };
    if (m.method !== 'notifications/cancelled' || m.id !== undefined) return;
    const id = m.params?.requestId;
    if (typeof id === 'string' || typeof id === 'number') this.#inflight.get(id)?.abort(m.params?.reason);
  }

  /** Aborts the calls in flight, unanswered (the connection closed). */
  close(): void {
    this.#closed = true;
    for (const abort of this.#inflight.values()) abort.abort(new Error('Connection closed'));
    this.#inflight.clear();
  }

  #accept(pinned: { era: StdioEra; router: EpisodeRouter }, body: unknown): LaneCall | undefined {
    const call = wellFormedCall(body, PARAM_KEYS[pinned.era]);
    if (!call || this.#inflight.has(call.id)) return undefined;
    const tool = pinned.router.tool(call.name);
    if (!tool) return undefined;
    if (pinned.era === 'modern' && !this.#validEnvelope(call.params._meta)) return undefined;
    return { id: call.id, tool, args: call.args };
  }

  /**
   * Whether `meta` is an envelope the SDK's pinned 2026-07-28 instance accepts: the cheap screen, then
   * the SDK's own classification of a request carrying it (remembered per envelope text).
   */
  #validEnvelope(meta: unknown): boolean {
    if (!isLaneEnvelope(meta)) return false;
    const key = JSON.stringify(meta);
    let ok = this.#envelopes.get(key);
    if (ok === undefined) {
      const probe = { jsonrpc: '2.0', id: 0, method: 'tools/call', params: { name: 'probe', arguments: {}, _meta: meta } };
      const route = classifyInboundRequest({ httpMethod: 'POST', body: probe });
      ok = route.kind === 'modern' && route.messageKind === 'request' && route.classification.revision === MODERN_REVISION;
      if (this.#envelopes.size >= ENVELOPE_MEMO) this.#envelopes.clear();
      this.#envelopes.set(key, ok);
    }
    return ok;
  }

  async #serve(pinned: { era: StdioEra; router: EpisodeRouter }, call: LaneCall, abort: AbortController): Promise<void> {
    let answer: JSONRPCMessage | undefined;
    try {
      const r = await pinned.router.run(call.tool, call.args, abort.signal);
      const result = pinned.era === 'modern' ? modernResult(r, this.serverInfo) : r;
      answer = { result, jsonrpc: '2.0', id: call.id } as JSONRPCMessage;
    } catch (err) {
      answer = thrownError(call.id, err);
    } finally {
      if (this.#inflight.get(call.id) === abort) this.#inflight.delete(call.id);
      this.#served++;
    }
    // A cancelled call, or one the closing connection aborted, is not answered (as the SDK does).
    if (!abort.signal.aborted) await this.send(answer).catch(() => undefined);
  }
}
