/**
 * One training run, end to end: task pools, tokenizer (byte-level + merges learned from the
 * template text of oracle episodes), cold-start data (oracle, filtered), SFT, held-out evaluation,
 * GRPO with the built-in policy, evaluation again, and the run folder:
 *
 *   runs/<id>/config.json            the resolved config (a resumed run reads it back)
 *   runs/<id>/metrics.jsonl          one line per optimiser step (and per evaluation)
 *   runs/<id>/checkpoints/{last,sft,final}/   safetensors + config JSON (+ optimizer for `last`;
 *                                    `last.prev/` is the `last` before it: a resume falls back
 *                                    to it, with a warning, from a damaged `last`, set aside as
 *                                    `last.damaged/`)
 *   runs/<id>/trajectories/*.jsonl   cold-start data, GRPO rollouts, evaluation episodes
 *   runs/<id>/summary.json           before/after held-out success, wall time, tokens, throughput
 *
 * A step (an SFT or GRPO update with its episodes, metrics line and any evaluation after it) counts
 * once the `last` checkpoint written after it is on disk: that checkpoint holds the phase, the step,
 * the optimizer moments, the run state (the GRPO task cursor and skip set) and the length of every
 * append-only run file (`files.ts`). Sampling seeds are functions of (seed, step), so a resumed run
 * cuts the files back to those lengths and continues exactly as an uninterrupted one would, bit for
 * bit, wherever the killed or stopped one was. A stop request (`hooks.signal`) lets the step under
 * way finish, writes `last`, and throws RunInterruptedError. The episodes a run samples (teacher
 * data, evaluations, probes, GRPO groups) are in `episodes.ts`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTrajectories, TrajectoryWriter } from '../../agent/trajectory/index.js';
import type { EnvDefinition } from '../../envs/core/types.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { type TokenSample, toSample } from '../batch.js';
import { mean } from '../grpo/advantages.js';
import { frozenReference, grpoStep, NonFiniteError } from '../grpo/step.js';
import {
  BuiltinPolicy,
  loadCheckpoint,
  loadLatestCheckpoint,
  ModelRunner,
  presetConfig,
  saveCheckpoint,
  Transformer,
  useDevice,
} from '../model/index.js';
import { AdamW } from '../optim/index.js';
import { filterColdStart, sftStep } from '../sft/sft.js';
import type { ByteTokenizer } from '../tokenizer/index.js';
import { type RunConfig, RunConfigError, RunConfigSchema } from './config.js';
import { buildTokenizer, type Ctx, headlineMode, probeTasks, runEval, sampleGroups, teacherEpisodes } from './episodes.js';
import {
  appendJsonLine,
  clearRunFiles,
  commitRunFiles,
  METRICS_FILE,
  type RunFiles,
  restoreRunFiles,
  trimMetricsToStep,
} from './files.js';
import { type EvalResult, selectTasks } from './tasks.js';

/** The run was stopped (signal) after writing its last checkpoint; `--resume` continues it. */
export class RunInterruptedError extends Error {
  override name = 'RunInterruptedError';
}

/** Where a step is: what `RunHooks.onStage` reports before each part of it. */
export type StepStage = 'sample' | 'update' | 'evaluate' | 'checkpoint';

export interface StepRecord {
  /** `probe`: a cold-start probe on train tasks during SFT (`sft.stopAtSuccess`). */
  phase: 'sft' | 'grpo' | 'eval' | 'probe';
  step: number;
  [k: string]: unknown;
}

export interface RunSummary {
  runId: string;
  env: string;
  model: string;
  /** Where the model ran (`ModelRunner.where`): the device and backend. */
  device: string;
  params: number;
  vocabSize: number;
  before: EvalResult;
  after: EvalResult;
  /** after.success - before.success (absolute, headline mode). */
  improvement: number;
  coldStart: { kept: number; dropped: Record<string, number> };
  sftSteps: number;
  grpoSteps: number;
  /** Masked (policy) tokens that carried loss, and all tokens run through forward + backward. */
  tokensTrained: { sft: number; grpo: number; sftSequence: number; grpoSequence: number };
  wallMs: { total: number; sft: number; grpo: number; eval: number };
  /** Process CPU time (all threads) of each phase: comparable across loaded and idle machines. */
  cpuMs: { sft: number; grpo: number };
  /** Sequence tokens through forward + backward per second of SFT + GRPO wall time (rollouts included). */
  tokensPerSecond: number;
  checkpoints: { sft: string; final: string };
}

export interface RunHooks {
  /** Every metrics record as it is written. */
  onRecord?(r: StepRecord): void;
  /** Phase changes and notes (`building cold-start data`, ...). */
  onNote?(text: string): void;
  /** Total optimiser steps, then each step's record. */
  onStart?(totalSteps: number, doneSteps: number): void;
  /** The run folder, as soon as it exists (what `--resume` takes). */
  onDir?(dir: string): void;
  /** Each part of a step as it begins (step counts from 1, as in metrics). */
  onStage?(stage: StepStage, phase: 'sft' | 'grpo', step: number): void;
  /** Things that went wrong but were handled (a damaged checkpoint, a torn line); default: a process warning. */
  onWarning?(text: string): void;
  /**
   * Stop request: the step under way finishes (its update, metrics and any evaluation), the `last`
   * checkpoint is written, and `train` throws RunInterruptedError. Nothing of a step is left half done.
   */
  signal?: AbortSignal;
}

function writeJson(path: string, data: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 1)}\n`);
  // rename is atomic on one filesystem: a reader sees the old or the new file
  renameSync(tmp, path);
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function appendMetrics(ctx: Ctx, r: StepRecord): void {
  appendJsonLine(join(ctx.dir, METRICS_FILE), { time: new Date().toISOString(), ...r });
  ctx.hooks.onRecord?.(r);
}

function stopped(dir: string, kept: { phase: string; step: number } | undefined): RunInterruptedError {
  return new RunInterruptedError(
    kept
      ? `stopped with ${kept.phase} step ${kept.step} checkpointed; continue with \`gym train --resume ${dir}\``
      : `stopped before the first checkpoint; \`gym train --resume ${dir}\` starts it over`,
  );
}

/** A NonFiniteError of a step, with where it happened and what the run kept. */
function diverged(err: unknown, where: string, dir: string, kept: { phase: string; step: number } | undefined): unknown {
  if (!(err instanceof NonFiniteError)) return err;
  const last = kept
    ? `${join(dir, 'checkpoints', 'last')} (${kept.phase} step ${kept.step}) is the last good checkpoint`
    : 'no checkpoint was written yet';
  return new NonFiniteError(
    `${where}: ${err.message}. Training stopped; ${last}: to go on, set a lower rate in ${join(dir, 'config.json')} and run \`gym train --resume ${dir}\`, or start a new run with a lower --lr`,
  );
}

export async function train(
  def: EnvDefinition,
  cfgIn: RunConfig,
  opts: { resume?: string; hooks?: RunHooks; runId?: string } = {},
): Promise<{ dir: string; summary: RunSummary }> {
  const t0 = performance.now();
  const hooks = opts.hooks ?? {};
  const warn = (text: string) => (hooks.onWarning ? hooks.onWarning(text) : process.emitWarning(text));
  let cfg = cfgIn;
  let dir: string;
  if (opts.resume) {
    dir = opts.resume;
    const p = join(dir, 'config.json');
    if (!existsSync(p))
      throw new RunConfigError(`cannot resume ${dir}: it has no config.json (pass a runs/<id> folder written by \`gym train\`)`);
    const r = RunConfigSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
    if (!r.success) throw new RunConfigError(`cannot resume ${dir}: its config.json is invalid (${r.error.issues[0]?.message})`);
    cfg = r.data;
  } else {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    dir = join(cfg.out, opts.runId ?? `${cfg.env}-${cfg.model}-${stamp}`);
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, 'config.json'), cfg);
  }
  const runId = dir.split('/').filter(Boolean).pop() as string;
  hooks.onDir?.(dir);
  mkdirSync(join(dir, 'trajectories'), { recursive: true });
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const ctx: Ctx = { dir, cfg, def, runId, hooks, state: {} };
  const note = (s: string) => hooks.onNote?.(s);

  const trainIds = selectTasks(def, {
    split: 'train',
    prefix: cfg.families,
    maxDifficulty: cfg.maxDifficulty,
    count: cfg.trainTasks,
    seed: cfg.seed,
  });
  const testIds = selectTasks(def, {
    split: 'test',
    prefix: cfg.families,
    maxDifficulty: cfg.maxDifficulty,
    count: cfg.testTasks,
    seed: cfg.seed + 1,
  });

  // --- model, tokenizer, optimizer (fresh or from `last`)
  const lastDir = join(dir, 'checkpoints', 'last');
  let model: Transformer;
  let tok: ByteTokenizer;
  let opt: AdamW;
  let phase = 'sft';
  let step = 0;
  let state: Record<string, unknown> = {};
  const ck = opts.resume ? loadLatestCheckpoint(lastDir, { withOptimizer: true, onWarning: warn }) : undefined;
  /** The phase and step of the `last` checkpoint on disk (what a resume would continue from). */
  let committed: { phase: string; step: number } | undefined;
  if (ck) {
    model = ck.model;
    tok = ck.tokenizer;
    opt = ck.optimizer ?? new AdamW(model.params, model.shapes);
    phase = ck.meta.phase;
    step = ck.meta.step;
    state = ck.meta.state ?? {};
    committed = { phase, step };
    if (ck.dir !== lastDir && existsSync(lastDir)) {
      // set the damaged one aside: the next save would otherwise rotate it into `last.prev`, over the good one
      rmSync(`${lastDir}.damaged`, { recursive: true, force: true });
      renameSync(lastDir, `${lastDir}.damaged`);
      warn(`moved the damaged checkpoint to ${lastDir}.damaged`);
    }
    const files = state.runFiles as RunFiles | undefined;
    if (files) {
      const cut = restoreRunFiles(dir, files, warn);
      if (cut.length) note(`dropped what was written after the checkpoint: ${cut.join(', ')}`);
    } else trimMetricsToStep(dir, phase, step, warn);
    note(`resuming ${dir} at ${phase} step ${step}`);
  } else {
    // a new run, or one stopped before its first checkpoint: whatever it wrote is redone
    if (opts.resume) note(`${dir} has no checkpoint yet: starting it over`);
    clearRunFiles(dir);
    // checkpoints of an earlier run under this id must not pass for this one's
    rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
    mkdirSync(join(dir, 'checkpoints'));
    note('learning the tokenizer merges from template text');
    tok = await buildTokenizer(ctx, trainIds);
    model = new Transformer({ ...presetConfig(cfg.model, tok.vocabSize) }, undefined, cfg.seed);
    opt = new AdamW(model.params, model.shapes);
  }
  ctx.state = state;
  /** SFT's last step: `sft.steps`, or the step a cold-start probe ended it at. */
  const sftEnd = () => (state.sftStoppedAt as number | undefined) ?? cfg.sft.steps;
  if (cfg.device === 'host') await useDevice('cpu');
  const runner = await ModelRunner.create(model, cfg.device);
  try {
    note(`model runs on: ${runner.where}`);
    /** Writes a checkpoint; `last` commits the steps before it (with the run files' lengths). */
    const checkpoint = (name: string, meta: { phase: string; step: number }, withOpt: boolean) => {
      state.runFiles = commitRunFiles(dir);
      saveCheckpoint(
        join(dir, 'checkpoints', name),
        { model, tokenizer: tok, meta: { ...meta, state }, optimizer: withOpt ? opt : undefined },
        { keepPrevious: name === 'last' },
      );
      if (name === 'last') committed = meta;
    };

    // --- cold-start data
    const sftPath = join(dir, 'trajectories', 'sft-data.jsonl');
    let coldStart: { kept: number; dropped: Record<string, number> } = (state.coldStart as typeof coldStart) ?? {
      kept: 0,
      dropped: {},
    };
    let sftSamples: TokenSample[] = [];
    if (phase === 'sft' && sftEnd() > step) {
      if (ck && existsSync(sftPath))
        sftSamples = readTrajectories(sftPath, { onBadLine: (e) => warn(e.message) })
          .map(toSample)
          .filter((s): s is TokenSample => s !== null);
      else {
        note('building cold-start data from oracle episodes');
        const n = Math.min(cfg.sft.episodes, trainIds.length);
        const nThink = Math.round(n * cfg.sft.thinkFraction);
        const ids = trainIds.slice(0, n);
        const eps = [
          ...(await teacherEpisodes(ctx, tok, ids.slice(0, nThink), 'think')),
          ...(await teacherEpisodes(ctx, tok, ids.slice(nThink), 'no_think')),
        ];
        const { kept, dropped } = filterColdStart(eps);
        const w = new TrajectoryWriter(sftPath);
        for (const t of kept) w.write(t);
        w.close();
        coldStart = { kept: kept.length, dropped: dropped as Record<string, number> };
        state.coldStart = coldStart;
        sftSamples = kept.map(toSample).filter((s): s is TokenSample => s !== null);
      }
      if (sftSamples.length === 0)
        throw new RunConfigError(
          'no cold-start episode survived the filter (verified-correct, tool call, no repetition): check the env oracle with `gym rollout --policy oracle`',
        );
    }
    const grpoStart = phase === 'grpo' ? step : phase === 'done' ? cfg.grpo.steps : 0;
    const sftStart = phase === 'sft' ? step : sftEnd();
    hooks.onStart?.(cfg.sft.steps + cfg.grpo.steps, phase === 'sft' ? step : cfg.sft.steps + grpoStart);

    // --- SFT
    const tSft = performance.now();
    const cSft = process.cpuUsage();
    let sftTokens = (state.sftTokens as number) ?? 0;
    let sftSeqTokens = (state.sftSeqTokens as number) ?? 0;
    const order = new Rng(mixSeed(cfg.seed, 'sft-order')).shuffle(sftSamples.map((_, i) => i));
    const probeIds = probeTasks(cfg, trainIds);
    for (let s = sftStart; s < sftEnd() && !hooks.signal?.aborted; s++) {
      const ts = performance.now();
      const batch = Array.from(
        { length: Math.min(cfg.sft.batchSize, sftSamples.length) },
        (_, i) => sftSamples[order[(s * cfg.sft.batchSize + i) % order.length]],
      );
      hooks.onStage?.('update', 'sft', s + 1);
      const m = await sftStep(runner, opt, batch, { lr: cfg.sft.lr, maxGradNorm: cfg.grpo.maxGradNorm }).catch((err) => {
        throw diverged(err, `SFT step ${s + 1}`, dir, committed);
      });
      sftTokens += m.tokens;
      sftSeqTokens += m.seqTokens;
      state.sftSeqTokens = sftSeqTokens;
      state.sftTokens = sftTokens;
      appendMetrics(ctx, {
        phase: 'sft',
        step: s + 1,
        loss: m.loss,
        gradNorm: m.gradNorm,
        tokens: m.tokens,
        seqTokens: m.seqTokens,
        tokensPerSecond: m.seqTokens / ((performance.now() - ts) / 1000),
      });
      const c = cfg.sft;
      if (c.stopAtSuccess > 0 && s + 1 >= c.probeFrom && (s + 1) % c.probeEvery === 0 && s + 1 < c.steps && probeIds.length) {
        hooks.onStage?.('evaluate', 'sft', s + 1);
        const p = await runEval(ctx, runner, tok, probeIds, `probe${s + 1}`, [headlineMode(cfg)]);
        appendMetrics(ctx, { phase: 'probe', step: s + 1, success: p.success, validity: p.validity });
        if (p.success >= c.stopAtSuccess) {
          state.sftStoppedAt = s + 1;
          note(`cold start ends at SFT step ${s + 1}: probe success ${p.success.toFixed(3)} >= ${c.stopAtSuccess}`);
        }
      }
      if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === sftEnd() || hooks.signal?.aborted) {
        hooks.onStage?.('checkpoint', 'sft', s + 1);
        checkpoint('last', { phase: 'sft', step: s + 1 }, true);
      }
    }
    if (hooks.signal?.aborted) throw stopped(dir, committed);
    const sftMs = (state.sftMs as number) ?? performance.now() - tSft;
    state.sftMs = sftMs;
    const sftCpuMs = (state.sftCpuMs as number) ?? cpuMsSince(cSft);
    state.sftCpuMs = sftCpuMs;

    // --- evaluation after cold start
    const tEval = performance.now();
    let evalMs = (state.evalMs as number) ?? 0;
    let before = state.before as EvalResult | undefined;
    if (!before) {
      checkpoint('sft', { phase: 'sft', step: sftEnd() }, true);
      note('evaluating the cold-start model on the held-out test split');
      before = await runEval(ctx, runner, tok, testIds, 'before');
      state.before = before;
      evalMs += performance.now() - tEval;
      state.evalMs = evalMs;
      appendMetrics(ctx, { phase: 'eval', step: 0, success: before.success, validity: before.validity, byMode: before.byMode });
      checkpoint('last', { phase: 'grpo', step: 0 }, true);
    }

    // --- GRPO
    const tGrpo = performance.now();
    const cGrpo = process.cpuUsage();
    const grpoCpuPrev = (state.grpoCpuMs as number) ?? 0;
    let grpoTokens = (state.grpoTokens as number) ?? 0;
    let grpoSeqTokens = (state.grpoSeqTokens as number) ?? 0;
    let grpoMsPrev = (state.grpoMs as number) ?? 0;
    // the KL reference is the cold-start model: a run resumed during GRPO reads it back from `sft`
    const ref =
      cfg.grpo.beta > 0 && grpoStart < cfg.grpo.steps
        ? ck && phase === 'grpo'
          ? await ModelRunner.create(loadCheckpoint(join(dir, 'checkpoints', 'sft')).model, runner.device?.dev ?? 'host')
          : frozenReference(runner)
        : undefined;
    const rolloutWriter = new TrajectoryWriter(join(dir, 'trajectories', 'grpo.jsonl'));
    const g = cfg.grpo;
    try {
      for (let s = grpoStart; s < g.steps && !hooks.signal?.aborted; s++) {
        const ts = performance.now();
        const policy = new BuiltinPolicy(runner, tok, {
          sampling: { temperature: g.temperature },
          seed: mixSeed(cfg.seed, s, 'grpo'),
          spec: `builtin:${runId}@${s}`,
        });
        const dec0 = { ...runner.decodeStats };
        hooks.onStage?.('sample', 'grpo', s + 1);
        const sampled = await sampleGroups(ctx, policy, trainIds, s, rolloutWriter).finally(() => policy.resetCache());
        const decSteps = runner.decodeStats.steps - dec0.steps;
        const tr = performance.now();
        hooks.onStage?.('update', 'grpo', s + 1);
        const m = sampled.groups.length
          ? await grpoStep(
              runner,
              opt,
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
              },
              ref,
            ).catch((err) => {
              throw diverged(err, `GRPO step ${s + 1}`, dir, committed);
            })
          : { loss: 0, kl: 0, entropy: 0, clipFrac: 0, gradNorm: 0, tokens: 0, seqTokens: 0, sequences: 0, advAbsMean: 0 };
        const te = performance.now();
        grpoTokens += m.tokens;
        grpoSeqTokens += m.seqTokens;
        state.grpoSeqTokens = grpoSeqTokens;
        state.grpoTokens = grpoTokens;
        const comps = Object.fromEntries(Object.entries(sampled.components).map(([k, v]) => [k, mean(v)]));
        appendMetrics(ctx, {
          phase: 'grpo',
          step: s + 1,
          reward: mean(sampled.rewards),
          success: mean(sampled.correct),
          components: comps,
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
        // an evaluation belongs to the step before it: checkpointed with it, redone with it
        if (cfg.evalEvery > 0 && (s + 1) % cfg.evalEvery === 0 && s + 1 < g.steps) {
          hooks.onStage?.('evaluate', 'grpo', s + 1);
          const e = await runEval(ctx, runner, tok, testIds, `step${s + 1}`);
          appendMetrics(ctx, { phase: 'eval', step: s + 1, success: e.success, validity: e.validity, byMode: e.byMode });
        }
        state.grpoMs = grpoMsPrev + (performance.now() - tGrpo);
        state.grpoCpuMs = grpoCpuPrev + cpuMsSince(cGrpo);
        if ((s + 1) % cfg.checkpointEvery === 0 || s + 1 === g.steps || hooks.signal?.aborted) {
          hooks.onStage?.('checkpoint', 'grpo', s + 1);
          checkpoint('last', { phase: 'grpo', step: s + 1 }, true);
        }
      }
    } finally {
      rolloutWriter.close();
      ref?.dispose();
    }
    if (hooks.signal?.aborted && grpoStart < g.steps) throw stopped(dir, committed);
    const grpoMs = (state.grpoMs as number) ?? performance.now() - tGrpo;
    const grpoCpuMs = (state.grpoCpuMs as number) ?? 0;
    grpoMsPrev = grpoMs;

    // --- final evaluation and summary (a run resumed after its `done` checkpoint only rewrites the summary)
    let after = state.after as EvalResult | undefined;
    if (!after) {
      const tAfter = performance.now();
      note('evaluating the trained model on the held-out test split');
      after = await runEval(ctx, runner, tok, testIds, 'after');
      evalMs += performance.now() - tAfter;
      state.after = after;
      state.evalMs = evalMs;
      appendMetrics(ctx, {
        phase: 'eval',
        step: g.steps,
        success: after.success,
        validity: after.validity,
        byMode: after.byMode,
      });
      checkpoint('final', { phase: 'done', step: g.steps }, false);
      checkpoint('last', { phase: 'done', step: g.steps }, true);
    }
    const totalMs = performance.now() - t0 + ((state.priorMs as number) ?? 0);
    const summary: RunSummary = {
      runId,
      env: cfg.env,
      model: cfg.model,
      device: runner.where,
      params: model.numParams,
      vocabSize: tok.vocabSize,
      before,
      after,
      improvement: after.success - before.success,
      coldStart,
      sftSteps: sftEnd(),
      grpoSteps: g.steps,
      tokensTrained: { sft: sftTokens, grpo: grpoTokens, sftSequence: sftSeqTokens, grpoSequence: grpoSeqTokens },
      wallMs: { total: totalMs, sft: sftMs, grpo: grpoMs, eval: evalMs },
      cpuMs: { sft: sftCpuMs, grpo: grpoCpuMs },
      tokensPerSecond: (sftSeqTokens + grpoSeqTokens) / Math.max(1e-3, (sftMs + grpoMs) / 1000),
      checkpoints: { sft: join(dir, 'checkpoints', 'sft'), final: join(dir, 'checkpoints', 'final') },
    };
    writeJson(join(dir, 'summary.json'), summary);
    return { dir, summary };
  } finally {
    runner.dispose();
  }
}
