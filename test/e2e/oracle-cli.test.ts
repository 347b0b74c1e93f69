/**
 * The oracle policy through the real command line, for every registered environment: an
 * environment joins by being registered (envs/index.ts), and cannot be registered without its oracle
 * solving its tasks the way users, `gym eval` and cold-start data reach it.
 */
import { describe, expect, it } from 'vitest';
import { builtinEnvs, listEnvs } from '../../envs/index.js';
import { describeOracleCli } from '../envs/conformance.js';

describe('the registered environments', () => {
  it('include every built-in environment, so each gets the end-to-end oracle cases below', () => {
    expect(listEnvs().map((d) => d.id)).toEqual(expect.arrayContaining(builtinEnvs.map((d) => d.id)));
  });
});

// Generous per-case time: each case spawns the CLI, and code-interp-py's starts Pyodide interpreters.
for (const def of listEnvs()) describeOracleCli(def, { timeout: 300_000 });
