/**
 * envs: the environment core and the built-in environments. Importing this module registers the
 * built-ins in the default registry (idempotent), so `getEnv('code-interp')` works after it.
 */
import { codeInterpEnv, codeInterpPyEnv, createCodeInterpEnv, createCodeInterpPyEnv } from './code-interp/index.js';
import { defaultRegistry, type EnvDefinition, EnvOptionsError, getEnv } from './core/index.js';
import { createMemoryEnv, MemoryEnvOptionsSchema, memoryEnv } from './memory/index.js';
import { createRagEnv, RagEnvOptionsSchema, ragEnv } from './rag/index.js';
import { createSearchEnv, SearchEnvOptionsSchema, searchEnv } from './search/index.js';

export { codeInterpEnv, codeInterpPyEnv } from './code-interp/index.js';
export {
  checkReplicaId,
  connectInMemory,
  defaultRegistry,
  defineToolEnv,
  type EnvDefinition,
  EnvOptionsError,
  EnvWorkerPool,
  getEnv,
  listEnvs,
  loadEnvModules,
  randomReplicaId,
  ServerConfigError,
  type Split,
  serveHttp,
  serveStdio,
  serveWs,
  summarizeEnv,
  type Task,
  type TaskFamily,
  textResult,
} from './core/index.js';
export { MEMORY_ENV_ID, MEMORY_ENV_VERSION, serveMemoryStdio } from './memory/index.js';

/** The environments shipped with toolgym. */
export const builtinEnvs: readonly EnvDefinition[] = [codeInterpEnv, codeInterpPyEnv, searchEnv, memoryEnv, ragEnv];

function registerBuiltinEnvs(): void {
  for (const def of builtinEnvs) if (!defaultRegistry.has(def.id)) defaultRegistry.register(def);
}

registerBuiltinEnvs();

/**
 * Environments whose tools or tasks depend on options (search's `--browser`, a user's task file)
 * are built by their factory; each factory validates its options and names a bad key.
 */
const factories: Record<string, (options: Record<string, unknown>) => EnvDefinition> = {
  'code-interp': (o) => {
    const { jsonl, onlyJsonl, ...rest } = o;
    if (Object.keys(rest).length > 0) {
      throw new EnvOptionsError(`code-interp takes the options jsonl, onlyJsonl; unknown: ${Object.keys(rest).join(', ')}.`);
    }
    const files = jsonl === undefined ? [] : Array.isArray(jsonl) ? jsonl.map(String) : [String(jsonl)];
    return createCodeInterpEnv({ jsonl: files, onlyJsonl: onlyJsonl === true });
  },
  'code-interp-py': (o) => {
    const { jsonl, onlyJsonl, wheels, ...rest } = o;
    if (Object.keys(rest).length > 0) {
      throw new EnvOptionsError(
        `code-interp-py takes the options jsonl, onlyJsonl, wheels; unknown: ${Object.keys(rest).join(', ')}.`,
      );
    }
    const files = jsonl === undefined ? [] : Array.isArray(jsonl) ? jsonl.map(String) : [String(jsonl)];
    return createCodeInterpPyEnv({
      jsonl: files,
      onlyJsonl: onlyJsonl === true,
      ...(wheels !== undefined ? { wheels: String(wheels) } : {}),
    });
  },
  search: (o) => createSearchEnv(SearchEnvOptionsSchema.parse(o)),
  memory: (o) => createMemoryEnv(MemoryEnvOptionsSchema.parse(o)),
  rag: (o) => createRagEnv(RagEnvOptionsSchema.parse(o)),
};

/** The environment `id` built with `options` (the registered instance when there are none). */
export function buildEnv(id: string, options: Record<string, unknown> = {}): EnvDefinition {
  let def: EnvDefinition;
  if (Object.keys(options).length === 0) def = getEnv(id);
  else {
    const factory = factories[id];
    if (!factory) throw new EnvOptionsError(`Environment "${id}" takes no options (run \`gym envs\` to list environments).`);
    def = factory(options);
  }
  def.preflight?.();
  return def;
}
