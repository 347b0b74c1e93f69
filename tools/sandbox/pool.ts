/**
 * Pre-warmed isolates. Starting an isolate and installing the bootstrap takes a few milliseconds;
 * episodes reset far more often than that is worth paying on the critical path, so the pool keeps a
 * few ready and refills in the background (after the current turn of the event loop) once one is
 * taken. Pooled isolates have run no user code, so handing one out never leaks state.
 */
import { disposePrepared, type Prepared, prepareIsolate, prepareIsolateAsync, renewContext } from './isolate.js';

export interface PoolOptions {
  /** Isolates kept ready per memory limit (pre-warmed in the background). */
  size: number;
  /**
   * Isolates handed back by finished sandboxes (`recycle`) are kept, each with a brand-new context,
   * up to this many per memory limit: enough for one per episode in flight, so steady-state episodes
   * never build an isolate. 0 disables recycling.
   */
  maxIdle: number;
  /** Episodes one isolate serves (one fresh context each) before it is disposed. */
  maxUses: number;
}

export const DEFAULT_MAX_IDLE = 32;
export const DEFAULT_MAX_USES = 256;

export class IsolatePool {
  readonly size: number;
  readonly maxIdle: number;
  readonly maxUses: number;
  readonly #ready = new Map<number, Prepared[]>();
  #refillScheduled = new Set<number>();
  #closed = false;

  constructor(opts: Partial<PoolOptions> = {}) {
    this.size = Math.max(0, opts.size ?? 2);
    this.maxIdle = Math.max(0, opts.maxIdle ?? DEFAULT_MAX_IDLE);
    this.maxUses = Math.max(1, opts.maxUses ?? DEFAULT_MAX_USES);
  }

  /**
   * Takes back the isolate of a finished sandbox. Only a sandbox whose runs all ended normally
   * (no time limit, memory limit, watchdog kill or never-settling promise) and that has nothing in
   * flight should hand its isolate back. Its context is replaced at once, so the pool never holds
   * an episode's state; past `maxIdle` or `maxUses`, or if the renewal fails, it is disposed.
   * Returns whether the isolate was kept.
   */
  recycle(p: Prepared): boolean {
    const list = this.#ready.get(p.memoryLimitMb) ?? [];
    if (this.#closed || p.isolate.isDisposed || list.length >= Math.max(this.size, this.maxIdle) || p.uses + 1 >= this.maxUses) {
      retire(p);
      return false;
    }
    try {
      renewContext(p);
    } catch {
      retire(p);
      return false;
    }
    this.#ready.set(p.memoryLimitMb, list);
    list.push(p);
    return true;
  }

  /** A fresh prepared isolate with the given heap limit: from the pool when one is ready. */
  take(memoryLimitMb: number): Prepared {
    const list = this.#ready.get(memoryLimitMb);
    let p: Prepared | undefined;
    while (list && list.length > 0) {
      const c = list.pop() as Prepared;
      if (!c.isolate.isDisposed) {
        p = c;
        break;
      }
    }
    this.#scheduleRefill(memoryLimitMb);
    return p ?? prepareIsolate(memoryLimitMb);
  }

  /**
   * Like `take`, but when the pool is empty it builds the isolate with the asynchronous API, so a
   * burst of episode resets does not block the event loop that serves other sessions.
   */
  async takeAsync(memoryLimitMb: number): Promise<Prepared> {
    const list = this.#ready.get(memoryLimitMb);
    while (list && list.length > 0) {
      const c = list.pop() as Prepared;
      if (!c.isolate.isDisposed) {
        this.#scheduleRefill(memoryLimitMb);
        return c;
      }
    }
    this.#scheduleRefill(memoryLimitMb);
    return prepareIsolateAsync(memoryLimitMb);
  }

  /** Fills the pool now (e.g. at server start). */
  warm(memoryLimitMb: number): void {
    if (this.#closed) return;
    const list = this.#ready.get(memoryLimitMb) ?? [];
    this.#ready.set(memoryLimitMb, list);
    while (list.length < this.size) list.push(prepareIsolate(memoryLimitMb));
  }

  /** Number of ready isolates for a heap limit. */
  readyCount(memoryLimitMb: number): number {
    return this.#ready.get(memoryLimitMb)?.length ?? 0;
  }

  #scheduleRefill(memoryLimitMb: number): void {
    if (this.#closed || this.size === 0 || this.#refillScheduled.has(memoryLimitMb)) return;
    this.#refillScheduled.add(memoryLimitMb);
    // Refill off the caller's critical path, with the isolate work on isolate threads; one refill
    // per heap limit at a time.
    const refill = async (): Promise<void> => {
      try {
        for (;;) {
          if (this.#closed) return;
          const list = this.#ready.get(memoryLimitMb) ?? [];
          this.#ready.set(memoryLimitMb, list);
          if (list.length >= this.size) return;
          const p = await prepareIsolateAsync(memoryLimitMb);
          if (this.#closed) {
            disposePrepared(p);
            return;
          }
          list.push(p);
        }
      } catch {
        // A failed pre-warm is retried by the next take(), which builds its isolate directly.
      } finally {
        this.#refillScheduled.delete(memoryLimitMb);
      }
    };
    // Start after this turn of the event loop: building the isolate itself is synchronous.
    const t = setImmediate(() => void refill());
    t.unref?.();
  }

  /** Disposes the ready isolates; later takes build isolates directly. */
  close(): void {
    this.#closed = true;
    for (const list of this.#ready.values()) for (const p of list) disposePrepared(p);
    this.#ready.clear();
  }
}

/** Disposes after this turn of the event loop (disposal costs about a millisecond). */
function retire(p: Prepared): void {
  const t = setImmediate(() => disposePrepared(p));
  t.unref?.();
}

let shared: IsolatePool | undefined;

/** The process-wide pool every sandbox uses unless given another. */
export function sharedPool(): IsolatePool {
  shared ??= new IsolatePool();
  return shared;
}
