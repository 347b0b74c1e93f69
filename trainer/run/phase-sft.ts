/**
 * The cold-start phase: oracle teacher episodes in both modes, filtered (verified-correct, a tool
 * call, no repetition) into `trajectories/sft-data.jsonl`, then SFT steps over them in a seeded
 * order, with cold-start probes on train tasks outside that data that may end SFT early
 * (`sft.stopAtSuccess`). A resumed run reads the data back instead of rebuilding it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Trajectory } from '../../agent/index.js';
import { readTrajectories, TrajectoryWriter } from '../../agent/trajectory/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { episodeSamples, type TokenSample } from '../batch.js';
import { filterColdStart, sftStep } from '../sft/index.js';
import { RunConfigError } from './config.js';
import { cpuMsSince, type RunContext } from './context.js';
import { teacherEpisodes } from './episodes.js';
import { evaluateRunModel } from './evaluate.js';
import { headlineMode, probeTasks } from './tasks.js';

const SFT_DATA = join('trajectories', 'sft-data.jsonl');

/** Whether the run still has SFT steps to take. */
export function sftPending(ctx: RunContext): boolean {
  return ctx.state.phase === 'sft' && ctx.sftEnd > ctx.state.step;
}

/** Who plays the cold-start episodes: the oracle (`teacherEpisodes`) or a distillation run's teacher. */
export type ColdStartSource = (ctx: RunContext, taskIds: readonly string[], mode: 'think' | 'no_think') => Promise<Trajectory[]>;

const oracleSource: ColdStartSource = (ctx, ids, mode) => teacherEpisodes(ctx, ctx.tok, ids, mode);

/**
 * The cold-start samples: read back on a resume, else built from the source's episodes (the oracle,
 * or a distillation teacher: the off-policy data) and recorded. The tokens of the episodes count as
 * the teacher's forward passes (`state.sft.teacherTokens`; the caller says whether it has any).
 */
export async function coldStartSamples(
  ctx: RunContext,
  source: ColdStartSource = oracleSource,
  counts = false,
): Promise<TokenSample[]> {
  const path = join(ctx.dir, SFT_DATA);
  // Every context of an episode is a sequence of its own for SFT (the loss is a token mean).
  const tokens = (ts: ReturnType<typeof readTrajectories>) => ts.flatMap((t) => episodeSamples(t) ?? []);
  let samples: TokenSample[];
  if (ctx.resumed && existsSync(path)) {
    samples = tokens(readTrajectories(path, { onBadLine: (e) => ctx.warn(e.message) }));
  } else {
    ctx.note('building cold-start data from oracle episodes');
    const n = Math.min(ctx.cfg.sft.episodes, ctx.trainIds.length);
    const nThink = Math.round(n * ctx.cfg.sft.thinkFraction);
    const ids = ctx.trainIds.slice(0, n);
    const eps = [...(await source(ctx, ids.slice(0, nThink), 'think')), ...(await source(ctx, ids.slice(nThink), 'no_think'))];
    if (counts) ctx.state.sft.teacherTokens = eps.reduce((s, t) => s + (t.tokens?.length ?? 0), 0);
    const { kept, dropped } = filterColdStart(eps);
    const w = new TrajectoryWriter(path);
    for (const t of kept) w.write(t);
    w.close();
    ctx.state.sft.coldStart = { kept: kept.length, dropped: dropped as Record<string, number> };
    samples = tokens(kept);
  }
  if (samples.length === 0)
    throw new RunConfigError(
      source === oracleSource
        ? 'no cold-start episode survived the filter (verified-correct, tool call, no repetition): check the env oracle with `gym rollout --policy oracle`'
        : `none of the teacher's episodes survived the filter (verified-correct, tool call, no repetition; dropped: ${JSON.stringify(ctx.state.sft.coldStart?.dropped ?? {})}): check the teacher with \`gym eval --policy builtin:${ctx.cfg.distill.teacher}\`, or raise sft.episodes`,
    );
  return samples;
}

/** Whether SFT step `s` (from 1) ends in a cold-start probe. */
function probesAt(ctx: RunContext, s: number, probeIds: readonly string[]): boolean {
  const c = ctx.cfg.sft;
  return c.stopAtSuccess > 0 && s >= c.probeFrom && s % c.probeEvery === 0 && s < c.steps && probeIds.length > 0;
}

/**
 * SFT from the run's current step to its end (or a stop request), each step checkpointed every
 * `checkpointEvery` steps, at the last, and when a stop was requested. Records the phase's time once
 * it ends.
 */
export async function runSft(ctx: RunContext, samples: readonly TokenSample[]): Promise<void> {
  const { cfg, hooks, state } = ctx;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const order = new Rng(mixSeed(cfg.seed, 'sft-order')).shuffle(samples.map((_, i) => i));
  const probeIds = probeTasks(cfg, ctx.trainIds);
  const first = ctx.start.phase === 'sft' ? ctx.start.step : ctx.sftEnd;
  for (let s = first; s < ctx.sftEnd && !ctx.stopRequested; s++) {
    const ts = performance.now();
    const batch = Array.from(
      { length: Math.min(cfg.sft.batchSize, samples.length) },
      (_, i) => samples[order[(s * cfg.sft.batchSize + i) % order.length]],
    );
    hooks.onStage?.('update', 'sft', s + 1);
    const lr = cfg.sft.lr * Math.min(1, (s + 1) / Math.max(1, cfg.sft.warmupSteps));
    const m = await sftStep(ctx.runner, ctx.opt, batch, { lr, maxGradNorm: cfg.grpo.maxGradNorm }).catch((err) => {
      throw ctx.diverged(err, `SFT step ${s + 1}`);
    });
    state.sft.tokens += m.tokens;
    state.sft.seqTokens += m.seqTokens;
    ctx.record({
      phase: 'sft',
      step: s + 1,
      loss: m.loss,
      lr,
      gradNorm: m.gradNorm,
      tokens: m.tokens,
      seqTokens: m.seqTokens,
      tokensPerSecond: m.seqTokens / ((performance.now() - ts) / 1000),
    });
    if (probesAt(ctx, s + 1, probeIds)) {
      hooks.onStage?.('evaluate', 'sft', s + 1);
      const p = await evaluateRunModel(ctx, probeIds, `probe${s + 1}`, [headlineMode(cfg)]);
      ctx.record({ phase: 'probe', step: s + 1, success: p.success, validity: p.validity });
      if (p.success >= cfg.sft.stopAtSuccess) {
        state.sft.stoppedAt = s + 1;
        ctx.note(`cold start ends at SFT step ${s + 1}: probe success ${p.success.toFixed(3)} >= ${cfg.sft.stopAtSuccess}`);
      }
    }
    // the off-policy phase of a distillation is a training phase of its own: held-out points on its curve too
    if (cfg.distill.teacher && cfg.evalEvery > 0 && (s + 1) % cfg.evalEvery === 0 && s + 1 < ctx.sftEnd) {
      hooks.onStage?.('evaluate', 'sft', s + 1);
      const e = await evaluateRunModel(ctx, ctx.testIds, `sft${s + 1}`);
      ctx.record({ phase: 'eval', of: 'sft', step: s + 1, success: e.success, validity: e.validity, byMode: e.byMode });
    }
    if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === ctx.sftEnd || ctx.stopRequested) {
      hooks.onStage?.('checkpoint', 'sft', s + 1);
      await ctx.checkpoint('last', { phase: 'sft', step: s + 1 }, true);
    }
  }
  if (ctx.stopRequested) throw ctx.stopped();
  state.sft.ms ??= performance.now() - t0;
  state.sft.cpuMs ??= cpuMsSince(c0);
}
