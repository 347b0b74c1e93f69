/**
 * stdio serving: newline-delimited JSON-RPC on stdin/stdout. stdout is the protocol channel, so
 * logs go to stderr.
 *
 * Both protocol revisions are served, one per connection: the SDK's `serveStdio` reads the opening
 * exchange (an `initialize`, or a request without the 2026-07-28 `_meta` envelope, is a 2025-11-25
 * session; a `server/discover` or an enveloped request is 2026-07-28), asks the factory for one
 * instance of that era and pins it for the life of the connection. A 2025-11-25 connection is a
 * session (calls may leave `episode` out and act on the episode last started); a 2026-07-28 one
 * names every episode by handle, as over HTTP. Both share one episode table per process.
 *
 * The SDK's `StdioServerTransport` drops a malformed line without answering (and closes on an
 * oversized buffer); the MCP spec wants a JSON-RPC error back and the server to keep serving, so
 * this file has its own small line transport, handed to `serveStdio` as its wire.
 *
 * Once the SDK has pinned the connection's era, a well-formed `tools/call` is answered by the
 * tool-call lane in stdio-call.ts, in front of the SDK (`callLane`, on by default); every other
 * message goes to the SDK as before.
 */
import type { Readable, Writable } from 'node:stream';
import { type JSONRPCMessage, parseJSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { serveStdio as serveStdioEras } from '@modelcontextprotocol/server/stdio';
import { EpisodeTable } from './episodes.js';
import { createEpisodeServer, type EpisodeServerOptions, episodeRouterOf, serverIdentity } from './server.js';
import { StdioCallLane } from './stdio-call.js';
import type { EnvDefinition } from './types.js';
import { WIRE_ERROR } from './wire.js';

export interface StdioOptions extends Omit<EpisodeServerOptions, 'router' | 'session' | 'scope' | 'onInbound'> {
  stdin?: Readable;
  stdout?: Writable;
  /** Longest accepted line; a longer one is answered with an error and skipped. */
  maxLineBytes?: number;
  log?: (line: string) => void;
  /**
   * Answer well-formed `tools/call` requests of an established connection on the lane in
   * stdio-call.ts rather than through the SDK (default true; the differential test turns it off).
   */
  callLane?: boolean;
}

/** A fast path in front of the SDK, consulted by the line transport for each line. */
export interface LineLane {
  /** Answers a parsed line itself (true), or leaves it to the SDK (false). */
  take(body: unknown): boolean;
  /** Sees each valid message on its way to the SDK. */
  passing(message: JSONRPCMessage): void;
}

/** The JSON-RPC error reply for a line that is not a valid message (id echoed when it can be read). */
export function malformedReply(line: string): JSONRPCMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    return {
      jsonrpc: '2.0',
      id: null,
      error: { code: WIRE_ERROR.parse, message: `Parse error: ${(err as Error).message}` },
    } as unknown as JSONRPCMessage;
  }
  const id =
    parsed && typeof parsed === 'object' && 'id' in parsed && (typeof parsed.id === 'string' || typeof parsed.id === 'number')
      ? parsed.id
      : null;
  return {
    jsonrpc: '2.0',
    id,
    error: { code: WIRE_ERROR.invalidRequest, message: 'Invalid Request: not a JSON-RPC 2.0 message' },
  } as unknown as JSONRPCMessage;
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #chunks: Buffer[] = [];
  #size = 0;
  #skipping = false;
  #closed = false;
  #resolveClosed!: () => void;
  /** Consulted before the SDK for each line (stdio-call.ts's tool-call lane). */
  lane?: LineLane;
  /** Settles once the transport has closed (stdin ended, a read error, or `close()`). */
  readonly closed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly maxLineBytes = 64 * 1024 * 1024,
  ) {}

  #onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.#push(chunk.subarray(start, nl));
      this.#line();
      start = nl + 1;
    }
    if (start < chunk.length) this.#push(chunk.subarray(start));
  };

  #onEnd = (): void => {
    void this.close();
  };

  #onError = (err: Error): void => {
    this.onerror?.(err);
    void this.close();
  };

  #push(part: Buffer): void {
    if (this.#skipping) return;
    this.#size += part.length;
    if (this.#size > this.maxLineBytes) {
      this.#chunks = [];
      this.#skipping = true;
      void this.send({
        jsonrpc: '2.0',
        id: null,
        error: { code: WIRE_ERROR.invalidRequest, message: `Message over ${this.maxLineBytes} bytes: skipped` },
      } as unknown as JSONRPCMessage);
      return;
    }
    this.#chunks.push(part);
  }

  #line(): void {
    const skipped = this.#skipping;
    const text = Buffer.concat(this.#chunks).toString('utf8').replace(/\r$/, '');
    this.#chunks = [];
    this.#size = 0;
    this.#skipping = false;
    if (skipped || text.trim() === '') return;
    let body: unknown;
    let msg: JSONRPCMessage;
    try {
      body = JSON.parse(text);
    } catch {
      void this.send(malformedReply(text));
      return;
    }
    try {
      if (this.lane?.take(body)) return;
    } catch (err) {
      this.onerror?.(err as Error);
    }
    try {
      msg = parseJSONRPCMessage(body);
    } catch {
      void this.send(malformedReply(text));
      return;
    }
    try {
      this.lane?.passing(msg);
      this.onmessage?.(msg);
    } catch (err) {
      this.onerror?.(err as Error);
    }
  }

  async start(): Promise<void> {
    this.input.on('data', this.#onData);
    this.input.on('end', this.#onEnd);
    this.input.on('error', this.#onError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.input.off('data', this.#onData);
    this.input.off('end', this.#onEnd);
    this.input.off('error', this.#onError);
    try {
      this.onclose?.();
    } finally {
      this.#resolveClosed();
    }
  }
}

/**
 * Serves the environment over stdio until stdin ends or `close()` is called: one connection, a
 * 2025-11-25 session or 2026-07-28 requests, whichever the client opens with.
 */
export async function serveStdio(
  def: EnvDefinition,
  opts: StdioOptions = {},
): Promise<{ close(): Promise<void>; closed: Promise<void>; lane?: StdioCallLane }> {
  if (!opts.stdout) {
    // stdout now carries the protocol: a stray console.log from an environment or a library would
    // corrupt it, so console output goes to stderr for the life of the process.
    for (const k of ['log', 'info', 'debug'] as const) console[k] = (...a: unknown[]) => console.error(...a);
  }
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const table = opts.table ?? new EpisodeTable(def, opts);
  const transport = new LineTransport(opts.stdin ?? process.stdin, opts.stdout ?? process.stdout, opts.maxLineBytes);
  const lane = opts.callLane === false ? undefined : new StdioCallLane((m) => transport.send(m), serverIdentity(def));
  transport.lane = lane;
  // The factory is asked once per era the opening needs: a 2026-07-28 `server/discover` gets a probe
  // instance that the next request pins (or that a 2025-11-25 `initialize` after it replaces). A
  // 2025-11-25 instance's router is a session; a 2026-07-28 one's is not (every call names its episode).
  const onerror = (err: Error): void => log(`[toolgym] stdio error: ${err.message}`);
  const handle = serveStdioEras(
    ({ era }) => {
      // The lane learns from what the SDK delivers to this instance whether the SDK pinned it.
      const onInbound = lane && ((m: JSONRPCMessage) => lane.observe(era, router, m));
      const server = createEpisodeServer(def, { ...opts, table, session: era === 'legacy', onInbound });
      const router = episodeRouterOf(server);
      server.server.onerror = onerror;
      return server;
    },
    { transport, onerror },
  );
  const closed = transport.closed.then(async () => {
    lane?.close();
    if (!opts.table) await table.close().catch(() => undefined);
  });
  log(`[toolgym] serving environment "${def.id}" v${def.version} over stdio (MCP 2025-11-25 and 2026-07-28)`);
  return {
    close: async () => {
      await handle.close();
      await closed;
    },
    closed,
    lane,
  };
}
