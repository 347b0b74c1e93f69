/**
 * Policies are named by spec strings (`oracle`, `oracle:err=0.2`, `openai:http://host/v1#model`,
 * `replay:runs/x.jsonl`, `builtin:ckpt/`), resolved by the factory registered for the prefix.
 * trainer/ registers `builtin:` itself, so agent/ never imports trainer/.
 */
import type { EnvDefinition } from '../../envs/core/index.js';
import type { Policy, Tokenizer } from '../types.js';

export interface PolicyContext {
  /** The env definition (in-process envs): the oracle looks tasks up through its `getTask`. */
  env?: EnvDefinition;
  /** For raw-completion policies that render prompts client-side. */
  tokenizer?: Tokenizer;
  /** Seed for policies that sample or inject faults. */
  seed?: number;
  /** Episodes the caller runs at once (a local model decodes one sequence faster than a batch row). */
  concurrency?: number;
  /** Extra options a factory may read (e.g. `apiKey`, `timeoutMs`). */
  options?: Record<string, unknown>;
}

/** `rest` is the spec after `prefix:` ('' when the spec is the bare prefix). */
export type PolicyFactory = (rest: string, ctx: PolicyContext, spec: string) => Policy | Promise<Policy>;

export class UnknownPolicyError extends Error {
  override name = 'UnknownPolicyError';
}

const factories = new Map<string, PolicyFactory>();

export function registerPolicyFactory(prefix: string, factory: PolicyFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(prefix))
    throw new RangeError(`policy prefix must be lowercase letters, digits, - or _: got "${prefix}"`);
  factories.set(prefix, factory);
}

export function policyPrefixes(): string[] {
  return [...factories.keys()].sort();
}

/** Splits `prefix:rest` (the rest may itself hold colons, as URLs do). */
export function splitSpec(spec: string): { prefix: string; rest: string } {
  const i = spec.indexOf(':');
  return i < 0 ? { prefix: spec, rest: '' } : { prefix: spec.slice(0, i), rest: spec.slice(i + 1) };
}

/** Parses `k=v,k=v` option lists (`oracle:err=0.2,seed=3`). */
export function parseOptionList(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of rest.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) out[p] = 'true';
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

export async function createPolicy(spec: string, ctx: PolicyContext = {}): Promise<Policy> {
  const { prefix, rest } = splitSpec(spec);
  const factory = factories.get(prefix);
  if (!factory) {
    throw new UnknownPolicyError(
      `unknown policy "${spec}": known prefixes are ${
        policyPrefixes()
          .map((p) => `${p}:`)
          .join(', ') || '(none)'
      }`,
    );
  }
  return factory(rest, ctx, spec);
}
