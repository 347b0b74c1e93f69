/**
 * The RL query set (with `rl.families` set): after the cold start, GRPO draws from train tasks of
 * the RL families and difficulties instead of the cold-start pool. The set follows the Qwen3
 * report's criteria: not used in the cold start (no demonstration or probe task), broad (several
 * families, difficulty `rl.minDifficulty`..`rl.maxDifficulty`), learnable and as hard as possible
 * (kept only when the cold-start model solves it at least `keepMin` and at most `keepMax` times in
 * `filterSamples` episodes at the GRPO temperature). The filter's episodes are kept in
 * `trajectories/rl-filter.jsonl` (rejection-sampling SFT trains on their verified successes) and the
 * set in `rl-tasks.json`, which a resumed run reads back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBatch } from '../../agent/rollout/index.js';
import { TrajectoryWriter } from '../../agent/trajectory/index.js';
import { mixSeed } from '../../tools/index.js';
import { BuiltinPolicy } from '../model/index.js';
import { RunConfigError } from './config.js';
import type { RunContext } from './context.js';
import { rolloutLimits } from './episodes.js';
import { writeJson } from './open.js';
import { probeTasks, selectTasks } from './tasks.js';

export const RL_TASKS_FILE = 'rl-tasks.json';
export const RL_FILTER_FILE = join('trajectories', 'rl-filter.jsonl');

export interface RlTaskSet {
  /** Kept task ids, in the order GRPO draws them. */
  ids: string[];
  candidates: number;
  /** Successes of each candidate out of `filterSamples`. */
  solved: Record<string, number>;
  /** Kept tasks per family. */
  byFamily: Record<string, number>;
}

/** Candidates of the RL query set: RL families and difficulties, minus every cold-start task. */
export function rlCandidates(ctx: Pick<RunContext, 'cfg' | 'def' | 'trainIds'>): string[] {
  const { cfg } = ctx;
  const cold = new Set([
    ...ctx.trainIds.slice(0, Math.min(cfg.sft.episodes, ctx.trainIds.length)),
    ...probeTasks(cfg, ctx.trainIds),
  ]);
  return selectTasks(ctx.def, {
    split: 'train',
    prefix: cfg.rl.families,
    minDifficulty: cfg.rl.minDifficulty,
    maxDifficulty: cfg.rl.maxDifficulty,
    count: cfg.rl.candidates + cold.size,
    seed: mixSeed(cfg.seed, 'rl-candidates'),
  })
    .filter((id) => !cold.has(id))
    .slice(0, cfg.rl.candidates);
}

/** Builds (or reads back) the RL query set and points GRPO at it; nothing without `rl.families`. */
export async function selectRlTasks(ctx: RunContext): Promise<RlTaskSet | undefined> {
  const { cfg } = ctx;
  if (!cfg.rl.families) return undefined;
  const file = join(ctx.dir, RL_TASKS_FILE);
  if (existsSync(file)) {
    const set = JSON.parse(readFileSync(file, 'utf8')) as RlTaskSet;
    ctx.rlIds = set.ids;
    return set;
  }
  if (cfg.rl.keepMin > cfg.rl.keepMax || cfg.rl.keepMax > cfg.rl.filterSamples)
    throw new RunConfigError(
      `rl.keepMin (${cfg.rl.keepMin}) <= rl.keepMax (${cfg.rl.keepMax}) <= rl.filterSamples (${cfg.rl.filterSamples}) must hold`,
    );
  const candidates = rlCandidates(ctx);
  ctx.note(`filtering ${candidates.length} RL candidates with the cold-start model (${cfg.rl.filterSamples} episodes each)`);
  const policy = new BuiltinPolicy(ctx.runner, ctx.tok, {
    sampling: { temperature: cfg.grpo.temperature },
    seed: mixSeed(cfg.seed, 'rl-filter'),
    spec: `builtin:${ctx.runId}@filter`,
  });
  const writer = new TrajectoryWriter(join(ctx.dir, RL_FILTER_FILE));
  let trajectories: Awaited<ReturnType<typeof runBatch>>['trajectories'];
  try {
    ({ trajectories } = await runBatch({
      env: ctx.def,
      policy,
      tasks: candidates,
      groupSize: cfg.rl.filterSamples,
      // the filter asks whether the cold-start model can solve a task: in the headline mode under `both`
      mode: cfg.grpo.mode === 'both' ? 'no_think' : cfg.grpo.mode,
      limits: rolloutLimits(cfg),
      concurrency: cfg.concurrency,
      runId: `${ctx.runId}-rlfilter`,
      progress: false,
    }));
    for (const t of trajectories) writer.write(t);
  } finally {
    writer.close();
    policy.resetCache();
  }
  const solved: Record<string, number> = Object.fromEntries(candidates.map((id) => [id, 0]));
  for (const t of trajectories) if (t.correct) solved[t.ids.task] = (solved[t.ids.task] ?? 0) + 1;
  const ids = candidates.filter((id) => solved[id] >= cfg.rl.keepMin && solved[id] <= cfg.rl.keepMax);
  if (ids.length === 0)
    throw new RunConfigError(
      `no RL candidate was solved between ${cfg.rl.keepMin} and ${cfg.rl.keepMax} times of ${cfg.rl.filterSamples} by the cold-start model: widen rl.families or the difficulties, lower rl.keepMin, or train the cold start longer`,
    );
  const byFamily: Record<string, number> = {};
  for (const id of ids) {
    const fam = id.split('/')[1] ?? id;
    byFamily[fam] = (byFamily[fam] ?? 0) + 1;
  }
  const set: RlTaskSet = { ids, candidates: candidates.length, solved, byFamily };
  writeJson(file, set);
  ctx.note(`RL query set: ${ids.length} of ${candidates.length} candidates (${JSON.stringify(byFamily)})`);
  ctx.record({ phase: 'rl-set', step: 0, kept: ids.length, candidates: candidates.length, byFamily });
  ctx.rlIds = ids;
  // commit the filter's episodes with GRPO step 0, so a resume finds them beside rl-tasks.json
  await ctx.checkpoint('last', { phase: 'grpo', step: 0 }, true);
  return set;
}
