/**
 * The environment options of every command that builds an environment (`serve`, `rollout`, `eval`,
 * `train`): one set of flags, one parser, so a user's own tasks and corpus reach each command the
 * same way.
 *
 *   --task-file <file.jsonl>  a user's tasks: code-interp {prompt, answer|tests} (only these tasks
 *                             unless --env-opt onlyJsonl=false); search {question, answer} and rag
 *                             {question, answer, gold} (with --corpus)
 *   --corpus <path>           search, rag: a user's corpus instead of the generated world
 *   --docs <n>                search, rag: documents in the generated world
 *   --browser                 search: add browse/click/find (headless Chromium)
 *   --env-opt <key=value>     any option of the environment (repeatable; the value is JSON when it
 *                             parses, else a string); it wins over the shorthand flags above
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type Command, Option } from 'commander';
import { buildEnv, type EnvDefinition } from '../../envs/index.js';

export interface EnvOptionFlags {
  envOpt: string[];
  taskFile?: string;
  corpus?: string;
  docs?: string;
  browser?: boolean;
}

/** A malformed environment flag (the message names the flag and the expected form). */
export class EnvFlagError extends Error {
  override name = 'EnvFlagError';
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the shared environment flags to a command. */
export function addEnvOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--task-file <file.jsonl>',
        'your own tasks: code-interp {prompt, answer|tests} (replaces the built-in families); search {question, answer} and rag {question, answer, gold} with --corpus',
      ),
    )
    .addOption(new Option('--corpus <path>', "search, rag: a user's corpus (folder of .md/.txt/.html, or .jsonl)"))
    .addOption(new Option('--docs <n>', 'search, rag: documents in the generated world'))
    .addOption(new Option('--browser', 'search: also serve the corpus as a site and add browse/click/find (headless Chromium)'))
    .addOption(
      new Option('--env-opt <key=value>', 'any environment option (repeatable; JSON values; wins over the flags above)')
        .argParser(collect)
        .default([]),
    );
}

/** `key=value` pairs with JSON values where they parse (`docs=300`, `browser=true`), strings otherwise (paths). */
export function parseEnvOptPairs(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of pairs) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new EnvFlagError(`--env-opt expects key=value (e.g. --env-opt docs=300), got "${kv}".`);
    const raw = kv.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a bare string such as a path
    }
    out[kv.slice(0, eq)] = value;
  }
  return out;
}

/** The options object for environment `id` from the shared flags (`{}` when none is given). */
export function envOptions(id: string, flags: EnvOptionFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (flags.browser) out.browser = true;
  if (flags.docs !== undefined) {
    const n = Number(flags.docs);
    if (!Number.isInteger(n) || n <= 0) throw new EnvFlagError(`--docs must be a positive integer, got "${flags.docs}".`);
    out.docs = n;
  }
  if (flags.corpus !== undefined) out.corpus = flags.corpus;
  if (flags.taskFile !== undefined) {
    // code-interp names its task files `jsonl`; a user's file replaces the built-in families, since
    // "evaluate on my tasks" should not draw the generated ones too.
    if (id === 'code-interp') Object.assign(out, { jsonl: flags.taskFile, onlyJsonl: true });
    else out.tasks = flags.taskFile;
  }
  return { ...out, ...parseEnvOptPairs(flags.envOpt ?? []) };
}

/** Environment `id` built with the shared flags (the registered instance when none is given). */
export function envFromFlags(id: string, flags: EnvOptionFlags): EnvDefinition {
  return buildEnv(id, envOptions(id, flags));
}

/**
 * The environment of `gym train` / `gym distill`: a new run's from its flags (its options go into
 * the run's config, `envOptions`); a resumed run's from its config.json, so `--resume` alone meets
 * the environment the run was trained on. Flags given with `--resume` must name the same
 * environment and options (a run changing environment halfway would be two runs in one folder).
 */
export function runEnvironment(
  flags: EnvOptionFlags & { env?: string; resume?: string },
  cfgEnv: string,
): { def: EnvDefinition; env: string; options: Record<string, unknown> } {
  const recorded = flags.resume ? recordedEnv(flags.resume) : undefined;
  if (!recorded) {
    const options = envOptions(cfgEnv, flags);
    return { def: buildEnv(cfgEnv, options), env: cfgEnv, options };
  }
  if (flags.env !== undefined && flags.env !== recorded.env)
    throw new EnvFlagError(
      `${flags.resume} is a run on environment "${recorded.env}", not "${flags.env}": resume it without --env, or start a new run for "${flags.env}".`,
    );
  const given = envOptions(recorded.env, flags);
  const options = recorded.options ?? given;
  if (Object.keys(given).length > 0 && !isDeepStrictEqual(given, options))
    throw new EnvFlagError(
      `${flags.resume} was trained with environment options ${JSON.stringify(options)}, not ${JSON.stringify(given)}: resume it without environment flags (they are read from its config.json).`,
    );
  return { def: buildEnv(recorded.env, options), env: recorded.env, options };
}

/** The environment id and options a run folder's config.json records (options undefined for runs that predate them). */
function recordedEnv(dir: string): { env: string; options?: Record<string, unknown> } | undefined {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return undefined; // the run loop says what is wrong with the folder
  try {
    const j = JSON.parse(readFileSync(p, 'utf8')) as { env?: unknown; envOptions?: unknown };
    if (typeof j.env !== 'string') return undefined;
    const options =
      j.envOptions && typeof j.envOptions === 'object' && !Array.isArray(j.envOptions)
        ? (j.envOptions as Record<string, unknown>)
        : undefined;
    return { env: j.env, options };
  } catch {
    return undefined;
  }
}
