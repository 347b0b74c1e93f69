/**
 * The RL phase: GRPO steps from the run's current step to `grpo.steps` (or a stop request). Each
 * step samples its groups with the built-in policy (seeded by run seed and step), updates, writes
 * its metrics line (reward, success, every reward component, the update's figures), runs the
 * held-out evaluation every `evalEvery` steps, and is checkpointed every `checkpointEvery` steps,
 * at the last, and when a stop was requested. The KL reference is the cold-start model: a run
 * resumed during GRPO reads it back from `checkpoints/sft`.
 */
import { join } from 'node:path';
import { TrajectoryWriter } from '../../agent/trajectory/index.js';
import { mixSeed } from '../../tools/index.js';
import { frozenReference, grpoStep, mean, NO_GRPO_UPDATE } from '../grpo/index.js';
import { BuiltinPolicy, loadCheckpoint, ModelRunner } from '../model/index.js';
import { cpuMsSince, type RunContext } from './context.js';
import { evaluateRunModel } from './evaluate.js';
import { meanComponents, sampleGroups } from './groups.js';

/** The first GRPO step this process takes (from 0): where the run resumed, or 0. */
export function grpoFirstStep(ctx: RunContext): number {
  const { phase, step } = ctx.start;
  return phase === 'grpo' ? step : phase === 'done' || phase === 'distill' ? ctx.cfg.grpo.steps : 0;
}

/** The frozen KL reference (none when beta is 0 or no step is left). */
async function klReference(ctx: RunContext): Promise<ModelRunner | undefined> {
  if (ctx.cfg.grpo.beta <= 0 || grpoFirstStep(ctx) >= ctx.cfg.grpo.steps) return undefined;
  if (ctx.resumed && ctx.start.phase === 'grpo')
    return ModelRunner.create(
      loadCheckpoint(join(ctx.dir, 'checkpoints', 'sft')).model,
      ctx.runner.device?.dev ?? ctx.cfg.device,
    );
  await ctx.runner.syncHost();
  return frozenReference(ctx.runner);
}

/** One GRPO step (`s` from 0): sample, update, record. */
async function grpoStepOf(ctx: RunContext, s: number, ref: ModelRunner | undefined, writer: TrajectoryWriter): Promise<void> {
  const { cfg, hooks, runner, state } = ctx;
  const g = cfg.grpo;
  const ts = performance.now();
  const policy = new BuiltinPolicy(runner, ctx.tok, {
    sampling: { temperature: g.temperature },
    seed: mixSeed(cfg.seed, s, 'grpo'),
    spec: `builtin:${ctx.runId}@${s}`,
  });
  const dec0 = { ...runner.decodeStats };
  hooks.onStage?.('sample', 'grpo', s + 1);
  const sampled = await sampleGroups(ctx, policy, s, writer).finally(() => policy.resetCache());
  const decSteps = runner.decodeStats.steps - dec0.steps;
  const tr = performance.now();
  hooks.onStage?.('update', 'grpo', s + 1);
  const m = sampled.groups.length
    ? await grpoStep(
        runner,
        ctx.opt,
        sampled.groups,
        {
          lossType: g.loss,
          scaleRewards: g.scaleRewards,
          epsLow: g.epsLow,
          epsHigh: g.epsHigh,
          beta: g.beta,
          numIterations: g.numIterations,
          maxGradNorm: g.maxGradNorm,
          lr: g.lr,
          temperature: g.temperature,
          entropyCoef: g.entropyCoef,
          entropyTarget: g.entropyTarget,
          maxCompletionLen: cfg.rewards.maxLen,
          entropyControl: g.entropyControl,
          covFraction: g.covFraction,
          covLow: g.covLow,
          covHigh: g.covHigh,
          klCovCoef: g.klCovCoef,
          covSeed: mixSeed(cfg.seed, s, 'cov'),
        },
        ref,
      ).catch((err) => {
        throw ctx.diverged(err, `GRPO step ${s + 1}`);
      })
    : { ...NO_GRPO_UPDATE };
  const te = performance.now();
  state.grpo.tokens += m.tokens;
  state.grpo.seqTokens += m.seqTokens;
  state.grpo.rolloutTokens += sampled.episodeTokens;
  ctx.record({
    phase: 'grpo',
    step: s + 1,
    reward: mean(sampled.rewards),
    success: mean(sampled.correct),
    // each reward component's mean, unweighted: `correct`, the shaping terms, `env.<name>`
    components: meanComponents(sampled.components),
    groups: sampled.groups.length,
    droppedGroups: sampled.dropped,
    episodes: sampled.episodes,
    // turns ended at a `<tool_call>` inside an open call (a repetition the model is drifting into)
    nestedCallStops: policy.nestedCallStops,
    // mean rows of a batched decoding step (concurrent episodes decode together on a device)
    decodeBatchRows: decSteps > 0 ? (runner.decodeStats.rows - dec0.rows) / decSteps : 0,
    ...m,
    rolloutMs: tr - ts,
    updateMs: te - tr,
    sampledTokensPerSecond: sampled.genTokens / ((tr - ts) / 1000),
    tokensPerSecond: m.seqTokens / Math.max(1e-3, (te - tr) / 1000),
  });
}

/** GRPO from the run's current step; throws RunInterruptedError after the step a stop request came in. */
export async function runGrpo(ctx: RunContext): Promise<void> {
  const { cfg, hooks, state } = ctx;
  const g = cfg.grpo;
  const first = grpoFirstStep(ctx);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const msBefore = state.grpo.ms;
  const cpuMsBefore = state.grpo.cpuMs;
  const ref = await klReference(ctx);
  const writer = new TrajectoryWriter(join(ctx.dir, 'trajectories', 'grpo.jsonl'));
  try {
    for (let s = first; s < g.steps && !ctx.stopRequested; s++) {
      await grpoStepOf(ctx, s, ref, writer);
      // an evaluation belongs to the step before it: checkpointed with it, redone with it
      if (cfg.evalEvery > 0 && (s + 1) % cfg.evalEvery === 0 && s + 1 < g.steps) {
        hooks.onStage?.('evaluate', 'grpo', s + 1);
        // with a validation pool (an RL query set), periodic evaluations select checkpoints and never see a test split
        const val = ctx.valIds.length > 0;
        const e = await evaluateRunModel(ctx, val ? ctx.valIds : ctx.testIds, `step${s + 1}`);
        ctx.record({
          phase: 'eval',
          of: 'grpo',
          step: s + 1,
          split: val ? 'val' : 'test',
          success: e.success,
          validity: e.validity,
          byMode: e.byMode,
        });
      }
      state.grpo.ms = msBefore + (performance.now() - t0);
      state.grpo.cpuMs = cpuMsBefore + cpuMsSince(c0);
      if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === g.steps || ctx.stopRequested) {
        hooks.onStage?.('checkpoint', 'grpo', s + 1);
        await ctx.checkpoint('last', { phase: 'grpo', step: s + 1 }, true);
      }
    }
  } finally {
    writer.close();
    ref?.dispose();
  }
  if (ctx.stopRequested && first < g.steps) throw ctx.stopped();
}
