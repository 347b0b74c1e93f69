/**
 * Learning benchmark: held-out test-split success of the built-in model on code-interp compute
 * tasks after cold-start SFT, after GRPO, and for the SFT-only baseline given GRPO's extra compute
 * (SFT continued from the same cold-start checkpoint on the same data for as much process CPU time
 * as the GRPO phase used). Also wall time, tokens trained, tokens/s, and the training throughput as
 * a fraction of the machine's matmul limit (the CPU device's GEMM on a large square product,
 * measured in the same run).
 *
 *   npx tsx bench/learn.ts [--config file.json] [--quick] [--seeds 0,1,2] [--no-baseline]
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
import { type TokenSample, toSample } from '../trainer/batch.js';
import { BuiltinPolicy, flopsPerToken, loadCheckpoint, ModelRunner, useDevice } from '../trainer/model/index.js';
import { AdamW } from '../trainer/optim/index.js';
import { evalSampling, evaluate, resolveRunConfig, selectTasks, train } from '../trainer/run/index.js';
import { sftStep } from '../trainer/sft/index.js';

// Strict flags: a misspelt one (`--seed` for `--seeds`) must not silently run the default.
const { values: flags } = parseArgs({
  options: {
    config: { type: 'string' },
    quick: { type: 'boolean' },
    seeds: { type: 'string' },
    'no-baseline': { type: 'boolean' },
  },
  strict: true,
});
function arg(name: '--config' | '--seeds'): string | undefined {
  return flags[name.slice(2) as 'config' | 'seeds'];
}

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

async function measure(seed: number | undefined, limit: { flops: number; device: string }) {
  const file = arg('--config') ? JSON.parse(readFileSync(arg('--config') as string, 'utf8')) : undefined;
  const out = mkdtempSync(join(tmpdir(), 'toolgym-learn-'));
  const cfg = resolveRunConfig({
    preset: flags.quick ? 'quick' : 'default',
    file,
    flags: { env: 'code-interp', out, ...(seed !== undefined ? { seed } : {}) },
  });
  log(`seed ${cfg.seed}`);
  const t0 = performance.now();
  const { dir, summary } = await train(codeInterpEnv, cfg, {
    runId: 'learn',
    hooks: {
      onNote: (s) => log(s),
      onRecord: (r) =>
        log(
          `${r.phase} ${r.step} ${r.phase === 'grpo' ? `reward ${Number(r.reward).toFixed(3)} success ${Number(r.success).toFixed(2)}` : r.phase === 'sft' ? `loss ${Number(r.loss).toFixed(3)}` : r.phase === 'probe' ? `train-task success ${Number(r.success).toFixed(3)}` : `held-out ${Number(r.success).toFixed(3)}`}`,
        ),
    },
  });
  const trainWallMs = performance.now() - t0;

  // --- SFT-only baseline at GRPO's extra compute (process CPU time)
  log(`baseline: SFT-only for ${(summary.cpuMs.grpo / 1000).toFixed(0)} CPU s (GRPO's compute)`);
  const ck = loadCheckpoint(join(dir, 'checkpoints', 'sft'), { withOptimizer: true });
  const opt = ck.optimizer ?? new AdamW(ck.model.params, ck.model.shapes);
  if (cfg.device === 'host') await useDevice('cpu');
  const runner = await ModelRunner.create(ck.model, cfg.device);
  const samples = readTrajectories(join(dir, 'trajectories', 'sft-data.jsonl'))
    .map(toSample)
    .filter((s): s is TokenSample => s !== null);
  const c0 = process.cpuUsage();
  const tb = performance.now();
  let extraSteps = 0;
  let extraTokens = 0;
  const cpuMs = () => {
    const d = process.cpuUsage(c0);
    return (d.user + d.system) / 1000;
  };
  // --no-baseline (exploring recipes): skip the baseline's training and evaluation.
  const budgetMs = flags['no-baseline'] ? 0 : summary.cpuMs.grpo;
  while (cpuMs() < budgetMs && samples.length > 0) {
    const batch = Array.from(
      { length: Math.min(cfg.sft.batchSize, samples.length) },
      (_, i) => samples[(extraSteps * cfg.sft.batchSize + i * 7 + extraSteps) % samples.length],
    );
    extraTokens += (await sftStep(runner, opt, batch, { lr: cfg.sft.lr, maxGradNorm: cfg.grpo.maxGradNorm })).seqTokens;
    extraSteps++;
  }
  const baselineWallMs = performance.now() - tb;
  const testIds = selectTasks(codeInterpEnv, {
    split: 'test',
    prefix: cfg.families,
    maxDifficulty: cfg.maxDifficulty,
    count: cfg.testTasks,
    seed: cfg.seed + 1,
  });
  const policy = (mode: 'think' | 'no_think') =>
    new BuiltinPolicy(runner, ck.tokenizer, { sampling: evalSampling(cfg.evalDecoding, mode), seed: cfg.seed });
  const baseline =
    budgetMs === 0
      ? { success: Number.NaN, byMode: {} }
      : await evaluate(codeInterpEnv, policy, testIds, {
          modes: ['no_think', 'think'],
          headline: cfg.grpo.mode === 'think' ? 'think' : 'no_think',
          limits: {
            maxTurns: cfg.limits.maxTurns,
            maxTurnTokens: cfg.limits.maxTurnTokens,
            thinkingBudget: cfg.limits.thinkingBudget,
            maxTotalTokens: cfg.limits.maxTurns * cfg.limits.maxTurnTokens,
          },
          concurrency: cfg.concurrency,
          runId: 'learn-baseline',
        });

  // training FLOPs per sequence token: forward + backward ~ 3x forward, at the mean context
  const meanCtx = 300;
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
      sftOnlyBaseline: baseline.success,
      grpoMinusColdStartPoints: 100 * (summary.after.success - summary.before.success),
      grpoMinusBaselinePoints: 100 * (summary.after.success - baseline.success),
    },
    validityAfterGrpo: summary.after.validity,
    cleanEpisodesAfterGrpo: summary.after.byMode[cfg.grpo.mode === 'think' ? 'think' : 'no_think']?.cleanEpisodes,
    modelRunsOn: summary.device,
    byMode: { coldStart: summary.before.byMode, grpo: summary.after.byMode, sftOnlyBaseline: baseline.byMode },
    coldStart: summary.coldStart,
    steps: { sft: summary.sftSteps, grpo: summary.grpoSteps, baselineExtraSft: extraSteps },
    tokensTrained: { ...summary.tokensTrained, baselineExtraSequence: extraTokens },
    wallSeconds: {
      total: (trainWallMs + baselineWallMs) / 1000,
      train: trainWallMs / 1000,
      sft: summary.wallMs.sft / 1000,
      grpo: summary.wallMs.grpo / 1000,
      eval: summary.wallMs.eval / 1000,
      baseline: baselineWallMs / 1000,
    },
    cpuSeconds: { sft: summary.cpuMs.sft / 1000, grpo: summary.cpuMs.grpo / 1000 },
    tokensPerSecond: summary.tokensPerSecond,
    matmulLimitGflops: limit.flops / 1e9,
    achievedGflops: achieved / 1e9,
    fractionOfMatmulLimit: achieved / limit.flops,
    device: limit.device,
    runDir: dir,
  };
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
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
  const summary = {
    seeds,
    median: {
      coldStart: median(col((r) => r.success.coldStart)),
      grpo: median(col((r) => r.success.grpo)),
      sftOnlyBaseline: median(col((r) => r.success.sftOnlyBaseline)),
      grpoMinusColdStartPoints: median(gain),
      grpoMinusBaselinePoints: median(overBaseline),
      validityAfterGrpo: median(validity),
      trainWallSeconds: median(col((r) => r.wallSeconds.train)),
    },
    seedsMeeting: {
      grpoMinusColdStartAtLeast25: gain.filter((g) => g >= 25).length,
      grpoAboveBaseline: overBaseline.filter((g) => g > 0).length,
      validityAtLeast98: validity.filter((v) => v >= 0.98).length,
      trainUnder30Minutes: col((r) => r.wallSeconds.train).filter((w) => w <= 1800).length,
    },
  };
  process.stdout.write(`${JSON.stringify({ bench: 'learn', ...summary, runs })}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench/learn failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
