/**
 * `gym rollout --env code-interp --policy oracle -n 64 -G 8 --out runs/x.jsonl`: runs episodes
 * (n tasks x G samples each, the samples of a task forming one GRPO group), appends them to a JSONL
 * file as they finish, and prints a summary (success rate, mean turns, invalid-call rate, endings).
 */
import type { Command } from 'commander';
import {
  createPolicy,
  type EpisodeMode,
  formatSummary,
  qwen3Tokenizer,
  type RolloutLimitsInput,
  runBatch,
} from '../../agent/index.js';
import { buildEnv, type EnvDefinition, EnvWorkerPool, loadEnvModules, type Split } from '../../envs/index.js';
import { addEnvOptions, type EnvOptionFlags, envOptions } from './env-options.js';
import { addRevisionOption, type RemoteFlags, remoteTarget } from './remote.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface RolloutCliOptions extends EnvOptionFlags, RemoteFlags {
  env?: string;
  envModule: string[];
  policy: string;
  tasks: string;
  groupSize: string;
  task: string[];
  split: string;
  seed: string;
  out?: string;
  concurrency: string;
  envWorkers?: string;
  maxTurns?: string;
  maxTokens?: string;
  turnTokens?: string;
  toolTimeout?: string;
  wallTime?: string;
  mode: string;
  budget?: string;
  exactTokens?: boolean;
  runId?: string;
  progress: boolean;
  json?: boolean;
}

export class RolloutCliError extends Error {
  override name = 'RolloutCliError';
}

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new RolloutCliError(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export function register(program: Command): void {
  const rollout = program
    .command('rollout')
    .description('Run a policy through an environment and record trajectories (JSONL)')
    .option('--env <id>', 'environment id (see `gym envs`); with --url, used only to look tasks up for the oracle')
    .option('--env-module <path>', 'load environments exported by this module first (repeatable)', collect, [])
    .option(
      '--url <url>',
      'reach a remote `gym serve --http` at this MCP URL (or `gym serve --ws` at a ws:// URL) instead of running the env in-process',
    )
    .option('--policy <spec>', 'oracle, oracle:err=0.2, openai:<baseURL>#<model>, replay:<file.jsonl>, builtin:<ckpt>', 'oracle')
    .option('-n, --tasks <n>', 'number of tasks (groups), picked by seeds --seed, --seed+1, ...', '8')
    .option('-G, --group-size <g>', 'episodes per task (GRPO group size)', '1')
    .option('--task <id>', 'run this task id (repeatable; replaces -n)', collect, [])
    .option('--split <split>', 'train or test', 'train')
    .option('--seed <n>', 'first task seed', '0')
    .option('--out <file>', 'append trajectories to this JSONL file')
    .option('--concurrency <n>', 'episodes in flight at once', '8')
    .option('--env-workers <n>', 'serve the environment from n worker threads (MCP over MessagePort) instead of the loop thread')
    .option('--max-turns <n>', 'assistant turns per episode before truncation')
    .option('--max-tokens <n>', 'total completion tokens per episode')
    .option('--turn-tokens <n>', 'completion tokens per turn')
    .option('--tool-timeout <ms>', 'per tool call time limit (ms)')
    .option('--wall-time <s>', 'per episode time limit (seconds)')
    .option('--mode <mode>', 'think, no_think, or mixed (seeded /think and /no_think switches, turn by turn)', 'no_think')
    .option('--budget <n>', 'thinking budget in tokens (stop-thinking text injected past it; 0 closes the thought at once)')
    .option('--exact-tokens', 'token-level openai completions (api=completions): record exact Qwen3 token ids, mask and logprobs')
    .option('--run-id <id>', 'run id recorded in every trajectory (default: derived from --out)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: RolloutCliOptions) => {
      const loaded = await loadEnvModules(opts.envModule);
      const envId = opts.env ?? (loaded.length === 1 ? loaded[0].id : undefined);
      const options = envId ? envOptions(envId, opts) : {};
      const def: EnvDefinition | undefined = envId ? buildEnv(envId, options) : undefined;
      if (!def && !opts.url)
        throw new RolloutCliError('pass --env <id> (run `gym envs` to list environments) or --url <mcp url>');
      if (!['think', 'no_think', 'mixed'].includes(opts.mode))
        throw new RolloutCliError(`--mode must be think, no_think or mixed, got "${opts.mode}"`);
      if (opts.split !== 'train' && opts.split !== 'test')
        throw new RolloutCliError(`--split must be train or test, got "${opts.split}"`);
      const remote = remoteTarget(opts);

      const limits: RolloutLimitsInput = {};
      const maxTurns = int('--max-turns', opts.maxTurns);
      if (maxTurns) limits.maxTurns = maxTurns;
      const maxTokens = int('--max-tokens', opts.maxTokens);
      if (maxTokens) limits.maxTotalTokens = maxTokens;
      const turnTokens = int('--turn-tokens', opts.turnTokens);
      if (turnTokens) limits.maxTurnTokens = turnTokens;
      const toolTimeout = int('--tool-timeout', opts.toolTimeout);
      if (toolTimeout) limits.toolTimeoutMs = toolTimeout;
      const wall = int('--wall-time', opts.wallTime);
      if (wall) limits.wallTimeMs = wall * 1000;
      const budget = int('--budget', opts.budget, 0);
      if (budget !== undefined) limits.thinkingBudget = budget;

      const seed = int('--seed', opts.seed, 0) ?? 0;
      const policy = await createPolicy(opts.policy, {
        env: def,
        seed,
        concurrency: int('--concurrency', opts.concurrency),
        tokenizer: opts.exactTokens ? qwen3Tokenizer() : undefined,
      });
      const runId = opts.runId ?? (opts.out ? opts.out.replace(/^.*\//, '').replace(/\.jsonl$/, '') : 'rollout');
      const envWorkers = int('--env-workers', opts.envWorkers);
      if (envWorkers && opts.url)
        throw new RolloutCliError('--env-workers runs the environment locally: drop --url, or drop --env-workers');
      let workers: EnvWorkerPool | undefined;
      try {
        if (envWorkers)
          workers = await new EnvWorkerPool({
            env: (def as EnvDefinition).id,
            options,
            modules: opts.envModule,
            workers: envWorkers,
          }).start();
        const pool = workers;
        const { summary } = await runBatch({
          env: pool ? () => pool.connect() : (remote ?? (def as EnvDefinition)),
          policy,
          tasks: opts.task.length > 0 ? opts.task : undefined,
          count: int('--tasks', opts.tasks, 0),
          groupSize: int('--group-size', opts.groupSize),
          split: opts.split as Split,
          seed,
          concurrency: int('--concurrency', opts.concurrency),
          limits,
          mode: opts.mode as EpisodeMode,
          runId,
          out: opts.out,
          progress: opts.progress ? undefined : false,
          keep: false,
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else {
          process.stdout.write(`${formatSummary(summary)}\n`);
          if (opts.out) process.stdout.write(`trajectories    ${opts.out}\n`);
        }
      } finally {
        await policy.close?.();
        await workers?.close();
      }
    });
  addRevisionOption(rollout);
  addEnvOptions(rollout);
}
