/**
 * The shared conformance suite: `describeConformance(def)` turns every envs/core conformance check
 * into its own vitest case. Every environment's test folder calls it first, then adds its own tests.
 *
 *   describeConformance(codeInterpEnv);
 *   describeConformance(searchEnv, { skip: { 'oracle-solves': 'needs chromium' } });
 */
import { describe, expect, it } from 'vitest';
import { conformanceChecks, type EnvDefinition, runCheck } from '../../envs/core/index.js';

export interface ConformanceOptions {
  /** Check name -> reason; a skipped case states its reason. */
  skip?: Record<string, string>;
  /** Per-check timeout in ms (default: the vitest config's). */
  timeout?: number;
}

export function describeConformance(def: EnvDefinition | (() => EnvDefinition), opts: ConformanceOptions = {}): void {
  const resolve = typeof def === 'function' ? def : () => def;
  const label = typeof def === 'function' ? 'environment' : `environment ${def.id}`;
  describe(`${label} conformance`, () => {
    for (const check of conformanceChecks) {
      const reason = opts.skip?.[check.name];
      if (reason) {
        it.skip(`${check.title} (skipped: ${reason})`, () => undefined);
        continue;
      }
      it(
        check.title,
        async (ctx) => {
          const r = await runCheck(check, resolve());
          if (r.skipped) {
            console.warn(`[conformance] ${check.name} skipped: ${r.message}`);
            ctx.skip(r.message);
            return;
          }
          expect(r.ok, `${check.name}: ${r.message}`).toBe(true);
        },
        opts.timeout,
      );
    }
  });
}
