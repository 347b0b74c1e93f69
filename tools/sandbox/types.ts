/** Shapes shared by the JavaScript sandbox, its pool and the hidden-test runner. */

export interface SandboxLimits {
  /** V8 heap limit of the isolate in MiB (isolated-vm `memoryLimit`; minimum 8). */
  memoryLimitMb: number;
  /** Time limit of one `run` in milliseconds (isolated-vm `timeout`), covering its microtasks. */
  timeoutMs: number;
  /** Characters of console output kept per run; the rest is dropped behind a visible marker. */
  outputLimit: number;
  /** Characters of source accepted per run. */
  maxCodeChars: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryLimitMb: 64,
  timeoutMs: 2000,
  outputLimit: 8000,
  maxCodeChars: 100_000,
};

/** How one run ended. */
export type RunStatus =
  | 'ok' // ran to the end
  | 'error' // an uncaught exception (including syntax errors)
  | 'timeout' // past the time limit: stopped, the state is kept
  | 'oom' // past the memory limit: the isolate was discarded and replaced by a fresh one
  | 'killed' // still running past the time limit plus a fifth (inside a built-in V8 cannot interrupt, or outside a timed call): the watchdog replaced the isolate
  | 'crashed' // the interpreter's thread died on its own (Python sandbox): replaced by a fresh one, state lost
  | 'pending' // the last value was a promise that never settled
  | 'rejected'; // input refused before running (too long, sandbox closed)

export interface RunResult {
  status: RunStatus;
  /** Captured console output, in call order, already capped. */
  output: string;
  /** Characters of output dropped by the cap (0 when nothing was dropped). */
  droppedChars: number;
  /** Node-style inspection of the last expression's value; absent when it was `undefined`. */
  value?: string;
  /** Node-style uncaught-error text (`Uncaught TypeError: ...` with the user frames). */
  error?: string;
  /** Wall time of the run, milliseconds. */
  durationMs: number;
  /** True when the sandbox state was reset by this run (memory limit, or the watchdog). */
  reset: boolean;
}

/** One hidden test of a program task: a call whose result must deep-equal `expected`, or an assertion. */
export type HiddenTest = { call: string; expected: unknown; name?: string } | { assert: string; name?: string };

export interface TestOutcome {
  name: string;
  passed: boolean;
  /** Why it failed (policy-safe: no expected value). */
  message?: string;
}

export interface TestReport {
  passed: number;
  total: number;
  outcomes: TestOutcome[];
  /** Set when the candidate code itself failed to load (syntax error, throw, limit). */
  loadError?: string;
}
