/**
 * Hidden tests for program answers: load the candidate code into a FRESH sandbox (nothing from the
 * episode's REPL), then evaluate each test call and compare its structured-clone copy with the
 * expected value on the host, so the candidate cannot forge a pass by patching built-ins.
 */

import type { IsolatePool } from './pool.js';
import { JsSandbox } from './sandbox.js';
import type { HiddenTest, TestOutcome, TestReport } from './types.js';

export interface HiddenTestOptions {
  seed?: number;
  /** Time limit for loading the code and for each test, ms. */
  timeoutMs?: number;
  memoryLimitMb?: number;
  pool?: IsolatePool;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Deep equality of structured-clone values: NaN equals NaN, 0 equals -0, object key order ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set && b instanceof Set) || a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b as object, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Strips a Markdown code fence around an answer (the last fenced block wins), else returns it trimmed. */
export function stripCodeFence(text: string): string {
  const blocks = [...text.matchAll(/```[a-zA-Z]*\n([\s\S]*?)```/g)];
  if (blocks.length > 0) return blocks[blocks.length - 1][1].trim();
  return text.trim();
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
  const sb = await JsSandbox.create({
    seed: opts.seed ?? 0,
    timeoutMs: opts.timeoutMs ?? 1000,
    memoryLimitMb: opts.memoryLimitMb ?? 64,
    pool: opts.pool,
  });
  const outcomes: TestOutcome[] = [];
  try {
    const load = await sb.run(code);
    if (load.status !== 'ok') {
      const why =
        load.status === 'timeout'
          ? 'loading the code ran past the time limit'
          : load.status === 'oom'
            ? 'loading the code ran out of memory'
            : (load.error ?? load.status).split('\n')[0];
      return {
        passed: 0,
        total: tests.length,
        outcomes: tests.map((t) => ({ name: testName(t), passed: false, message: why })),
        loadError: why,
      };
    }
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i];
      const name = testName(t);
      const expr = 'call' in t ? t.call : t.assert;
      const r = await sb.evaluate(expr);
      if (r.status !== 'ok') {
        const msg =
          r.status === 'timeout'
            ? 'ran past the time limit'
            : r.status === 'oom'
              ? 'ran out of memory'
              : `threw ${(r.error ?? '').replace(/^Uncaught /, '').split('\n')[0]}`;
        outcomes.push({ name, passed: false, message: msg });
        continue;
      }
      const passed = 'call' in t ? deepEqual(r.value, t.expected) : r.value === true;
      outcomes.push(
        passed
          ? { name, passed }
          : { name, passed, message: 'call' in t ? 'returned a different value' : 'assertion was not true' },
      );
    }
  } finally {
    sb.dispose();
  }
  return { passed: outcomes.filter((o) => o.passed).length, total: tests.length, outcomes };
}
