/**
 * The run config of `gym train`: one zod schema with a default and a one-line reason per field.
 * Presets override a few fields, a config file overrides those, CLI flags apply last; unknown keys
 * are an error at every level.
 */
import { z } from 'zod';
import { DISTILL_LOSSES, type DistillLossType } from '../distill/index.js';
import { ENTROPY_CONTROLS, type EntropyControl, LOSS_TYPES, type LossType } from '../grpo/index.js';
import { RewardConfigSchema } from '../rewards.js';

const LossTypeSchema = z.enum(LOSS_TYPES as [LossType, ...LossType[]]);

export const SftConfigSchema = z
  .object({
    episodes: z
      .number()
      .int()
      .nonnegative()
      .default(48)
      .describe(
        'Teacher (oracle) episodes collected: small by design, so SFT alone plateaus (it memorises the few numbers it saw) and RL over the larger task pool has room to improve.',
      ),
    steps: z
      .number()
      .int()
      .nonnegative()
      .default(300)
      .describe('Most SFT optimiser steps over the filtered cold-start set (a probe usually ends SFT earlier: `stopAtSuccess`).'),
    batchSize: z.number().int().positive().default(8).describe('Sequences per SFT step.'),
    lr: z.number().positive().default(3e-3).describe('SFT learning rate (a tiny model tolerates a large one).'),
    warmupSteps: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(
        'SFT steps over which the learning rate rises linearly to `lr` (step k of N at k/N of it): a fresh optimiser on an already trained model (`init`, a distillation student) takes full-size steps from the first, and knocks it back before it learns the new data',
      ),
    thinkFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('Share of /think episodes in the cold-start data (the rest are /no_think).'),
    stopAtSuccess: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe(
        'End SFT once a probe on train tasks outside the cold-start set reaches this success (headline mode, evaluation sampling): the format "clicks" within a few dozen steps at a seed-dependent point, and stopping there gives every seed a comparable, deliberately weak start with room for RL; 0 runs all `steps`.',
      ),
    probeEvery: z.number().int().positive().default(10).describe('SFT steps between probes (with stopAtSuccess > 0).'),
    probeFrom: z.number().int().nonnegative().default(50).describe('First SFT step that may end in a probe.'),
    probeTasks: z.number().int().positive().default(32).describe('Train tasks (one episode each) per probe.'),
  })
  .strict();

export const GrpoConfigSchema = z
  .object({
    steps: z
      .number()
      .int()
      .nonnegative()
      .default(120)
      .describe('GRPO optimiser steps (each samples tasksPerStep x groupSize episodes, plus refills).'),
    tasksPerStep: z.number().int().positive().default(4).describe('Groups (distinct tasks) per step.'),
    groupSize: z.number().int().min(2).default(8).describe('G: completions per task; advantages are relative within the group.'),
    lr: z.number().positive().default(3e-4).describe('GRPO learning rate (lower than SFT: RL updates are noisy).'),
    loss: LossTypeSchema.default('dapo').describe('Loss aggregation: grpo, bnpo, dr_grpo or dapo (TRL default).'),
    scaleRewards: z
      .enum(['group', 'none'])
      .default('group')
      .describe('Divide advantages by the group std (group) or only centre them (none, Dr. GRPO).'),
    epsLow: z.number().nonnegative().default(0.2).describe('Lower clip of the importance ratio.'),
    epsHigh: z.number().nonnegative().default(0.28).describe('Upper clip (DAPO clip-higher keeps exploration alive).'),
    beta: z
      .number()
      .nonnegative()
      .default(0)
      .describe('k3 KL coefficient to the frozen SFT model (0: no reference, TRL default).'),
    numIterations: z
      .number()
      .int()
      .positive()
      .default(1)
      .describe('Updates per sampled batch (importance ratios against behaviour log-probs).'),
    maxGradNorm: z.number().nonnegative().default(1).describe('Global gradient-norm clip (0 disables).'),
    temperature: z
      .number()
      .positive()
      .default(0.8)
      .describe(
        'Rollout temperature (training log-probs use the same): 0.8 keeps groups mixed without drowning the few correct samples of a weak cold start in noise (T=1 learned slower).',
      ),
    dynamicSampling: z.boolean().default(true).describe('Drop groups whose rewards are all equal and draw replacements (DAPO).'),
    skipZeroVariance: z
      .number()
      .min(0)
      .max(1)
      .default(0.8)
      .describe(
        'Probability of skipping a task whose last group had equal rewards (all solved or all failed): such a task gives an equal group again most of the time and no gradient, so its rollouts are mostly wasted (selective rollouts, as in GRESO). 0 disables.',
      ),
    maxRefillRounds: z
      .number()
      .int()
      .nonnegative()
      .default(2)
      .describe('Extra rounds of groups drawn per step to replace dropped ones.'),
    entropyCoef: z
      .number()
      .nonnegative()
      .default(0)
      .describe('Entropy bonus coefficient, applied while entropy is below the target.'),
    entropyTarget: z.number().nonnegative().default(0).describe('Entropy (nats) below which the bonus applies.'),
    entropyControl: z
      .enum(ENTROPY_CONTROLS as [EntropyControl, ...EntropyControl[]])
      .default('none')
      .describe(
        'Covariance-based entropy control (trainer/grpo/entropy.ts): clip_cov detaches the gradient of a few tokens whose log-prob x advantage covariance is high, kl_cov penalises |logp - old logp| on the top ones (acts only with numIterations > 1); none leaves the loss as it is.',
      ),
    covFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.02)
      .describe(
        "Share of a step's masked tokens the entropy control acts on (the paper's 2e-4 / 2e-3 assume million-token batches).",
      ),
    covLow: z.number().default(0.5).describe('Clip-Cov: lower end of the covariance window tokens are drawn from.'),
    covHigh: z.number().default(5).describe('Clip-Cov: upper end of the covariance window.'),
    klCovCoef: z.number().nonnegative().default(1).describe('KL-Cov: coefficient of the |logp - old logp| penalty.'),
    mode: z
      .enum(['think', 'no_think', 'both', 'mixed'])
      .default('no_think')
      .describe(
        "Thinking mode of RL episodes. no_think: short sequences on a small CPU budget. both: each step's tasks split between think and no_think groups as the cold-start data is (sft.thinkFraction), so RL keeps both modes in practice (trained in no_think only, think-mode compliance decays). mixed: /think and /no_think soft switches between turns.",
      ),
  })
  .strict();

export const RlConfigSchema = z
  .object({
    families: z
      .string()
      .default('')
      .describe(
        'Families of the RL query set (comma-separated prefixes). Empty: GRPO draws from the cold-start pool (families, maxDifficulty), as before. Set: GRPO draws from train tasks of these families within [minDifficulty, maxDifficulty], none of them a cold-start demonstration or probe task, filtered to those the cold-start model sometimes solves.',
      ),
    minDifficulty: z.number().int().min(1).max(5).default(1).describe('Easiest difficulty of the RL query set.'),
    maxDifficulty: z.number().int().min(1).max(5).default(3).describe('Hardest difficulty of the RL query set.'),
    candidates: z.number().int().positive().default(192).describe('Train tasks sampled by the filter before it keeps some.'),
    filterSamples: z
      .number()
      .int()
      .min(1)
      .default(8)
      .describe('Episodes per candidate with the cold-start model (GRPO temperature) to decide whether it is learnable.'),
    keepMin: z.number().int().min(0).default(1).describe('Keep a candidate solved at least this often of filterSamples.'),
    keepMax: z
      .number()
      .int()
      .min(0)
      .default(7)
      .describe('...and at most this often (a task always solved gives equal-reward groups).'),
    valTasks: z
      .number()
      .int()
      .nonnegative()
      .default(32)
      .describe(
        'With rl.families set: validation tasks (test split, indices 600 on, apart from the test tasks) that the periodic evaluations use instead of the test split, so checkpoint selection never sees a test split. 0: periodic evaluations use the test split.',
      ),
  })
  .strict();

export const LimitsConfigSchema = z
  .object({
    maxTurns: z.number().int().positive().default(3).describe('Turns per episode: a compute task needs a call and an answer.'),
    maxTurnTokens: z
      .number()
      .int()
      .positive()
      .default(96)
      .describe('Tokens per turn: enough for one call or answer, cheap to sample.'),
    thinkingBudget: z
      .number()
      .int()
      .positive()
      .default(48)
      .describe('Thinking tokens before the loop injects the stop-thinking text.'),
  })
  .strict();

export const DistillConfigSchema = z
  .object({
    teacher: z
      .string()
      .optional()
      .describe(
        "Teacher checkpoint folder (`gym distill --teacher`; a run folder means its checkpoints/final). Set: the cold start is off-policy distillation (SFT on the teacher's verified episodes) and an on-policy phase follows.",
      ),
    teacherDevice: z
      .enum(['cpu', 'webgpu', 'auto'])
      .optional()
      .describe("Where the teacher runs (default: the run's device); its logits cross through the host."),
    steps: z.number().int().nonnegative().default(40).describe('On-policy distillation steps (0: off-policy only).'),
    tasksPerStep: z.number().int().positive().default(4).describe('Train tasks the student plays per on-policy step.'),
    groupSize: z.number().int().positive().default(4).describe('Student episodes per task per on-policy step.'),
    lr: z
      .number()
      .positive()
      .default(3e-4)
      .describe(
        "On-policy learning rate: a tenth of the off-policy (SFT) phase's, as in the Tinker cookbook's recipe (SFT 1e-3, on-policy 1e-4 with LoRA); 1e-3 broke a distilled nano student in bench/distill.",
      ),
    loss: z
      .enum(DISTILL_LOSSES as [DistillLossType, ...DistillLossType[]])
      .default('reverse_kl')
      .describe(
        'Per-token loss: reverse_kl (mode-seeking, Qwen3 and Tinker), forward_kl, jsd (with beta), sampled (one-sample reverse-KL estimate).',
      ),
    beta: z.number().min(0).max(1).default(0.5).describe("JSD's teacher weight in the mixture (loss jsd only)."),
    decoding: z
      .enum(['qwen3', 'full'])
      .default('qwen3')
      .describe(
        "How the student samples its on-policy episodes: qwen3 as the held-out evaluation does (the model card's settings per turn's mode: no_think T 0.7, top-p 0.8, top-k 20; think T 0.6, top-p 0.95, top-k 20); full samples the untruncated distribution at T 1. Either way the loss compares the student's full-vocabulary distribution at T 1 with the teacher's.",
      ),
    temperature: z.number().positive().optional().describe('Student sampling temperature for both modes (overrides decoding).'),
    topK: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('Student sampling top-k for both modes, 0 off (overrides decoding).'),
    topP: z.number().gt(0).max(1).optional().describe('Student sampling top-p for both modes, 1 off (overrides decoding).'),
    mode: z
      .enum(['both', 'think', 'no_think', 'mixed'])
      .default('both')
      .describe(
        "Thinking mode of on-policy episodes: both splits each step's tasks between think and no_think episodes as the off-policy data does (sft.thinkFraction), rendered as it and the evaluation are; mixed switches mode between turns with /think and /no_think soft switches, a format the off-policy data never shows.",
      ),
  })
  .strict();

/** PEFT's names of the seven projections of a Qwen3 block (what `lora.targets` lists). */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export const LoraConfigSchema = z
  .object({
    rank: z
      .number()
      .int({ error: 'lora.rank must be a whole number (0: full fine-tuning, else the adapter rank r, e.g. 8)' })
      .nonnegative({ error: 'lora.rank must be 0 (full fine-tuning) or a positive rank r, e.g. 8' })
      .default(0)
      .describe(
        'Rank r of low-rank adapters trained beside frozen base weights (PEFT LoRA); 0 trains every weight. With r > 0 only the adapter and its optimizer moments take memory beyond the base.',
      ),
    alpha: z
      .number()
      .positive({ error: 'lora.alpha must be positive (the adapter scale is alpha / r)' })
      .optional()
      .describe('LoRA alpha: the adapter is scaled by alpha / r. Default 2 r (scale 2), a common choice with PEFT.'),
    targets: z
      .string()
      .default(LORA_TARGETS.join(','))
      .describe(`Projections that get an adapter in every layer, comma-separated PEFT names (${LORA_TARGETS.join(', ')}).`),
  })
  .strict()
  .superRefine((v, ctx) => {
    const bad = v.targets
      .split(',')
      .map((t) => t.trim())
      .filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
    if (bad.length)
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: `${bad.map((t) => JSON.stringify(t)).join(', ')} ${bad.length === 1 ? 'is not a projection' : 'are not projections'} of the model: LoRA targets are ${LORA_TARGETS.join(', ')}`,
      });
  });
export type LoraConfig = z.infer<typeof LoraConfigSchema>;

export const RunConfigSchema = z
  .object({
    env: z.string().default('code-interp').describe('Environment id (run `gym envs` to list).'),
    envOptions: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "The environment's options as the run built it (--task-file, --corpus, --docs, --browser, --env-opt): recorded so a resumed run meets the same environment.",
      ),
    model: z.enum(['nano', 'micro', 'mini']).default('nano').describe('Built-in model size preset.'),
    device: z
      .enum(['cpu', 'webgpu', 'auto'], {
        error: (iss) =>
          iss.input === 'host'
            ? 'device "host" is gone: the plain-loop model is a test reference now; use "cpu" (the same math on the gpu/ CPU backend)'
            : 'device must be one of cpu, webgpu, auto',
      })
      .default('cpu')
      .describe(
        'Where the model runs: cpu (the gpu/ CPU backend), webgpu (any adapter, software included), auto (a hardware WebGPU adapter, else cpu).',
      ),
    seed: z.number().int().default(0).describe('Seed of weights, task order and sampling: a run is reproducible.'),
    init: z
      .string()
      .optional()
      .describe(
        "Start from this checkpoint's weights and tokenizer instead of a fresh `model` preset (`gym distill --student <checkpoint>`; with a teacher its tokenizer must be the teacher's).",
      ),
    tokenizer: z
      .string()
      .optional()
      .describe(
        "A fresh model's tokenizer from this checkpoint instead of merges learned here: runs to be compared or distilled share one (a distillation run takes its teacher's).",
      ),
    families: z
      .string()
      .default('compute.sim')
      .describe('Task families used (comma-separated name prefixes): compute tasks have cheap exact verifiers.'),
    maxDifficulty: z.number().int().min(1).max(5).default(1).describe('Hardest task difficulty used for training and test.'),
    trainTasks: z.number().int().positive().default(256).describe('Size of the training task pool (train split).'),
    testTasks: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe('Held-out tasks (test split) for before/after success: 64 so a 25-point change is well outside the noise.'),
    merges: z
      .number()
      .int()
      .nonnegative()
      .default(1024)
      .describe('BPE merges learned from template text: shorter sequences, faster steps.'),
    concurrency: z.number().int().positive().default(8).describe('Episodes in flight at once during rollouts.'),
    evalEvery: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe(
        'Evaluate on the test split every N GRPO steps, and every N off-policy and on-policy steps of `gym distill` (0: only before and after).',
      ),
    evalDecoding: z
      .enum(['qwen3', 'greedy'])
      .default('qwen3')
      .describe(
        "Held-out decoding: qwen3 samples with the Qwen3 model card's settings per mode (no_think T 0.7, top-p 0.8, top-k 20; think T 0.6, top-p 0.95, top-k 20), seeded; greedy falls into repetition loops, as the card warns.",
      ),
    checkpointEvery: z.number().int().positive().default(5).describe('Write the last checkpoint every N steps (resume point).'),
    out: z.string().default('runs').describe('Folder that receives runs/<id>/.'),
    sft: SftConfigSchema.prefault({}).describe('Cold-start SFT.'),
    grpo: GrpoConfigSchema.prefault({}).describe('Reasoning RL.'),
    limits: LimitsConfigSchema.prefault({}).describe('Episode limits of every rollout.'),
    rl: RlConfigSchema.prefault({}).describe('RL query set apart from the cold start (off unless rl.families is set).'),
    rewards: RewardConfigSchema.prefault({}).describe('Reward composition weights.'),
    lora: LoraConfigSchema.prefault({}).describe('Low-rank adapters instead of full fine-tuning (off with rank 0).'),
    distill: DistillConfigSchema.prefault({}).describe(
      'Strong-to-weak distillation (`gym distill`; inactive without a teacher).',
    ),
  })
  .strict();

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

export class RunConfigError extends Error {
  override name = 'RunConfigError';
}

type Deep = Record<string, unknown>;

/**
 * What `gym distill` changes under the preset: the off-policy phase runs all its SFT steps (no
 * cold-start probe: the point is to copy the teacher, not to leave room for RL), its rate warms up
 * over the first 5 (a trained student otherwise takes full-size steps from a fresh optimiser and
 * loses much of what it knew first: bench/README.md, distill), and no GRPO.
 */
export const DISTILL_DEFAULTS: Deep = { sft: { stopAtSuccess: 0, warmupSteps: 5 }, grpo: { steps: 0 } };

/**
 * What `gym distill` changes further when the student starts from a trained checkpoint (`init`): the
 * off-policy rate is 1e-3, not the cold start's 3e-3. A trained student fine-tuned on the teacher's
 * episodes at 3e-3 swings between 5% and 45% held-out success from one evaluation to the next for
 * its first 15-20 steps; at 1e-3 it climbs from the first steps and reaches GRPO's success at about
 * half the compute (bench/README.md, distill). A fresh preset student keeps 3e-3.
 */
export const DISTILL_TRAINED_STUDENT_DEFAULTS: Deep = { sft: { lr: 1e-3 } };

/**
 * Presets: a few overrides each. `quick` is for smoke tests and CI. `learn` is the recipe of the
 * learning experiment (bench/learn.ts --recipe): a small cold start on two families at difficulty 1,
 * an RL query set disjoint from it over three families at difficulty 1-3 filtered to tasks the
 * cold-start model sometimes solves, Clip-Cov entropy control, validation every 20 GRPO steps.
 */
export const RUN_PRESETS: Record<string, Deep> = {
  default: {},
  learn: {
    families: 'compute.sim,compute.numtheory',
    maxDifficulty: 1,
    evalEvery: 20,
    grpo: { entropyControl: 'clip_cov' },
    rl: { families: 'compute.sim,compute.numtheory,compute.bigint', minDifficulty: 1, maxDifficulty: 3 },
  },
  quick: {
    trainTasks: 16,
    testTasks: 4,
    merges: 128,
    sft: { episodes: 8, steps: 3, batchSize: 4 },
    grpo: { steps: 2, tasksPerStep: 2, groupSize: 2, maxRefillRounds: 0 },
    limits: { maxTurns: 2, maxTurnTokens: 40, thinkingBudget: 16 },
    distill: { steps: 2, tasksPerStep: 2, groupSize: 2 },
  },
};

function isObj(x: unknown): x is Deep {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Deep merge of plain objects (b wins); arrays and scalars replace. */
export function mergeConfig(a: Deep, b: Deep): Deep {
  const out: Deep = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isObj(v) && isObj(out[k]) ? mergeConfig(out[k] as Deep, v) : v;
  }
  return out;
}

/** preset (<- `gym distill`'s defaults, and those for a trained student) <- file <- flags, validated; throws RunConfigError naming every bad or unknown key. */
export function resolveRunConfig(layers: { preset?: string; file?: Deep; flags?: Deep; distill?: boolean }): RunConfig {
  const preset = layers.preset ?? 'default';
  const p = RUN_PRESETS[preset];
  if (!p) throw new RunConfigError(`unknown preset "${preset}": use one of ${Object.keys(RUN_PRESETS).join(', ')}`);
  let base = layers.distill ? mergeConfig(p, DISTILL_DEFAULTS) : p;
  const init = layers.flags?.init ?? layers.file?.init ?? p.init;
  if (layers.distill && init !== undefined) base = mergeConfig(base, DISTILL_TRAINED_STUDENT_DEFAULTS);
  const merged = mergeConfig(mergeConfig(base, layers.file ?? {}), layers.flags ?? {});
  const r = RunConfigSchema.safeParse(merged);
  if (!r.success) {
    const issues = r.error.issues.map(
      (i) =>
        `${i.path.join('.') || '(root)'}: ${i.message}${'keys' in i ? ` (${(i as { keys: string[] }).keys.join(', ')})` : ''}`,
    );
    throw new RunConfigError(`invalid run config: ${issues.join('; ')}`);
  }
  // the run's config.json states the adapter scale it trains with
  if (r.data.lora.rank > 0) r.data.lora.alpha ??= 2 * r.data.lora.rank;
  return r.data;
}
