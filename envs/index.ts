/**
 * envs: the environment core and the built-in environments. Importing this module registers the
 * built-ins in the default registry (idempotent), so `getEnv('code-interp')` works after it.
 */
import { codeInterpEnv } from './code-interp/index.js';
import { defaultRegistry } from './core/index.js';
import type { EnvDefinition } from './core/types.js';
import { searchEnv } from './search/index.js';

export { codeInterpEnv, createCodeInterpEnv } from './code-interp/index.js';
export * from './core/index.js';
export { createSearchEnv, searchEnv } from './search/index.js';

/** The environments shipped with toolgym. */
export const builtinEnvs: readonly EnvDefinition[] = [codeInterpEnv, searchEnv];

export function registerBuiltinEnvs(): void {
  for (const def of builtinEnvs) if (!defaultRegistry.has(def.id)) defaultRegistry.register(def);
}

registerBuiltinEnvs();
