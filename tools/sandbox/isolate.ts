/**
 * A prepared isolate: an isolated-vm isolate, one context with the bootstrap installed, and the
 * references to the bootstrap's control functions. Building one costs a few milliseconds, so the pool
 * (pool.ts) keeps some ready; seeding happens at hand-out time, so a pooled isolate carries no episode.
 */
import { BOOTSTRAP_SOURCE } from './bootstrap.js';
import {
  IsolatedVmUnavailableError,
  type IvmContext,
  type IvmIsolate,
  type IvmReference,
  type IvmScript,
  loadIsolatedVm,
} from './ivm.js';

export interface Prepared {
  isolate: IvmIsolate;
  context: IvmContext;
  memoryLimitMb: number;
  seedFn: IvmReference<(seed: number, clockStart: number) => void>;
  capFn: IvmReference<(n: number) => void>;
  finishFn: IvmReference<(value: unknown) => unknown>;
  settleFn: IvmReference<() => unknown>;
  drainFn: IvmReference<() => unknown>;
  encodeFn: IvmReference<(value: unknown) => string>;
  /** The compiled bootstrap, kept so a recycled isolate's fresh context installs it without recompiling. */
  boot?: IvmScript;
  /** Episodes (sandboxes) this isolate has served, each in its own context. */
  uses: number;
}

type ContextParts = Pick<Prepared, 'context' | 'seedFn' | 'capFn' | 'finishFn' | 'settleFn' | 'drainFn' | 'encodeFn'>;

/** The harness itself failed to build an isolate (not the user's code): report and retry later. */
export class SandboxStartError extends Error {
  override name = 'SandboxStartError';
  /** A fault of the environment's machinery, not of the code it runs (envs/core `isEnvFault`): the episode aborts. */
  readonly envFault = true;
}

/** Start of the virtual clock: 2025-01-01T00:00:00Z plus a seed-chosen offset inside that year. */
export function clockStartFor(seed: number): number {
  const base = Date.UTC(2025, 0, 1);
  const yearSeconds = 365 * 86400;
  return base + ((seed >>> 0) % yearSeconds) * 1000;
}

/** A new context of `isolate` with the bootstrap installed (synchronous: about a millisecond). */
function installContext(isolate: IvmIsolate, boot: IvmScript): ContextParts {
  const context = isolate.createContextSync();
  const control = boot.runSync(context, { reference: true }) as IvmReference<Record<string, unknown>>;
  const get = <T>(name: string) => control.getSync(name, { reference: true }) as unknown as IvmReference<T>;
  const parts: ContextParts = {
    context,
    seedFn: get('seed'),
    capFn: get('setCap'),
    finishFn: get('finish'),
    settleFn: get('settle'),
    drainFn: get('drain'),
    encodeFn: get('encode'),
  };
  control.release();
  return parts;
}

function releaseContext(p: Prepared): void {
  for (const r of [p.seedFn, p.capFn, p.finishFn, p.settleFn, p.drainFn, p.encodeFn]) {
    try {
      r.release();
    } catch {
      // already gone with its isolate
    }
  }
  try {
    p.context.release();
  } catch {
    // already gone with its isolate
  }
}

/**
 * Gives a used isolate a brand-new context: the old context (every global, prototype and value the
 * last episode's code touched) is released and becomes garbage, and the bootstrap is installed in a
 * fresh one, so the next episode starts from the same state as on a new isolate. Contexts of one
 * isolate share no objects; the host never passes anything between them. Much cheaper than a new
 * isolate (which costs several milliseconds of CPU to build and one to tear down).
 */
export function renewContext(p: Prepared): void {
  if (p.isolate.isDisposed) throw new SandboxStartError('cannot renew the context of a disposed isolate');
  releaseContext(p);
  p.boot ??= p.isolate.compileScriptSync(BOOTSTRAP_SOURCE, { filename: 'toolgym:bootstrap' });
  Object.assign(p, installContext(p.isolate, p.boot));
  p.uses++;
}

export function prepareIsolate(memoryLimitMb: number): Prepared {
  let isolate: IvmIsolate | undefined;
  try {
    isolate = new (loadIsolatedVm().Isolate)({ memoryLimit: Math.max(8, memoryLimitMb) });
    const boot = isolate.compileScriptSync(BOOTSTRAP_SOURCE, { filename: 'toolgym:bootstrap' });
    const prepared: Prepared = { isolate, memoryLimitMb, boot, uses: 0, ...installContext(isolate, boot) };
    warmUp(prepared);
    return prepared;
  } catch (err) {
    if (isolate && !isolate.isDisposed) isolate.dispose();
    if (err instanceof IsolatedVmUnavailableError) throw err;
    throw new SandboxStartError(
      `could not start a JavaScript isolate: ${(err as Error).message}. If this repeats, check the host's free memory and threads.`,
    );
  }
}

/**
 * V8 compiles functions lazily, so the first console.log / inspect in a new isolate pays for
 * compiling the bootstrap's formatter (several ms). Doing it here moves that cost into pre-warming.
 * It defines no globals and leaves the output buffer empty.
 */
function warmUp(p: Prepared): void {
  const script = p.isolate.compileScriptSync(WARMUP_CODE, { filename: 'toolgym:warmup' });
  const ref = script.runSync(p.context, { reference: true, timeout: 1000 }) as IvmReference<unknown>;
  p.finishFn.applySync(undefined, [ref.derefInto()], { result: { copy: true }, timeout: 1000 });
  ref.release();
  script.release();
}

const WARMUP_CODE = 'console.log("%s %d", "warm", 1, { a: [1, "x", null], m: new Map([[1, 2]]) }, 2n, -0, undefined); [1, 2, 3]';

/**
 * `prepareIsolate` with the context, bootstrap and warm-up run on the isolate's own thread, so a
 * background refill blocks the host event loop only for the isolate's construction.
 */
export async function prepareIsolateAsync(memoryLimitMb: number): Promise<Prepared> {
  let isolate: IvmIsolate | undefined;
  try {
    isolate = new (loadIsolatedVm().Isolate)({ memoryLimit: Math.max(8, memoryLimitMb) });
    const context = await isolate.createContext();
    const boot = await isolate.compileScript(BOOTSTRAP_SOURCE, { filename: 'toolgym:bootstrap' });
    const control = (await boot.run(context, { reference: true })) as IvmReference<Record<string, unknown>>;
    const get = async <T>(name: string) => (await control.get(name, { reference: true })) as unknown as IvmReference<T>;
    const prepared: Prepared = {
      isolate,
      context,
      memoryLimitMb,
      seedFn: await get('seed'),
      capFn: await get('setCap'),
      finishFn: await get('finish'),
      settleFn: await get('settle'),
      drainFn: await get('drain'),
      encodeFn: await get('encode'),
      boot,
      uses: 0,
    };
    control.release();
    const warm = await isolate.compileScript(WARMUP_CODE, { filename: 'toolgym:warmup' });
    const ref = (await warm.run(context, { reference: true, timeout: 1000 })) as IvmReference<unknown>;
    await prepared.finishFn.apply(undefined, [ref.derefInto()], { result: { copy: true }, timeout: 1000 });
    ref.release();
    warm.release();
    return prepared;
  } catch (err) {
    if (isolate && !isolate.isDisposed) isolate.dispose();
    if (err instanceof IsolatedVmUnavailableError) throw err;
    throw new SandboxStartError(
      `could not start a JavaScript isolate: ${(err as Error).message}. If this repeats, check the host's free memory and threads.`,
    );
  }
}

export function seedPrepared(p: Prepared, seed: number): void {
  p.seedFn.applySync(undefined, [seed >>> 0, clockStartFor(seed)]);
}

/**
 * Disposes after the current turn of the event loop: disposing an isolate takes about a millisecond
 * (more under load), which an episode reset need not wait for.
 */
export function retirePrepared(p: Prepared): void {
  const t = setImmediate(() => disposePrepared(p));
  t.unref?.();
}

export function disposePrepared(p: Prepared): void {
  if (p.isolate.isDisposed) return;
  releaseContext(p);
  try {
    p.boot?.release();
  } catch {
    // already gone with its isolate
  }
  p.isolate.dispose();
}
