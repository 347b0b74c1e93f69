/**
 * The conformance suite for every registered environment, as Gymnasium's checker runs over its
 * registry: registering an environment (envs/index.ts) is what puts it under the suite, so none can
 * land without passing it. Each environment's own tests (test/envs/<id>/) come after.
 */
import { describe, expect, it } from 'vitest';
import { builtinEnvs, listEnvs } from '../../envs/index.js';
import { describeConformance } from './conformance.js';

describe('the registry', () => {
  it('holds every built-in environment, so each runs the conformance suite below', () => {
    expect(listEnvs().map((d) => d.id)).toEqual(expect.arrayContaining(builtinEnvs.map((d) => d.id)));
    expect(builtinEnvs.length).toBeGreaterThanOrEqual(2);
  });
});

// Generous per-check time: an environment may start its runtime on the first check (code-interp-py
// starts a Pyodide interpreter, seconds of CPU on a busy machine).
for (const def of listEnvs()) describeConformance(def, { timeout: 180_000 });
