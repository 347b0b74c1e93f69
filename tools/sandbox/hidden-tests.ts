/**
 * Hidden tests for program answers, JavaScript or Python: load the candidate code into a FRESH
 * sandbox (nothing from the episode's REPL; for Python, an interpreter reset to its baseline image), then evaluate each test call and compare its canonical encoding, made inside the
 * isolate by a function captured before the candidate ran (so patching built-ins cannot forge it),
 * with the expected value's encoding made on the host.
 */

import type { IsolatePool } from './pool.js';
import type { PyWorkerPool } from './python/pool.js';
import { PySandbox } from './python/sandbox.js';
import { type EvalResult, JsSandbox } from './sandbox.js';
import type { HiddenTest, RunResult, TestOutcome, TestReport } from './types.js';

/** The language of the candidate code and of the tests' expressions. */
export type CodeLanguage = 'javascript' | 'python';

export interface HiddenTestOptions {
  seed?: number;
  /** Time limit for loading the code and for each test, ms (default 1000 for JavaScript, 2000 for Python). */
  timeoutMs?: number;
  /** Memory limit of the fresh sandbox, MiB (default 64 for JavaScript, 256 for Python). */
  memoryLimitMb?: number;
  /** `javascript` (default): a fresh isolate; `python`: a fresh Pyodide interpreter. */
  language?: CodeLanguage;
  pool?: IsolatePool;
  /** Where Python interpreters come from (the process-wide pool by default). */
  pyPool?: PyWorkerPool;
}

/** What the runner needs of a sandbox; both `JsSandbox` and `PySandbox` provide it. */
interface CheckSandbox {
  run(code: string): Promise<RunResult>;
  evaluate(expr: string): Promise<EvalResult>;
  evaluateAll(exprs: readonly string[]): Promise<EvalResult[] | undefined>;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/**
 * Canonical string of a JSON-like value; the host mirror of the bootstrap's in-isolate `encode`, so
 * an expected value and a value computed in the sandbox compare as strings. Object keys are sorted,
 * NaN equals NaN, 0 equals -0; functions and symbols never equal data.
 */
export function encodeValue(v: unknown, depth = 0, budget = { n: 100_000 }): string {
  if (budget.n <= 0 || depth > 64) {
    budget.n = 0;
    return 'X';
  }
  budget.n--;
  switch (typeof v) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return v ? 'b1' : 'b0';
    case 'number':
      return Number.isNaN(v) ? 'N' : `d${v === 0 ? '0' : String(v)}`;
    case 'bigint':
      return `i${String(v)}`;
    case 'string':
      return `s${JSON.stringify(v)}`;
    case 'symbol':
      return 'y';
    case 'function':
      return 'f';
  }
  if (v === null) return 'n';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + encodeValue(v[i], depth + 1, budget);
    return `${out}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let o = '{';
  for (let j = 0; j < keys.length; j++)
    o += `${j ? ',' : ''}${JSON.stringify(keys[j])}:${encodeValue(obj[keys[j]], depth + 1, budget)}`;
  return `${o}}`;
}

/** Whether two JSON-like values are equal under `encodeValue`. */
export function deepEqual(a: unknown, b: unknown): boolean {
  return encodeValue(a) === encodeValue(b);
}

/** Strips a Markdown code fence around an answer (the last fenced block wins), else returns it trimmed. */
export function stripCodeFence(text: string): string {
  const blocks = [...text.matchAll(/```[a-zA-Z]*\n([\s\S]*?)```/g)];
  if (blocks.length > 0) return blocks[blocks.length - 1][1].trim();
  return text.trim();
}

/** The line of an error that says what happened (a Python traceback ends with it, a JavaScript one starts with it). */
function lastLine(error: string): string {
  const lines = error.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return error;
  return /^Traceback|^\s+File /.test(lines[0]) ? lines[lines.length - 1].trim() : lines[0];
}

function testName(t: HiddenTest): string {
  if (t.name) return t.name;
  return 'call' in t ? t.call : t.assert;
}

// ---------------------------------------------------------------------------------------------
// Runner

/** Runs `tests` against `code` in a fresh sandbox; never throws for anything the code does. */
export async function runHiddenTests(
  code: string,
  tests: readonly HiddenTest[],
  opts: HiddenTestOptions = {},
): Promise<TestReport> {
  // Fast path: every check in one trip into the isolate. When that batch does not finish within one
  // test's time limit (or runs out of memory), the tests run again one by one, each with its own
  // limit, in another fresh sandbox (the batch's side effects must not leak into them).
  const fast = await withLoaded(code, opts, async (sb) => {
    const batch = await sb.evaluateAll(tests.map(exprOf));
    return batch && tests.map((t, i) => outcomeOf(t, batch[i]));
  });
  if (fast) return report(tests, fast);
  const slow = await withLoaded(code, opts, async (sb) => {
    const outcomes: TestOutcome[] = [];
    for (const t of tests) outcomes.push(outcomeOf(t, await sb.evaluate(exprOf(t))));
    return outcomes;
  });
  return report(tests, slow);
}

function exprOf(t: HiddenTest): string {
  return 'call' in t ? t.call : t.assert;
}

function outcomeOf(t: HiddenTest, r: EvalResult): TestOutcome {
  const name = testName(t);
  if (r.status !== 'ok') {
    const msg =
      r.status === 'timeout'
        ? 'ran past the time limit'
        : r.status === 'oom'
          ? 'ran out of memory'
          : r.status === 'killed' || r.status === 'crashed'
            ? 'stopped the sandbox'
            : `threw ${(r.error ?? '').replace(/^Uncaught /, '').split('\n')[0]}`;
    return { name, passed: false, message: msg };
  }
  const passed = 'call' in t ? r.encoded === encodeValue(t.expected) : r.encoded === 'b1';
  return passed
    ? { name, passed }
    : { name, passed, message: 'call' in t ? 'returned a different value' : 'assertion was not true' };
}

function report(tests: readonly HiddenTest[], r: TestOutcome[] | { loadError: string }): TestReport {
  if ('loadError' in r) {
    return {
      passed: 0,
      total: tests.length,
      outcomes: tests.map((t) => ({ name: testName(t), passed: false, message: r.loadError })),
      loadError: r.loadError,
    };
  }
  return { passed: r.filter((o) => o.passed).length, total: tests.length, outcomes: r };
}

/** Loads `code` into a fresh sandbox and runs `check` on it; the load's failure is returned as such. */
async function withLoaded<T>(
  code: string,
  opts: HiddenTestOptions,
  check: (sb: CheckSandbox) => Promise<T>,
): Promise<T | { loadError: string }> {
  const sb: CheckSandbox =
    opts.language === 'python'
      ? await PySandbox.create({
          seed: opts.seed ?? 0,
          // CPython in WebAssembly runs a few times slower than V8 on the same checks.
          timeoutMs: opts.timeoutMs ?? 2000,
          memoryLimitMb: opts.memoryLimitMb ?? 256,
          pool: opts.pyPool,
        })
      : await JsSandbox.create({
          seed: opts.seed ?? 0,
          timeoutMs: opts.timeoutMs ?? 1000,
          memoryLimitMb: opts.memoryLimitMb ?? 64,
          pool: opts.pool,
        });
  try {
    const load = await sb.run(code);
    if (load.status !== 'ok') {
      const why =
        load.status === 'timeout'
          ? 'loading the code ran past the time limit'
          : load.status === 'oom'
            ? 'loading the code ran out of memory'
            : lastLine(load.error ?? load.status);
      return { loadError: why };
    }
    return await check(sb);
  } finally {
    sb.dispose();
  }
}
