/**
 * What a run's parts and its callers share: the held-out figures, the metrics records, the summary,
 * the hooks a caller passes to `train`, and the error a stop request ends in. Types only (and their
 * schemas), so every file of the run imports them without importing each other.
 */
import { z } from 'zod';

/** The run was stopped (signal) after writing its last checkpoint; `--resume` continues it. */
export class RunInterruptedError extends Error {
  override name = 'RunInterruptedError';
}

export const ModeEvalSchema = z.object({
  episodes: z.number().describe('Episodes counted (aborted ones left out).'),
  success: z.number().describe('Correct episodes over counted episodes.'),
  validity: z
    .number()
    .describe(
      'Valid calls over valid calls plus every failure (the target figure: one runaway turn of repeated `<tool_call>` openers counts every opener as a failed call).',
    ),
  cleanEpisodes: z.number().describe('Episodes without any invalid call, over episodes: how widespread the failures are.'),
  compliance: z.number().describe('Turns that followed the mode (a think block in think, none in no_think).'),
  meanTurns: z.number(),
  meanTokens: z.number(),
});
export type ModeEval = z.infer<typeof ModeEvalSchema>;

export const HeldOutResultSchema = z.object({
  byMode: z.object({ think: ModeEvalSchema.optional(), no_think: ModeEvalSchema.optional() }),
  success: z.number().describe('Success in the RL mode (the headline figure).'),
  validity: z.number(),
});
export type HeldOutResult = z.infer<typeof HeldOutResultSchema>;

/** Where a step is: what `RunHooks.onStage` reports before each part of it. */
export type StepStage = 'sample' | 'update' | 'evaluate' | 'checkpoint';

/** A phase that takes optimiser steps. */
export type TrainPhase = 'sft' | 'grpo' | 'distill';

export interface StepRecord {
  /**
   * `probe`: a cold-start probe on train tasks during SFT (`sft.stopAtSuccess`); `rl-set`: the RL
   * query set was built (`phase-rl.ts`).
   */
  phase: TrainPhase | 'eval' | 'probe' | 'rl-set';
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
  before: HeldOutResult;
  after: HeldOutResult;
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
  /** Model FLOPs and wall time per phase (`compute.ts`): what every comparison between runs states as its cost. */
  compute: RunCompute;
  /** A distillation run's teacher and on-policy phase (absent in plain `gym train` runs). */
  distill?: { teacher: string; teacherParams: number; loss: string; steps: number; tokens: number; sequenceTokens: number };
  /**
   * A LoRA run's adapter: its settings, trainable parameter count, the base checkpoint it adapts and
   * the final adapter folder (PEFT's layout: `builtin:<base>#adapter=<adapter>` loads the pair).
   */
  lora?: { rank: number; alpha: number; targets: string[]; trainableParams: number; base: string; adapter: string };
}

/** One phase's cost: the trained model's FLOPs, frozen models' FLOPs, wall time. */
export interface PhaseCompute {
  /**
   * The student's (the trained model's) FLOPs: 6 P per token through forward + backward, plus 2 P per
   * token of its sampled episodes (rollouts).
   */
  studentFlops: number;
  /**
   * Frozen models' forward FLOPs, 2 P' per token: the distillation teacher playing the off-policy
   * episodes and scoring the student's tokens, or GRPO's KL reference. The scripted oracle costs 0.
   */
  teacherFlops: number;
  wallMs: number;
}

export interface RunCompute {
  sft: PhaseCompute;
  grpo: PhaseCompute;
  distill: PhaseCompute;
  /** The three phases together (held-out evaluations are not counted: every arm pays them alike). */
  total: PhaseCompute;
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
  onStage?(stage: StepStage, phase: TrainPhase, step: number): void;
  /** Things that went wrong but were handled (a damaged checkpoint, a torn line); default: a process warning. */
  onWarning?(text: string): void;
  /**
   * Stop request: the step under way finishes (its update, metrics and any evaluation), the `last`
   * checkpoint is written, and `train` throws RunInterruptedError. Nothing of a step is left half done.
   */
  signal?: AbortSignal;
}
