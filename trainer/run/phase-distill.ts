/**
 * The on-policy distillation phase: from the run's current step to `distill.steps` (or a stop
 * request), the student plays `tasksPerStep` x `groupSize` real episodes of train tasks through the
 * rollout loop (seeded by run seed and step, sampled as `distillSampling` says), the frozen teacher scores the student's tokens, and
 * one update lowers the per-token divergence (trainer/distill). Metrics line per step (the student's
 * training-time success and reward beside the divergence before the update), checkpoints as GRPO
 * writes them, and the same stop semantics: a stop request finishes the step under way.
 */
import { join } from 'node:path';
import type { GenerateRequest, GenerateResult, Policy, Trajectory } from '../../agent/index.js';
import { type EpisodeMode, runBatch } from '../../agent/rollout/index.js';
import { TrajectoryWriter } from '../../agent/trajectory/index.js';
import { mixSeed } from '../../tools/index.js';
import { episodeSamples, type TokenSample } from '../batch.js';
import { distillStep } from '../distill/index.js';
import { mean } from '../grpo/index.js';
import { BuiltinPolicy, type CheckpointTokenizer, type ModelRunner, type SamplingOptions } from '../model/index.js';
import { composeReward } from '../rewards.js';
import type { RunConfig } from './config.js';
import { cpuMsSince, type RunContext } from './context.js';
import { rolloutLimits } from './episodes.js';
import { evalSampling, evaluateRunModel } from './evaluate.js';
import { modeParts } from './tasks.js';
import type { Teacher } from './teacher.js';

type Mode = 'think' | 'no_think';

/**
 * How the student samples its on-policy episodes: `qwen3` as the held-out evaluation samples (per
 * turn's mode), `full` the untruncated distribution at T 1; `temperature`, `topK`, `topP` override
 * both modes. Only the prefixes come from this: the loss compares the student's full-vocabulary
 * distribution at T 1 with the teacher's at every sampled position (trainer/distill/loss.ts).
 */
export function distillSampling(c: RunConfig['distill']): Record<Mode, SamplingOptions> {
  const over: Partial<SamplingOptions> = {};
  if (c.temperature !== undefined) over.temperature = c.temperature;
  if (c.topK !== undefined) over.topK = c.topK;
  if (c.topP !== undefined) over.topP = c.topP;
  const of = (mode: Mode): SamplingOptions =>
    c.decoding === 'full' ? { temperature: 1, topK: 0, topP: 1, ...over } : { ...evalSampling('qwen3', mode), ...over };
  return { think: of('think'), no_think: of('no_think') };
}

/**
 * The student as a policy that samples each turn with its mode's settings (a mixed-mode episode
 * switches mode between turns): one builtin policy per mode over the same weights and seed.
 */
class ModeSampledPolicy implements Policy {
  readonly spec: string;
  private readonly byMode: Record<Mode, BuiltinPolicy>;
  constructor(
    runner: ModelRunner,
    readonly tokenizer: CheckpointTokenizer,
    sampling: Record<Mode, SamplingOptions>,
    o: { seed: number; spec: string },
  ) {
    this.spec = o.spec;
    const make = (m: Mode) => new BuiltinPolicy(runner, tokenizer, { sampling: sampling[m], seed: o.seed, spec: o.spec });
    this.byMode = { think: make('think'), no_think: make('no_think') };
  }
  generate(req: GenerateRequest): Promise<GenerateResult> {
    return this.byMode[req.enableThinking ? 'think' : 'no_think'].generate(req);
  }
  resetCache(): void {
    for (const p of Object.values(this.byMode)) p.resetCache();
  }
}

/** The first on-policy step this process takes (from 0). */
export function distillFirstStep(ctx: RunContext): number {
  const { phase, step } = ctx.start;
  return phase === 'distill' ? step : phase === 'done' ? ctx.cfg.distill.steps : 0;
}

/** The train tasks of one step, in the run's fixed order (the cursor is run state). */
function nextTasks(ctx: RunContext): string[] {
  const d = ctx.state.distill;
  const ids = ctx.trainIds;
  return Array.from({ length: ctx.cfg.distill.tasksPerStep }, () => ids[d.taskCursor++ % ids.length]);
}

/** One on-policy step (`s` from 0): the student plays, the teacher scores, one update, one record. */
async function distillStepOf(ctx: RunContext, teacher: Teacher, s: number, writer: TrajectoryWriter): Promise<void> {
  const { cfg, hooks, runner, state } = ctx;
  const c = cfg.distill;
  const ts = performance.now();
  const policy = new ModeSampledPolicy(runner, ctx.tok, distillSampling(c), {
    seed: mixSeed(cfg.seed, s, 'distill'),
    spec: `builtin:${ctx.runId}@distill${s}`,
  });
  hooks.onStage?.('sample', 'distill', s + 1);
  const tasks = nextTasks(ctx);
  const batch = (mode: EpisodeMode, ids: string[], runId: string) =>
    ids.length === 0
      ? Promise.resolve({ trajectories: [] as Trajectory[] })
      : runBatch({
          env: ctx.def,
          policy,
          tasks: ids,
          groupSize: c.groupSize,
          mode,
          limits: rolloutLimits(cfg),
          concurrency: cfg.concurrency,
          runId,
          progress: false,
          // no stop signal: a stop request lets the step's episodes finish (an aborted one would change the step)
        });
  const trajectories: Trajectory[] = [];
  try {
    // under `both`, as the off-policy data: the first share of the tasks in think mode, the rest in no_think
    for (const part of modeParts(c.mode, tasks, cfg.sft.thinkFraction))
      trajectories.push(...(await batch(part.mode, part.tasks, `${ctx.runId}-d${s}${part.suffix}`)).trajectories);
  } finally {
    policy.resetCache();
  }
  for (const t of trajectories) writer.write(t);
  // every context of an episode is one sequence (an episode with a scripted user may start new contexts)
  const samples: TokenSample[] = trajectories.flatMap((t) => episodeSamples(t) ?? []);
  const rolloutTokens = trajectories.reduce(
    (n, t) => n + [...(t.contexts ?? []), t].reduce((m, c) => m + (c.tokens?.length ?? 0), 0),
    0,
  );
  const tr = performance.now();
  hooks.onStage?.('update', 'distill', s + 1);
  const m = await distillStep(runner, ctx.opt, teacher.runner, samples, {
    loss: c.loss,
    beta: c.beta,
    lr: c.lr,
    maxGradNorm: cfg.grpo.maxGradNorm,
  }).catch((err) => {
    throw ctx.diverged(err, `distillation step ${s + 1}`);
  });
  const te = performance.now();
  state.distill.tokens += m.tokens;
  state.distill.seqTokens += m.seqTokens;
  state.distill.teacherTokens += m.teacherTokens;
  state.distill.rolloutTokens += rolloutTokens;
  const scored = trajectories.filter((t) => t.ending !== 'aborted');
  ctx.record({
    phase: 'distill',
    step: s + 1,
    success: mean(scored.map((t) => (t.correct ? 1 : 0))),
    reward: mean(scored.map((t) => composeReward(t, cfg.rewards).total)),
    episodes: trajectories.length,
    ...m,
    rolloutMs: tr - ts,
    updateMs: te - tr,
    tokensPerSecond: m.seqTokens / Math.max(1e-3, (te - tr) / 1000),
  });
}

/** On-policy distillation from the run's current step; throws RunInterruptedError after the step a stop request came in. */
export async function runDistill(ctx: RunContext, teacher: Teacher): Promise<void> {
  const { cfg, hooks, state } = ctx;
  const steps = cfg.distill.steps;
  const first = distillFirstStep(ctx);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const msBefore = state.distill.ms;
  const cpuMsBefore = state.distill.cpuMs;
  const writer = new TrajectoryWriter(join(ctx.dir, 'trajectories', 'distill.jsonl'));
  try {
    for (let s = first; s < steps && !ctx.stopRequested; s++) {
      await distillStepOf(ctx, teacher, s, writer);
      if (cfg.evalEvery > 0 && (s + 1) % cfg.evalEvery === 0 && s + 1 < steps) {
        hooks.onStage?.('evaluate', 'distill', s + 1);
        const e = await evaluateRunModel(ctx, ctx.testIds, `distill${s + 1}`);
        ctx.record({ phase: 'eval', of: 'distill', step: s + 1, success: e.success, validity: e.validity, byMode: e.byMode });
      }
      state.distill.ms = msBefore + (performance.now() - t0);
      state.distill.cpuMs = cpuMsBefore + cpuMsSince(c0);
      if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === steps || ctx.stopRequested) {
        hooks.onStage?.('checkpoint', 'distill', s + 1);
        await ctx.checkpoint('last', { phase: 'distill', step: s + 1 }, true);
      }
    }
  } finally {
    writer.close();
  }
  if (ctx.stopRequested && first < steps) throw ctx.stopped();
}
