/**
 * Distillation benchmark: does on-policy distillation reach RL's held-out success at a tenth of its
 * compute (the Qwen3 report's and Thinking Machines' claim), on code-interp compute tasks?
 *
 *   teacher   a larger preset (micro) trained by `gym train` (cold-start SFT + GRPO), cached between
 *             seeds in the cache folder (keyed by its config)
 *   cold start, per seed: the student (nano) after `gym train`'s cold-start SFT on oracle episodes,
 *             on the teacher's tokenizer (`tokenizer`), no GRPO: every arm starts from it (`init`)
 *   (a) GRPO on the student                     `train` from the cold start, GRPO only
 *   (b) off-policy distillation only            `distill` from the cold start: SFT on the teacher's
 *                                               verified episodes in both modes, no on-policy step
 *   (c) off-policy then on-policy distillation  `distill` continued from (b): on-policy steps
 *
 * For each arm: held-out success per mode (the run's own before/after evaluation: one episode per
 * test task and mode, Qwen3's sampling), mode compliance per mode, pass@k over `--pass-tasks` test
 * tasks x k samples (no_think), out-of-distribution success (trainer/run/splits.ts, the learning
 * experiment's splits: compute.sim at difficulties 2-5, the compute families no arm trained on, the
 * in-distribution tasks reworded, and with a tool whose first call fails; `--ood-tasks` tasks each,
 * one no_think episode per task), and compute from the runs' summaries (student + teacher model
 * FLOPs of the arm's own phases: the cold start is common to all arms and the teacher's training is
 * paid once; held-out evaluations are not counted), plus wall time. (c)'s compute includes (b)'s.
 *
 * Curves: every arm's run evaluates the held-out set every `--eval-every` steps of its phase (GRPO,
 * off-policy SFT, on-policy), so each arm has success against compute, and the bench reports the
 * compute at which each arm first reaches (a)'s final held-out success. The compute at an
 * intermediate step is the phase's FLOPs in proportion to the tokens trained so far (exact for SFT's
 * and the teacher's scoring, which are per token; a rollout's tokens are taken as proportional to
 * the tokens trained on them); (b)'s teacher FLOPs (its episodes) are all paid before step 1.
 *
 *   npx tsx bench/distill.ts [--seeds 0,1,2,3,4] [--quick] [--cache .bench-cache/distill]
 *     [--teacher-grpo-steps 60] [--grpo-steps 60] [--off-policy-steps 100] [--on-policy-steps 20]
 *     [--on-policy-lr X] [--on-policy-decoding qwen3|full] [--on-policy-mode both|mixed|think|no_think] [--eval-every 10] [--test-tasks 64] [--pass-tasks 16] [--k 16]
 *     [--ood-tasks 16] [--plot out.svg]
 *
 * Prints one JSON object on stdout (per seed, medians, targets); progress on stderr. `--plot` writes
 * an SVG of held-out success against total FLOPs (log scale): each arm's curve, every seed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeMetrics } from '../agent/eval/index.js';
import { runBatch } from '../agent/rollout/index.js';
import { codeInterpEnv } from '../envs/code-interp/index.js';
import { BuiltinPolicy, loadCheckpoint, ModelRunner } from '../trainer/model/index.js';
import {
  distill,
  evalSampling,
  evaluateSplits,
  learnEnv,
  learnSplits,
  type RunConfig,
  type RunSummary,
  resolveRunConfig,
  type SplitName,
  selectTasks,
  train,
} from '../trainer/run/index.js';
import { median } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0' },
    quick: { type: 'boolean' },
    cache: { type: 'string', default: '.bench-cache/distill' },
    'teacher-grpo-steps': { type: 'string' },
    'grpo-steps': { type: 'string' },
    'off-policy-steps': { type: 'string' },
    'on-policy-steps': { type: 'string' },
    'on-policy-lr': { type: 'string' },
    'on-policy-decoding': { type: 'string' },
    'on-policy-mode': { type: 'string' },
    'eval-every': { type: 'string' },
    'ood-tasks': { type: 'string' },
    'test-tasks': { type: 'string' },
    'pass-tasks': { type: 'string' },
    k: { type: 'string' },
    plot: { type: 'string' },
  },
  strict: true,
});
const int = (name: keyof typeof flags, dflt: number): number => {
  const v = flags[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} ${v}: want a whole number`);
  return n;
};
const quick = flags.quick === true;
const S = {
  teacherGrpo: int('teacher-grpo-steps', quick ? 2 : 60),
  grpo: int('grpo-steps', quick ? 2 : 60),
  offPolicy: int('off-policy-steps', quick ? 3 : 100),
  onPolicy: int('on-policy-steps', quick ? 2 : 20),
  testTasks: int('test-tasks', quick ? 4 : 64),
  passTasks: int('pass-tasks', quick ? 2 : 16),
  k: int('k', quick ? 2 : 16),
  evalEvery: int('eval-every', quick ? 1 : 10),
  oodTasks: int('ood-tasks', quick ? 2 : 16),
  onPolicyLr: flags['on-policy-lr'] === undefined ? undefined : Number(flags['on-policy-lr']),
  onPolicyDecoding: flags['on-policy-decoding'],
  onPolicyMode: flags['on-policy-mode'],
};
if (S.onPolicyLr !== undefined && !(S.onPolicyLr > 0))
  throw new Error(`--on-policy-lr ${flags['on-policy-lr']}: want a positive number`);
const OOD_SPLITS = ['ood-harder', 'ood-family', 'ood-reworded', 'ood-flaky'] as const satisfies readonly SplitName[];
const oodEnv = learnEnv();
const seeds = (flags.seeds as string).split(',').map((s) => Number(s.trim()));
const log = (s: string) => process.stderr.write(`[distill] ${s}\n`);
const preset = quick ? 'quick' : 'default';
const work = mkdtempSync(join(tmpdir(), 'toolgym-bench-distill-'));

function hooks(tag: string) {
  return {
    onNote: (s: string) => log(`${tag}: ${s}`),
    onRecord: (r: Record<string, unknown>) => {
      if (r.phase === 'eval') log(`${tag}: held-out ${Number(r.success).toFixed(3)} at step ${r.step}`);
      else if (typeof r.step === 'number' && r.step % 10 === 0)
        log(
          `${tag}: ${r.phase} ${r.step} ${r.phase === 'distill' ? `D ${Number(r.divergence).toFixed(4)}` : r.phase === 'grpo' ? `success ${Number(r.success).toFixed(2)}` : `loss ${Number(r.loss).toFixed(3)}`}`,
        );
    },
  };
}

/** The teacher: micro, cold-start SFT + GRPO, cached by its config. */
async function teacher(): Promise<{ dir: string; summary: RunSummary }> {
  const flagsT = { env: 'code-interp', model: 'micro', seed: 1000, testTasks: S.testTasks, grpo: { steps: S.teacherGrpo } };
  const key = createHash('sha256').update(JSON.stringify({ preset, flagsT })).digest('hex').slice(0, 12);
  const cache = resolve(flags.cache as string);
  const dir = join(cache, `teacher-${key}`);
  if (existsSync(join(dir, 'summary.json'))) {
    log(`teacher: cached ${dir}`);
    return { dir, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary };
  }
  mkdirSync(cache, { recursive: true });
  log('teacher: training micro (cold-start SFT + GRPO)');
  const cfg = resolveRunConfig({ preset, flags: { ...flagsT, out: cache } });
  return train(codeInterpEnv, cfg, { runId: `teacher-${key}`, hooks: hooks('teacher') });
}

/** pass@k of a checkpoint: `passTasks` test tasks, k no_think samples each, Qwen3's sampling. */
async function passAtK(ckDir: string, cfg: RunConfig): Promise<number> {
  const ck = loadCheckpoint(ckDir);
  const runner = await ModelRunner.create(ck.model, cfg.device);
  const policy = new BuiltinPolicy(runner, ck.tokenizer, { sampling: evalSampling('qwen3', 'no_think'), seed: cfg.seed + 77 });
  try {
    const tasks = selectTasks(codeInterpEnv, {
      split: 'test',
      prefix: cfg.families,
      maxDifficulty: cfg.maxDifficulty,
      count: S.passTasks,
      seed: cfg.seed,
    });
    const { trajectories } = await runBatch({
      env: codeInterpEnv,
      policy,
      tasks,
      groupSize: S.k,
      mode: 'no_think',
      limits: {
        maxTurns: cfg.limits.maxTurns,
        maxTurnTokens: cfg.limits.maxTurnTokens,
        thinkingBudget: cfg.limits.thinkingBudget,
        maxTotalTokens: cfg.limits.maxTurns * cfg.limits.maxTurnTokens,
      },
      concurrency: cfg.concurrency,
      runId: `pass-${cfg.seed}`,
      progress: false,
    });
    const m = computeMetrics(trajectories, { maxK: S.k, bootstrap: { samples: 0 }, breakdownSamples: 0 }).overall;
    const p = m.passCurve[S.k - 1]?.passAt;
    return p && p.den > 0 ? p.num / p.den : 0;
  } finally {
    policy.resetCache();
    runner.dispose();
  }
}

/** Success (pass@1, one no_think episode per task) of a checkpoint on the out-of-distribution splits. */
async function oodSuccess(ckDir: string, cfg: RunConfig, label: string): Promise<Record<string, number>> {
  // the splits of a run whose RL query set is its own training set (compute.sim at its difficulties)
  const rlCfg = { ...cfg, rl: { ...cfg.rl, families: cfg.families, minDifficulty: 1, maxDifficulty: cfg.maxDifficulty } };
  const all = learnSplits(oodEnv, rlCfg, { tasks: S.oodTasks });
  const splits = Object.fromEntries(OOD_SPLITS.map((n) => [n, all[n]]));
  const ck = loadCheckpoint(ckDir);
  const runner = await ModelRunner.create(ck.model, cfg.device);
  try {
    const f = await evaluateSplits(oodEnv, runner, ck.tokenizer, cfg, splits, {
      k: 1,
      runId: `ood-${label}`,
      bootstrapSamples: 0,
    });
    const out: Record<string, number> = {};
    for (const n of OOD_SPLITS) if (f[n]) out[n] = f[n].passAt1.value;
    out.mean = OOD_SPLITS.reduce((a, n) => a + (out[n] ?? 0), 0) / OOD_SPLITS.length;
    return out;
  } finally {
    runner.dispose();
  }
}

interface CurvePoint {
  /** Phase step of the evaluation (0: before the phase). */
  step: number;
  totalFlops: number;
  success: number;
}

/**
 * The held-out curve of one run's training phase (`sft`, `grpo` or `distill`): its `eval` records
 * against the FLOPs spent by then. `base` is compute paid before the phase (for (c), (b)'s), `upfront`
 * teacher FLOPs paid before its first step (the off-policy episodes).
 */
function curve(
  dir: string,
  s: RunSummary,
  phase: 'sft' | 'grpo' | 'distill',
  o: { base?: number; upfront?: number } = {},
): CurvePoint[] {
  const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = rows.filter((r) => r.phase === phase);
  const total = (k: string) => steps.reduce((a, r) => a + Number(r[k] ?? 0), 0);
  const upTo = (k: string, step: number) =>
    steps.filter((r) => Number(r.step) <= step).reduce((a, r) => a + Number(r[k] ?? 0), 0);
  const c = s.compute[phase];
  const upfront = o.upfront ?? 0;
  const seqAll = Math.max(1, total('seqTokens'));
  const teachAll = Math.max(1, total('teacherTokens'));
  const at = (step: number) =>
    (o.base ?? 0) +
    (c.studentFlops * upTo('seqTokens', step)) / seqAll +
    upfront +
    (phase === 'distill' ? (c.teacherFlops * upTo('teacherTokens', step)) / teachAll : 0);
  // a run's last evaluation is its `after` (recorded at the GRPO step: 0 in a distill run); the
  // others sit at their phase step, except that a distill run's `before` (step 0) follows its off-policy phase
  const last = steps.reduce((m, r) => Math.max(m, Number(r.step)), 0);
  const evals = rows.filter((r) => r.phase === 'eval');
  const byStep = new Map<number, number>();
  evals.forEach((r, i) => {
    const step = i === evals.length - 1 || (phase === 'sft' && Number(r.step) === 0) ? last : Number(r.step);
    byStep.set(step, Number(r.success));
  });
  return [...byStep].sort((a, b) => a[0] - b[0]).map(([step, success]) => ({ step, totalFlops: at(step), success }));
}

/** The first point of a curve at or above `target` success (its compute), or null. */
function firstReach(points: readonly CurvePoint[], target: number): number | null {
  return points.find((p) => p.success >= target)?.totalFlops ?? null;
}

interface Arm {
  success: number;
  successByMode: { think?: number; no_think?: number };
  compliance: { think?: number; no_think?: number };
  passAtK: number;
  ood: Record<string, number>;
  curve: CurvePoint[];
  /** Total FLOPs at which the arm's curve first reaches (a)'s final held-out success (null: never). */
  flopsToReachA: number | null;
  studentFlops: number;
  teacherFlops: number;
  totalFlops: number;
  wallMs: number;
  final: string;
}

function arm(
  s: RunSummary,
  compute: { studentFlops: number; teacherFlops: number; wallMs: number },
  pass: number,
  ood: Record<string, number>,
  points: CurvePoint[],
): Omit<Arm, 'flopsToReachA'> {
  const m = s.after.byMode;
  return {
    success: s.after.success,
    successByMode: { think: m.think?.success, no_think: m.no_think?.success },
    compliance: { think: m.think?.compliance, no_think: m.no_think?.compliance },
    passAtK: pass,
    ood,
    curve: points,
    ...compute,
    totalFlops: compute.studentFlops + compute.teacherFlops,
    final: s.checkpoints.final,
  };
}

async function oneSeed(seed: number, teacherDir: string) {
  const out = join(work, `seed${seed}`);
  const T = join(teacherDir, 'checkpoints', 'final');
  const common = { env: 'code-interp', model: 'nano', seed, out, testTasks: S.testTasks, evalEvery: S.evalEvery };
  log(`seed ${seed}: student cold start (nano, oracle SFT on the teacher's tokenizer)`);
  const cold = await train(codeInterpEnv, resolveRunConfig({ preset, flags: { ...common, tokenizer: T, grpo: { steps: 0 } } }), {
    runId: 'cold',
    hooks: hooks(`s${seed} cold`),
  });
  const S0 = cold.summary.checkpoints.final;
  const cfgA = resolveRunConfig({ preset, flags: { ...common, init: S0, sft: { steps: 0 }, grpo: { steps: S.grpo } } });
  log(`seed ${seed}: (a) GRPO ${S.grpo} steps`);
  const a = await train(codeInterpEnv, cfgA, { runId: 'a-grpo', hooks: hooks(`s${seed} a`) });
  log(`seed ${seed}: (b) off-policy distillation, ${S.offPolicy} SFT steps on the teacher's episodes`);
  const cfgB = resolveRunConfig({
    preset,
    distill: true,
    flags: { ...common, init: S0, sft: { steps: S.offPolicy }, distill: { teacher: T, steps: 0 } },
  });
  const b = await distill(codeInterpEnv, cfgB, { runId: 'b-offpolicy', hooks: hooks(`s${seed} b`) });
  log(`seed ${seed}: (c) then on-policy distillation, ${S.onPolicy} steps`);
  const cfgC = resolveRunConfig({
    preset,
    distill: true,
    flags: {
      ...common,
      init: b.summary.checkpoints.final,
      sft: { steps: 0 },
      distill: {
        teacher: T,
        steps: S.onPolicy,
        lr: S.onPolicyLr,
        decoding: S.onPolicyDecoding,
        mode: S.onPolicyMode,
      },
    },
  });
  const c = await distill(codeInterpEnv, cfgC, { runId: 'c-onpolicy', hooks: hooks(`s${seed} c`) });
  log(`seed ${seed}: pass@${S.k}`);
  const pass = {
    cold: await passAtK(S0, cfgA),
    a: await passAtK(a.summary.checkpoints.final, cfgA),
    b: await passAtK(b.summary.checkpoints.final, cfgA),
    c: await passAtK(c.summary.checkpoints.final, cfgA),
  };
  log(`seed ${seed}: out-of-distribution splits`);
  const ood = {
    cold: await oodSuccess(S0, cfgA, `cold${seed}`),
    a: await oodSuccess(a.summary.checkpoints.final, cfgA, `a${seed}`),
    b: await oodSuccess(b.summary.checkpoints.final, cfgA, `b${seed}`),
    c: await oodSuccess(c.summary.checkpoints.final, cfgA, `c${seed}`),
  };
  const bc = b.summary.compute.total;
  const cc = c.summary.compute.total;
  const bTotal = bc.studentFlops + bc.teacherFlops;
  const partial = {
    a: arm(a.summary, a.summary.compute.total, pass.a, ood.a, curve(a.dir, a.summary, 'grpo')),
    b: arm(b.summary, bc, pass.b, ood.b, [
      // the cold start, once the teacher's episodes are paid for
      { step: 0, totalFlops: b.summary.compute.sft.teacherFlops, success: cold.summary.after.success },
      ...curve(b.dir, b.summary, 'sft', { upfront: b.summary.compute.sft.teacherFlops }),
    ]),
    c: arm(
      c.summary,
      {
        studentFlops: bc.studentFlops + cc.studentFlops,
        teacherFlops: bc.teacherFlops + cc.teacherFlops,
        wallMs: bc.wallMs + cc.wallMs,
      },
      pass.c,
      ood.c,
      curve(c.dir, c.summary, 'distill', { base: bTotal }),
    ),
  };
  const target = partial.a.success;
  const arms = {
    a: { ...partial.a, flopsToReachA: firstReach(partial.a.curve, target) },
    b: { ...partial.b, flopsToReachA: firstReach(partial.b.curve, target) },
    c: { ...partial.c, flopsToReachA: firstReach(partial.c.curve, target) },
  };
  const coldM = cold.summary.after.byMode;
  return {
    seed,
    coldStart: {
      success: cold.summary.after.success,
      compliance: { think: coldM.think?.compliance, no_think: coldM.no_think?.compliance },
      passAtK: pass.cold,
      ood: ood.cold,
      studentFlops: cold.summary.compute.total.studentFlops,
    },
    arms,
    cVsA: {
      successPoints: 100 * (arms.c.success - arms.a.success),
      computeRatio: arms.c.totalFlops / arms.a.totalFlops,
      passAtKPoints: 100 * (arms.c.passAtK - arms.a.passAtK),
      reachesAAtTenth: arms.c.flopsToReachA !== null && arms.c.flopsToReachA <= arms.a.totalFlops / 10,
      /** (c)'s FLOPs where its curve first reaches (a)'s final success, over (a)'s total (null: never). */
      reachRatio: arms.c.flopsToReachA === null ? null : arms.c.flopsToReachA / arms.a.totalFlops,
      /** The same for (b) alone. */
      bReachRatio: arms.b.flopsToReachA === null ? null : arms.b.flopsToReachA / arms.a.totalFlops,
    },
  };
}

type SeedResult = Awaited<ReturnType<typeof oneSeed>>;

/** Held-out success against total FLOPs (log x): each arm's curve per seed, its final point marked. */
function plot(results: SeedResult[], file: string): void {
  const arms = ['a', 'b', 'c'] as const;
  // log scale: points at zero compute (an arm's start) are left out
  const lines = results.flatMap((r) =>
    arms.map((k) => ({
      k,
      pts: r.arms[k].curve.filter((p) => p.totalFlops > 0).map((p) => ({ x: Math.log10(p.totalFlops), y: p.success })),
    })),
  );
  const xs = lines.flatMap((l) => l.pts.map((p) => p.x));
  const [x0, x1] = [Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs))];
  const W = 560;
  const H = 360;
  const px = (x: number) => 60 + ((x - x0) / Math.max(1e-9, x1 - x0)) * (W - 90);
  const py = (y: number) => H - 40 - y * (H - 70);
  const color = { a: '#d62728', b: '#1f77b4', c: '#2ca02c' };
  const label = { a: '(a) GRPO', b: '(b) off-policy', c: '(c) off + on-policy' };
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<line x1="60" y1="${H - 40}" x2="${W - 30}" y2="${H - 40}" stroke="black"/><line x1="60" y1="30" x2="60" y2="${H - 40}" stroke="black"/>`,
    ...Array.from(
      { length: x1 - x0 + 1 },
      (_, i) => `<text x="${px(x0 + i)}" y="${H - 22}" text-anchor="middle">1e${x0 + i}</text>`,
    ),
    ...[0, 0.25, 0.5, 0.75, 1].map((y) => `<text x="54" y="${py(y) + 4}" text-anchor="end">${Math.round(100 * y)}%</text>`),
    `<text x="${(W + 30) / 2}" y="${H - 6}" text-anchor="middle">model FLOPs (student + teacher), log scale</text>`,
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">held-out success</text>`,
    ...lines.flatMap((l) => [
      `<polyline fill="none" stroke="${color[l.k]}" stroke-width="1.5" points="${l.pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
      ...l.pts.map(
        (p, i) => `<circle cx="${px(p.x)}" cy="${py(p.y)}" r="${i === l.pts.length - 1 ? 5 : 2.5}" fill="${color[l.k]}"/>`,
      ),
    ]),
    ...arms.map(
      (k, i) =>
        `<circle cx="${W - 150}" cy="${40 + 18 * i}" r="5" fill="${color[k]}"/><text x="${W - 140}" y="${44 + 18 * i}">${label[k]}</text>`,
    ),
    '</svg>',
  ];
  writeFileSync(file, `${svg.join('\n')}\n`);
}

async function main() {
  const t = await teacher();
  log(`teacher held-out success ${t.summary.after.success.toFixed(3)}`);
  const results: SeedResult[] = [];
  for (const seed of seeds) results.push(await oneSeed(seed, t.dir));
  if (flags.plot) plot(results, flags.plot);
  const med = (f: (r: SeedResult) => number) => median(results.map(f));
  const modes = ['think', 'no_think'] as const;
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'distill',
        env: 'code-interp',
        settings: { ...S, preset },
        teacher: {
          dir: t.dir,
          params: t.summary.params,
          success: t.summary.after.success,
          byMode: t.summary.after.byMode,
          trainFlops: t.summary.compute.total,
        },
        seeds: results,
        median: {
          coldStart: med((r) => r.coldStart.success),
          success: { a: med((r) => r.arms.a.success), b: med((r) => r.arms.b.success), c: med((r) => r.arms.c.success) },
          passAtK: { a: med((r) => r.arms.a.passAtK), b: med((r) => r.arms.b.passAtK), c: med((r) => r.arms.c.passAtK) },
          totalFlops: {
            a: med((r) => r.arms.a.totalFlops),
            b: med((r) => r.arms.b.totalFlops),
            c: med((r) => r.arms.c.totalFlops),
          },
          cComputeOverA: med((r) => r.cVsA.computeRatio),
          cReachComputeOverA: med((r) => r.cVsA.reachRatio ?? Number.POSITIVE_INFINITY),
          bReachComputeOverA: med((r) => r.cVsA.bReachRatio ?? Number.POSITIVE_INFINITY),
          ood: Object.fromEntries((['a', 'b', 'c'] as const).map((k) => [k, med((r) => r.arms[k].ood.mean)])),
          cMinusASuccessPoints: med((r) => r.cVsA.successPoints),
        },
        targets: {
          // on the curves: the compute at which (c) first reaches (a)'s final success, over (a)'s total
          cReachesAAtTenthCompute: med((r) => r.cVsA.reachRatio ?? Number.POSITIVE_INFINITY) <= 0.1,
          cPassAtKAtLeastA: med((r) => r.cVsA.passAtKPoints) >= 0,
          cModeCompliance98: modes.every((m) => results.every((r) => (r.arms.c.compliance[m] ?? 0) >= 0.98)),
        },
      },
      null,
      1,
    )}\n`,
  );
}

await main();
