/**
 * Environments in worker threads: MCP over a `MessagePort`.
 *
 * The in-memory transport keeps the environment on the rollout loop's thread, so the loop, the MCP
 * server, the episode sessions and the tools' own host work all share one core. `EnvWorkerPool`
 * moves the environment into N worker threads; each MCP session is a `MessageChannel` whose far end
 * is served by `createEpisodeServer` in a worker, and the near end is an ordinary SDK `Client`. The
 * path is the MCP path (same server, same session code) with structured-clone messages instead of
 * JSON lines, so results are identical to in-memory and stdio.
 *
 * A worker that dies (a crash in native code, `process.exit` in a tool) closes its sessions: calls
 * in flight fail, their episodes end `aborted`, and the next `connect()` starts a replacement worker.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { EpisodeSessionOptions } from './session.js';

// ---------------------------------------------------------------------------------------------
// Transport

/** An MCP transport over one end of a `MessageChannel` (structured clone, no JSON text). */
export class MessagePortTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #closed = false;
  #started = false;

  constructor(private readonly port: MessagePort) {}

  async start(): Promise<void> {
    if (this.#started) throw new Error('MessagePortTransport already started');
    this.#started = true;
    this.port.on('message', (m: JSONRPCMessage) => this.onmessage?.(m));
    this.port.on('messageerror', (err: Error) => this.onerror?.(err));
    // Either end closing the channel (or the worker holding the far end dying) closes both ends.
    this.port.on('close', () => this.#finish());
    this.port.start();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error('the environment worker session is closed');
    this.port.postMessage(message);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.port.close();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}

// ---------------------------------------------------------------------------------------------
// What a worker is told to serve

/**
 * The environment a worker builds: `buildEnv(env, options)` after loading `modules` (files exporting
 * environment definitions, as `gym --env-module` takes): an `EnvDefinition` object cannot cross a
 * thread boundary, so the worker builds its own from the same source.
 */
export interface WorkerEnvSpec {
  env: string;
  options?: Record<string, unknown>;
  /** Paths of modules whose exported environments are registered first. */
  modules?: readonly string[];
  /** Per-session limits. */
  session?: Pick<EpisodeSessionOptions, 'maxSteps' | 'maxArgBytes' | 'defaultSplit'>;
}

/** Messages from the pool to a worker. */
export type ToWorker = { type: 'session'; port: MessagePort };
/** Messages from a worker to the pool. */
export type FromWorker = { type: 'ready'; id: string; version: string } | { type: 'failed'; error: string };

export class EnvWorkerError extends Error {
  override name = 'EnvWorkerError';
}

// ---------------------------------------------------------------------------------------------
// The pool

export interface EnvWorkerPoolOptions extends WorkerEnvSpec {
  /** Worker threads (default 2). Sessions are spread over them, fewest open sessions first. */
  workers?: number;
  /** Name the pool's clients give in `initialize`. */
  clientName?: string;
  /** How long a new session may take to answer `initialize` before its worker is replaced (ms). */
  openTimeoutMs?: number;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  sessions: number;
  dead: boolean;
}

/**
 * The worker's entry: the compiled `worker-host.js` beside this folder, or, when running from the
 * TypeScript sources (tsx, vitest), a two-line loader that registers tsx in the worker first (a
 * worker does not inherit the parent's module hooks on Node 20).
 */
function hostEntry(): { entry: string | URL; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { entry: new URL('../worker-host.js', here), eval: false };
  // The ESM entry of `tsx/esm/api`, read from tsx's exports map (require.resolve would give the
  // CommonJS one).
  const tsxPkg = createRequire(here).resolve('tsx/package.json');
  const exportsMap = (JSON.parse(readFileSync(tsxPkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> })
    .exports;
  const tsxApi = pathToFileURL(join(dirname(tsxPkg), exportsMap['./esm/api'].import.default)).href;
  const host = new URL('../worker-host.ts', here).href;
  return {
    entry: `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(host)}); })`,
    eval: true,
  };
}

export class EnvWorkerPool {
  readonly size: number;
  readonly #spec: WorkerEnvSpec;
  readonly #clientName: string;
  readonly #slots: Slot[] = [];
  #closed = false;
  readonly #openTimeoutMs: number;
  /** Workers started over the pool's life (replacements included). */
  started = 0;
  #envId = '';
  #envVersion = '';

  constructor(opts: EnvWorkerPoolOptions) {
    const n = opts.workers ?? 2;
    if (!Number.isInteger(n) || n < 1) throw new EnvWorkerError(`workers must be a positive integer, got ${n}`);
    this.size = n;
    const { workers: _w, clientName, openTimeoutMs, ...spec } = opts;
    this.#openTimeoutMs = openTimeoutMs ?? 30_000;
    this.#spec = spec;
    this.#clientName = clientName ?? 'toolgym-worker';
  }

  /** Environment id and version the workers serve (after the first worker is ready). */
  get env(): { id: string; version: string } {
    return { id: this.#envId, version: this.#envVersion };
  }

  /** Starts every worker and waits until each has built its environment. */
  async start(): Promise<this> {
    while (this.#slots.filter((s) => !s.dead).length < this.size) this.#spawn();
    await Promise.all(this.#slots.map((s) => s.ready));
    return this;
  }

  /**
   * A `Client` on a new MCP session in the least-busy worker; close it to end the session. A worker
   * found dead while the session opens is replaced and the session opened again, once.
   */
  async connect(): Promise<Client> {
    try {
      return await this.#open();
    } catch (err) {
      if (this.#closed || err instanceof EnvWorkerError) throw err;
      return this.#open();
    }
  }

  async #open(): Promise<Client> {
    if (this.#closed) throw new EnvWorkerError('this environment worker pool is closed');
    for (let i = this.#slots.length - 1; i >= 0; i--) if (this.#slots[i].dead) this.#slots.splice(i, 1);
    while (this.#slots.length < this.size) this.#spawn();
    const slot = this.#slots.reduce((a, b) => (b.sessions < a.sessions ? b : a));
    await slot.ready;
    if (slot.dead) throw new EnvWorkerError('the environment worker exited before the session opened');
    const { port1, port2 } = new MessageChannel();
    slot.worker.postMessage({ type: 'session', port: port2 } satisfies ToWorker, [port2]);
    slot.sessions++;
    const transport = new MessagePortTransport(port1);
    const client = new Client({ name: this.#clientName, version: '0.1.0' });
    try {
      await client.connect(transport, { timeout: this.#openTimeoutMs });
    } catch (err) {
      // The worker died (or hung) between being picked and answering `initialize`.
      slot.sessions--;
      slot.dead = true;
      void slot.worker.terminate().catch(() => 0);
      await transport.close();
      throw err;
    }
    const sdkClose = transport.onclose;
    transport.onclose = () => {
      slot.sessions--;
      sdkClose?.();
    };
    return client;
  }

  /** Terminates the workers (their sessions close). */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
  }

  #spawn(): void {
    const { entry, eval: isEval } = hostEntry();
    const worker = new Worker(entry, { eval: isEval, workerData: this.#spec });
    this.started++;
    const slot: Slot = { worker, sessions: 0, dead: false, ready: Promise.resolve() };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'ready') {
          this.#envId = m.id;
          this.#envVersion = m.version;
          // Once ready, an idle worker does not keep the process alive (open sessions' ports do).
          worker.unref();
          resolve();
        } else {
          slot.dead = true;
          reject(new EnvWorkerError(`the environment worker could not build "${this.#spec.env}": ${m.error}`));
        }
      };
      worker.once('message', onMessage);
      worker.once('error', (err) => {
        slot.dead = true;
        reject(new EnvWorkerError(`the environment worker failed: ${err.message}`));
      });
      worker.once('exit', (code) => {
        slot.dead = true;
        reject(new EnvWorkerError(`the environment worker exited (code ${code}) before it was ready`));
      });
    });
    // A worker that exits later is replaced on the next connect(); its sessions' ports close with it.
    slot.ready.catch(() => undefined);
    worker.on('exit', () => {
      slot.dead = true;
    });
    this.#slots.push(slot);
  }
}
