/**
 * `gym eval --env <id> --policy <spec> -k <n> [--split test] [--tasks N] [--mode think|no_think|mixed]
 * [--budget 64,256] [--families compute.sim] [--max-difficulty 1] [--seed S] [--replay <dir>]`:
 * tool-call stability episodes and their report.
 */
import type { Command } from 'commander';
import { type EvalMode, EvalModeSchema, type EvalResult, replayEval, runEval } from '../../agent/eval/index.js';
import { buildEnv, EnvWorkerPool, loadEnvModules } from '../../envs/index.js';
import { addEnvOptions, type EnvOptionFlags, envOptions } from './env-options.js';
import { addRevisionOption, type RemoteFlags, remoteTarget } from './remote.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

function budgets(v: string): number[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0)
        throw new Error(`--budget takes token counts (0 or more) separated by commas (e.g. 0,64,256,1024), got "${s}"`);
      return n;
    });
}

/** `terminated 40 (83.3%), truncated 8 (16.7%: context_length 6, max_turns 2), aborted 0`, and what was excluded. */
function endingLine(m: EvalResult['record']['metrics']): string {
  const e = m.endings;
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const parts = (['terminated', 'truncated', 'aborted'] as const).map((k) => {
    const reasons = Object.entries(e.byReason)
      .filter(([, v]) => v.ending === k)
      .sort((x, y) => y[1].episodes - x[1].episodes)
      .map(([why, v]) => `${why} ${v.episodes}`)
      .join(', ');
    const n = e.byEnding[k].episodes;
    return n === 0 ? `${k} 0` : `${k} ${n} (${pct(e.byEnding[k].share)}${reasons ? `: ${reasons}` : ''})`;
  });
  const a = e.byEnding.aborted.episodes;
  return `${parts.join(', ')}${a > 0 ? `; the ${a} aborted episodes are excluded from every metric` : ''}`;
}

function summaryLines(res: EvalResult): string {
  const m = res.record.metrics;
  const o = m.overall.metrics;
  const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)}%`);
  const last = m.overall.passCurve[m.overall.passCurve.length - 1];
  const lines = [
    `${res.record.replay ? 'replayed' : 'evaluated'} ${m.overall.episodes} episodes over ${m.overall.units} task units (${m.aborted.episodes} aborted)` +
      (res.record.episodesPerSecond ? `, ${res.record.episodesPerSecond.toFixed(1)} episodes/s` : ''),
    `  avg@k ${pct(o.avgAtK?.value)}  pass@${last?.k ?? 1} ${pct(last?.passAt.value)}  pass^${last?.k ?? 1} ${pct(last?.passHat.value)}`,
    `  format ${pct(o.formatValidity?.value)}  calls valid ${pct(o.callValidity?.value)}  exec ok ${pct(o.executionSuccess?.value)}  recovery ${pct(o.recovery?.value)}  mode ${pct(o.modeCompliance?.value)}`,
    `  endings ${endingLine(m)}`,
    `  wrote ${res.dir}/{trajectories.jsonl,metrics.json,report.html}`,
  ];
  return `${lines.join('\n')}\n`;
}

interface EvalFlags extends EnvOptionFlags, RemoteFlags {
  env?: string;
  policy: string;
  k: number;
  split: 'train' | 'test';
  tasks: number;
  mode?: string;
  budget?: number[];
  seed: number;
  concurrency: number;
  envWorkers?: number;
  limits?: string;
  maxTurns?: number;
  families?: string;
  maxDifficulty?: number;
  out?: string;
  id?: string;
  bootstrap?: number;
  replay?: string;
  progress: boolean;
  envModule: string[];
}

export function register(program: Command): void {
  const evaluate = program
    .command('eval')
    .description('Run every task k times and report tool-call stability: pass@k, pass^k, validity, recovery, mode compliance')
    .option('--env <id>', 'environment id (see `gym envs`); with --url, it names the served environment (task draw, oracle)')
    .option(
      '--url <url>',
      'reach a remote `gym serve --http` at this MCP URL (or `gym serve --ws` at a ws:// URL) instead of running the env in-process',
    )
    .option('--policy <spec>', 'policy spec: oracle, oracle:err=0.2, openai:http://host/v1#model, builtin:<ckpt>', 'oracle')
    .option('-k, --k <n>', 'trials per task (per budget)', int('-k'), 4)
    .option('--split <split>', 'task split: train or test', 'test')
    .option('--tasks <n>', 'number of tasks to draw', int('--tasks'), 20)
    .option('--mode <mode>', 'think, no_think or mixed (default: think with --budget, else no_think)')
    .option('--budget <list>', 'thinking budgets in tokens, comma-separated; each task runs k times per budget', budgets)
    .option('--seed <n>', 'seed of the task draw, the episodes and the bootstrap', int('--seed'), 0)
    .option('--concurrency <n>', 'episodes in flight', int('--concurrency'), 8)
    .option('--env-workers <n>', 'serve the environment from n worker threads instead of the loop thread', int('--env-workers'))
    .option('--limits <json>', 'rollout limits as JSON, e.g. {"maxTurns":6,"maxTotalTokens":8192}')
    .option('--max-turns <n>', 'shorthand for the maxTurns limit', int('--max-turns'))
    .option(
      '--families <prefixes>',
      'draw only from families whose name starts with one of these, comma-separated (e.g. compute.sim)',
    )
    .option('--max-difficulty <n>', 'draw only tasks at or below this difficulty (1-5)', int('--max-difficulty'))
    .option('--out <dir>', 'output folder (default evals/<id>)')
    .option('--id <id>', 'run id (default: derived from the settings)')
    .option(
      '--bootstrap <n>',
      "bootstrap resamples for the intervals (0 = none; default 1000, or the stored run's with --replay)",
      int('--bootstrap'),
    )
    .option('--replay <dir>', 'recompute metrics and report from <dir>/trajectories.jsonl without calling the policy')
    .option('--no-progress', 'hide the progress bar')
    .option('--env-module <path>', 'also load environments exported by this module (repeatable)', collect, [])
    .action(async (flags: EvalFlags) => {
      if (flags.replay) {
        const res = replayEval(flags.replay, { bootstrapSamples: flags.bootstrap, outDir: flags.out });
        process.stdout.write(summaryLines(res));
        return;
      }
      await loadEnvModules(flags.envModule);
      if (!flags.env) throw new Error('--env is required (see `gym envs`), or pass --replay <dir>');
      if (flags.split !== 'train' && flags.split !== 'test')
        throw new Error(`--split must be train or test, got "${flags.split}"`);
      let mode: EvalMode | undefined;
      if (flags.mode !== undefined) {
        const parsed = EvalModeSchema.safeParse(flags.mode);
        if (!parsed.success) throw new Error(`--mode must be think, no_think or mixed, got "${flags.mode}"`);
        mode = parsed.data;
      }
      let limits: Record<string, unknown> = {};
      if (flags.limits) {
        try {
          limits = JSON.parse(flags.limits) as Record<string, unknown>;
        } catch (err) {
          throw new Error(`--limits must be a JSON object: ${(err as Error).message}`);
        }
      }
      if (flags.maxTurns !== undefined) limits.maxTurns = flags.maxTurns;
      const remote = remoteTarget(flags);
      if (remote && flags.envWorkers)
        throw new Error('--env-workers runs the environment locally: drop --url, or drop --env-workers');
      const options = envOptions(flags.env, flags);
      const def = buildEnv(flags.env, options);
      // Workers build their own environment from the id, the modules and the same options.
      const workers = flags.envWorkers
        ? await new EnvWorkerPool({ env: def.id, options, modules: flags.envModule, workers: flags.envWorkers }).start()
        : undefined;
      const res = await runEval({
        env: def,
        policy: flags.policy,
        k: flags.k,
        split: flags.split,
        tasks: flags.tasks,
        mode,
        budgets: flags.budget ?? [],
        families: flags.families,
        maxDifficulty: flags.maxDifficulty,
        seed: flags.seed,
        concurrency: flags.concurrency,
        envWorkers: workers,
        remote,
        envModules: flags.envModule,
        envOptions: options,
        limits,
        outDir: flags.out,
        id: flags.id,
        bootstrapSamples: flags.bootstrap,
        progress: flags.progress ? undefined : false,
      }).finally(() => workers?.close());
      process.stdout.write(summaryLines(res));
    });
  addRevisionOption(evaluate);
  addEnvOptions(evaluate);
}
