/**
 * `JsSandbox`: a JavaScript REPL in one isolated-vm isolate.
 *
 * Each `run(code)` compiles the code as a classic script in the sandbox's one context, so top-level
 * `var`, `function`, `let`, `const` and `class` declarations and assignments to globals persist to the
 * next run, as in a REPL. The isolate has no `require`, `process`, file system, network, timers or
 * module loader: only the ECMAScript built-ins plus the bootstrap's `console`, seeded `Math.random`
 * and virtual-clock `Date`.
 *
 * Containment: a run past the time limit is stopped (state kept); a run past the heap limit makes
 * isolated-vm dispose the isolate, and the sandbox replaces it with a fresh one (state lost, reported);
 * stack overflows and thrown values are ordinary uncaught errors; console output is capped inside the
 * isolate so a print loop cannot grow host memory. Runs of one sandbox are serialised.
 *
 * What bounds a run's time. isolated-vm's `timeout` asks V8 to terminate the isolate's execution;
 * V8 acts on that at its interrupt checks, which JavaScript code (loops, calls, comparator and
 * getter callbacks) and the regular-expression engine reach often, so those stop at the limit with
 * their state kept (a catastrophic regex such as `/^(a+)+$/` on 40 a's and a b: about 1.0x). A
 * single long built-in written in C++ or Torque has no interrupt check inside: `JSON.parse` of a
 * 100 MB string, `Array.prototype.sort` with the default (string) order over a million numbers,
 * `TypedArray.prototype.fill` or `.sort` over hundreds of MB. For those, a host-side watchdog
 * (`hardDeadlineMs`: the limit plus a fifth of it, and at least 500 ms past it, so that a run the
 * isolate's own timeout stops on a loaded machine is not mistaken for one it cannot stop; 2.5 s for
 * a 2 s limit) disposes the isolate, answers `killed`, and gives the sandbox a fresh isolate (state
 * lost, reported), so the call ends within 1.25x a 2 s limit plus one turn of the event loop. The timer runs on the host's
 * event loop, which stays free because runs use isolated-vm's asynchronous API.
 *
 * What disposal cannot do: stop the thread. The abandoned isolate's thread finishes the built-in in
 * the background, with no JavaScript able to run after it, and frees the isolate then. That costs
 * CPU, not answers: isolated-vm starts another thread when its pool is busy, so other sandboxes go
 * on. The work is bounded by the heap limit (`memoryLimitMb`, which ArrayBuffers count against, and
 * which ends an allocating call such as a huge `JSON.parse` with an out-of-memory disposal) and by
 * V8's longest string (2^29 - 24 characters); bench/sandbox.ts (`native_calls`) measures the
 * answer time and the CPU spent after it for each case above.
 */
import { inspect } from 'node:util';
import { type Prepared, retirePrepared, seedPrepared } from './isolate.js';
import { type IvmReference, type IvmScript, loadIsolatedVm } from './ivm.js';
import { type IsolatePool, sharedPool } from './pool.js';
import { DEFAULT_LIMITS, type RunResult, type RunStatus, type SandboxLimits } from './types.js';

export interface SandboxOptions extends Partial<SandboxLimits> {
  /** Seeds `Math.random` and the virtual clock of `Date`. */
  seed?: number;
  /** Where fresh isolates come from (the process-wide pool by default). */
  pool?: IsolatePool;
}

export interface RunOptions {
  /** Overrides the sandbox's per-run time limit for this run. */
  timeoutMs?: number;
}

/** The canonical encoding of a value (see `encodeValue`), for checks the user's code cannot forge. */
export interface EvalResult {
  status: RunStatus;
  /** `encodeValue` form of the expression's value, computed inside the isolate within the time limit. */
  encoded?: string;
  error?: string;
  output: string;
}

/** A batch of checks: its status, and one result per expression when it finished. */
type Batch = { status: RunStatus; results?: EvalResult[]; error?: string };

/** What finish()/settle() in the bootstrap hand back (copied out of the isolate). */
interface Finished {
  output?: string;
  dropped?: number;
  value?: string | null;
  promise?: true | 'pending' | 'fulfilled' | 'rejected';
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

const TIMEOUT_MESSAGE = 'Script execution timed out.';
const KILLED = Symbol('killed');
/** Least slack past the time limit before the watchdog stops an isolate (timers are coarse under load). */
const WATCHDOG_MIN_GRACE_MS = 500;

/**
 * When the watchdog stops a run that the isolate's own timeout did not: the limit plus a fifth of
 * it, and at least `WATCHDOG_MIN_GRACE_MS` past it (2500 ms for a 2000 ms limit, 1.25x).
 */
export function hardDeadlineMs(timeoutMs: number): number {
  return timeoutMs + Math.max(timeoutMs * 0.2, WATCHDOG_MIN_GRACE_MS);
}

/** Node-REPL-style text of an uncaught error thrown out of the isolate: message plus the user's frames. */
export function formatUncaught(err: unknown): string {
  if (err instanceof Error) {
    const stack = typeof err.stack === 'string' ? err.stack : `${err.name}: ${err.message}`;
    const lines = stack.split('\n');
    const head: string[] = [];
    for (const line of lines) {
      if (line.includes('<isolated-vm boundary>')) break;
      head.push(line);
    }
    // Only the user's own frames (cells and code they eval'd); host frames say nothing to the agent.
    const frames = head.slice(1).filter((l) => /^\s+at /.test(l) && /\bcell\d+:|eval at/.test(l));
    const first = head.length > 0 ? head[0] : `${err.name}: ${err.message}`;
    if (/An object was thrown from supplied code within isolated-vm/.test(first)) {
      return 'Uncaught (a non-Error object was thrown; throw an Error, or print the object before throwing, to see it)';
    }
    const hint = /has already been declared/.test(first)
      ? ' (top-level let, const and class names persist between calls: assign without let/const, use var, or pick a new name)'
      : '';
    return [`Uncaught ${first}${hint}`, ...frames.slice(0, 5)].join('\n');
  }
  return `Uncaught ${inspect(err)}`;
}

/** The marker appended when output was cut. */
export function truncationMarker(droppedChars: number): string {
  return `... [output truncated: ${droppedChars} more characters]`;
}

/** The text an agent sees for a run: output, then the last value or the error, as a REPL would show. */
export function formatRunResult(
  r: RunResult,
  limits: Pick<SandboxLimits, 'timeoutMs' | 'memoryLimitMb'> = DEFAULT_LIMITS,
): { text: string; isError: boolean } {
  const parts: string[] = [];
  let out = r.output;
  if (r.droppedChars > 0) out = `${out}${out.endsWith('\n') || out === '' ? '' : '\n'}${truncationMarker(r.droppedChars)}\n`;
  if (out) parts.push(out.replace(/\n$/, ''));
  let isError = false;
  switch (r.status) {
    case 'ok':
      if (r.value !== undefined) parts.push(r.value);
      break;
    case 'error':
      isError = true;
      parts.push(r.error ?? 'Uncaught error');
      break;
    case 'timeout':
      isError = true;
      parts.push(
        `Error: the code ran past the ${limits.timeoutMs} ms time limit and was stopped. Values assigned before the stop are kept; make the computation smaller or faster.`,
      );
      break;
    case 'oom':
      isError = true;
      parts.push(
        `Error: the sandbox ran out of memory; its state was reset (limit ${limits.memoryLimitMb} MB). Variables and functions from earlier calls are gone: define them again, using less memory.`,
      );
      break;
    case 'killed':
      isError = true;
      parts.push(
        `Error: the code ran past the ${limits.timeoutMs} ms time limit inside a call that cannot be interrupted (one long built-in such as JSON.parse of a huge string, a sort or a typed-array fill, or a getter on a thrown error), so the sandbox was stopped and its state was reset. Variables and functions from earlier calls are gone: define them again, and work on smaller inputs.`,
      );
      break;
    case 'crashed':
      isError = true;
      parts.push(
        `Error: the sandbox crashed (${r.error ?? 'its runtime failed'}); it was replaced and its state was reset. Variables and functions from earlier calls are gone: define them again.`,
      );
      break;
    case 'pending':
      isError = true;
      parts.push(
        'Error: the result is a promise that never settled. The sandbox has no timers, network or I/O, so nothing can resolve it; compute the value synchronously.',
      );
      break;
    case 'rejected':
      isError = true;
      parts.push(r.error ?? 'Error: the code was not run.');
      break;
  }
  const text = parts.join('\n');
  return { text: text === '' ? '(no output)' : text, isError };
}

/**
 * The source of a batch of checks: a function of the captured encoder that evaluates each expression
 * in its own try/catch and appends one line per expression, `1<encoding>` or `0<encoded message>`.
 * Encodings never contain a raw newline (strings are JSON-escaped), and string concatenation of
 * primitives cannot be intercepted by anything the checked code patched.
 */
export function batchSource(exprs: readonly string[]): string {
  const body = exprs
    .map(
      (e) =>
        `try { __s += '1' + __enc((${e}\n)) + '\\n'; } catch (__e) { let __m; try { __m = (__e !== null && typeof __e === 'object' && typeof __e.message === 'string') ? (typeof __e.name === 'string' ? __e.name + ': ' : '') + __e.message : 'a thrown ' + typeof __e; } catch (__e2) { __m = 'an error whose message could not be read'; } __s += '0' + __enc(__m) + '\\n'; }`,
    )
    .join('\n');
  return `(function (__enc) {\nlet __s = '';\n${body}\nreturn __s + 'end';\n})`;
}

function isTopLevelAwait(err: unknown): boolean {
  return err instanceof Error && /await is only valid in async functions/.test(err.message);
}

// ---------------------------------------------------------------------------------------------
// The sandbox

export class JsSandbox {
  readonly seed: number;
  readonly limits: SandboxLimits;
  readonly #pool: IsolatePool;
  #p: Prepared | undefined;
  #cell = 0;
  #resets = 0;
  #queue: Promise<unknown> = Promise.resolve();
  /** Runs queued or running: an isolate with work in flight is never handed back to the pool. */
  #inFlight = 0;
  /** No run has hit a limit (time, memory, watchdog) or left a promise pending: the isolate may be reused. */
  #reusable = true;

  /**
   * Builds a sandbox without blocking the event loop when no warm isolate is ready (the constructor
   * builds one synchronously in that case). Prefer this in servers.
   */
  static async create(opts: SandboxOptions = {}): Promise<JsSandbox> {
    // Fails here, with what to run, when this Node has no working isolated-vm build.
    loadIsolatedVm();
    const pool = opts.pool ?? sharedPool();
    const p = await pool.takeAsync(opts.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb);
    return new JsSandbox(opts, p);
  }

  constructor(opts: SandboxOptions = {}, prepared?: Prepared) {
    this.seed = (opts.seed ?? 0) >>> 0;
    this.limits = {
      memoryLimitMb: opts.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb,
      timeoutMs: opts.timeoutMs ?? DEFAULT_LIMITS.timeoutMs,
      outputLimit: opts.outputLimit ?? DEFAULT_LIMITS.outputLimit,
      maxCodeChars: opts.maxCodeChars ?? DEFAULT_LIMITS.maxCodeChars,
    };
    this.#pool = opts.pool ?? sharedPool();
    this.#p = this.#fresh(prepared);
  }

  /** Times the isolate was replaced after hitting the memory limit. */
  get resets(): number {
    return this.#resets;
  }

  get disposed(): boolean {
    return this.#p === undefined;
  }

  /** Runs one cell. Never throws for anything the code does; runs are queued one at a time. */
  run(code: string, opts: RunOptions = {}): Promise<RunResult> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    const t0 = performance.now();
    const killed = (): RunResult => ({
      status: 'killed',
      output: '',
      droppedChars: 0,
      reset: true,
      durationMs: performance.now() - t0,
    });
    return this.#enqueue(() => this.#guarded(() => this.#runNow(code, t), t, killed));
  }

  /**
   * Evaluates an expression and returns its canonical encoding, computed inside the isolate by a
   * function captured before any user code ran, within the time limit (a structured-clone copy would
   * run user getters outside it). A thrown error's name and message are read inside the isolate too,
   * under the same limit. Used by the hidden-test runner.
   */
  evaluate(expr: string, opts: RunOptions = {}): Promise<EvalResult> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    return this.#enqueue<Batch>(() =>
      this.#guarded<Batch>(
        () => this.#evalBatchNow([expr], t),
        t,
        () => ({ status: 'killed' }),
      ),
    ).then((b) => b.results?.[0] ?? { status: b.status === 'ok' ? 'error' : b.status, error: b.error ?? b.status, output: '' });
  }

  /**
   * Evaluates several expressions in one trip into the isolate, each caught on its own, and returns
   * one result per expression (as `evaluate` would), or `undefined` when the whole batch did not
   * finish within `timeoutMs` (or hit the memory limit): the caller then evaluates one by one, in a
   * fresh sandbox if the batch's side effects matter. Encodings come from the function the bootstrap
   * captured, and an error's name and message are read inside the isolate, under the time limit; the
   * result crosses as one primitive string, which code in the isolate cannot forge.
   */
  evaluateAll(exprs: readonly string[], opts: RunOptions = {}): Promise<EvalResult[] | undefined> {
    const t = opts.timeoutMs ?? this.limits.timeoutMs;
    return this.#enqueue<Batch>(() =>
      this.#guarded<Batch>(
        () => this.#evalBatchNow(exprs, t),
        t,
        () => ({ status: 'killed' }),
      ),
    ).then((b) => (b.status === 'ok' ? b.results : undefined));
  }

  /**
   * Frees the sandbox. Safe to call twice; runs after this are rejected. When every run ended
   * normally and none is in flight, the isolate goes back to the pool, which gives it a brand-new
   * context before anyone else can use it; otherwise it is disposed.
   */
  dispose(): void {
    const p = this.#p;
    this.#p = undefined;
    if (!p) return;
    if (this.#reusable && this.#inFlight === 0 && this.#resets === 0) this.#pool.recycle(p);
    else retirePrepared(p);
  }

  #enqueue<T extends { status: RunStatus }>(work: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    const next = this.#queue.then(work).then(
      (r) => {
        this.#inFlight--;
        if (r.status !== 'ok' && r.status !== 'error' && r.status !== 'rejected') this.#reusable = false;
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
   * Watchdog. isolated-vm's timeout stops JavaScript at V8's interrupt checks; a long built-in call
   * (JSON.parse, a default-order sort, a typed-array fill) has none, and a thrown error's `stack`
   * getter runs after the timed call. If a run has not answered by `hardDeadlineMs`, the isolate is
   * disposed (its thread finishes the built-in in the background, see the file's doc comment) and
   * replaced, and the run reports `killed`.
   */
  async #guarded<T>(work: () => Promise<T>, timeoutMs: number, onKill: () => T): Promise<T> {
    const p = this.#p;
    const job = work();
    let timer: NodeJS.Timeout | undefined;
    const kill = new Promise<typeof KILLED>((resolve) => {
      // The extra turn lets an answer that is already waiting in the event loop's queue win the race.
      timer = setTimeout(() => setImmediate(() => resolve(KILLED)), hardDeadlineMs(timeoutMs));
    });
    const r = await Promise.race([job, kill]);
    clearTimeout(timer);
    if (r !== KILLED) return r;
    // The abandoned run settles when its thread returns (as a disposed isolate): nothing reads it.
    job.catch(() => undefined);
    if (p && this.#p === p) {
      this.#p = undefined;
      this.#resets++;
      try {
        p.isolate.dispose();
      } catch {
        // already disposed
      }
      try {
        this.#p = this.#fresh();
      } catch {
        // #p stays undefined: later runs report the sandbox as closed.
      }
    }
    return onKill();
  }

  #fresh(prepared?: Prepared): Prepared {
    const p = prepared ?? this.#pool.take(this.limits.memoryLimitMb);
    seedPrepared(p, this.seed);
    p.capFn.applySync(undefined, [this.limits.outputLimit]);
    return p;
  }

  async #runNow(code: string, timeoutArg: number): Promise<RunResult> {
    const t0 = performance.now();
    // isolated-vm wants a positive 32-bit integer.
    const timeoutMs = Math.min(2 ** 31 - 1, Math.max(1, Math.ceil(timeoutArg)));
    const done = (r: Omit<RunResult, 'durationMs' | 'reset' | 'droppedChars' | 'output'> & Partial<RunResult>): RunResult => ({
      output: '',
      droppedChars: 0,
      reset: false,
      ...r,
      durationMs: performance.now() - t0,
    });
    const p = this.#p;
    if (!p) return done({ status: 'rejected', error: 'Error: this sandbox was closed; start a new episode.' });
    if (code.length > this.limits.maxCodeChars) {
      return done({
        status: 'rejected',
        error: `Error: the code is ${code.length} characters long; the limit is ${this.limits.maxCodeChars}. Send a shorter program.`,
      });
    }
    const filename = `cell${++this.#cell}`;
    let script: IvmScript;
    try {
      script = p.isolate.compileScriptSync(code, { filename });
    } catch (err) {
      if (!isTopLevelAwait(err)) return this.#failed(p, err, done);
      // Top-level await: run the cell as an async function. Its declarations stay local to the cell.
      try {
        script = p.isolate.compileScriptSync(`(async () => {\n${code}\n})()`, { filename, lineOffset: -1 });
      } catch (err2) {
        return this.#failed(p, err2, done);
      }
    }
    let ref: IvmReference<unknown> | undefined;
    try {
      ref = (await script.run(p.context, { timeout: timeoutMs, reference: true })) as IvmReference<unknown>;
      const left = Math.ceil(Math.max(50, timeoutMs - (performance.now() - t0)));
      let fin = (await p.finishFn.apply(undefined, [ref.derefInto()], { result: { copy: true }, timeout: left })) as Finished;
      if (fin.promise === true) {
        // The bootstrap attached handlers; the microtask checkpoint after finish() has run them.
        fin = (await p.settleFn.apply(undefined, [], { result: { copy: true }, timeout: left })) as Finished;
        if (fin.promise === 'pending')
          return done({ status: 'pending', output: fin.output ?? '', droppedChars: fin.dropped ?? 0 });
        if (fin.promise === 'rejected')
          return done({
            status: 'error',
            output: fin.output ?? '',
            droppedChars: fin.dropped ?? 0,
            error: fin.error ? `Uncaught ${fin.error}`.replace(/^Uncaught Uncaught /, 'Uncaught ') : 'Uncaught (in promise)',
          });
      }
      const value = fin.value === null || fin.value === undefined ? undefined : fin.value;
      return done({
        status: 'ok',
        output: fin.output ?? '',
        droppedChars: fin.dropped ?? 0,
        ...(value !== undefined ? { value } : {}),
      });
    } catch (err) {
      return this.#failed(p, err, done);
    } finally {
      ref?.release();
      script.release();
    }
  }

  async #evalBatchNow(exprs: readonly string[], timeoutArg: number): Promise<Batch> {
    const p = this.#p;
    if (!p) return { status: 'rejected' };
    const timeoutMs = Math.min(2 ** 31 - 1, Math.max(1, Math.ceil(timeoutArg)));
    const t0 = performance.now();
    let script: IvmScript | undefined;
    let fn: IvmReference<unknown> | undefined;
    try {
      script = p.isolate.compileScriptSync(batchSource(exprs), { filename: `checks${++this.#cell}` });
      fn = (await script.run(p.context, { timeout: timeoutMs, reference: true })) as IvmReference<unknown>;
      const left = Math.ceil(Math.max(1, timeoutMs - (performance.now() - t0)));
      const out = (await fn.apply(undefined, [p.encodeFn.derefInto()], { result: { copy: true }, timeout: left })) as unknown;
      try {
        p.drainFn.applySync(undefined, [], { timeout: 500 });
      } catch {
        // output of checks is not reported
      }
      const lines = typeof out === 'string' ? out.split('\n') : [];
      if (lines.length !== exprs.length + 1) return { status: 'error' };
      return {
        status: 'ok',
        results: exprs.map((_, i) => {
          const line = lines[i];
          if (line[0] === '1') return { status: 'ok', encoded: line.slice(1), output: '' };
          // '0' + the encoded message string: s"...".
          let msg = 'an error';
          try {
            msg = JSON.parse(line.slice(2)) as string;
          } catch {
            // keep the generic text
          }
          return { status: 'error', error: msg, output: '' };
        }),
      };
    } catch (err) {
      const r = this.#failed(p, err, (x) => ({ output: '', droppedChars: 0, reset: false, durationMs: 0, ...x }));
      return { status: r.status === 'ok' ? 'error' : r.status, error: r.error };
    } finally {
      fn?.release();
      script?.release();
    }
  }

  #failed(p: Prepared, err: unknown, done: (r: Partial<RunResult> & Pick<RunResult, 'status'>) => RunResult): RunResult {
    if (p.isolate.isDisposed) {
      // isolated-vm disposed the isolate at the heap limit: replace it so the episode can go on
      // (unless the watchdog has already replaced it).
      if (this.#p === p) {
        this.#resets++;
        this.#p = undefined;
        try {
          this.#p = this.#fresh();
        } catch {
          // #p stays undefined: later runs report the sandbox as closed.
        }
      }
      return done({ status: 'oom', reset: true });
    }
    let output = '';
    let dropped = 0;
    try {
      const d = p.drainFn.applySync(undefined, [], { result: { copy: true }, timeout: 500 }) as Finished;
      output = d.output ?? '';
      dropped = d.dropped ?? 0;
    } catch {
      // Output lost with a wedged isolate; the error below still says what happened.
    }
    if (err instanceof Error && err.message === TIMEOUT_MESSAGE)
      return done({ status: 'timeout', output, droppedChars: dropped });
    return done({ status: 'error', output, droppedChars: dropped, error: formatUncaught(err) });
  }
}
