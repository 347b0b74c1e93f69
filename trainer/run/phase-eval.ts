/**
 * The held-out evaluations that bracket RL: the cold-start model's (after SFT: written as the `sft`
 * checkpoint, the KL reference and the baseline's start) and the trained model's (the run's `final`
 * checkpoint). Each is done once: its result is run state, so a resumed run that has it skips it.
 */
import type { RunContext } from './context.js';
import { evaluateRunModel } from './evaluate.js';

/** Checkpoints the cold-start model as `sft`, evaluates it, and commits GRPO step 0. */
export async function evaluateColdStart(ctx: RunContext): Promise<void> {
  if (ctx.state.eval.before) return;
  const t0 = performance.now();
  await ctx.checkpoint('sft', { phase: 'sft', step: ctx.sftEnd }, true);
  ctx.note('evaluating the cold-start model on the held-out test split');
  const before = await evaluateRunModel(ctx, ctx.testIds, 'before');
  ctx.state.eval.before = before;
  ctx.state.eval.ms += performance.now() - t0;
  // RL step 0, and the SFT phase's last point
  ctx.record({
    phase: 'eval',
    when: 'before',
    step: 0,
    success: before.success,
    validity: before.validity,
    byMode: before.byMode,
  });
  await ctx.checkpoint('last', { phase: 'grpo', step: 0 }, true);
}

/** Evaluates the trained model, then writes the `final` checkpoint and commits the run as done. */
export async function evaluateFinal(ctx: RunContext): Promise<void> {
  if (ctx.state.eval.after) return;
  const steps = ctx.cfg.grpo.steps;
  // the last step of the run's last phase: on-policy distillation's steps follow GRPO's
  const rlSteps = steps + (ctx.cfg.distill.teacher ? ctx.cfg.distill.steps : 0);
  const t0 = performance.now();
  ctx.note('evaluating the trained model on the held-out test split');
  const after = await evaluateRunModel(ctx, ctx.testIds, 'after');
  ctx.state.eval.ms += performance.now() - t0;
  ctx.state.eval.after = after;
  ctx.record({
    phase: 'eval',
    when: 'after',
    step: rlSteps,
    success: after.success,
    validity: after.validity,
    byMode: after.byMode,
  });
  await ctx.checkpoint('final', { phase: 'done', step: steps }, false);
  await ctx.checkpoint('last', { phase: 'done', step: steps }, true);
}
