/**
 * stdio serving: newline-delimited JSON-RPC on stdin/stdout. stdout is the protocol channel, so
 * logs go to stderr.
 *
 * The SDK's `StdioServerTransport` drops a malformed line without answering (and closes on an
 * oversized buffer); the MCP spec wants a JSON-RPC error back and the server to keep serving, so
 * this file has its own small line transport.
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { createEpisodeServer, type EpisodeServerOptions } from './server.js';
import type { EnvDefinition } from './types.js';
import { WIRE_ERROR } from './wire.js';

export interface StdioOptions extends EpisodeServerOptions {
  stdin?: Readable;
  stdout?: Writable;
  /** Longest accepted line; a longer one is answered with an error and skipped. */
  maxLineBytes?: number;
  log?: (line: string) => void;
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
    let msg: JSONRPCMessage;
    try {
      msg = JSONRPCMessageSchema.parse(JSON.parse(text));
    } catch {
      void this.send(malformedReply(text));
      return;
    }
    try {
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
    this.onclose?.();
  }
}

/** Serves one episode session over stdio until stdin ends or `close()` is called. */
export async function serveStdio(
  def: EnvDefinition,
  opts: StdioOptions = {},
): Promise<{ close(): Promise<void>; closed: Promise<void> }> {
  if (!opts.stdout) {
    // stdout now carries the protocol: a stray console.log from an environment or a library would
    // corrupt it, so console output goes to stderr for the life of the process.
    for (const k of ['log', 'info', 'debug'] as const) console[k] = (...a: unknown[]) => console.error(...a);
  }
  const server = createEpisodeServer(def, opts);
  const transport = new LineTransport(opts.stdin ?? process.stdin, opts.stdout ?? process.stdout, opts.maxLineBytes);
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  await server.connect(transport);
  const prev = server.server.onclose;
  server.server.onclose = () => {
    prev?.();
    resolveClosed();
  };
  server.server.onerror = (err) => log(`[toolgym] stdio error: ${err.message}`);
  log(`[toolgym] serving environment "${def.id}" v${def.version} over stdio`);
  return { close: () => server.close(), closed };
}
