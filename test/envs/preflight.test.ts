import { describe, expect, it } from 'vitest';
import { buildEnv, codeInterpEnv, defaultRegistry } from '../../envs/index.js';
import { IsolatedVmUnavailableError } from '../../tools/sandbox/index.js';
import { arithEnv } from '../agent/fixtures/arith-env.js';

describe("an environment's preflight", () => {
  it('passes for code-interp on this install (the isolated-vm build for the running Node loads)', () => {
    expect(codeInterpEnv.preflight).toBeTypeOf('function');
    expect(() => buildEnv('code-interp')).not.toThrow();
  });

  it('runs when a command builds the environment, so a broken install fails at once with its message', () => {
    let calls = 0;
    defaultRegistry.register({
      ...arithEnv,
      id: 'arith-needs-native',
      preflight: () => {
        calls++;
        throw new IsolatedVmUnavailableError('isolated-vm for Node v99 is not installed: run `npm ci` with this Node');
      },
    });
    expect(() => buildEnv('arith-needs-native')).toThrow(/run `npm ci` with this Node/);
    expect(calls).toBe(1);
  });
});
