/**
 * Entry of a Python worker thread (started by pool.ts): one Pyodide interpreter, reset between
 * episodes by restoring its whole WebAssembly memory to a baseline image.
 *
 * Start-up (about 2.5-3.5 s of CPU): wrap the runtime's wasm imports (virtual clock, seeded entropy,
 * UTC time zone, a memory cap, no `system()`, no sockets, no interval timers), load Pyodide from the
 * npm package with an empty `js` module, load the user's wheels if a folder was given, guard the
 * in-memory file system (writes only under /tmp and /home/pyodide; no host mounts), run the harness
 * (harness.ts), drop the host-reaching globals of this thread, and copy the wasm memory: that copy is
 * the baseline every reset returns to (about 5 ms for ~35 MB).
 *
 * Why a memory image and not a fresh namespace: the interpreter's whole state (every module, class,
 * `sys` setting, the allocator) lives in that memory, so restoring it gives the next episode exactly
 * the interpreter the first one got, whatever the last one patched. What lives outside it is reset
 * too: the file system's writable folders, open file descriptors, the working directory, the clock
 * and the entropy stream. The worker never holds a Python object (PyProxy) created after the
 * baseline: every call returns a string, so no JavaScript handle points into memory a reset rewrites.
 *
 * Protocol (one request at a time; the host serialises): `{op: 'reset', seed, clockStart, outputLimit}`,
 * `{op: 'run', code}`, `{op: 'eval', exprs}` -> `{ok: true, reply}` or `{ok: false, fatal, error}`.
 * Time limits: the host writes 2 (SIGINT) into the shared interrupt buffer; Python raises
 * KeyboardInterrupt at its next check. The host terminates the thread if that does not end the run.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { HARNESS_SOURCE, PRELOAD_SOURCE } from './harness.js';

export interface PyWorkerData {
  /** Shared Int32Array(1) buffer: the host writes 2 to interrupt the running code. */
  interrupt: SharedArrayBuffer;
  /** Cap on the interpreter's wasm memory, MiB. */
  memoryLimitMb: number;
  /** Folder of Pyodide wheels (`*.whl`) loaded at start, before the baseline. */
  wheelsDir?: string;
  /**
   * Pyodide's memory snapshot of an interpreter that has imported the preloaded standard library
   * (made once per process by the first worker): loading from it skips Python's start-up, about a
   * seventh of the CPU of a cold start.
   */
  snapshot?: SharedArrayBuffer;
  /** Make that snapshot and send it to the pool (`{type: 'snapshot'}`) before going on. */
  makeSnapshot?: boolean;
}

export type PyRequest =
  | { op: 'reset'; seed: number; clockStart: number; outputLimit: number }
  | { op: 'run'; code: string }
  | { op: 'eval'; exprs: string[] };

export type PyResponse = { ok: true; reply: string } | { ok: false; fatal: boolean; error: string };

export type PyStartMessage =
  | { type: 'ready'; baselineBytes: number; loadMs: number; fromSnapshot: boolean }
  | { type: 'failed'; error: string }
  | { type: 'snapshot'; snapshot: SharedArrayBuffer };

// ---------------------------------------------------------------------------------------------
// Pure functions

/** mulberry32 bytes: the entropy stream behind os.urandom, /dev/urandom and random.SystemRandom. */
function entropy(seed: number): (view: Uint8Array) => void {
  let a = seed >>> 0;
  return (view) => {
    for (let i = 0; i < view.length; i++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      view[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }
  };
}

const WRITABLE = ['/tmp', '/home/pyodide'];
const O_ACCMODE = 3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
/** Emscripten's errno numbers. */
const EACCES = 2;
const ENOSYS = 52;
const EROFS = 69;

function writablePath(abs: string): boolean {
  return WRITABLE.some((w) => abs === w || abs.startsWith(`${w}/`));
}

// ---------------------------------------------------------------------------------------------
// Worker

type Imports = Record<string, unknown>;
type Fn = (...a: any[]) => any;
/** The WebAssembly API (this project's type set has no DOM or WebAssembly declarations). */
interface WasmMemory {
  buffer: ArrayBuffer;
}
const WA = (globalThis as any).WebAssembly as {
  instantiate: Fn;
  Memory: abstract new (...a: any[]) => WasmMemory;
  Instance: abstract new (...a: any[]) => { exports: Record<string, unknown> };
};

interface Runtime {
  memory?: WasmMemory;
  capBytes: number;
  clockMs: number;
  monoMs: number;
  fill: (view: Uint8Array) => void;
}

/**
 * Wraps the runtime's imports before the module is instantiated: Pyodide builds one import object
 * and hands it to `WebAssembly.instantiate`, so patching that call is the one place where every
 * clock, entropy, process and socket call of the C runtime can be redirected.
 */
function wrapImports(rt: Runtime): void {
  const orig = WA.instantiate;
  const view = (): DataView => new DataView((rt.memory as WasmMemory).buffer);
  const tick = (): void => {
    rt.clockMs += 1;
    rt.monoMs += 1;
  };
  const patch = (env: Imports): void => {
    const o = { ...env } as Record<string, Fn>;
    env.emscripten_date_now = () => {
      tick();
      return rt.clockMs;
    };
    env.emscripten_get_now = () => {
      tick();
      return rt.monoMs;
    };
    env.clock_time_get = (clk: number, _prec: bigint, ptime: number) => {
      if (clk < 0 || clk > 3) return 28;
      tick();
      const ms = clk === 0 ? rt.clockMs : rt.monoMs;
      view().setBigInt64(ptime >>> 0, BigInt(Math.round(ms * 1e6)), true);
      return 0;
    };
    env.random_get = (buf: number, size: number) => {
      rt.fill(new Uint8Array((rt.memory as WasmMemory).buffer, buf >>> 0, size >>> 0));
      return 0;
    };
    // UTC everywhere: the host's zone must not change a result.
    env._tzset_js = (timezone: number, daylight: number, stdName: number, dstName: number) => {
      const dv = view();
      dv.setUint32(timezone >>> 0, 0, true);
      dv.setInt32(daylight >>> 0, 0, true);
      const u8 = new Uint8Array(dv.buffer);
      for (const p of [stdName >>> 0, dstName >>> 0]) u8.set([85, 84, 67, 0], p); // "UTC\0"
    };
    if (typeof o._gmtime_js === 'function') {
      env._localtime_js = (t: bigint, tm: number) => {
        o._gmtime_js(t, tm);
        const dv = view();
        dv.setInt32((tm >>> 0) + 32, 0, true); // tm_isdst
        dv.setInt32((tm >>> 0) + 36, 0, true); // tm_gmtoff
      };
    }
    if (typeof o._timegm_js === 'function') env._mktime_js = (tm: number) => o._timegm_js(tm);
    // No shell, no sockets, no interval timers (a timer would fire into a later episode's memory).
    env._emscripten_system = (cmd: number) => (cmd ? -ENOSYS : 0);
    env.__syscall_socket = () => -EACCES;
    env.__syscall_socketpair = () => -EACCES;
    env._setitimer_js = () => 0;
    env.emscripten_resize_heap = (requested: number) => {
      if (requested >>> 0 > rt.capBytes) return 0;
      return o.emscripten_resize_heap(requested);
    };
  };
  WA.instantiate = async (source: unknown, imports?: { env?: Imports }) => {
    if (imports?.env) patch(imports.env);
    const r = await orig.call(WA, source, imports);
    const instance = r instanceof WA.Instance ? r : r.instance;
    const mem = instance.exports.memory;
    if (mem instanceof WA.Memory && !rt.memory) rt.memory = mem;
    return r;
  };
}

/** Writes only under /tmp and /home/pyodide; no symlinks; no host file systems can be mounted. */
function guardFs(FS: any, PATH_FS: any): void {
  const deny = (): never => {
    throw new FS.ErrnoError(EROFS);
  };
  // A path, or a node (ftruncate, fchmod and O_TRUNC pass the node of an open file).
  const check = (p: unknown): void => {
    let abs: string | undefined;
    if (typeof p === 'string') abs = PATH_FS.resolve(p);
    else if (p && typeof p === 'object' && 'parent' in p && 'name' in p) abs = FS.getPath(p);
    if (abs === undefined || !writablePath(abs)) deny();
  };
  const open = FS.open;
  FS.open = (path: unknown, flags: unknown, mode?: number) => {
    const f = typeof flags === 'string' ? FS.modeStringToFlags(flags) : (flags as number);
    // Writing to an existing device (/dev/null, the standard streams) is fine; creating files is not.
    const device = typeof path === 'string' && PATH_FS.resolve(path).startsWith('/dev/') && !(f & O_CREAT);
    if (typeof path === 'string' && !device && ((f & O_ACCMODE) !== 0 || f & (O_CREAT | O_TRUNC | O_APPEND))) check(path);
    return open.call(FS, path, flags, mode);
  };
  for (const name of ['mknod', 'mkdir', 'unlink', 'rmdir', 'chmod', 'lchmod', 'chown', 'lchown', 'truncate', 'utime']) {
    const f = FS[name] as Fn | undefined;
    if (typeof f !== 'function') continue;
    FS[name] = (path: unknown, ...rest: unknown[]) => {
      check(path);
      return f.call(FS, path, ...rest);
    };
  }
  const rename = FS.rename as Fn;
  FS.rename = (a: unknown, b: unknown) => {
    check(a);
    check(b);
    return rename.call(FS, a, b);
  };
  FS.symlink = () => deny();
  for (const k of Object.keys(FS.filesystems)) if (k !== 'MEMFS') delete FS.filesystems[k];
  const mount = FS.mount as Fn;
  FS.mount = (type: unknown, ...rest: unknown[]) => {
    if (type !== FS.filesystems.MEMFS) throw new FS.ErrnoError(EACCES);
    return mount.call(FS, type, ...rest);
  };
}

async function main(): Promise<void> {
  if (isMainThread || !parentPort)
    throw new Error('tools/sandbox/python/worker runs only as a worker thread (the Python pool starts it)');
  const port = parentPort;
  const data = workerData as PyWorkerData;
  const t0 = performance.now();
  const rt: Runtime = {
    capBytes: Math.max(64, data.memoryLimitMb) * 2 ** 20,
    clockMs: 0,
    monoMs: 0,
    fill: entropy(0),
  };
  let py: any;
  let run: Fn;
  let evalAll: Fn;
  let reset: Fn;
  let base: Uint8Array;
  let baseStreams: Set<number>;
  let baseCwd: string;
  try {
    wrapImports(rt);
    const { loadPyodide } = await import('pyodide');
    // The package folder, given explicitly: Pyodide's own guess reads the caller's stack, which a
    // loader (tsx) or a bundler changes.
    const indexURL = `${dirname(createRequire(import.meta.url).resolve('pyodide/package.json'))}/`;
    const config = {
      indexURL,
      jsglobals: Object.create(null),
      env: { PYTHONHASHSEED: '0', HOME: '/home/pyodide', TZ: 'UTC' },
      stdout: () => undefined,
      stderr: () => undefined,
      checkAPIVersion: true,
    };
    if (data.snapshot) {
      py = await loadPyodide({ ...config, _loadSnapshot: new Uint8Array(data.snapshot) });
    } else {
      py = await loadPyodide({ ...config, ...(data.makeSnapshot ? { _makeSnapshot: true } : {}) });
      py.runPython(PRELOAD_SOURCE);
      if (data.makeSnapshot) {
        const snap: Uint8Array = py.makeMemorySnapshot();
        const shared = new SharedArrayBuffer(snap.length);
        new Uint8Array(shared).set(snap);
        port.postMessage({ type: 'snapshot', snapshot: shared } satisfies PyStartMessage);
      }
    }
    if (data.wheelsDir) {
      const wheels = readdirSync(data.wheelsDir)
        .filter((f) => f.endsWith('.whl'))
        .sort()
        .map((f) => join(data.wheelsDir as string, f));
      if (wheels.length > 0) await py.loadPackage(wheels, { messageCallback: () => undefined, errorCallback: () => undefined });
    }
    const M = py._module;
    const FS = py.FS;
    // Deterministic /dev/urandom and /dev/random, from the same seeded stream as os.urandom.
    const one = new Uint8Array(1);
    const byte = (): number => {
      rt.fill(one);
      return one[0];
    };
    for (const dev of ['random', 'urandom']) {
      FS.unlink(`/dev/${dev}`);
      FS.createDevice('/dev', dev, byte);
    }
    guardFs(FS, M.PATH_FS);
    py.setStdin({ stdin: () => null });
    const ns = py.toPy({});
    py.runPython(HARNESS_SOURCE, { globals: ns });
    run = ns.get('_tg_run');
    evalAll = ns.get('_tg_eval_all');
    reset = ns.get('_tg_reset');
    ns.destroy();
    // Nothing in this thread should reach the network or the host process after start-up.
    for (const g of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest', 'Request', 'Response']) delete (globalThis as any)[g];
    // In the image: the flag that makes the interpreter poll the interrupt buffer lives in wasm memory.
    py.setInterruptBuffer(new Int32Array(data.interrupt));
    baseStreams = new Set(FS.streams.map((s: unknown, i: number) => (s ? i : -1)).filter((i: number) => i >= 0));
    baseCwd = FS.cwd();
    base = (M.HEAPU8 as Uint8Array).slice();
  } catch (err) {
    port.postMessage({
      type: 'failed',
      error: (err as Error)?.stack ?? (err instanceof Object ? JSON.stringify(err) : String(err)),
    } satisfies PyStartMessage);
    return;
  }
  const M = py._module;
  const FS = py.FS;
  const interrupt = new Int32Array(data.interrupt);

  /** Empties a writable folder with the unguarded calls (the guard allows these paths anyway). */
  const wipe = (dir: string): void => {
    let names: string[];
    try {
      names = FS.readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === '.' || n === '..') continue;
      const p = `${dir}/${n}`;
      const st = FS.lstat(p);
      if (FS.isDir(st.mode)) {
        wipe(p);
        FS.rmdir(p);
      } else FS.unlink(p);
    }
  };

  const restore = (): void => {
    const heap = M.HEAPU8 as Uint8Array;
    heap.set(base);
    if (heap.length > base.length) heap.fill(0, base.length);
    FS.streams.forEach((s: unknown, i: number) => {
      if (s && !baseStreams.has(i)) FS.close(s);
    });
    for (const w of WRITABLE) wipe(w);
    FS.chdir(baseCwd);
  };

  port.on('message', (req: PyRequest) => {
    let res: PyResponse;
    try {
      switch (req.op) {
        case 'reset':
          restore();
          rt.clockMs = req.clockStart;
          rt.monoMs = 0;
          rt.fill = entropy(req.seed ^ 0x9e3779b9);
          interrupt[0] = 0;
          reset(req.seed, req.outputLimit);
          res = { ok: true, reply: '' };
          break;
        case 'run':
          res = { ok: true, reply: run(req.code) as string };
          break;
        case 'eval':
          res = { ok: true, reply: evalAll(JSON.stringify(req.exprs)) as string };
          break;
      }
    } catch (err) {
      // A JavaScript-level failure out of the runtime (a wasm trap, a stack overflow in C, Pyodide's
      // fatal error): the interpreter cannot be trusted any more, so the host replaces this thread.
      res = { ok: false, fatal: true, error: (err as Error)?.message ?? String(err) };
    }
    interrupt[0] = 0;
    port.postMessage(res);
  });
  port.postMessage({
    type: 'ready',
    baselineBytes: base.length,
    loadMs: Math.round(performance.now() - t0),
    fromSnapshot: data.snapshot !== undefined,
  } satisfies PyStartMessage);
}

if (!isMainThread) void main();
