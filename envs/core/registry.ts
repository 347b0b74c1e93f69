/**
 * The environment registry: ids to `EnvDefinition`s, and the summary `gym envs` prints.
 * `envs/index.ts` registers the built-in environments into the default registry.
 */
import { DuplicateEnvError, UnknownEnvError } from './errors.js';
import type { EnvDefinition, Split } from './types.js';

/** What `gym envs` shows for one environment. */
export interface EnvSummary {
  id: string;
  version: string;
  description: string;
  tools: Array<{ name: string; description: string }>;
  families: Array<{ name: string; description: string; splitSizes: Record<Split, number> }>;
  splitSizes: Record<Split, number>;
}

export function summarizeEnv(def: EnvDefinition): EnvSummary {
  const splitSizes: Record<Split, number> = { train: 0, test: 0 };
  for (const f of def.families) {
    splitSizes.train += f.splitSizes.train;
    splitSizes.test += f.splitSizes.test;
  }
  return {
    id: def.id,
    version: def.version,
    description: def.description,
    tools: def.tools.map((t) => ({ name: t.name, description: t.description })),
    families: def.families.map((f) => ({ name: f.name, description: f.description, splitSizes: { ...f.splitSizes } })),
    splitSizes,
  };
}

export class EnvRegistry {
  readonly #defs = new Map<string, EnvDefinition>();

  register(def: EnvDefinition, opts: { replace?: boolean } = {}): void {
    if (this.#defs.has(def.id) && !opts.replace && this.#defs.get(def.id) !== def) throw new DuplicateEnvError(def.id);
    this.#defs.set(def.id, def);
  }

  has(id: string): boolean {
    return this.#defs.has(id);
  }

  get(id: string): EnvDefinition {
    const def = this.#defs.get(id);
    if (!def) throw new UnknownEnvError(id, [...this.#defs.keys()]);
    return def;
  }

  list(): EnvDefinition[] {
    return [...this.#defs.values()].sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** The process-wide registry the CLI and the rollout loop use. */
export const defaultRegistry = new EnvRegistry();

export function registerEnv(def: EnvDefinition, opts?: { replace?: boolean }): void {
  defaultRegistry.register(def, opts);
}

export function getEnv(id: string): EnvDefinition {
  return defaultRegistry.get(id);
}

export function listEnvs(): EnvDefinition[] {
  return defaultRegistry.list();
}

/** Whether a value has the shape of an `EnvDefinition` (for modules loaded at run time). */
export function isEnvDefinition(v: unknown): v is EnvDefinition {
  const d = v as EnvDefinition;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof d.id === 'string' &&
    typeof d.version === 'string' &&
    Array.isArray(d.families) &&
    typeof d.create === 'function' &&
    typeof d.getTask === 'function'
  );
}

/**
 * Imports each module (a path, resolved against the working directory) and registers every
 * `EnvDefinition` it exports, replacing one of the same id; returns them.
 */
export async function loadEnvModules(
  paths: readonly string[],
  registry: EnvRegistry = defaultRegistry,
): Promise<EnvDefinition[]> {
  const { resolve } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const found: EnvDefinition[] = [];
  for (const p of paths) {
    const mod = (await import(pathToFileURL(resolve(p)).href)) as Record<string, unknown>;
    const defs = [...new Set(Object.values(mod).filter(isEnvDefinition))];
    if (defs.length === 0)
      throw new Error(`${p} exports no environment definition (an object with id, version, families, create and getTask).`);
    for (const d of defs) {
      registry.register(d, { replace: true });
      found.push(d);
    }
  }
  return found;
}
