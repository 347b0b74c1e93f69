/**
 * The arms of the learning experiment at equal model compute, from one finished run with an RL
 * query set (`rl.families`): all three start from the run's cold-start checkpoint (`checkpoints/sft`).
 *
 * - `sft`: SFT continued on the demonstrations (`trajectories/sft-data.jsonl`): the imitation ceiling.
 * - `rs`: rejection-sampling SFT on the cold-start model's own verified successes over the RL query
 *   set (the filter's episodes, `trajectories/rl-filter.jsonl`, kept by the cold-start filter).
 * - `grpo`: the run itself.
 *
 * Model compute is counted in training sequence tokens (forward + backward = 3 forward passes):
 * GRPO's training passes plus one forward per token of every episode it sampled (`grpoCompute`).
 * The SFT arms train until their sequence tokens reach GRPO's at each of the run's validation
 * evaluations; there each is evaluated on the validation split and the best point is kept
 * (`arms/<arm>/best`). GRPO gets no such selection: its final checkpoint is what is tested, which
 * can only favour the SFT arms. Then every arm's selected model is evaluated on every split with k
 * episodes per task (pass@1, pass^4, pass@16, call validity, recovery, with bootstrap intervals),
 * and the GRPO model's thinking control is measured (`thinkingControl`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeMetrics } from '../../agent/eval/index.js';
import type { Trajectory } from '../../agent/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import { readTrajectories } from '../../agent/trajectory/index.js';
import type { EnvDefinition } from '../../envs/core/index.js';
import { type TokenSample, toSample } from '../batch.js';
import { BuiltinPolicy, loadCheckpoint, ModelRunner, saveCheckpoint } from '../model/index.js';
import { AdamW } from '../optim/index.js';
import { filterColdStart, sftStep } from '../sft/index.js';
import type { ByteTokenizer } from '../tokenizer/index.js';
import { type RunConfig, resolveRunConfig } from './config.js';
import { rolloutLimits } from './episodes.js';
import { evalSampling, evaluate } from './evaluate.js';
import { RL_FILTER_FILE } from './phase-rl.js';
import { learnSplits, SPLIT_NAMES, type SplitName, type Splits } from './splits.js';
import { headlineMode } from './tasks.js';

export type ArmName = 'cold' | 'sft' | 'rs' | 'grpo';
export const ARM_LABELS: Record<ArmName, string> = {
  cold: 'cold start',
  sft: '(a) SFT on demonstrations, best by validation',
  rs: '(b) rejection-sampling SFT, best by validation',
  grpo: '(c) GRPO',
};

/** A rate with its bootstrap interval over tasks. */
export interface Rate {
  value: number;
  lo?: number;
  hi?: number;
}

export interface SplitFigures {
  tasks: number;
  episodes: number;
  /** pass@1 (= avg@k), pass^4 and pass@16 when k reaches them (else NaN). */
  passAt1: Rate;
  passHat4: Rate;
  passAt16: Rate;
  /** Call validity per failure (`strictCallValidity`, the trainer's figure). */
  callValidity: Rate;
  recovery: Rate & { opportunities: number };
  cleanEpisodes: Rate;
  /**
   * Parse and validation failures by kind (`invalid_json`, `unclosed_tag`, `schema_*`, ...): why call
   * validity is what it is. Absent in results written before it was recorded.
   */
  failureKinds?: Record<string, number>;
}

export interface CurvePoint {
  /** Training sequence tokens (GRPO's model compute at the matching step). */
  computeSeqTokens: number;
  grpoStep: number;
  /** Validation success (headline mode, one episode per task). */
  val: number;
}

export interface ArmResult {
  arm: ArmName;
  curve: CurvePoint[];
  /** The selected point (sft, rs: best validation; grpo: the last; cold: compute 0). */
  selected: CurvePoint;
  checkpoint: string;
  /** SFT arms: training samples and steps taken. */
  samples?: number;
  steps?: number;
  splits: Partial<Record<SplitName, SplitFigures>>;
}

export interface ThinkingControl {
  /** Mode compliance per mode on the `id` split (turns that follow the mode). */
  compliance: { think: Rate; no_think: Rate };
  /** Success (avg@k) in think mode under each thinking budget, on the `id` split. */
  budgets: Array<{ budget: number; success: Rate; budgetHit: number }>;
}

export interface LearnResult {
  format: 'toolgym.learn/1';
  runDir: string;
  seed: number;
  k: number;
  splits: Record<SplitName, number>;
  rlTasks: number;
  grpoComputeSeqTokens: number;
  arms: ArmResult[];
  thinking?: ThinkingControl;
  wallSeconds: number;
}

export interface ArmsOptions {
  /** Episodes per task on the test splits (16 gives pass@16). */
  k: number;
  /** Tasks per test split. */
  splitTasks: number;
  arms?: readonly ArmName[];
  /** Thinking budgets of the sweep (none: no thinking-control measurement). */
  budgets?: readonly number[];
  bootstrapSamples?: number;
  def: EnvDefinition;
  onNote?: (s: string) => void;
}

const rate = (m: { value: number; lo?: number; hi?: number } | undefined): Rate =>
  m ? { value: m.value, lo: m.lo, hi: m.hi } : { value: Number.NaN };

/** The figures of one split's episodes (k per task). */
export function splitFigures(ts: readonly Trajectory[], k: number, bootstrapSamples = 1000, seed = 0): SplitFigures {
  const m = computeMetrics(ts, { maxK: k, bootstrap: { samples: bootstrapSamples, seed }, breakdownSamples: 0 });
  const s = m.overall;
  const at = (kk: number) => s.passCurve.find((p) => p.k === kk);
  return {
    tasks: s.units,
    episodes: s.episodes,
    passAt1: rate(at(1)?.passAt),
    passHat4: rate(at(4)?.passHat),
    passAt16: rate(at(16)?.passAt),
    callValidity: rate(s.metrics.strictCallValidity),
    recovery: { ...rate(s.metrics.recovery), opportunities: s.metrics.recovery?.den ?? 0 },
    cleanEpisodes: rate(s.metrics.cleanEpisodes),
    failureKinds: m.failureKinds,
  };
}

/** k episodes per task of each split with `runner` (headline mode, evaluation sampling). */
export async function evaluateSplits(
  def: EnvDefinition,
  runner: ModelRunner,
  tok: ByteTokenizer,
  cfg: RunConfig,
  splits: Partial<Splits>,
  o: { k: number; runId: string; bootstrapSamples?: number },
): Promise<Partial<Record<SplitName, SplitFigures>>> {
  const mode = headlineMode(cfg);
  const out: Partial<Record<SplitName, SplitFigures>> = {};
  for (const name of SPLIT_NAMES) {
    const ids = splits[name];
    if (!ids || ids.length === 0) continue;
    const policy = new BuiltinPolicy(runner, tok, { sampling: evalSampling(cfg.evalDecoding, mode), seed: cfg.seed });
    try {
      const { trajectories } = await runBatch({
        env: def,
        policy,
        tasks: ids,
        groupSize: o.k,
        mode,
        limits: rolloutLimits(cfg),
        concurrency: cfg.concurrency,
        runId: `${o.runId}-${name}`,
        progress: false,
      });
      out[name] = splitFigures(trajectories, o.k, o.bootstrapSamples, cfg.seed);
    } finally {
      policy.resetCache();
    }
  }
  return out;
}

/** Mode compliance per mode and success under each thinking budget, on `ids`. */
export async function thinkingControl(
  def: EnvDefinition,
  runner: ModelRunner,
  tok: ByteTokenizer,
  cfg: RunConfig,
  ids: readonly string[],
  o: { k: number; budgets: readonly number[]; runId: string; bootstrapSamples?: number },
): Promise<ThinkingControl> {
  const run = async (mode: 'think' | 'no_think', budget: number | undefined, label: string) => {
    const policy = new BuiltinPolicy(runner, tok, { sampling: evalSampling(cfg.evalDecoding, mode), seed: cfg.seed });
    try {
      const limits = { ...rolloutLimits(cfg), ...(budget !== undefined ? { thinkingBudget: budget } : {}) };
      const { trajectories } = await runBatch({
        env: def,
        policy,
        tasks: ids,
        groupSize: o.k,
        mode,
        limits,
        concurrency: cfg.concurrency,
        runId: `${o.runId}-${label}`,
        progress: false,
      });
      return computeMetrics(trajectories, {
        maxK: o.k,
        bootstrap: { samples: o.bootstrapSamples ?? 1000, seed: cfg.seed },
        breakdownSamples: 0,
      }).overall;
    } finally {
      policy.resetCache();
    }
  };
  const think = await run('think', undefined, 'think');
  const noThink = await run('no_think', undefined, 'no_think');
  const budgets: ThinkingControl['budgets'] = [];
  for (const b of o.budgets) {
    const s = await run('think', b, `budget${b}`);
    budgets.push({ budget: b, success: rate(s.metrics.avgAtK), budgetHit: s.metrics.budgetHit?.value ?? Number.NaN });
  }
  return {
    compliance: { think: rate(think.metrics.thinkCompliance), no_think: rate(noThink.metrics.noThinkCompliance) },
    budgets,
  };
}

/**
 * GRPO's model compute in training sequence tokens, cumulative up to each step (index 0 = before
 * GRPO): its training passes plus one forward per token of every episode sampled for that step (an
 * upper bound: the sampler reuses cached prompt prefixes). Rollout run ids end in `-s<step>r<round>`.
 * Also the run's periodic evaluations.
 */
export function grpoCompute(dir: string): {
  cumulative: number[];
  evals: { step: number; success: number; split: string }[];
} {
  const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { phase: string; step: number; success?: number; seqTokens?: number; split?: string });
  const perStep: number[] = [0];
  const add = (step: number, x: number) => {
    while (perStep.length <= step) perStep.push(0);
    perStep[step] += x;
  };
  for (const r of records) if (r.phase === 'grpo') add(r.step, r.seqTokens ?? 0);
  for (const t of readTrajectories(join(dir, 'trajectories', 'grpo.jsonl'))) {
    const m = /-s(\d+)r\d+$/.exec(t.ids.run);
    if (m) add(Number(m[1]) + 1, (t.tokens?.length ?? 0) / 3);
  }
  const cumulative: number[] = [];
  let sum = 0;
  for (const x of perStep) {
    sum += x;
    cumulative.push(sum);
  }
  const evals = records
    .filter((r) => r.phase === 'eval')
    .map((r) => ({ step: r.step, success: r.success ?? Number.NaN, split: r.split ?? 'test' }));
  return { cumulative, evals };
}

/** SFT continued from the run's cold-start checkpoint (weights and optimizer moments) on `samples`. */
async function sftArm(
  dir: string,
  cfg: RunConfig,
  arm: 'sft' | 'rs',
  samples: readonly TokenSample[],
  points: readonly { step: number; compute: number }[],
  val: (runner: ModelRunner, tok: ByteTokenizer, label: string) => Promise<number>,
  note: (s: string) => void,
): Promise<Omit<ArmResult, 'splits'>> {
  const ck = loadCheckpoint(join(dir, 'checkpoints', 'sft'), { withOptimizer: true });
  const opt = ck.optimizer ?? new AdamW(ck.model.params, ck.model.shapes);
  const runner = await ModelRunner.create(ck.model, cfg.device);
  const best = join(dir, 'arms', arm, 'best');
  const curve: CurvePoint[] = [];
  let steps = 0;
  let seqTokens = 0;
  let selected: CurvePoint | undefined;
  try {
    for (const p of points) {
      while (seqTokens < p.compute) {
        const batch = Array.from(
          { length: Math.min(cfg.sft.batchSize, samples.length) },
          (_, i) => samples[(steps * cfg.sft.batchSize + i * 7 + steps) % samples.length],
        );
        seqTokens += (await sftStep(runner, opt, batch, { lr: cfg.sft.lr, maxGradNorm: cfg.grpo.maxGradNorm })).seqTokens;
        steps++;
      }
      const v = await val(runner, ck.tokenizer, `${arm}-${p.step}`);
      const point = { computeSeqTokens: Math.round(p.compute), grpoStep: p.step, val: v };
      curve.push(point);
      note(
        `arm ${arm}: ${steps} SFT steps, ${Math.round(seqTokens)} sequence tokens (GRPO step ${p.step}): validation ${v.toFixed(3)}`,
      );
      if (!selected || v > selected.val) {
        selected = point;
        await runner.syncHost();
        saveCheckpoint(best, { model: ck.model, tokenizer: ck.tokenizer, meta: { phase: `arm-${arm}`, step: steps } });
      }
    }
  } finally {
    runner.dispose();
  }
  return { arm, curve, selected: selected as CurvePoint, checkpoint: best, samples: samples.length, steps };
}

/** Runs the arms of the experiment on a finished run folder and writes `learn.json` into it. */
export async function runArms(dir: string, o: ArmsOptions): Promise<LearnResult> {
  const t0 = performance.now();
  const note = o.onNote ?? (() => {});
  const cfg = resolveRunConfig({ file: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) });
  const splits = learnSplits(o.def, cfg, { tasks: o.splitTasks });
  const arms = o.arms ?? ['cold', 'sft', 'rs', 'grpo'];
  const { cumulative, evals } = grpoCompute(dir);
  const valEvals = evals.filter((e) => e.split === 'val');
  const lastStep = cumulative.length - 1;
  const points = [...valEvals.map((e) => e.step), lastStep]
    .filter((s, i, a) => s > 0 && a.indexOf(s) === i)
    .map((step) => ({ step, compute: cumulative[Math.min(step, lastStep)] }));
  const headline = headlineMode(cfg);
  const val = async (runner: ModelRunner, tok: ByteTokenizer, label: string) => {
    const r = await evaluate(
      o.def,
      (mode) => new BuiltinPolicy(runner, tok, { sampling: evalSampling(cfg.evalDecoding, mode), seed: cfg.seed }),
      splits.val,
      { modes: [headline], headline, limits: rolloutLimits(cfg), concurrency: cfg.concurrency, runId: `learn-val-${label}` },
    );
    return r.success;
  };
  const rest: Partial<Splits> = Object.fromEntries(SPLIT_NAMES.filter((n) => n !== 'val').map((n) => [n, splits[n]]));
  const evalCheckpoint = async (path: string, label: string) => {
    const ck = loadCheckpoint(path);
    const runner = await ModelRunner.create(ck.model, cfg.device);
    try {
      note(`evaluating ${label} on ${Object.keys(rest).length} splits, k=${o.k}`);
      return await evaluateSplits(o.def, runner, ck.tokenizer, cfg, rest, {
        k: o.k,
        runId: `learn-${label}`,
        bootstrapSamples: o.bootstrapSamples,
      });
    } finally {
      runner.dispose();
    }
  };
  const withRunner = async <T>(path: string, f: (r: ModelRunner, tok: ByteTokenizer) => Promise<T>): Promise<T> => {
    const ck = loadCheckpoint(path);
    const runner = await ModelRunner.create(ck.model, cfg.device);
    try {
      return await f(runner, ck.tokenizer);
    } finally {
      runner.dispose();
    }
  };
  const coldPath = join(dir, 'checkpoints', 'sft');
  const finalPath = join(dir, 'checkpoints', 'final');
  const coldVal = await withRunner(coldPath, (r, t) => val(r, t, 'cold'));
  const origin: CurvePoint = { computeSeqTokens: 0, grpoStep: 0, val: coldVal };
  const results: ArmResult[] = [];
  for (const arm of arms) {
    if (arm === 'cold') {
      results.push({
        arm,
        curve: [origin],
        selected: origin,
        checkpoint: coldPath,
        splits: await evalCheckpoint(coldPath, 'cold'),
      });
    } else if (arm === 'grpo') {
      const finalVal = await withRunner(finalPath, (r, t) => val(r, t, 'grpo-final'));
      const curve = [
        origin,
        ...valEvals
          .filter((e) => e.step < lastStep)
          .map((e) => ({ computeSeqTokens: Math.round(cumulative[e.step]), grpoStep: e.step, val: e.success })),
        { computeSeqTokens: Math.round(cumulative[lastStep]), grpoStep: lastStep, val: finalVal },
      ];
      results.push({
        arm,
        curve,
        selected: curve[curve.length - 1],
        checkpoint: finalPath,
        splits: await evalCheckpoint(finalPath, 'grpo'),
      });
    } else {
      const data =
        arm === 'sft'
          ? readTrajectories(join(dir, 'trajectories', 'sft-data.jsonl'))
          : filterColdStart(readTrajectories(join(dir, RL_FILTER_FILE)).filter((t) => t.correct)).kept;
      const samples = data.map(toSample).filter((s): s is TokenSample => s !== null);
      note(`arm ${arm}: ${samples.length} training samples`);
      if (samples.length === 0) {
        // nothing verified to train on: the arm stays the cold-start model
        note(`arm ${arm}: no training samples, so the arm is the cold-start model`);
        const curve = points.map((p) => ({ ...origin, computeSeqTokens: Math.round(p.compute), grpoStep: p.step }));
        results.push({
          arm,
          curve: [origin, ...curve],
          selected: origin,
          checkpoint: coldPath,
          samples: 0,
          steps: 0,
          splits: await evalCheckpoint(coldPath, arm),
        });
        continue;
      }
      const r = await sftArm(dir, cfg, arm, samples, points, val, note);
      results.push({ ...r, curve: [origin, ...r.curve], splits: await evalCheckpoint(r.checkpoint, arm) });
    }
  }
  let thinking: ThinkingControl | undefined;
  if (o.budgets && o.budgets.length > 0) {
    note(`thinking control of the GRPO model: budgets ${o.budgets.join(', ')}`);
    thinking = await withRunner(finalPath, (r, t) =>
      thinkingControl(o.def, r, t, cfg, splits.id, {
        k: Math.min(o.k, 4),
        budgets: o.budgets ?? [],
        runId: 'learn-thinking',
        bootstrapSamples: o.bootstrapSamples,
      }),
    );
  }
  let rlTasks = 0;
  try {
    rlTasks = (JSON.parse(readFileSync(join(dir, 'rl-tasks.json'), 'utf8')) as { ids: string[] }).ids.length;
  } catch {
    // a run without an RL query set file: counted as 0
  }
  const result: LearnResult = {
    format: 'toolgym.learn/1',
    runDir: dir,
    seed: cfg.seed,
    k: o.k,
    splits: Object.fromEntries(SPLIT_NAMES.map((n) => [n, splits[n].length])) as Record<SplitName, number>,
    rlTasks,
    grpoComputeSeqTokens: Math.round(cumulative[lastStep] ?? 0),
    arms: results,
    thinking,
    wallSeconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(
    join(dir, 'learn.json'),
    `${JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  return result;
}
