/**
 * The run state: everything a run carries from one step to the next beyond the weights and the
 * optimizer moments, one zod schema. Every checkpoint saves it whole in its meta
 * (`{ phase, step, state }`), and a resume reads it back as one parsed object.
 *
 * Each phase owns one slice (`sft`, `grpo`, `eval`); a new phase adds its slice and its name to
 * `RunPhaseSchema` without touching the others. Timings are kept so a resumed run's summary counts
 * the time of the processes before it; the rest (token counts, probe result, the GRPO task cursor
 * and skip set, held-out results, file lengths) is what makes a resumed run continue bit for bit.
 */
import { z } from 'zod';
import type { CheckpointMeta } from '../model/index.js';
import { HeldOutResultSchema } from './types.js';

/** Where a run is: the phase it is in and the steps of that phase done (`done`: all of them). */
export const RunPhaseSchema = z.enum(['sft', 'grpo', 'distill', 'done']);
export type RunPhase = z.infer<typeof RunPhaseSchema>;

const ColdStartSchema = z.object({
  kept: z.number().int().nonnegative(),
  dropped: z.record(z.string(), z.number()),
});

export const SftStateSchema = z.object({
  coldStart: ColdStartSchema.optional().describe('What the cold-start filter kept and dropped (once the data is built).'),
  stoppedAt: z.number().int().positive().optional().describe('The SFT step a cold-start probe ended SFT at.'),
  tokens: z.number().default(0).describe('Masked (policy) tokens trained on so far.'),
  seqTokens: z.number().default(0).describe('Tokens through forward + backward so far.'),
  teacherTokens: z
    .number()
    .default(0)
    .describe("Tokens of the teacher's episodes (its forward passes while it played them; 0 for the scripted oracle)."),
  ms: z.number().optional().describe('Wall time of the phase, once it ended.'),
  cpuMs: z.number().optional().describe('Process CPU time of the phase, once it ended.'),
});

export const GrpoStateSchema = z.object({
  tokens: z.number().default(0),
  seqTokens: z.number().default(0),
  ms: z.number().default(0).describe('Wall time of the GRPO steps so far (rollouts included).'),
  cpuMs: z.number().default(0),
  rolloutTokens: z.number().default(0).describe("Tokens of the step's episodes (the policy's forward passes while sampling)."),
  taskCursor: z.number().int().nonnegative().default(0).describe("Position in the run's fixed task order."),
  flatTasks: z
    .array(z.string())
    .default([])
    .describe('Tasks whose last group had equal rewards (selective rollouts skip them), sorted.'),
});

export const DistillStateSchema = z.object({
  tokens: z.number().default(0).describe('Masked (student-sampled) tokens that carried loss.'),
  seqTokens: z.number().default(0).describe("Tokens through the student's forward + backward."),
  teacherTokens: z.number().default(0).describe("Tokens through the teacher's forward (scoring the student's)."),
  rolloutTokens: z.number().default(0).describe("Tokens of the student's on-policy episodes."),
  ms: z.number().default(0).describe('Wall time of the on-policy steps so far (rollouts included).'),
  cpuMs: z.number().default(0),
  taskCursor: z.number().int().nonnegative().default(0).describe("Position in the run's fixed task order."),
});

export const EvalStateSchema = z.object({
  before: HeldOutResultSchema.optional().describe('Held-out result of the cold-start model.'),
  after: HeldOutResultSchema.optional().describe('Held-out result of the trained model (the run is done).'),
  ms: z.number().default(0).describe('Wall time of the before and after evaluations.'),
});

export const RunStateSchema = z.object({
  phase: RunPhaseSchema.default('sft'),
  step: z.number().int().nonnegative().default(0),
  files: z
    .record(z.string(), z.number().int().nonnegative())
    .optional()
    .describe('Byte length of every append-only run file at the checkpoint (files.ts); absent in older checkpoints.'),
  wallMs: z.number().default(0).describe('Wall time of the processes that ran the run, up to the checkpoint.'),
  sft: SftStateSchema.prefault({}),
  grpo: GrpoStateSchema.prefault({}),
  distill: DistillStateSchema.prefault({}),
  eval: EvalStateSchema.prefault({}),
});
export type RunState = z.infer<typeof RunStateSchema>;

export class RunStateError extends Error {
  override name = 'RunStateError';
}

/** A fresh run's state. */
export function initialRunState(): RunState {
  return RunStateSchema.parse({});
}

/** Flat keys of checkpoints written before the state had one slice per phase: [old key, slice, key]. */
const FLAT_KEYS: ReadonlyArray<[string, 'sft' | 'grpo' | 'eval' | undefined, string]> = [
  ['runFiles', undefined, 'files'],
  ['coldStart', 'sft', 'coldStart'],
  ['sftStoppedAt', 'sft', 'stoppedAt'],
  ['sftTokens', 'sft', 'tokens'],
  ['sftSeqTokens', 'sft', 'seqTokens'],
  ['sftMs', 'sft', 'ms'],
  ['sftCpuMs', 'sft', 'cpuMs'],
  ['grpoTokens', 'grpo', 'tokens'],
  ['grpoSeqTokens', 'grpo', 'seqTokens'],
  ['grpoMs', 'grpo', 'ms'],
  ['grpoCpuMs', 'grpo', 'cpuMs'],
  ['taskCursor', 'grpo', 'taskCursor'],
  ['flatTasks', 'grpo', 'flatTasks'],
  ['before', 'eval', 'before'],
  ['after', 'eval', 'after'],
  ['evalMs', 'eval', 'ms'],
];

function nestFlatKeys(state: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...state };
  for (const [flat, slice, key] of FLAT_KEYS) {
    if (!(flat in out)) continue;
    const value = out[flat];
    delete out[flat];
    if (slice === undefined) out[key] = value;
    else out[slice] = { ...(out[slice] as Record<string, unknown> | undefined), [key]: value };
  }
  return out;
}

/** The run state a checkpoint's meta holds; `where` names the checkpoint in the error. */
export function readRunState(meta: CheckpointMeta, where: string): RunState {
  const r = RunStateSchema.safeParse({ ...nestFlatKeys(meta.state ?? {}), phase: meta.phase, step: meta.step });
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RunStateError(
      `the checkpoint ${where} holds a run state this version cannot read (${i?.path.join('.') || 'meta'}: ${i?.message}): start a new run, or resume it with the version that wrote it`,
    );
  }
  return r.data;
}

/** A checkpoint's meta: the phase and step it stands for, and the rest of the state. */
export function runStateMeta(state: RunState, at: { phase: RunPhase; step: number }): CheckpointMeta {
  const { phase: _phase, step: _step, ...rest } = state;
  return { phase: at.phase, step: at.step, state: rest };
}
