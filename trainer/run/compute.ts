/**
 * Compute accounting of a run (ALGORITHMS.md, "Equal compute"): model FLOPs, not wall time, with
 * forward = 2 * params * tokens and backward = 2 x forward, so a training pass is 6 P per token.
 *
 *   student, per phase: 6 P * (tokens through forward + backward) + 2 P * (tokens of its episodes)
 *   teacher, per phase: 2 P_teacher * (tokens of its episodes + tokens it scored)   (distillation)
 *                       2 P * (tokens through forward + backward)   (GRPO's KL reference, beta > 0)
 *
 * A LoRA run trains only its adapters (Pa values beside the frozen base's P): a token's forward costs
 * 2 (P + Pa), its backward needs the gradient through every layer (2 (P + Pa)) but weight gradients
 * only for the adapters (2 Pa), so a training pass is 4 P + 6 Pa per token, not 6 (P + Pa).
 *
 * An episode's tokens are each run forward once while it is sampled (the prompt by prefill, then one
 * token at a time against the cached prefix), so its length is the rollout's token count; attention's
 * context-dependent FLOPs are left out at these sizes. Held-out evaluations are not counted: every
 * arm of a comparison pays them alike.
 */
import type { RunContext } from './context.js';
import type { PhaseCompute, RunCompute } from './types.js';

const fwd = (params: number, tokens: number) => 2 * params * tokens;

/** Number of values in tensors of these shapes (a LoRA run's trainable parameters). */
export const trainableOf = (shapes: ReadonlyMap<string, number[]>): number =>
  [...shapes.values()].reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);

function sum(...ps: PhaseCompute[]): PhaseCompute {
  return {
    studentFlops: ps.reduce((s, p) => s + p.studentFlops, 0),
    teacherFlops: ps.reduce((s, p) => s + p.teacherFlops, 0),
    wallMs: ps.reduce((s, p) => s + p.wallMs, 0),
  };
}

/** The run's FLOPs and wall time per phase from its state; `teacherParams` is 0 without a teacher. */
export function runCompute(ctx: RunContext, teacherParams: number): RunCompute {
  const { state, cfg } = ctx;
  const lora = ctx.loraBase ? ctx.runner.device?.lora : undefined;
  const Pa = lora ? trainableOf(lora.shapes) : 0;
  const P = ctx.model.numParams + Pa;
  // forward + backward through everything, weight gradients for what trains
  const train = (tokens: number) => (lora ? (4 * P + 2 * Pa) * tokens : 6 * P * tokens);
  const sft: PhaseCompute = {
    studentFlops: train(state.sft.seqTokens),
    teacherFlops: fwd(teacherParams, state.sft.teacherTokens),
    wallMs: state.sft.ms ?? 0,
  };
  const grpo: PhaseCompute = {
    studentFlops: train(state.grpo.seqTokens) + fwd(P, state.grpo.rolloutTokens),
    teacherFlops: cfg.grpo.beta > 0 ? fwd(P, state.grpo.seqTokens) : 0,
    wallMs: state.grpo.ms,
  };
  const distill: PhaseCompute = {
    studentFlops: train(state.distill.seqTokens) + fwd(P, state.distill.rolloutTokens),
    teacherFlops: fwd(teacherParams, state.distill.teacherTokens),
    wallMs: state.distill.ms,
  };
  return { sft, grpo, distill, total: sum(sft, grpo, distill) };
}
