/**
 * The episodes a training run samples, apart from the optimiser steps: oracle teacher episodes
 * (cold-start data and tokenizer text), held-out and probe evaluations of the built-in policy, and
 * GRPO groups with the run's task order, selective rollouts and dynamic-sampling refills.
 */

import { join } from 'node:path';
import { OraclePolicy } from '../../agent/policies/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import type { TrajectoryWriter } from '../../agent/trajectory/index.js';
import type { Trajectory } from '../../agent/types.js';
import type { EnvDefinition } from '../../envs/core/types.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { type TokenSample, toSample } from '../batch.js';
import { allEqual } from '../grpo/advantages.js';
import type { GrpoGroup } from '../grpo/step.js';
import { BuiltinPolicy, type ModelRunner } from '../model/index.js';
import { composeReward } from '../rewards.js';
import { TokenizingPolicy } from '../sft/sft.js';
import { ByteTokenizer } from '../tokenizer/index.js';
import type { RunConfig } from './config.js';
import type { RunHooks } from './run.js';
import { type EvalResult, evalSampling, evaluate } from './tasks.js';

/** What the pieces of a run share. */
export interface Ctx {
  dir: string;
  cfg: RunConfig;
  def: EnvDefinition;
  runId: string;
  hooks: RunHooks;
  /** Run state saved in every checkpoint's meta (restored on resume). */
  state: Record<string, unknown>;
}

/** Oracle episodes (text-level teacher) recorded through `tok`, in the given mode. */
export async function teacherEpisodes(
  ctx: Ctx,
  tok: ByteTokenizer,
  taskIds: readonly string[],
  mode: 'think' | 'no_think',
  out?: string,
): Promise<Trajectory[]> {
  if (taskIds.length === 0) return [];
  const policy = new TokenizingPolicy(new OraclePolicy(ctx.def, { seed: ctx.cfg.seed }), tok);
  const { trajectories } = await runBatch({
    env: ctx.def,
    policy,
    tasks: taskIds,
    groupSize: 1,
    mode,
    limits: limitsOf(ctx.cfg),
    concurrency: ctx.cfg.concurrency,
    runId: `${ctx.runId}-teacher-${mode}`,
    out,
    progress: false,
  });
  return trajectories;
}

function limitsOf(cfg: RunConfig): Record<string, unknown> {
  return {
    maxTurns: cfg.limits.maxTurns,
    maxTurnTokens: cfg.limits.maxTurnTokens,
    thinkingBudget: cfg.limits.thinkingBudget,
    maxTotalTokens: cfg.limits.maxTurns * cfg.limits.maxTurnTokens,
  };
}

/** Template text for the merges: oracle episodes in both modes, decoded from plain byte ids. */
export async function buildTokenizer(ctx: Ctx, trainIds: readonly string[]): Promise<ByteTokenizer> {
  if (ctx.cfg.merges === 0) return new ByteTokenizer();
  const plain = new ByteTokenizer();
  const ids = trainIds.slice(0, 24);
  const eps = [...(await teacherEpisodes(ctx, plain, ids, 'no_think')), ...(await teacherEpisodes(ctx, plain, ids, 'think'))];
  const corpus = eps.filter((t) => t.tokens).map((t) => plain.decode(t.tokens as number[]));
  return ByteTokenizer.train(corpus, ctx.cfg.merges);
}

/** Train tasks for cold-start probes: after the ones whose oracle episodes are the SFT data. */
export function probeTasks(cfg: RunConfig, trainIds: readonly string[]): string[] {
  const n = Math.min(cfg.sft.episodes, trainIds.length);
  const rest = trainIds.slice(n);
  return rest.slice(0, cfg.sft.probeTasks);
}

export function headlineMode(cfg: RunConfig): 'think' | 'no_think' {
  return cfg.grpo.mode === 'think' ? 'think' : 'no_think';
}

export async function runEval(
  ctx: Ctx,
  model: ModelRunner,
  tok: ByteTokenizer,
  testIds: readonly string[],
  label: string,
  modes: readonly ('think' | 'no_think')[] = ['no_think', 'think'],
): Promise<EvalResult> {
  const made: BuiltinPolicy[] = [];
  const policy = (mode: 'think' | 'no_think') => {
    const p = new BuiltinPolicy(model, tok, {
      sampling: evalSampling(ctx.cfg.evalDecoding, mode),
      seed: ctx.cfg.seed,
      spec: `builtin:${label}`,
    });
    made.push(p);
    return p;
  };
  try {
    return await evaluate(ctx.def, policy, testIds, {
      modes,
      headline: headlineMode(ctx.cfg),
      limits: limitsOf(ctx.cfg),
      concurrency: ctx.cfg.concurrency,
      runId: `${ctx.runId}-${label}`,
      out: join(ctx.dir, 'trajectories', `eval-${label}.jsonl`),
    });
  } finally {
    // cached prefixes hold device memory: release them now rather than at garbage collection
    for (const p of made) p.resetCache();
  }
}

/**
 * The train tasks of a GRPO step, in the run's fixed order, skipping (with probability
 * `skipZeroVariance`, seeded by run, step and position) those whose last group had equal rewards.
 * The position in the order and which tasks gave an equal group are run state (`state.taskCursor`,
 * `state.flatTasks`), saved with every checkpoint, so a resumed run picks exactly what the killed one
 * would have.
 */
function taskPicker(ctx: Ctx, trainIds: readonly string[]) {
  const p = ctx.cfg.grpo.skipZeroVariance;
  const flat = new Set((ctx.state.flatTasks as string[] | undefined) ?? []);
  let cursor = (ctx.state.taskCursor as number | undefined) ?? 0;
  const save = () => {
    ctx.state.flatTasks = [...flat].sort();
    ctx.state.taskCursor = cursor;
  };
  return {
    next(need: number, step: number, round: number): string[] {
      const out: string[] = [];
      // Look at most one pass over the pool; if everything left is skipped, take tasks in order.
      for (let looked = 0; out.length < need && looked < trainIds.length; looked++) {
        const id = trainIds[cursor++ % trainIds.length];
        if (p > 0 && flat.has(id) && new Rng(mixSeed(ctx.cfg.seed, step, round, looked, 'skip')).next() < p) continue;
        out.push(id);
      }
      while (out.length < need) out.push(trainIds[cursor++ % trainIds.length]);
      save();
      return out;
    },
    observe(taskId: string, zeroVariance: boolean): void {
      if (zeroVariance) flat.add(taskId);
      else flat.delete(taskId);
      save();
    },
  };
}

/** Sample GRPO groups for one step, with dynamic sampling refills. */
export async function sampleGroups(
  ctx: Ctx,
  policy: BuiltinPolicy,
  trainIds: readonly string[],
  step: number,
  writer: TrajectoryWriter,
): Promise<{
  groups: GrpoGroup[];
  dropped: number;
  rewards: number[];
  correct: number[];
  components: Record<string, number[]>;
  episodes: number;
  genTokens: number;
}> {
  const g = ctx.cfg.grpo;
  const rounds = g.dynamicSampling ? 1 + g.maxRefillRounds : 1;
  const groups: GrpoGroup[] = [];
  const allRewards: number[] = [];
  const correct: number[] = [];
  const components: Record<string, number[]> = {};
  let dropped = 0;
  let episodes = 0;
  const before = policy.generatedTokens;
  const picker = taskPicker(ctx, trainIds);
  for (let r = 0; r < rounds && groups.length < g.tasksPerStep; r++) {
    const need = g.tasksPerStep - groups.length;
    const tasks = picker.next(need, step, r);
    const { trajectories } = await runBatch({
      env: ctx.def,
      policy,
      tasks,
      groupSize: g.groupSize,
      mode: g.mode,
      limits: limitsOf(ctx.cfg),
      concurrency: ctx.cfg.concurrency,
      runId: `${ctx.runId}-s${step}r${r}`,
      progress: false,
      // no stop signal: a stop request lets the step's episodes finish (an aborted one would change the step)
    });
    for (const t of trajectories) writer.write(t);
    episodes += trajectories.length;
    const byGroup = new Map<string, Trajectory[]>();
    for (const t of trajectories) byGroup.set(t.ids.group, [...(byGroup.get(t.ids.group) ?? []), t]);
    for (const ts of byGroup.values()) {
      const samples: TokenSample[] = [];
      const rewards: number[] = [];
      for (const t of ts) {
        const s = toSample(t);
        if (!s) continue; // aborted or tokenless: never trained on
        const rw = composeReward(t, ctx.cfg.rewards);
        samples.push(s);
        rewards.push(rw.total);
        allRewards.push(rw.total);
        correct.push(t.correct ? 1 : 0);
        for (const [k, v] of Object.entries(rw.components)) {
          components[k] ??= [];
          components[k].push(v);
        }
      }
      picker.observe(ts[0].ids.task, rewards.length >= 2 && allEqual(rewards));
      if (samples.length < 2 || (g.dynamicSampling && allEqual(rewards))) {
        dropped++;
        continue;
      }
      groups.push({ samples, rewards });
    }
  }
  return { groups, dropped, rewards: allRewards, correct, components, episodes, genTokens: policy.generatedTokens - before };
}
