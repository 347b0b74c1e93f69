/**
 * `runEval`: run every drawn task k times (per thinking budget) through the rollout batch runner and
 * write `<outDir>/trajectories.jsonl`, `metrics.json` and `report.html`. `replayEval` recomputes
 * metrics and report from stored trajectories without calling any policy.
 *
 * Reproducible: the task set and its order are a pure function of (env, split, tasks, seed); the
 * policy gets the same seed; metrics.json records every setting and version plus a rerun command.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// envs/index registers the built-in environments, so `runEval({ env: 'code-interp' })` works as a library call.
import { type EnvDefinition, EnvWorkerPool, getEnv, type Split } from '../../envs/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { isolatedVmInfo } from '../../tools/sandbox/index.js';
import { createPolicy } from '../policies/index.js';
import { type EnvTarget, type RolloutLimitsInput, resolveLimits, runBatch } from '../rollout/index.js';
import { readTrajectories, TrajectoryWriter } from '../trajectory/index.js';
import type { Policy, Trajectory } from '../types.js';
import { computeMetrics, type EvalMetrics } from './metrics.js';
import { type EvalMode, type EvalRecord, type EvalSettings, type EvalVersions, readEvalRecord } from './record.js';
import { renderReport } from './report.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface EvalOptions {
  /** A registered env id or a definition. */
  env: string | EnvDefinition;
  /** A policy spec (`oracle:err=0.2`, `openai:http://...`) or a ready policy. */
  policy: string | Policy;
  /** Trials per task (per budget). */
  k: number;
  split?: Split;
  /** Number of tasks to draw. */
  tasks: number;
  mode?: EvalMode;
  /** Thinking budgets; each task runs k times under each. */
  budgets?: readonly number[];
  seed?: number;
  /** Output folder: `evals/<id>` by default. */
  outDir?: string;
  id?: string;
  limits?: RolloutLimitsInput;
  concurrency?: number;
  /**
   * Serve the environment from this many worker threads (MCP over MessagePort) instead of the
   * loop's thread: same results, the environment's host work on other cores. Needs a registered env.
   * A started `EnvWorkerPool` is used as is (and left open), so several evaluations share warm workers.
   */
  envWorkers?: number | EnvWorkerPool;
  /**
   * Reach the environment here instead of running it in-process (`gym serve --http`'s URL, or
   * `{ url, token, revision }` to pick the MCP revision; a `ws://` URL for `gym serve --ws`). `env`
   * still names it: the task draw and the oracle read the definition.
   */
  remote?: EnvTarget;
  /** Env modules the workers load before building `env` (what `--env-module` loaded here). */
  envModules?: readonly string[];
  /** The options `env` was built with (recorded so the rerun command builds the same environment). */
  envOptions?: Record<string, unknown>;
  /**
   * Draw only from families whose name starts with one of these comma-separated prefixes, and only
   * tasks at or below `maxDifficulty`: the tasks a run trained and tested on (`gym train`'s
   * `families` and `maxDifficulty`).
   */
  families?: string;
  maxDifficulty?: number;
  bootstrapSamples?: number;
  progress?: boolean;
  signal?: AbortSignal;
}

export interface EvalResult {
  dir: string;
  record: EvalRecord;
  trajectories: Trajectory[];
}

export class EvalConfigError extends Error {
  override name = 'EvalConfigError';
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Which tasks an evaluation may draw (unset: all). */
export interface TaskFilter {
  /** Family-name prefixes. */
  families?: readonly string[];
  maxDifficulty?: number;
}

/**
 * Draws `count` distinct tasks of the split, cycling through the families so each is represented,
 * each family's indices drawn without replacement from a stream seeded by (seed, env, split). The
 * same arguments always give the same ids in the same order. A filter keeps the families it names
 * and skips drawn tasks above its difficulty (without a filter the draw is what it always was).
 */
export function selectTasks(def: EnvDefinition, split: Split, count: number, seed: number, filter: TaskFilter = {}): string[] {
  const prefixes = filter.families?.filter((p) => p !== '') ?? [];
  const families = def.families.filter(
    (f) => f.splitSizes[split] > 0 && (prefixes.length === 0 || prefixes.some((p) => f.name.startsWith(p))),
  );
  if (families.length === 0)
    throw new EvalConfigError(
      `${def.id} has no ${split} family matching --families ${prefixes.join(',')}: its families are ${def.families.map((f) => f.name).join(', ')}`,
    );
  const capacity = families.reduce((n, f) => n + f.splitSizes[split], 0);
  if (count > capacity) throw new EvalConfigError(`${def.id} has ${capacity} ${split} tasks; asked for ${count}: lower --tasks`);
  const rng = new Rng(mixSeed(seed, def.id, split, 'eval-tasks'));
  const used = families.map(() => new Set<number>());
  const out: string[] = [];
  let exhausted = 0;
  for (let i = 0; out.length < count; i++) {
    const fi = i % families.length;
    const fam = families[fi];
    const seen = used[fi];
    if (!fam || !seen || seen.size >= fam.splitSizes[split]) {
      // every family drawn dry before `count` tasks matched the filter
      if (++exhausted > families.length)
        throw new EvalConfigError(
          `${def.id} has ${out.length} ${split} tasks at difficulty <= ${filter.maxDifficulty}${prefixes.length ? ` in ${prefixes.join(',')}` : ''}; asked for ${count}: lower --tasks or raise --max-difficulty`,
        );
      continue;
    }
    exhausted = 0;
    let index = rng.int(0, fam.splitSizes[split] - 1);
    // Dense families fall back to a linear probe so the draw always ends.
    while (seen.has(index)) index = (index + 1) % fam.splitSizes[split];
    seen.add(index);
    const task = fam.generate(split, index);
    if (filter.maxDifficulty !== undefined && task.difficulty > filter.maxDifficulty) continue;
    out.push(task.id);
  }
  return out;
}

function slug(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 60) || 'x'
  );
}

/** A folder name that the same settings always give (so a rerun lands on its own results). */
export function defaultEvalId(
  s: Pick<EvalSettings, 'env' | 'policy' | 'k' | 'split' | 'tasks' | 'mode' | 'budgets' | 'seed' | 'families' | 'maxDifficulty'>,
): string {
  const budget = s.budgets.length ? `-b${s.budgets.join('_')}` : '';
  const only = `${s.families !== undefined ? `-f${slug(s.families)}` : ''}${s.maxDifficulty !== undefined ? `-d${s.maxDifficulty}` : ''}`;
  return `${slug(s.env)}-${slug(s.policy)}-${s.split}${only}-n${s.tasks}-k${s.k}-${s.mode}${budget}-s${s.seed}`;
}

/** One shell word: plain when safe, else single-quoted. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9._:/=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

export function rerunCommand(s: EvalSettings, outDir: string): string {
  const parts = [
    'gym',
    'eval',
    '--env',
    s.env,
    '--policy',
    s.policy,
    '-k',
    String(s.k),
    '--split',
    s.split,
    '--tasks',
    String(s.tasks),
    '--mode',
    s.mode,
    '--seed',
    String(s.seed),
  ];
  if (s.budgets.length) parts.push('--budget', s.budgets.join(','));
  if (s.families !== undefined) parts.push('--families', s.families);
  if (s.maxDifficulty !== undefined) parts.push('--max-difficulty', String(s.maxDifficulty));
  if (Object.keys(s.limits).length) parts.push('--limits', JSON.stringify(s.limits));
  for (const m of s.envModules ?? []) parts.push('--env-module', m);
  for (const [k, v] of Object.entries(s.envOptions ?? {}))
    parts.push('--env-opt', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  parts.push('--concurrency', String(s.concurrency), '--out', outDir);
  return parts.map(shellQuote).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Versions

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'toolgym') return dir;
      } catch {
        // not ours: keep climbing
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function collectVersions(env: string, envVersion: string): EvalVersions {
  const root = findPackageRoot();
  let toolgym = 'unknown';
  try {
    toolgym = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // reported as unknown
  }
  const packages: Record<string, string> = {};
  for (const p of ['@modelcontextprotocol/sdk', 'zod', 'xstate', 'chart.js', '@huggingface/jinja'])
    packages[p] = packageVersion(root, p);
  // isolated-vm is installed once per Node major under its own name: report the build this Node uses.
  const ivm = isolatedVmInfo();
  packages['isolated-vm'] = ivm ? `${ivm.version} (${ivm.pkg})` : 'not installed for this Node';
  return { toolgym, env, envVersion, node: process.version, platform: `${process.platform}-${process.arch}`, packages };
}

// ---------------------------------------------------------------------------------------------
// Writing a run's folder

export function writeEvalOutputs(dir: string, record: EvalRecord, trajectories: readonly Trajectory[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(join(dir, 'report.html'), renderReport({ record, trajectories }));
}

function buildRecord(
  id: string,
  settings: EvalSettings,
  versions: EvalVersions,
  metrics: EvalMetrics,
  durationMs: number,
  replay: boolean,
  dir: string,
  episodes: number,
): EvalRecord {
  const rec: EvalRecord = {
    format: 'toolgym.eval/1',
    id,
    createdAt: new Date().toISOString(),
    durationMs,
    replay,
    settings,
    versions,
    rerun: rerunCommand(settings, dir),
    metrics,
  };
  if (!replay && durationMs > 0) rec.episodesPerSecond = (episodes * 1000) / durationMs;
  return rec;
}

// ---------------------------------------------------------------------------------------------
// runEval / replayEval

export async function runEval(opts: EvalOptions): Promise<EvalResult> {
  const def = typeof opts.env === 'string' ? getEnv(opts.env) : opts.env;
  if (!Number.isInteger(opts.k) || opts.k < 1) throw new EvalConfigError(`k must be a positive integer, got ${opts.k}`);
  if (!Number.isInteger(opts.tasks) || opts.tasks < 1)
    throw new EvalConfigError(`tasks must be a positive integer, got ${opts.tasks}`);
  const budgets = [...(opts.budgets ?? [])];
  for (const b of budgets) {
    if (!Number.isInteger(b) || b < 0)
      throw new EvalConfigError(
        `thinking budget ${b} must be a non-negative integer of tokens (0: the thought is closed at once and the policy only answers)`,
      );
  }
  const split = opts.split ?? 'test';
  const seed = opts.seed ?? 0;
  const mode = opts.mode ?? (budgets.length ? 'think' : 'no_think');
  // Budgets come from `budgets`, one batch each; the other limits are recorded resolved (defaults
  // included) so a rerun does not depend on the defaults of a later version.
  const { thinkingBudget: _ignored, ...limits } = resolveLimits({ ...opts.limits, thinkingBudget: undefined });
  const concurrency = opts.concurrency ?? 8;
  if (opts.remote !== undefined && opts.envWorkers !== undefined)
    throw new EvalConfigError('envWorkers runs the environment locally: pass either remote or envWorkers, not both');
  if (opts.envWorkers instanceof EnvWorkerPool && opts.envWorkers.env.id && opts.envWorkers.env.id !== def.id)
    throw new EvalConfigError(`the worker pool serves "${opts.envWorkers.env.id}", not "${def.id}"`);
  if (
    opts.maxDifficulty !== undefined &&
    !(Number.isInteger(opts.maxDifficulty) && opts.maxDifficulty >= 1 && opts.maxDifficulty <= 5)
  )
    throw new EvalConfigError(`max difficulty must be a whole number from 1 to 5, got ${opts.maxDifficulty}`);
  const families = opts.families?.trim() ? opts.families.trim() : undefined;
  const taskIds = selectTasks(def, split, opts.tasks, seed, {
    families: families?.split(',').map((f) => f.trim()),
    maxDifficulty: opts.maxDifficulty,
  });
  const ownPolicy = typeof opts.policy === 'string';
  const policy = typeof opts.policy === 'string' ? await createPolicy(opts.policy, { env: def, seed, concurrency }) : opts.policy;
  const settings: EvalSettings = {
    env: def.id,
    policy: policy.spec,
    k: opts.k,
    split,
    tasks: opts.tasks,
    mode,
    budgets,
    seed,
    limits: { ...limits },
    concurrency,
    taskIds,
    bootstrapSamples: opts.bootstrapSamples ?? 1000,
  };
  if (opts.envOptions && Object.keys(opts.envOptions).length > 0) settings.envOptions = { ...opts.envOptions };
  if (opts.envModules && opts.envModules.length > 0) settings.envModules = [...opts.envModules];
  if (families !== undefined) settings.families = families;
  if (opts.maxDifficulty !== undefined) settings.maxDifficulty = opts.maxDifficulty;
  const id = opts.id ?? defaultEvalId(settings);
  const dir = resolve(opts.outDir ?? join('evals', id));
  mkdirSync(dir, { recursive: true });
  const trajPath = join(dir, 'trajectories.jsonl');
  // A rerun replaces the folder's episodes: appending would mix two runs into one set of metrics.
  rmSync(trajPath, { force: true });
  const writer = new TrajectoryWriter(trajPath);
  const trajectories: Trajectory[] = [];
  const ownWorkers = typeof opts.envWorkers === 'number' && opts.envWorkers > 0;
  let workers = opts.envWorkers instanceof EnvWorkerPool ? opts.envWorkers : undefined;
  let t0 = performance.now();
  try {
    if (ownWorkers)
      workers = await new EnvWorkerPool({ env: def.id, modules: opts.envModules, workers: opts.envWorkers as number }).start();
    const pool = workers;
    t0 = performance.now();
    for (const budget of budgets.length ? budgets : [undefined]) {
      const res = await runBatch({
        env: pool ? () => pool.connect() : (opts.remote ?? def),
        policy,
        tasks: taskIds,
        split,
        groupSize: opts.k,
        concurrency,
        limits: budget === undefined ? limits : { ...limits, thinkingBudget: budget },
        mode,
        runId: budget === undefined ? id : `${id}@${budget}`,
        out: writer,
        progress: opts.progress,
        signal: opts.signal,
      });
      trajectories.push(...res.trajectories);
    }
  } finally {
    writer.close();
    if (ownPolicy) await policy.close?.();
    if (ownWorkers) await workers?.close();
  }
  const durationMs = performance.now() - t0;
  const metrics = computeMetrics(trajectories, { maxK: opts.k, bootstrap: { samples: settings.bootstrapSamples, seed } });
  const versions = collectVersions(def.id, def.version);
  const record = buildRecord(id, settings, versions, metrics, durationMs, false, dir, trajectories.length);
  writeEvalOutputs(dir, record, trajectories);
  return { dir, record, trajectories };
}

export interface ReplayOptions {
  /** Bootstrap resamples (default: the stored run's). */
  bootstrapSamples?: number;
  /** Write the recomputed metrics.json and report.html here (default: the folder itself). */
  outDir?: string;
}

/**
 * Recomputes metrics from `<dir>/trajectories.jsonl` (or a .jsonl path) without any policy call.
 * Settings come from the folder's metrics.json when present, else from the trajectories.
 */
export function replayEval(path: string, opts: ReplayOptions = {}): EvalResult {
  const isFile = path.endsWith('.jsonl');
  const srcDir = resolve(isFile ? dirname(path) : path);
  const trajPath = isFile ? resolve(path) : join(srcDir, 'trajectories.jsonl');
  if (!existsSync(trajPath))
    throw new EvalConfigError(`no trajectories at ${trajPath}: run \`gym eval\` first or pass a .jsonl file`);
  const trajectories = readTrajectories(trajPath);
  if (trajectories.length === 0) throw new EvalConfigError(`${trajPath} holds no episodes`);
  const stored = existsSync(join(srcDir, 'metrics.json')) ? readEvalRecord(join(srcDir, 'metrics.json')) : undefined;
  const first = trajectories[0] as Trajectory;
  const budgets = [...new Set(trajectories.map((t) => t.thinkingBudget).filter((b): b is number => b !== undefined))].sort(
    (a, b) => a - b,
  );
  const taskIds = [...new Set(trajectories.map((t) => t.ids.task))];
  const modes = new Set(trajectories.filter((t) => t.ending !== 'aborted').map((t) => t.mode));
  const settings: EvalSettings = stored?.settings ?? {
    env: first.ids.env,
    policy: first.ids.policy,
    k: Math.max(1, ...[...countBy(trajectories)].map(([, n]) => n)),
    split: first.ids.split,
    tasks: taskIds.length,
    mode: modes.size === 1 ? (first.mode as EvalMode) : 'mixed',
    budgets,
    seed: 0,
    limits: {},
    concurrency: 1,
    taskIds,
    bootstrapSamples: 1000,
  };
  if (opts.bootstrapSamples !== undefined) settings.bootstrapSamples = opts.bootstrapSamples;
  const id = stored?.id ?? slug(srcDir.split(/[\\/]/).pop() ?? 'replay');
  const dir = resolve(opts.outDir ?? srcDir);
  const metrics = computeMetrics(trajectories, {
    maxK: settings.k,
    bootstrap: { samples: settings.bootstrapSamples, seed: settings.seed },
  });
  const versions = stored
    ? { ...collectVersions(settings.env, stored.versions.envVersion) }
    : collectVersions(settings.env, first.ids.envVersion);
  const record = buildRecord(id, settings, versions, metrics, 0, true, dir, trajectories.length);
  writeEvalOutputs(dir, record, trajectories);
  return { dir, record, trajectories };
}

function countBy(trajectories: readonly Trajectory[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of trajectories) {
    const key = `${t.ids.task}@${t.thinkingBudget ?? ''}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

/**
 * Rebuilds `<dir>/report.html` from its metrics.json (and trajectories when present). With a second
 * folder, also writes `<dir>/compare.html` with both runs side by side. Returns the page written last.
 */
export function rebuildReport(dir: string, compareDir?: string, outPath?: string): string {
  const load = (d: string) => {
    const record = readEvalRecord(join(d, 'metrics.json'));
    const tp = join(d, 'trajectories.jsonl');
    return { record, trajectories: existsSync(tp) ? readTrajectories(tp, { skipInvalid: true }) : [] };
  };
  const main = load(resolve(dir));
  if (!compareDir) {
    const out = outPath ?? join(resolve(dir), 'report.html');
    writeFileSync(out, renderReport(main));
    return out;
  }
  writeFileSync(join(resolve(dir), 'report.html'), renderReport(main));
  const out = outPath ?? join(resolve(dir), 'compare.html');
  writeFileSync(out, renderReport(main, load(resolve(compareDir))));
  return out;
}
