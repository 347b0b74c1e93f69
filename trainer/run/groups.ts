/**
 * The episodes of a GRPO step: the train tasks in the run's fixed order with selective rollouts,
 * G episodes per task, each scored by the run's reward composition, grouped, and refilled by
 * dynamic sampling where a group carries no signal.
 */

import type { Trajectory } from '../../agent/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import type { TrajectoryWriter } from '../../agent/trajectory/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { type EpisodeSample, episodeSamples } from '../batch.js';
import type { GrpoGroup } from '../grpo/index.js';
import { allEqual } from '../grpo/index.js';
import type { BuiltinPolicy } from '../model/index.js';
import { composeReward } from '../rewards.js';
import type { RunContext } from './context.js';
import { rolloutLimits } from './episodes.js';
import { modeParts } from './tasks.js';

export interface SampledStep {
  groups: GrpoGroup[];
  /** Groups left out: fewer than two live episodes, or equal rewards under dynamic sampling. */
  dropped: number;
  /** Every scored episode's total reward, verdict and reward components (unweighted). */
  rewards: number[];
  correct: number[];
  components: Array<Record<string, number>>;
  episodes: number;
  genTokens: number;
  /** Tokens of every episode (prompt, tool output and sampled): what the policy's forward passes ran over. */
  episodeTokens: number;
}

/**
 * The train tasks of a GRPO step, in the run's fixed order, skipping (with probability
 * `skipZeroVariance`, seeded by run, step and position) those whose last group had equal rewards.
 * The position in the order and which tasks gave an equal group are run state (`state.grpo`), saved
 * with every checkpoint, so a resumed run picks exactly what the killed one would have.
 */
function taskPicker(ctx: RunContext) {
  const p = ctx.cfg.grpo.skipZeroVariance;
  const ids = ctx.rlIds;
  const g = ctx.state.grpo;
  const flat = new Set(g.flatTasks);
  const save = () => {
    g.flatTasks = [...flat].sort();
  };
  return {
    next(need: number, step: number, round: number): string[] {
      const out: string[] = [];
      // Look at most one pass over the pool; if everything left is skipped, take tasks in order.
      for (let looked = 0; out.length < need && looked < ids.length; looked++) {
        const id = ids[g.taskCursor++ % ids.length];
        if (p > 0 && flat.has(id) && new Rng(mixSeed(ctx.cfg.seed, step, round, looked, 'skip')).next() < p) continue;
        out.push(id);
      }
      while (out.length < need) out.push(ids[g.taskCursor++ % ids.length]);
      return out;
    },
    observe(taskId: string, zeroVariance: boolean): void {
      if (zeroVariance) flat.add(taskId);
      else flat.delete(taskId);
      save();
    },
  };
}

/** Mean of each component over the episodes (a component an episode lacks counts 0 for it). */
export function meanComponents(components: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const keys: string[] = [];
  for (const c of components) for (const k of Object.keys(c)) if (!keys.includes(k)) keys.push(k);
  const out: Record<string, number> = {};
  for (const k of keys) {
    let s = 0;
    for (const c of components) s += c[k] ?? 0;
    out[k] = s / components.length;
  }
  return out;
}

/** Samples the groups of GRPO step `step` (from 0) with `policy`, writing every episode to `writer`. */
export async function sampleGroups(
  ctx: RunContext,
  policy: BuiltinPolicy,
  step: number,
  writer: TrajectoryWriter,
): Promise<SampledStep> {
  const g = ctx.cfg.grpo;
  const rounds = g.dynamicSampling ? 1 + g.maxRefillRounds : 1;
  const out: SampledStep = {
    groups: [],
    dropped: 0,
    rewards: [],
    correct: [],
    components: [],
    episodes: 0,
    genTokens: 0,
    episodeTokens: 0,
  };
  const before = policy.generatedTokens;
  const picker = taskPicker(ctx);
  for (let r = 0; r < rounds && out.groups.length < g.tasksPerStep; r++) {
    const tasks = picker.next(g.tasksPerStep - out.groups.length, step, r);
    const trajectories: Trajectory[] = [];
    for (const part of modeParts(g.mode, tasks, ctx.cfg.sft.thinkFraction)) {
      const batch = await runBatch({
        env: ctx.def,
        policy,
        tasks: part.tasks,
        groupSize: g.groupSize,
        mode: part.mode,
        limits: rolloutLimits(ctx.cfg),
        concurrency: ctx.cfg.concurrency,
        runId: `${ctx.runId}-s${step}r${r}${part.suffix}`,
        progress: false,
        // no stop signal: a stop request lets the step's episodes finish (an aborted one would change the step)
      });
      trajectories.push(...batch.trajectories);
    }
    for (const t of trajectories) writer.write(t);
    out.episodes += trajectories.length;
    for (const t of trajectories) for (const c of [...(t.contexts ?? []), t]) out.episodeTokens += c.tokens?.length ?? 0;
    const byGroup = new Map<string, Trajectory[]>();
    for (const t of trajectories) byGroup.set(t.ids.group, [...(byGroup.get(t.ids.group) ?? []), t]);
    for (const ts of byGroup.values()) {
      const samples: EpisodeSample[] = [];
      const rewards: number[] = [];
      for (const t of ts) {
        const s = episodeSamples(t);
        if (!s) continue; // aborted or tokenless: never trained on
        const rw = composeReward(t, ctx.cfg.rewards);
        // An episode of several contexts is several sequences sharing this one reward.
        samples.push(s.length === 1 ? s[0] : s);
        rewards.push(rw.total);
        out.rewards.push(rw.total);
        out.correct.push(t.correct ? 1 : 0);
        out.components.push(rw.components);
      }
      picker.observe(ts[0].ids.task, rewards.length >= 2 && allEqual(rewards));
      if (samples.length < 2 || (g.dynamicSampling && allEqual(rewards))) {
        out.dropped++;
        continue;
      }
      out.groups.push({ samples, rewards });
    }
  }
  out.genTokens = policy.generatedTokens - before;
  return out;
}
