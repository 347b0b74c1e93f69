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
 *   runs/<id>/report.html            curves of the run (`report.ts`; `gym report` rebuilds and compares)
 *   runs/<id>/rl-tasks.json          the RL query set, with `rl.families` (`phase-rl.ts`)
 *
 * The run is a sequence of phases over one `RunContext` (`context.ts`): cold start (`phase-sft.ts`),
 * the cold-start evaluation (`phase-eval.ts`), RL (`phase-grpo.ts`), on-policy distillation when the
 * run has a teacher (`phase-distill.ts`; its cold start is then the off-policy phase: SFT on the
 * teacher's verified episodes, `teacher.ts`), the final evaluation. Each
 * phase reads and writes its slice of the typed run state (`state.ts`) and finds from it where to
 * begin, so a phase added later (distillation) is one more call here and one more slice there.
 *
 * A step (an SFT or GRPO update with its episodes, metrics line and any evaluation after it) counts
 * once the `last` checkpoint written after it is on disk: that checkpoint holds the phase, the step,
 * the optimizer moments, the run state and the length of every append-only run file (`files.ts`).
 * Sampling seeds are functions of (seed, step), so a resumed run cuts the files back to those
 * lengths and continues exactly as an uninterrupted one would, bit for bit, wherever the killed or
 * stopped one was. A stop request (`hooks.signal`) lets the step under way finish, writes `last`,
 * and throws RunInterruptedError.
 */
import { join } from 'node:path';
import type { EnvDefinition } from '../../envs/core/index.js';
import type { TokenSample } from '../batch.js';
import { ADAPTER_DIR, ModelRunner } from '../model/index.js';
import { runCompute, trainableOf } from './compute.js';
import { type LoraConfig, type RunConfig, RunConfigError } from './config.js';
import { RunContext, type RunInfo } from './context.js';
import { attachRunLora, describeLora } from './lora.js';
import { openRunFolder, restoreOrInit, writeJson } from './open.js';
import { distillFirstStep, runDistill } from './phase-distill.js';
import { evaluateColdStart, evaluateFinal } from './phase-eval.js';
import { grpoFirstStep, runGrpo } from './phase-grpo.js';
import { selectRlTasks } from './phase-rl.js';
import { coldStartSamples, runSft, sftPending } from './phase-sft.js';
import { writeTrainingReport } from './report.js';
import { runTaskPools } from './tasks.js';
import { checkSameTokenizer, openTeacher, type Teacher, teacherPlays } from './teacher.js';
import type { RunHooks, RunSummary } from './types.js';

/** The summary of a finished run (`summary.json`). */
function summarize(ctx: RunContext, teacher?: Teacher): RunSummary {
  const { cfg, state } = ctx;
  const { before, after } = state.eval;
  if (!before || !after) throw new Error('a run is summarized once both held-out evaluations are in its state');
  const sftMs = state.sft.ms ?? 0;
  const grpoMs = state.grpo.ms;
  return {
    runId: ctx.runId,
    env: cfg.env,
    model: cfg.model,
    device: ctx.runner.where,
    params: ctx.model.numParams,
    vocabSize: ctx.tok.vocabSize,
    before,
    after,
    improvement: after.success - before.success,
    coldStart: state.sft.coldStart ?? { kept: 0, dropped: {} },
    sftSteps: ctx.sftEnd,
    grpoSteps: cfg.grpo.steps,
    tokensTrained: {
      sft: state.sft.tokens,
      grpo: state.grpo.tokens,
      sftSequence: state.sft.seqTokens,
      grpoSequence: state.grpo.seqTokens,
    },
    wallMs: { total: ctx.elapsedMs(), sft: sftMs, grpo: grpoMs, eval: state.eval.ms },
    cpuMs: { sft: state.sft.cpuMs ?? 0, grpo: state.grpo.cpuMs },
    tokensPerSecond: (state.sft.seqTokens + state.grpo.seqTokens) / Math.max(1e-3, (sftMs + grpoMs) / 1000),
    checkpoints: { sft: join(ctx.dir, 'checkpoints', 'sft'), final: join(ctx.dir, 'checkpoints', 'final') },
    compute: runCompute(ctx, teacher?.params ?? 0),
    ...(ctx.loraBase &&
      ctx.runner.device?.lora && {
        lora: {
          rank: ctx.runner.device.lora.opts.r,
          alpha: ctx.runner.device.lora.opts.alpha,
          targets: [...ctx.runner.device.lora.opts.targets],
          trainableParams: trainableOf(ctx.runner.device.lora.shapes),
          base: ctx.loraBase,
          adapter: join(ctx.dir, 'checkpoints', 'final', ADAPTER_DIR),
        },
      }),
    ...(teacher && {
      distill: {
        teacher: teacher.dir,
        teacherParams: teacher.params,
        loss: cfg.distill.loss,
        steps: cfg.distill.steps,
        tokens: state.distill.tokens,
        sequenceTokens: state.distill.seqTokens,
      },
    }),
  };
}

export async function train(
  def: EnvDefinition,
  cfgIn: RunConfig,
  opts: { resume?: string; hooks?: RunHooks; runId?: string; lora?: Partial<LoraConfig> } = {},
): Promise<{ dir: string; summary: RunSummary }> {
  const startedAt = performance.now();
  const hooks = opts.hooks ?? {};
  if (!opts.resume && def.id !== cfgIn.env)
    throw new RunConfigError(`the run config names environment "${cfgIn.env}", but the environment given is "${def.id}"`);
  const { dir, cfg } = openRunFolder(cfgIn, opts);
  if (def.id !== cfg.env)
    throw new RunConfigError(
      `${dir} is a run on environment "${cfg.env}", but the environment given is "${def.id}": pass the run's own environment (\`gym train --resume\` reads it from the run's config.json).`,
    );
  const runId = dir.split('/').filter(Boolean).pop() as string;
  hooks.onDir?.(dir);
  const info: RunInfo = { dir, cfg, def, runId, hooks };
  const { trainIds, testIds, valIds } = runTaskPools(def, cfg);
  // a distillation run: the frozen teacher, and the student on its tokenizer
  const teacher = cfg.distill.teacher ? await openTeacher(cfg) : undefined;
  let runner: ModelRunner | undefined;
  try {
    const start = await restoreOrInit(info, trainIds, opts.resume !== undefined, teacher?.tok);
    if (teacher) checkSameTokenizer(start.tok, teacher, cfg.init ?? dir);
    runner = await ModelRunner.create(start.model, cfg.device);
    const opt = start.lora ? attachRunLora(runner, cfg, start.lora, join(dir, 'checkpoints', 'last')) : start.opt;
    if (!opt) throw new Error('a run starts with an optimizer');
    const loraBase = start.lora?.base;
    const ctx = new RunContext({ info, trainIds, testIds, valIds, runner, startedAt, ...start, opt, loraBase });
    ctx.note(`model runs on: ${runner.where}`);
    const lora = runner.device?.lora;
    if (lora)
      ctx.note(
        `LoRA ${describeLora(lora.opts)}: ${trainableOf(lora.shapes)} trainable parameters beside the frozen base ${loraBase}`,
      );
    if (teacher) ctx.note(`teacher ${teacher.dir} (${teacher.params} parameters) runs on: ${teacher.runner.where}`);
    const source =
      teacher && ((c: RunContext, ids: readonly string[], mode: 'think' | 'no_think') => teacherPlays(c, teacher, ids, mode));
    const samples: TokenSample[] = sftPending(ctx) ? await coldStartSamples(ctx, source, teacher !== undefined) : [];
    const sftDone =
      ctx.start.phase === 'sft' ? ctx.start.step : cfg.sft.steps + grpoFirstStep(ctx) + (teacher ? distillFirstStep(ctx) : 0);
    hooks.onStart?.(cfg.sft.steps + cfg.grpo.steps + (teacher ? cfg.distill.steps : 0), sftDone);
    await runSft(ctx, samples);
    await evaluateColdStart(ctx);
    await selectRlTasks(ctx);
    await runGrpo(ctx);
    if (teacher) await runDistill(ctx, teacher);
    // a run resumed after its `done` checkpoint only rewrites the summary
    await evaluateFinal(ctx);
    const summary = summarize(ctx, teacher);
    writeJson(join(dir, 'summary.json'), summary);
    writeTrainingReport(dir);
    return { dir, summary };
  } finally {
    runner?.dispose();
    teacher?.runner.dispose();
  }
}

/**
 * A distillation run (`gym distill`): `train` over a config with a teacher. Off-policy phase (SFT on
 * the teacher's verified episodes in both modes), the held-out evaluation, on-policy distillation,
 * the final evaluation; the same folder, state, checkpoints, resume and stop semantics as `train`.
 */
export async function distill(
  def: EnvDefinition,
  cfg: RunConfig,
  opts: { resume?: string; hooks?: RunHooks; runId?: string; lora?: Partial<LoraConfig> } = {},
): Promise<{ dir: string; summary: RunSummary }> {
  if (!cfg.distill.teacher && !opts.resume)
    throw new RunConfigError('distill needs a teacher: set distill.teacher (`gym distill --teacher runs/<id>`)');
  return train(def, cfg, opts);
}
