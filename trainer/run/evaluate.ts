/**
 * Held-out evaluation of a run's model: one seeded episode per task in each mode, scored by
 * agent/eval's metrics (the evaluator `gym eval` uses), so a run's before/after figures and a
 * `gym eval` of the same episodes count the same way. The run's evaluations (before and after
 * training, every `evalEvery` GRPO steps, cold-start probes) write their episodes to
 * `trajectories/eval-<label>.jsonl`.
 */
import { join } from 'node:path';
import { computeMetrics, shellQuote } from '../../agent/eval/index.js';
import type { Policy, Trajectory } from '../../agent/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import type { EnvDefinition } from '../../envs/core/index.js';
import type { SamplingOptions } from '../model/index.js';
import { BuiltinPolicy, QWEN3_SAMPLING } from '../model/index.js';
import type { RunConfig } from './config.js';
import type { RunContext } from './context.js';
import { rolloutLimits } from './episodes.js';
import { headlineMode } from './tasks.js';
import type { HeldOutResult, ModeEval } from './types.js';

type Mode = 'think' | 'no_think';

/** Decoding of held-out episodes: Qwen3's recommended sampling per mode, or greedy. */
export type EvalDecoding = 'qwen3' | 'greedy';

/**
 * The sampling settings of a held-out episode. `qwen3` is the Qwen3 model card's advice: thinking
 * mode T 0.6, top-p 0.95, top-k 20; non-thinking T 0.7, top-p 0.8, top-k 20 (greedy decoding, the
 * card says, leads to endless repetitions; at this model size it does, as unclosed tool calls).
 */
export function evalSampling(decoding: EvalDecoding, mode: Mode): SamplingOptions {
  if (decoding === 'greedy') return { temperature: 0, topP: 1, topK: 0 };
  return { ...QWEN3_SAMPLING[mode] };
}

/**
 * The `gym eval` command that runs a run's checkpoint on the tasks, limits and sampling of the run's
 * own held-out evaluation (its families and difficulties, its turn limits and device, its headline
 * mode, the environment's options and the modules that registered it; the `builtin:` policy's own
 * default is the evaluation's Qwen3 sampling per mode, so only greedy decoding is spelled out):
 * what `gym train` and `gym distill` print as "try it". Without them `gym eval` draws from every
 * family of the environment, at every level, with longer turns, and a checkpoint trained on one
 * family scores far lower.
 */
export function evalCommand(cfg: RunConfig, checkpoint: string, o: { envModules?: readonly string[] } = {}): string {
  const mode = headlineMode(cfg);
  // a builtin:<checkpoint> policy samples with Qwen3's settings per mode unless told otherwise
  const policy = `builtin:${checkpoint}#${cfg.evalDecoding === 'greedy' ? 'temperature=0,' : ''}device=${cfg.device}`;
  const parts = ['gym', 'eval', '--env', cfg.env, '--policy', policy];
  if (cfg.families.trim()) parts.push('--families', cfg.families);
  parts.push('--max-difficulty', String(cfg.maxDifficulty));
  if (mode !== 'no_think') parts.push('--mode', mode);
  parts.push('--limits', JSON.stringify({ maxTurns: cfg.limits.maxTurns, maxTurnTokens: cfg.limits.maxTurnTokens }));
  for (const m of o.envModules ?? []) parts.push('--env-module', m);
  for (const [k, v] of Object.entries(cfg.envOptions ?? {}))
    parts.push('--env-opt', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.map(shellQuote).join(' ');
}

/**
 * The held-out figures of one mode's episodes, read from agent/eval's metrics (aborted episodes
 * left out): success (correct / episodes), validity (per failure, `strictCallValidity`), clean
 * episodes, mode compliance, turns and tokens per episode. A rate with nothing to count is 0 for
 * success and the means, 1 for the rates of things that could have gone wrong.
 */
export function summarizeEval(ts: readonly Trajectory[]): ModeEval {
  // one episode per task: no pass curve past k = 1, no intervals
  const m = computeMetrics(ts, { maxK: 1, bootstrap: { samples: 0 }, breakdownSamples: 0 }).overall;
  const rate = (id: string, empty: number) => {
    const v = m.metrics[id];
    return v && v.den > 0 ? v.num / v.den : empty;
  };
  return {
    episodes: m.episodes,
    success: rate('avgAtK', 0),
    validity: rate('strictCallValidity', 1),
    cleanEpisodes: rate('cleanEpisodes', 0),
    compliance: rate('modeCompliance', 1),
    meanTurns: rate('turnsPerEpisode', 0),
    meanTokens: rate('tokensPerEpisode', 0),
  };
}

/** One episode per test task in each mode; `policy` may depend on the mode (its decoding does). */
export async function evaluate(
  def: EnvDefinition,
  policy: Policy | ((mode: Mode) => Policy),
  taskIds: readonly string[],
  o: {
    modes: readonly Mode[];
    headline: Mode;
    limits: Record<string, unknown>;
    concurrency: number;
    runId: string;
    out?: string;
  },
): Promise<HeldOutResult> {
  const byMode: HeldOutResult['byMode'] = {};
  for (const mode of o.modes) {
    const { trajectories } = await runBatch({
      env: def,
      policy: typeof policy === 'function' ? policy(mode) : policy,
      tasks: taskIds,
      groupSize: 1,
      mode,
      limits: o.limits,
      concurrency: o.concurrency,
      runId: `${o.runId}-eval-${mode}`,
      out: o.out,
      progress: false,
    });
    byMode[mode] = summarizeEval(trajectories);
  }
  const h = byMode[o.headline] ?? Object.values(byMode)[0];
  return { byMode, success: h?.success ?? 0, validity: h?.validity ?? 1 };
}

/** A held-out evaluation of the run's model now, labelled in the run's files (`before`, `step20`, `probe50`). */
export async function evaluateRunModel(
  ctx: RunContext,
  taskIds: readonly string[],
  label: string,
  modes: readonly Mode[] = ['no_think', 'think'],
): Promise<HeldOutResult> {
  const made: BuiltinPolicy[] = [];
  const policy = (mode: Mode) => {
    const p = new BuiltinPolicy(ctx.runner, ctx.tok, {
      sampling: evalSampling(ctx.cfg.evalDecoding, mode),
      seed: ctx.cfg.seed,
      spec: `builtin:${label}`,
    });
    made.push(p);
    return p;
  };
  try {
    return await evaluate(ctx.def, policy, taskIds, {
      modes,
      headline: headlineMode(ctx.cfg),
      limits: rolloutLimits(ctx.cfg),
      concurrency: ctx.cfg.concurrency,
      runId: `${ctx.runId}-${label}`,
      out: join(ctx.dir, 'trajectories', `eval-${label}.jsonl`),
    });
  } finally {
    // cached prefixes hold device memory: release them now rather than at garbage collection
    for (const p of made) p.resetCache();
  }
}
