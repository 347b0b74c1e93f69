/**
 * `PySandbox`: a Python REPL in one Pyodide interpreter (a worker thread from the pool), with the
 * same guarantees and result shapes as the JavaScript `JsSandbox`.
 *
 * Each `run(code)` executes the code in the interpreter's `__main__`, so names, functions, classes
 * and imports persist to the next run; when the last statement is an expression its value is shown
 * as `repr()`, as Python's REPL shows it (and bound to `_`). stdout and stderr are captured together,
 * capped at `outputLimit` characters with the JavaScript sandbox's truncation marker. `random` is
 * seeded from the sandbox seed; `time`, `datetime` and `os.urandom` read a virtual clock and a seeded
 * stream; the time zone is UTC. Only the standard library is there (plus a wheels folder, if one was
 * given to the pool); there is no `js` module, `pyodide.ffi`, `ctypes`, network, subprocess or host
 * file system (see harness.ts and worker.ts).
 *
 * Containment: a run past the time limit gets KeyboardInterrupt through the interrupt buffer and
 * stops with its state kept (`timeout`); a run that exhausts the memory cap (MemoryError) has the
 * interpreter restored to its baseline and says so (`oom`); a run that neither answers nor stops by
 * `hardDeadlineMs` (a long call inside C such as a huge integer power, or code that swallows
 * KeyboardInterrupt) has its thread terminated and replaced (`killed`); a thread that dies on its own
 * (a fatal runtime error, its JavaScript heap limit) is replaced and the run says so (`crashed`). In
 * the last three cases the episode's state is gone and the next run gets a fresh interpreter with
 * the same seed. Runs of one sandbox are serialised.
 */
import { clockStartFor, SandboxStartError } from '../isolate.js';
import { type EvalResult, hardDeadlineMs, truncationMarker } from '../sandbox.js';
import { DEFAULT_LIMITS, type RunResult, type RunStatus, type SandboxLimits } from '../types.js';
import { type PyWorker, PyWorkerDiedError, type PyWorkerPool, sharedPyPool } from './pool.js';
import type { PyRequest, PyResponse } from './worker.js';

export interface PySandboxOptions extends Partial<SandboxLimits> {
  /** Seeds `random`, the entropy stream (`os.urandom`) and the virtual clock. */
  seed?: number;
  /** Where interpreters come from (the process-wide pool by default). */
  pool?: PyWorkerPool;
}

export interface PyRunOptions {
  /** Overrides the sandbox's per-run time limit for this run. */
  timeoutMs?: number;
}

/** Python's limits: the same fields as JavaScript's, with room for the interpreter itself in memory. */
export const PY_DEFAULT_LIMITS: SandboxLimits = { ...DEFAULT_LIMITS, memoryLimitMb: 256 };

/** What `_tg_run` in the harness answers (JSON). */
interface PyReply {
  status: 'ok' | 'error' | 'timeout' | 'oom';
  output: string;
  dropped: number;
  value: string | null;
  error: string | null;
}

type Outcome<T> = { kind: 'reply'; reply: string } | { kind: 'lost'; status: RunStatus; why: string; value?: T };

// ---------------------------------------------------------------------------------------------
// Pure functions

/** The text an agent sees for a Python run: output, then the value or the error, as the REPL shows them. */
export function formatPyResult(
  r: RunResult,
  limits: Pick<SandboxLimits, 'timeoutMs' | 'memoryLimitMb'> = PY_DEFAULT_LIMITS,
): { text: string; isError: boolean } {
  const parts: string[] = [];
  let out = r.output;
  if (r.droppedChars > 0) out = `${out}${out.endsWith('\n') || out === '' ? '' : '\n'}${truncationMarker(r.droppedChars)}\n`;
  if (out) parts.push(out.replace(/\n$/, ''));
  const gone = 'Variables, functions and imports from earlier calls are gone: define them again';
  let isError = true;
  switch (r.status) {
    case 'ok':
      isError = false;
      if (r.value !== undefined) parts.push(r.value);
      break;
    case 'error':
      parts.push(r.error ?? 'Traceback: an error');
      break;
    case 'timeout':
      parts.push(
        `Error: the code ran past the ${limits.timeoutMs} ms time limit and was stopped (KeyboardInterrupt). Values assigned before the stop are kept; make the computation smaller or faster.`,
      );
      break;
    case 'oom':
      parts.push(
        `Error: the interpreter ran out of memory (MemoryError at the ${limits.memoryLimitMb} MB limit); its state was reset. ${gone}, using less memory.`,
      );
      break;
    case 'killed':
      parts.push(
        `Error: the code ran past the ${limits.timeoutMs} ms time limit and could not be interrupted (one long call inside C, such as a huge integer power or a regular expression, or code that catches KeyboardInterrupt), so the interpreter was stopped and its state was reset. ${gone}, and work on smaller inputs.`,
      );
      break;
    case 'crashed':
      parts.push(
        `Error: the Python interpreter crashed (${r.error ?? 'its thread died'}); it was replaced and its state was reset. ${gone}.`,
      );
      break;
    case 'pending':
    case 'rejected':
      parts.push(r.error ?? 'Error: the code was not run.');
      break;
  }
  const text = parts.join('\n');
  return { text: text === '' ? '(no output)' : text, isError };
}

// ---------------------------------------------------------------------------------------------
// The sandbox

export class PySandbox {
  readonly seed: number;
  readonly limits: SandboxLimits;
  readonly #pool: PyWorkerPool;
  #w: PyWorker | undefined;
  #closed = false;
  #resets = 0;
  #lastReplaceMs: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #inFlight = 0;
  /** No run was cut short: the interpreter may go back to the pool. */
  #reusable = true;

  /** Takes a warm interpreter from the pool and resets it to a fresh state for `seed`. */
  static async create(opts: PySandboxOptions = {}): Promise<PySandbox> {
    const sb = new PySandbox(opts);
    sb.#w = await sb.#fresh();
    return sb;
  }

  private constructor(opts: PySandboxOptions) {
    this.seed = (opts.seed ?? 0) >>> 0;
    this.limits = {
      memoryLimitMb: opts.memoryLimitMb ?? PY_DEFAULT_LIMITS.memoryLimitMb,
      timeoutMs: opts.timeoutMs ?? PY_DEFAULT_LIMITS.timeoutMs,
      outputLimit: opts.outputLimit ?? PY_DEFAULT_LIMITS.outputLimit,
      maxCodeChars: opts.maxCodeChars ?? PY_DEFAULT_LIMITS.maxCodeChars,
    };
    this.#pool = opts.pool ?? sharedPyPool();
  }

  /** Times the interpreter's state was lost (memory limit, watchdog, crash) and started afresh. */
  get resets(): number {
    return this.#resets;
  }

  get disposed(): boolean {
    return this.#closed;
  }

  /** How long the last replacement of a lost interpreter took, ms (death noticed -> fresh interpreter reset). */
  get lastReplaceMs(): number | undefined {
    return this.#lastReplaceMs;
  }

  /** Runs one cell. Never throws for anything the code does; runs are queued one at a time. */
  run(code: string, opts: PyRunOptions = {}): Promise<RunResult> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    return this.#enqueue(() => this.#runNow(code, t));
  }

  /** Evaluates one expression to its canonical encoding (see `evaluateAll`). */
  async evaluate(expr: string, opts: PyRunOptions = {}): Promise<EvalResult> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    const b = await this.#enqueue(() => this.#evalNow([expr], t));
    return b.results?.[0] ?? { status: b.status === 'ok' ? 'error' : b.status, error: b.status, output: '' };
  }

  /**
   * Evaluates expressions in one trip, each caught on its own, encoded inside the interpreter by the
   * harness's encoder (bound before any user code ran, so patched builtins cannot forge it). Returns
   * `undefined` when the batch did not finish within `timeoutMs` or hit a limit.
   */
  async evaluateAll(exprs: readonly string[], opts: PyRunOptions = {}): Promise<EvalResult[] | undefined> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    const b = await this.#enqueue(() => this.#evalNow(exprs, t));
    return b.status === 'ok' ? b.results : undefined;
  }

  /** Frees the sandbox (safe twice): a clean interpreter goes back to the pool, which resets it before reuse. */
  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#w;
    this.#w = undefined;
    if (!w) return;
    if (this.#reusable && this.#inFlight === 0) this.#pool.recycle(w);
    else w.terminate('retired');
  }

  async #fresh(): Promise<PyWorker> {
    const w = await this.#pool.take(this.limits.memoryLimitMb);
    const req: PyRequest = {
      op: 'reset',
      seed: this.seed,
      clockStart: clockStartFor(this.seed),
      outputLimit: this.limits.outputLimit,
    };
    let r: PyResponse;
    try {
      r = await w.request(req);
    } catch (err) {
      w.terminate('retired');
      throw new SandboxStartError(`could not reset a Python interpreter: ${(err as Error).message}`);
    }
    if (!r.ok) {
      w.terminate('retired');
      throw new SandboxStartError(`could not reset a Python interpreter: ${r.error}`);
    }
    return w;
  }

  /** Replaces the interpreter after its state was lost; a failure leaves the sandbox closed for runs. */
  async #replace(old: PyWorker | undefined, reason: string): Promise<void> {
    this.#resets++;
    const t0 = performance.now();
    if (old && !old.dead) old.terminate(reason);
    this.#w = undefined;
    if (this.#closed) return;
    try {
      this.#w = await this.#fresh();
      this.#lastReplaceMs = performance.now() - t0;
    } catch {
      // #w stays undefined: later runs report that the interpreter could not be restarted.
    }
  }

  #enqueue<T extends { status: RunStatus }>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    const next = this.#queue.then(work).then(
      (r) => {
        this.#inFlight--;
        return r;
      },
      (err: unknown) => {
        this.#inFlight--;
        this.#reusable = false;
        throw err;
      },
    );
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * One request under the time limit: at `timeoutMs` the interrupt buffer asks Python to stop; at
   * `hardDeadlineMs(timeoutMs)` the thread is terminated. The answer, or why there is none.
   */
  async #timed(w: PyWorker, req: PyRequest, timeoutMs: number): Promise<Outcome<never>> {
    Atomics.store(w.interrupt, 0, 0);
    const soft = setTimeout(() => w.interruptNow(), Math.max(1, timeoutMs));
    const hard = setTimeout(() => w.terminate('stopped past its time limit'), hardDeadlineMs(timeoutMs));
    try {
      const r = await w.request(req);
      if (r.ok) return { kind: 'reply', reply: r.reply };
      return { kind: 'lost', status: 'crashed', why: r.error.split('\n')[0].slice(0, 300) };
    } catch (err) {
      if (err instanceof PyWorkerDiedError) {
        if (/past its time limit/.test(err.message)) return { kind: 'lost', status: 'killed', why: err.message };
        if (err.outOfMemory) return { kind: 'lost', status: 'oom', why: 'its thread ran out of JavaScript heap' };
        return { kind: 'lost', status: 'crashed', why: err.message };
      }
      throw err;
    } finally {
      clearTimeout(soft);
      clearTimeout(hard);
    }
  }

  async #runNow(code: string, timeoutMs: number): Promise<RunResult> {
    const t0 = performance.now();
    const done = (r: Partial<RunResult> & Pick<RunResult, 'status'>): RunResult => ({
      output: '',
      droppedChars: 0,
      reset: false,
      ...r,
      durationMs: performance.now() - t0,
    });
    if (this.#closed) return done({ status: 'rejected', error: 'Error: this sandbox was closed; start a new episode.' });
    if (code.length > this.limits.maxCodeChars) {
      return done({
        status: 'rejected',
        error: `Error: the code is ${code.length} characters long; the limit is ${this.limits.maxCodeChars}. Send a shorter program.`,
      });
    }
    if (!this.#w) await this.#replace(undefined, 'replaced');
    const w = this.#w;
    if (!w)
      return done({ status: 'rejected', error: 'Error: the Python interpreter could not be restarted; start a new episode.' });
    const o = await this.#timed(w, { op: 'run', code }, timeoutMs);
    if (o.kind === 'lost') {
      this.#reusable = false;
      await this.#replace(w, 'retired');
      return done({ status: o.status, reset: true, ...(o.status === 'crashed' ? { error: o.why } : {}) });
    }
    let reply: PyReply;
    try {
      reply = JSON.parse(o.reply) as PyReply;
    } catch {
      await this.#replace(w, 'retired');
      return done({ status: 'crashed', reset: true, error: 'the interpreter answered something unreadable' });
    }
    const base = { output: reply.output, droppedChars: reply.dropped };
    if (reply.status === 'oom') {
      // MemoryError: the interpreter may be half-way through an allocation; start it afresh.
      await this.#resetInPlace(w);
      return done({ status: 'oom', reset: true, ...base });
    }
    if (reply.status === 'timeout') return done({ status: 'timeout', ...base });
    if (reply.status === 'error') return done({ status: 'error', ...base, error: reply.error ?? 'Traceback: an error' });
    return done({ status: 'ok', ...base, ...(reply.value !== null ? { value: reply.value } : {}) });
  }

  /** Back to the baseline image with the same seed (state lost, reported by the caller). */
  async #resetInPlace(w: PyWorker): Promise<void> {
    this.#resets++;
    try {
      const r = await w.request({
        op: 'reset',
        seed: this.seed,
        clockStart: clockStartFor(this.seed),
        outputLimit: this.limits.outputLimit,
      });
      if (r.ok) return;
    } catch {
      // replaced below
    }
    this.#resets--;
    await this.#replace(w, 'retired');
  }

  async #evalNow(exprs: readonly string[], timeoutMs: number): Promise<{ status: RunStatus; results?: EvalResult[] }> {
    if (this.#closed) return { status: 'rejected' };
    if (!this.#w) await this.#replace(undefined, 'replaced');
    const w = this.#w;
    if (!w) return { status: 'rejected' };
    const o = await this.#timed(w, { op: 'eval', exprs: [...exprs] }, timeoutMs);
    if (o.kind === 'lost') {
      this.#reusable = false;
      await this.#replace(w, 'retired');
      return { status: o.status };
    }
    if (o.reply === 'timeout') return { status: 'timeout' };
    if (o.reply === 'oom') {
      await this.#resetInPlace(w);
      return { status: 'oom' };
    }
    const lines = o.reply.split('\n');
    if (lines.length !== exprs.length + 1 || lines[lines.length - 1] !== 'end') return { status: 'error' };
    return {
      status: 'ok',
      results: exprs.map((_, i) => {
        const line = lines[i];
        if (line[0] === '1') return { status: 'ok', encoded: line.slice(1), output: '' };
        let msg = 'an error';
        try {
          msg = JSON.parse(line.slice(1)) as string;
        } catch {
          // keep the generic text
        }
        return { status: 'error', error: msg, output: '' };
      }),
    };
  }
}
