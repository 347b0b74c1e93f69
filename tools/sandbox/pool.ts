/**
 * Pre-warmed isolates. Starting an isolate and installing the bootstrap takes a few milliseconds;
 * episodes reset far more often than that is worth paying on the critical path, so the pool keeps a
 * few ready and refills in the background (after the current turn of the event loop) once one is
 * taken. Pooled isolates have run no user code, so handing one out never leaks state.
 */
import { disposePrepared, type Prepared, prepareIsolate, prepareIsolateAsync } from './isolate.js';

export interface PoolOptions {
  /** Isolates kept ready per memory limit. */
  size: number;
}

export class IsolatePool {
  readonly size: number;
  readonly #ready = new Map<number, Prepared[]>();
  #refillScheduled = new Set<number>();
  #closed = false;

  constructor(opts: Partial<PoolOptions> = {}) {
    this.size = Math.max(0, opts.size ?? 2);
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

let shared: IsolatePool | undefined;

/** The process-wide pool every sandbox uses unless given another. */
export function sharedPool(): IsolatePool {
  shared ??= new IsolatePool();
  return shared;
}
