/**
 * Learning benchmark: held-out test-split success of the built-in model on code-interp compute
 * tasks after cold-start SFT, after GRPO, and for the SFT-only baseline given GRPO's extra compute:
 * SFT continued from the same cold-start checkpoint on the same data, for as much process CPU time
 * as the GRPO phase used (`sftOnlyBaseline`), and for as much model compute (`sftOnlyBaselineFlops`:
 * GRPO's training passes plus a forward over every token of its sampled episodes). Also wall time,
 * tokens trained, tokens/s, and the training throughput as a fraction of the machine's matmul limit
 * (the CPU device's GEMM on a large square product, measured in the same run).
 *
 *   npx tsx bench/learn.ts [--config file.json] [--quick] [--seeds 0,1,2] [--baseline cpu|flops|both|none]
 *   npx tsx bench/learn.ts --from-run <run dir> [--baseline ...]   (baselines of a finished run)
 *   npx tsx bench/learn.ts --baseline curve [--config c.json]   (learning curves at equal compute)
 *   npx tsx bench/learn.ts --recipe [--seeds 0,1,2,3,4] [--k 16] [--split-tasks 24] [--budgets 0,16,32,64]
 *       [--arms cold,sft,rs,grpo] [--out dir] [--config c.json]   (the learning experiment: `learn` preset, arms, splits)
 *
 * `--baseline curve` compares the two learning curves rather than their end points: the run
 * evaluates the held-out split every `evalEvery` GRPO steps (20 unless the config sets it), and the
 * SFT-only baseline, continued from the same cold-start checkpoint, is evaluated each time its
 * training tokens reach GRPO's model compute at one of those steps.
 *
 * `--recipe` runs the learning experiment per seed: a run with the `learn` preset (small cold start,
 * disjoint filtered RL query set, Clip-Cov), then the arms at equal model compute from its cold start
 * (`runArms`: SFT on the demonstrations and rejection-sampling SFT, each best by validation, and GRPO),
 * each tested on the in-distribution and out-of-distribution splits with k episodes per task, the GRPO
 * model's thinking control, and `report.html` in the run folder. The object holds each seed's
 * `learn.json` figures, the medians over seeds, and the targets.
 *
 * With `--seeds`, the whole measurement (training and baseline) runs once per seed and the object
 * holds each seed's result plus the medians and how many seeds met each target: one seed's held-out
 * figures move by several points with the seed alone. Prints exactly one JSON object on stdout;
 * progress goes to stderr.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTrajectories } from '../agent/trajectory/index.js';
import { codeInterpEnv } from '../envs/code-interp/index.js';
import { createDevice, matmul } from '../gpu/index.js';
import { type TokenSample, toSample } from '../trainer/index.js';
import { BuiltinPolicy, flopsPerToken, loadCheckpoint, ModelRunner } from '../trainer/model/index.js';
import { AdamW } from '../trainer/optim/index.js';
import {
  type ArmName,
  evalSampling,
  evaluate,
  grpoCompute,
  type LearnResult,
  learnEnv,
  type RunConfig,
  type RunSummary,
  resolveRunConfig,
  runArms,
  SPLIT_NAMES,
  selectTasks,
  train,
  writeTrainingReport,
} from '../trainer/run/index.js';
import { sftStep } from '../trainer/sft/index.js';
import type { ByteTokenizer } from '../trainer/tokenizer/index.js';
import { median } from './stats.js';

// Strict flags: a misspelt one (`--seed` for `--seeds`) must not silently run the default.
const { values: flags } = parseArgs({
  options: {
    config: { type: 'string' },
    quick: { type: 'boolean' },
    seeds: { type: 'string' },
    'from-run': { type: 'string' },
    baseline: { type: 'string' },
    recipe: { type: 'boolean' },
    k: { type: 'string' },
    'split-tasks': { type: 'string' },
    budgets: { type: 'string' },
    arms: { type: 'string' },
    out: { type: 'string' },
  },
  strict: true,
});
function arg(name: '--config' | '--seeds' | '--from-run'): string | undefined {
  return flags[name.slice(2) as 'config' | 'seeds' | 'from-run'];
}
if (flags.baseline !== undefined && !['cpu', 'flops', 'both', 'none', 'curve'].includes(flags.baseline))
  throw new Error(`--baseline ${flags.baseline}: use cpu, flops, both, none or curve`);

const log = (s: string) => process.stderr.write(`[learn] ${s}\n`);

/** Peak GEMM throughput of the CPU device (FLOP/s), median of a few 512^3 products. */
async function matmulLimit(): Promise<{ flops: number; device: string }> {
  const dev = await createDevice('cpu');
  const n = 512;
  const a = dev.upload(
    Float32Array.from({ length: n * n }, (_, i) => Math.sin(i)),
    [n, n],
  );
  const b = dev.upload(
    Float32Array.from({ length: n * n }, (_, i) => Math.cos(i)),
    [n, n],
  );
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    const c = matmul(dev, a, b);
    await dev.download(c);
    times.push(performance.now() - t0);
    dev.free(c);
  }
  times.sort((x, y) => x - y);
  return { flops: (2 * n ** 3) / (times[3] / 1000), device: dev.info.name };
}

/** How much extra SFT the baseline gets: GRPO's process CPU time, or its model compute. */
type Budget = { kind: 'cpu'; ms: number } | { kind: 'flops'; seqTokens: number };

/** SFT continued from a run's cold-start checkpoint (weights and optimizer) on its cold-start data. */
async function continuedSft(dir: string, cfg: RunConfig) {
  const ck = loadCheckpoint(join(dir, 'checkpoints', 'sft'), { withOptimizer: true });
  const opt = ck.optimizer ?? new AdamW(ck.model.params, ck.model.shapes);
  const runner = await ModelRunner.create(ck.model, cfg.device);
  const samples = readTrajectories(join(dir, 'trajectories', 'sft-data.jsonl'))
    .map(toSample)
    .filter((s): s is TokenSample => s !== null);
  const state = {
    runner,
    tokenizer: ck.tokenizer,
    steps: 0,
    seqTokens: 0,
    /** One SFT step; false when there is no data to train on. */
    async step(): Promise<boolean> {
      if (samples.length === 0) return false;
      const batch = Array.from(
        { length: Math.min(cfg.sft.batchSize, samples.length) },
        (_, i) => samples[(state.steps * cfg.sft.batchSize + i * 7 + state.steps) % samples.length],
      );
      state.seqTokens += (await sftStep(runner, opt, batch, { lr: cfg.sft.lr, maxGradNorm: cfg.grpo.maxGradNorm })).seqTokens;
      state.steps++;
      return true;
    },
  };
  return state;
}

/**
 * SFT-only baseline: SFT continued from the cold-start checkpoint on the same data until the budget
 * is spent, then the held-out evaluation the run used.
 */
async function baselineRun(dir: string, cfg: RunConfig, budget: Budget) {
  const sft = await continuedSft(dir, cfg);
  const c0 = process.cpuUsage();
  const tb = performance.now();
  const cpuMs = () => {
    const d = process.cpuUsage(c0);
    return (d.user + d.system) / 1000;
  };
  const left = () => (budget.kind === 'cpu' ? cpuMs() < budget.ms : sft.seqTokens < budget.seqTokens);
  while (left() && (await sft.step())) {
    // train until the budget is spent
  }
  const { runner, steps, seqTokens } = sft;
  const trainMs = performance.now() - tb;
  const r = await heldOut(runner, sft.tokenizer, cfg, `learn-baseline-${budget.kind}`);
  runner.dispose();
  return { success: r.success, byMode: r.byMode, steps, seqTokens, wallMs: performance.now() - tb, trainMs };
}

/** The run's held-out evaluation (same tasks, modes, sampling and limits) of a baseline model. */
async function heldOut(runner: ModelRunner, tokenizer: ByteTokenizer, cfg: RunConfig, runId: string) {
  const testIds = selectTasks(codeInterpEnv, {
    split: 'test',
    prefix: cfg.families,
    maxDifficulty: cfg.maxDifficulty,
    count: cfg.testTasks,
    seed: cfg.seed + 1,
  });
  const policy = (mode: 'think' | 'no_think') =>
    new BuiltinPolicy(runner, tokenizer, { sampling: evalSampling(cfg.evalDecoding, mode), seed: cfg.seed });
  return evaluate(codeInterpEnv, policy, testIds, {
    modes: ['no_think', 'think'],
    headline: cfg.grpo.mode === 'think' ? 'think' : 'no_think',
    limits: {
      maxTurns: cfg.limits.maxTurns,
      maxTurnTokens: cfg.limits.maxTurnTokens,
      thinkingBudget: cfg.limits.thinkingBudget,
      maxTotalTokens: cfg.limits.maxTurns * cfg.limits.maxTurnTokens,
    },
    concurrency: cfg.concurrency,
    runId,
  });
}

/** One point of the equal-compute learning curves. */
export interface CurvePoint {
  grpoStep: number;
  /** GRPO's model compute up to this step, in training sequence tokens. */
  computeSeqTokens: number;
  grpo: number;
  baselineSteps: number;
  baselineSeqTokens: number;
  baseline: number;
  grpoMinusBaselinePoints: number;
}

/** The SFT-only baseline evaluated at every GRPO evaluation's compute. */
async function curveRun(dir: string, cfg: RunConfig): Promise<CurvePoint[]> {
  const { cumulative, evals } = grpoCompute(dir);
  // the test split's evaluations (a run with a validation split records those too)
  const points = evals
    .filter((e) => e.split === 'test')
    .map(({ step, success }) => ({ step, success, computeSeqTokens: cumulative[Math.min(step, cumulative.length - 1)] }));
  if (points.length < 2)
    throw new Error(`${dir} holds ${points.length} held-out evaluations: run with evalEvery > 0 for --baseline curve`);
  const sft = await continuedSft(dir, cfg);
  const out: CurvePoint[] = [];
  try {
    for (const p of points) {
      while (sft.seqTokens < p.computeSeqTokens && (await sft.step())) {
        // train up to this step's compute
      }
      const { steps, seqTokens } = sft;
      const r = await heldOut(sft.runner, sft.tokenizer, cfg, `learn-curve-${p.step}`);
      log(`curve: GRPO step ${p.step} ${p.success.toFixed(3)} vs SFT-only at ${steps} extra steps ${r.success.toFixed(3)}`);
      out.push({
        grpoStep: p.step,
        computeSeqTokens: Math.round(p.computeSeqTokens),
        grpo: p.success,
        baselineSteps: steps,
        baselineSeqTokens: seqTokens,
        baseline: r.success,
        grpoMinusBaselinePoints: 100 * (p.success - r.success),
      });
    }
  } finally {
    sft.runner.dispose();
  }
  return out;
}

/** GRPO's whole model compute (the flops baseline's budget). */
function grpoComputeSeqTokens(dir: string): number {
  return grpoCompute(dir).cumulative.at(-1) ?? 0;
}

async function measure(seed: number | undefined, limit: { flops: number; device: string }) {
  let dir: string;
  let summary: RunSummary;
  let cfg: RunConfig;
  let trainWallMs = 0;
  const from = arg('--from-run');
  if (from) {
    // re-measure the baselines of a finished run (its config, summary and checkpoints)
    dir = from;
    cfg = resolveRunConfig({ file: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) });
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    trainWallMs = summary.wallMs.total;
    log(`seed ${cfg.seed}: baselines of ${dir}`);
  } else {
    const file = (arg('--config') ? JSON.parse(readFileSync(arg('--config') as string, 'utf8')) : {}) as Record<string, unknown>;
    // the curve needs held-out evaluations during GRPO
    if (flags.baseline === 'curve' && file.evalEvery === undefined) file.evalEvery = 20;
    const out = mkdtempSync(join(tmpdir(), 'toolgym-learn-'));
    cfg = resolveRunConfig({
      preset: flags.quick ? 'quick' : 'default',
      file,
      flags: { env: 'code-interp', out, ...(seed !== undefined ? { seed } : {}) },
    });
    log(`seed ${cfg.seed}`);
    const t0 = performance.now();
    ({ dir, summary } = await train(codeInterpEnv, cfg, {
      runId: 'learn',
      hooks: {
        onNote: (s) => log(s),
        onRecord: (r) =>
          log(
            `${r.phase} ${r.step} ${r.phase === 'grpo' ? `reward ${Number(r.reward).toFixed(3)} success ${Number(r.success).toFixed(2)}` : r.phase === 'sft' ? `loss ${Number(r.loss).toFixed(3)}` : r.phase === 'probe' ? `train-task success ${Number(r.success).toFixed(3)}` : `held-out ${Number(r.success).toFixed(3)}`}`,
          ),
      },
    }));
    trainWallMs = performance.now() - t0;
  }

  // --- SFT-only baselines at GRPO's extra compute: process CPU time (what the run cost on this
  // machine, rollouts' per-token overhead and the environment included), and model compute.
  const which = flags.baseline ?? 'both';
  const none = { success: Number.NaN, byMode: {}, steps: 0, seqTokens: 0, wallMs: 0, trainMs: 0 };
  const flopsBudget = grpoComputeSeqTokens(dir);
  let cpuBase = none;
  let flopsBase = none;
  let curve: CurvePoint[] | undefined;
  if (which === 'curve') {
    log('baseline: SFT-only evaluated at the model compute of each GRPO evaluation');
    curve = await curveRun(dir, cfg);
  }
  if (which === 'cpu' || which === 'both') {
    log(`baseline: SFT-only for ${(summary.cpuMs.grpo / 1000).toFixed(0)} CPU s (GRPO's CPU time)`);
    cpuBase = await baselineRun(dir, cfg, { kind: 'cpu', ms: summary.cpuMs.grpo });
  }
  if (which === 'flops' || which === 'both') {
    log(`baseline: SFT-only for ${Math.round(flopsBudget)} training tokens (GRPO's model compute)`);
    flopsBase = await baselineRun(dir, cfg, { kind: 'flops', seqTokens: flopsBudget });
  }

  // training FLOPs per sequence token: forward + backward ~ 3x forward, at the mean context
  const meanCtx = 300;
  const ck = loadCheckpoint(join(dir, 'checkpoints', 'sft'));
  const flopsPerTrainedToken = 3 * flopsPerToken(ck.model.config, meanCtx);
  const achieved = summary.tokensPerSecond * flopsPerTrainedToken;
  return {
    seed: cfg.seed,
    env: 'code-interp',
    families: cfg.families,
    maxDifficulty: cfg.maxDifficulty,
    model: cfg.model,
    params: summary.params,
    vocabSize: summary.vocabSize,
    testTasks: cfg.testTasks,
    success: {
      coldStart: summary.before.success,
      grpo: summary.after.success,
      sftOnlyBaseline: cpuBase.success,
      sftOnlyBaselineFlops: flopsBase.success,
      grpoMinusColdStartPoints: 100 * (summary.after.success - summary.before.success),
      grpoMinusBaselinePoints: 100 * (summary.after.success - cpuBase.success),
      grpoMinusBaselineFlopsPoints: 100 * (summary.after.success - flopsBase.success),
    },
    validityAfterGrpo: summary.after.validity,
    cleanEpisodesAfterGrpo: summary.after.byMode[cfg.grpo.mode === 'think' ? 'think' : 'no_think']?.cleanEpisodes,
    modelRunsOn: summary.device,
    byMode: {
      coldStart: summary.before.byMode,
      grpo: summary.after.byMode,
      sftOnlyBaseline: cpuBase.byMode,
      sftOnlyBaselineFlops: flopsBase.byMode,
    },
    coldStart: summary.coldStart,
    steps: {
      sft: summary.sftSteps,
      grpo: summary.grpoSteps,
      baselineExtraSft: cpuBase.steps,
      baselineFlopsExtraSft: flopsBase.steps,
    },
    tokensTrained: {
      ...summary.tokensTrained,
      grpoModelComputeSequence: flopsBudget,
      baselineExtraSequence: cpuBase.seqTokens,
      baselineFlopsExtraSequence: flopsBase.seqTokens,
    },
    wallSeconds: {
      total: (trainWallMs + cpuBase.wallMs + flopsBase.wallMs) / 1000,
      train: trainWallMs / 1000,
      sft: summary.wallMs.sft / 1000,
      grpo: summary.wallMs.grpo / 1000,
      eval: summary.wallMs.eval / 1000,
      baseline: cpuBase.wallMs / 1000,
      baselineFlops: flopsBase.wallMs / 1000,
    },
    cpuSeconds: { sft: summary.cpuMs.sft / 1000, grpo: summary.cpuMs.grpo / 1000 },
    tokensPerSecond: summary.tokensPerSecond,
    matmulLimitGflops: limit.flops / 1e9,
    achievedGflops: achieved / 1e9,
    fractionOfMatmulLimit: achieved / limit.flops,
    device: limit.device,
    ...(curve ? { curve } : {}),
    runDir: dir,
  };
}

/** One seed of the learning experiment: the `learn` recipe's run, then its arms, splits and report. */
async function recipeSeed(seed: number): Promise<LearnResult & { trainWallSeconds: number; coldStart: number }> {
  const def = learnEnv();
  const file = (arg('--config') ? JSON.parse(readFileSync(arg('--config') as string, 'utf8')) : {}) as Record<string, unknown>;
  const out = flags.out ?? mkdtempSync(join(tmpdir(), 'toolgym-learn-'));
  const cfg = resolveRunConfig({ preset: 'learn', file, flags: { env: 'code-interp', out, seed } });
  log(`seed ${seed}: learn recipe into ${out}`);
  const t0 = performance.now();
  const { dir, summary } = await train(def, cfg, {
    runId: `learn-s${seed}`,
    hooks: {
      onNote: (s) => log(s),
      onRecord: (r) => {
        if (r.phase === 'grpo')
          log(
            `grpo ${r.step} reward ${Number(r.reward).toFixed(3)} success ${Number(r.success).toFixed(2)} H ${Number(r.entropy).toFixed(3)} cov ${r.covSelected}`,
          );
        else if (r.phase === 'eval') log(`eval ${r.step} (${r.split ?? 'test'}) ${Number(r.success).toFixed(3)}`);
      },
    },
  });
  const trainWallSeconds = (performance.now() - t0) / 1000;
  const k = Number(flags.k ?? 16);
  const result = await runArms(dir, {
    def,
    k,
    splitTasks: Number(flags['split-tasks'] ?? 24),
    budgets: (flags.budgets ?? '0,16,32,64').split(',').filter(Boolean).map(Number),
    arms: (flags.arms ?? 'cold,sft,rs,grpo').split(',').map((a) => a.trim()) as ArmName[],
    onNote: (s) => log(s),
  });
  writeTrainingReport(dir);
  return { ...result, trainWallSeconds, coldStart: summary.before.success };
}

/** The recipe's figures over seeds: per split and arm the median pass@1, and the targets. */
async function recipeMain(seeds: number[]): Promise<void> {
  const runs: Awaited<ReturnType<typeof recipeSeed>>[] = [];
  for (const seed of seeds) runs.push(await recipeSeed(seed));
  const ood = SPLIT_NAMES.filter((n) => n.startsWith('ood-'));
  const fig = (
    r: LearnResult,
    arm: string,
    split: string,
    key: 'passAt1' | 'passHat4' | 'passAt16' | 'callValidity' | 'recovery',
  ) => {
    const a = r.arms.find((x) => x.arm === arm);
    const f = a?.splits[split as keyof typeof a.splits];
    return f ? f[key].value : Number.NaN;
  };
  const mean = (xs: number[]) => {
    const v = xs.filter(Number.isFinite);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  // OOD figure of an arm: the mean pass@1 over the OOD sub-splits that have tasks
  const oodOf = (r: LearnResult, arm: string) => mean(ood.map((s) => fig(r, arm, s, 'passAt1')));
  const perSeed = runs.map((r) => {
    const better = (f: (arm: string) => number) => Math.max(f('sft'), f('rs'));
    return {
      seed: r.seed,
      grpoMinusBetterOodPoints: 100 * (oodOf(r, 'grpo') - better((a) => oodOf(r, a))),
      grpoMinusBetterIdPoints: 100 * (fig(r, 'grpo', 'id', 'passAt1') - better((a) => fig(r, a, 'id', 'passAt1'))),
      grpoValidityId: fig(r, 'grpo', 'id', 'callValidity'),
      compliance: r.thinking?.compliance,
      budgetCurve: r.thinking?.budgets.map((b) => ({
        budget: b.budget,
        success: b.success.value,
        lo: b.success.lo,
        hi: b.success.hi,
      })),
    };
  });
  // the budget curve is non-decreasing within its intervals: each point's upper end >= the best lower end before it
  const budgetOk = (c: LearnResult['thinking']) =>
    !c ||
    c.budgets.every((b, i) =>
      c.budgets.slice(0, i).every((p) => (b.success.hi ?? b.success.value) >= (p.success.lo ?? p.success.value)),
    );
  const table: Record<string, Record<string, Record<string, number>>> = {};
  for (const split of SPLIT_NAMES.filter((n) => n !== 'val'))
    for (const arm of ['cold', 'sft', 'rs', 'grpo']) {
      table[split] ??= {};
      table[split][arm] = {
        passAt1: median(runs.map((r) => fig(r, arm, split, 'passAt1'))),
        passHat4: median(runs.map((r) => fig(r, arm, split, 'passHat4'))),
        passAt16: median(runs.map((r) => fig(r, arm, split, 'passAt16'))),
        callValidity: median(runs.map((r) => fig(r, arm, split, 'callValidity'))),
        recovery: median(runs.map((r) => fig(r, arm, split, 'recovery'))),
      };
    }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'learn',
      recipe: true,
      seeds,
      median: {
        grpoMinusBetterOodPoints: median(perSeed.map((p) => p.grpoMinusBetterOodPoints)),
        grpoMinusBetterIdPoints: median(perSeed.map((p) => p.grpoMinusBetterIdPoints)),
        grpoValidityId: median(perSeed.map((p) => p.grpoValidityId)),
        trainWallSeconds: median(runs.map((r) => r.trainWallSeconds)),
        coldStart: median(runs.map((r) => r.coldStart)),
        rlTasks: median(runs.map((r) => r.rlTasks)),
      },
      targets: {
        oodAtLeast5Points: median(perSeed.map((p) => p.grpoMinusBetterOodPoints)) >= 5,
        idNotBelow: median(perSeed.map((p) => p.grpoMinusBetterIdPoints)) >= 0,
        validityAtLeast98: perSeed.filter((p) => p.grpoValidityId >= 0.98).length,
        complianceAtLeast98PerMode: perSeed.filter(
          (p) => p.compliance && p.compliance.think.value >= 0.98 && p.compliance.no_think.value >= 0.98,
        ).length,
        budgetCurveNonDecreasing: runs.filter((r) => budgetOk(r.thinking)).length,
      },
      table,
      perSeed,
      runs,
    })}\n`,
  );
}

async function main(): Promise<void> {
  if (flags.recipe) {
    const seeds = (arg('--seeds') ?? '0').split(',').map((x) => Number(x.trim()));
    if (seeds.some((x) => !Number.isInteger(x))) throw new Error('--seeds takes comma-separated integers, e.g. --seeds 0,1,2');
    await recipeMain(seeds);
    return;
  }
  const seeds = arg('--seeds')
    ?.split(',')
    .map((x) => Number(x.trim()));
  if (seeds?.some((x) => !Number.isInteger(x))) throw new Error('--seeds takes comma-separated integers, e.g. --seeds 0,1,2');
  const limit = await matmulLimit();
  log(`matmul limit ${(limit.flops / 1e9).toFixed(1)} GFLOP/s on ${limit.device}`);
  if (!seeds) {
    process.stdout.write(`${JSON.stringify({ bench: 'learn', ...(await measure(undefined, limit)) })}\n`);
    return;
  }
  const runs: Awaited<ReturnType<typeof measure>>[] = [];
  for (const seed of seeds) runs.push(await measure(seed, limit));
  const col = (f: (r: (typeof runs)[number]) => number) => runs.map(f);
  const gain = col((r) => r.success.grpoMinusColdStartPoints);
  const overBaseline = col((r) => r.success.grpoMinusBaselinePoints);
  const validity = col((r) => r.validityAfterGrpo);
  // equal-compute curves: the median over seeds of GRPO minus SFT-only at each evaluation step
  const curveSteps = runs[0]?.curve?.map((p) => p.grpoStep) ?? [];
  const curveMedian = curveSteps.map((step) => {
    const at = runs.map((r) => r.curve?.find((p) => p.grpoStep === step)).filter((p) => p !== undefined);
    return {
      grpoStep: step,
      grpo: median(at.map((p) => p.grpo)),
      baseline: median(at.map((p) => p.baseline)),
      grpoMinusBaselinePoints: median(at.map((p) => p.grpoMinusBaselinePoints)),
      seedsAbove: at.filter((p) => p.grpoMinusBaselinePoints > 0).length,
    };
  });
  const summary = {
    seeds,
    median: {
      coldStart: median(col((r) => r.success.coldStart)),
      grpo: median(col((r) => r.success.grpo)),
      sftOnlyBaseline: median(col((r) => r.success.sftOnlyBaseline)),
      sftOnlyBaselineFlops: median(col((r) => r.success.sftOnlyBaselineFlops)),
      grpoMinusBaselineFlopsPoints: median(col((r) => r.success.grpoMinusBaselineFlopsPoints)),
      grpoMinusColdStartPoints: median(gain),
      grpoMinusBaselinePoints: median(overBaseline),
      validityAfterGrpo: median(validity),
      trainWallSeconds: median(col((r) => r.wallSeconds.train)),
    },
    seedsMeeting: {
      grpoMinusColdStartAtLeast25: gain.filter((g) => g >= 25).length,
      grpoAboveBaseline: overBaseline.filter((g) => g > 0).length,
      grpoAboveBaselineFlops: col((r) => r.success.grpoMinusBaselineFlopsPoints).filter((g) => g > 0).length,
      validityAtLeast98: validity.filter((v) => v >= 0.98).length,
      trainUnder30Minutes: col((r) => r.wallSeconds.train).filter((w) => w <= 1800).length,
    },
    ...(curveMedian.length ? { curveMedian } : {}),
  };
  process.stdout.write(`${JSON.stringify({ bench: 'learn', ...summary, runs })}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench/learn failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
