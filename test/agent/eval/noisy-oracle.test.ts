/**
 * End to end: evaluate the noisy oracle, whose fault rates are known, and check that the evaluator
 * measures them back. `oracle:err=R` makes, on each tool-call turn that does not follow a fault,
 * malformed JSON, a wrong argument type or an unknown tool name with probability R/3 each, and a
 * wrong final answer with probability R; the turn after a fault is always clean (it recovers).
 * So, with one call per turn: invalid calls / valid calls ~ R, each kind ~ R/3, success ~ 1 - R,
 * recovery = 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EvalMetrics, runEval } from '../../../agent/eval/index.js';
import { codeInterpEnv } from '../../../envs/index.js';
import { toyEnv } from './toy-env.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-noisy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function expectRatesRecovered(m: EvalMetrics, r: number, tol: number): void {
  const o = m.overall.metrics;
  const valid = o.callValidity?.num as number;
  const attempted = o.callValidity?.den as number;
  expect(valid).toBeGreaterThan(100);
  expect((attempted - valid) / valid).toBeGreaterThan(r - tol);
  expect((attempted - valid) / valid).toBeLessThan(r + tol);
  for (const kind of ['invalid_json', 'schema_wrong_type', 'unknown_tool']) {
    const rate = (m.failureKinds[kind] ?? 0) / valid;
    expect(rate, kind).toBeGreaterThan(r / 3 - tol * 0.6);
    expect(rate, kind).toBeLessThan(r / 3 + tol * 0.6);
  }
  expect(o.avgAtK?.value).toBeGreaterThan(1 - r - tol);
  expect(o.avgAtK?.value).toBeLessThan(1 - r + tol);
  expect(o.recovery?.value).toBe(1);
  expect(o.recovery?.den).toBeGreaterThan(20);
  expect(o.toolNameValidity?.value).toBeLessThan(1);
  expect(o.schemaCompliance?.value).toBeLessThan(1);
  expect(m.aborted.episodes).toBe(0);
}

describe('the noisy oracle', () => {
  it('has its configured error rates recovered by the evaluator (fixture env)', async () => {
    const res = await runEval({
      env: toyEnv,
      policy: 'oracle:err=0.3',
      k: 4,
      tasks: 60,
      seed: 11,
      outDir: join(root, 'toy'),
      bootstrapSamples: 0,
      progress: false,
    });
    expectRatesRecovered(res.record.metrics, 0.3, 0.1);
  });

  it('and a clean oracle is measured as perfect', async () => {
    const res = await runEval({
      env: toyEnv,
      policy: 'oracle',
      k: 2,
      tasks: 10,
      outDir: join(root, 'clean'),
      bootstrapSamples: 0,
      progress: false,
    });
    const o = res.record.metrics.overall.metrics;
    expect([
      o.avgAtK?.value,
      o.callValidity?.value,
      o.formatValidity?.value,
      o.executionSuccess?.value,
      o.modeCompliance?.value,
    ]).toEqual([1, 1, 1, 1, 1]);
    expect(res.record.metrics.overall.passCurve[1]?.passHat.value).toBe(1);
  });

  it('has its configured error rates recovered on code-interp', async () => {
    const res = await runEval({
      env: codeInterpEnv,
      policy: 'oracle:err=0.3',
      k: 4,
      tasks: 50,
      seed: 7,
      outDir: join(root, 'code'),
      bootstrapSamples: 0,
      progress: false,
    });
    expectRatesRecovered(res.record.metrics, 0.3, 0.1);
  });
});
