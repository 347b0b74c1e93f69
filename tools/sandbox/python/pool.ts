/**
 * Warm Python interpreters. Each `PyWorker` is one worker thread holding one Pyodide interpreter
 * (worker.ts); starting one costs 2.5-3.5 s of CPU, so the pool keeps `size` spare ones started
 * in the background and takes back the workers of finished episodes (`recycle`): the next episode
 * resets a recycled worker to its baseline memory image in milliseconds. A worker serves one
 * sandbox at a time.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SandboxStartError } from '../isolate.js';
import type { PyRequest, PyResponse, PyStartMessage, PyWorkerData } from './worker.js';

export interface PyPoolOptions {
  /** Spare interpreters kept started per memory limit (pre-warmed in the background). */
  size: number;
  /** Interpreters of finished episodes kept for reuse, per memory limit. */
  maxIdle: number;
  /** Folder of Pyodide wheels (`*.whl`, built for this Pyodide) every interpreter loads at start. */
  wheelsDir?: string;
  /** JavaScript heap of each worker thread, MiB (`resourceLimits.maxOldGenerationSizeMb`). */
  workerHeapMb: number;
}

/** The worker thread died (its own crash, a JavaScript out-of-memory, or `terminate`). */
export class PyWorkerDiedError extends Error {
  override name = 'PyWorkerDiedError';
  constructor(
    message: string,
    readonly outOfMemory: boolean,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/**
 * The worker's entry: the compiled `worker.js` beside this file, or, when running from the
 * TypeScript sources (tsx, vitest), a loader that registers tsx in the worker first (a worker does
 * not inherit the parent's module hooks on Node 20). Same scheme as envs/core/worker.ts.
 */
function workerEntry(): { entry: string | URL; eval: boolean } {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { entry: new URL('./worker.js', here), eval: false };
  const tsxPkg = createRequire(here).resolve('tsx/package.json');
  const exportsMap = (JSON.parse(readFileSync(tsxPkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> })
    .exports;
  const tsxApi = pathToFileURL(join(dirname(tsxPkg), exportsMap['./esm/api'].import.default)).href;
  const entry = new URL('./worker.ts', here).href;
  return {
    entry: `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    eval: true,
  };
}

/**
 * The process's Pyodide snapshot: the first worker makes it, later ones start from it. It holds only
 * the interpreter after start-up and the preloaded standard library (no episode, no harness), and
 * is shared read-only between threads.
 */
const processSnapshot: { buffer?: SharedArrayBuffer; making: boolean; done: Promise<void>; settle: () => void } = {
  making: false,
  done: Promise.resolve(),
  settle: () => undefined,
};

/** Resolves once no snapshot is being made: a worker started then begins from it (or cold, if making it failed). */
function snapshotSettled(): Promise<void> {
  return processSnapshot.making && !processSnapshot.buffer ? processSnapshot.done : Promise.resolve();
}

// ---------------------------------------------------------------------------------------------
// One interpreter thread

export class PyWorker {
  readonly memoryLimitMb: number;
  /** Int32Array(1) on shared memory: 2 asks the running Python code to stop (KeyboardInterrupt). */
  readonly interrupt: Int32Array;
  readonly ready: Promise<void>;
  /** Size of the baseline memory image, bytes (set when ready). */
  baselineBytes = 0;
  /** Start-up time inside the thread, ms (set when ready). */
  loadMs = 0;
  #worker: Worker;
  #dead: PyWorkerDiedError | undefined;
  #pending: { resolve: (r: PyResponse) => void; reject: (e: Error) => void } | undefined;

  constructor(memoryLimitMb: number, opts: Pick<PyPoolOptions, 'wheelsDir' | 'workerHeapMb'>) {
    const snapshot = processSnapshot.buffer;
    const makeSnapshot = snapshot === undefined && !processSnapshot.making;
    if (makeSnapshot) {
      processSnapshot.making = true;
      processSnapshot.done = new Promise<void>((r) => {
        processSnapshot.settle = r;
      });
    }
    /** The maker failed before its snapshot: later workers start cold (and one of them makes it). */
    const makerFailed = (): void => {
      if (!makeSnapshot || processSnapshot.buffer) return;
      processSnapshot.making = false;
      processSnapshot.settle();
    };
    this.memoryLimitMb = memoryLimitMb;
    const sab = new SharedArrayBuffer(4);
    this.interrupt = new Int32Array(sab);
    const { entry, eval: isEval } = workerEntry();
    const data: PyWorkerData = {
      interrupt: sab,
      memoryLimitMb,
      ...(opts.wheelsDir ? { wheelsDir: opts.wheelsDir } : {}),
      ...(snapshot ? { snapshot } : {}),
      ...(makeSnapshot ? { makeSnapshot } : {}),
    };
    this.#worker = new Worker(entry, {
      eval: isEval,
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: opts.workerHeapMb, maxYoungGenerationSizeMb: 32 },
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const onStart = (m: PyStartMessage): void => {
        if (m.type === 'snapshot') {
          processSnapshot.buffer = m.snapshot;
          processSnapshot.settle();
          return;
        }
        if (m.type === 'ready') {
          this.baselineBytes = m.baselineBytes;
          this.loadMs = m.loadMs;
          this.#worker.off('message', onStart);
          this.#worker.on('message', (r: PyResponse) => this.#answer(r));
          this.#worker.unref();
          resolve();
        } else {
          makerFailed();
          this.#die(new PyWorkerDiedError(`the Python interpreter could not start: ${m.error}`, false));
          reject(new SandboxStartError(`could not start a Python interpreter: ${m.error.split('\n')[0]}`));
        }
      };
      this.#worker.on('message', onStart);
      this.#worker.once('error', (err: Error & { code?: string }) => {
        makerFailed();
        const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
        this.#die(new PyWorkerDiedError(`the Python interpreter's thread failed: ${err.message}`, oom));
        reject(new SandboxStartError(`could not start a Python interpreter: ${err.message}`));
      });
      this.#worker.once('exit', (code) => {
        makerFailed();
        this.#die(new PyWorkerDiedError(`the Python interpreter's thread exited (code ${code})`, false));
        reject(new SandboxStartError(`the Python interpreter's thread exited while starting (code ${code})`));
      });
    });
    this.ready.catch(() => undefined);
    // A spare starting in the background never keeps the process alive; `take` holds it while awaited.
    this.#worker.unref();
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  /** Sends one request; rejects with `PyWorkerDiedError` if the thread dies before answering. */
  request(req: PyRequest): Promise<PyResponse> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#pending) return Promise.reject(new Error('PyWorker: a request is already in flight'));
    return new Promise<PyResponse>((resolve, reject) => {
      this.#pending = { resolve, reject };
      // An idle worker never keeps the process alive; one with a request in flight does.
      this.#worker.ref();
      this.#worker.postMessage(req);
    });
  }

  /** Keeps the process alive while a caller waits for this worker (`true`), or not. */
  hold(on: boolean): void {
    if (on) this.#worker.ref();
    else this.#worker.unref();
  }

  /** Asks the running code to stop: Python raises KeyboardInterrupt at its next check. */
  interruptNow(): void {
    Atomics.store(this.interrupt, 0, 2);
  }

  /** Stops the thread (even inside a long C call); a pending request rejects. */
  terminate(reason = 'stopped by the sandbox'): void {
    this.#die(new PyWorkerDiedError(`the Python interpreter was ${reason}`, false));
    void this.#worker.terminate().catch(() => 0);
  }

  #answer(r: PyResponse): void {
    const p = this.#pending;
    this.#pending = undefined;
    this.#worker.unref();
    p?.resolve(r);
  }

  #die(err: PyWorkerDiedError): void {
    if (this.#dead) return;
    this.#dead = err;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(err);
  }
}

// ---------------------------------------------------------------------------------------------
// The pool

export class PyWorkerPool {
  readonly size: number;
  readonly maxIdle: number;
  readonly #opts: Pick<PyPoolOptions, 'wheelsDir' | 'workerHeapMb'>;
  readonly #idle = new Map<number, PyWorker[]>();
  readonly #refilling = new Set<number>();
  #closed = false;
  /** Workers started by this pool (tests and benchmarks). */
  started = 0;

  constructor(opts: Partial<PyPoolOptions> = {}) {
    this.size = Math.max(0, opts.size ?? 1);
    this.maxIdle = Math.max(0, opts.maxIdle ?? 16);
    this.#opts = { workerHeapMb: opts.workerHeapMb ?? 256, ...(opts.wheelsDir ? { wheelsDir: opts.wheelsDir } : {}) };
  }

  /** A started interpreter (not yet reset) with the given memory cap. */
  async take(memoryLimitMb: number): Promise<PyWorker> {
    if (this.#closed) throw new SandboxStartError('the Python interpreter pool is closed');
    const list = this.#idle.get(memoryLimitMb) ?? [];
    let w: PyWorker | undefined;
    while (list.length > 0) {
      const c = list.shift() as PyWorker;
      if (!c.dead) {
        w = c;
        break;
      }
    }
    if (!w) {
      // While the process's snapshot is being made, wait for it: a start from it costs a seventh of a cold one.
      await snapshotSettled();
      w = this.#spawn(memoryLimitMb);
    }
    this.#refill(memoryLimitMb);
    w.hold(true);
    try {
      await w.ready;
    } finally {
      w.hold(false);
    }
    return w;
  }

  /** Takes back a finished sandbox's interpreter (the next taker resets it); past `maxIdle` it is stopped. */
  recycle(w: PyWorker): void {
    const list = this.#idle.get(w.memoryLimitMb) ?? [];
    this.#idle.set(w.memoryLimitMb, list);
    if (this.#closed || w.dead || list.length >= Math.max(this.size, this.maxIdle)) {
      w.terminate('retired');
      return;
    }
    // Recycled interpreters go first: they are already started, and spares stay spare.
    list.unshift(w);
  }

  /** Starts the spare interpreters now and waits for them (e.g. at server start). */
  async warm(memoryLimitMb: number): Promise<void> {
    await snapshotSettled();
    this.#fill(memoryLimitMb);
    // Spares never keep the process alive on their own; the caller waiting for them does.
    const list = [...(this.#idle.get(memoryLimitMb) ?? [])];
    for (const w of list) w.hold(true);
    await Promise.all(list.map((w) => w.ready.catch(() => undefined)));
    for (const w of list) w.hold(false);
  }

  /** Interpreters waiting (started or starting) for a memory limit. */
  idleCount(memoryLimitMb: number): number {
    return (this.#idle.get(memoryLimitMb) ?? []).filter((w) => !w.dead).length;
  }

  /** Whether every waiting interpreter for a memory limit has finished starting. */
  async settled(memoryLimitMb: number): Promise<void> {
    await Promise.all((this.#idle.get(memoryLimitMb) ?? []).map((w) => w.ready.catch(() => undefined)));
  }

  /** Stops the waiting interpreters; later takes fail. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const w of list) w.terminate('closed');
    this.#idle.clear();
  }

  #spawn(memoryLimitMb: number): PyWorker {
    this.started++;
    return new PyWorker(memoryLimitMb, this.#opts);
  }

  /** Tops the spares up in the background, after the process's snapshot exists. */
  #refill(memoryLimitMb: number): void {
    if (this.#closed || this.#refilling.has(memoryLimitMb)) return;
    this.#refilling.add(memoryLimitMb);
    void snapshotSettled().then(() => {
      this.#refilling.delete(memoryLimitMb);
      this.#fill(memoryLimitMb);
    });
  }

  #fill(memoryLimitMb: number): void {
    if (this.#closed) return;
    const list = this.#idle.get(memoryLimitMb) ?? [];
    this.#idle.set(memoryLimitMb, list);
    for (let i = list.length - 1; i >= 0; i--) if (list[i].dead) list.splice(i, 1);
    while (list.length < this.size) list.push(this.#spawn(memoryLimitMb));
  }
}

let shared: PyWorkerPool | undefined;

/** The process-wide pool every Python sandbox uses unless given another. */
export function sharedPyPool(): PyWorkerPool {
  shared ??= new PyWorkerPool();
  return shared;
}
