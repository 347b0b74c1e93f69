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
 *     [--teacher-grpo-steps 30] [--grpo-steps 30] [--off-policy-steps 30] [--off-policy-warmup 5]
 *     [--off-policy-lr 1e-3] [--off-policy-batch 8] [--on-policy-steps 10]
 *     [--on-policy-lr X] [--on-policy-decoding qwen3|full] [--on-policy-mode both|mixed|think|no_think] [--eval-every 2] [--test-tasks 64] [--pass-tasks 8] [--k 16]
 *     [--ood-tasks 16] [--out dir]
 *
 * The cache folder keeps the teacher (`teacher-<key>`) and, per seed, the cold start and arm (a) with
 * their pass@k and OOD figures (`student-<key>/seed<N>`): both are deterministic given their settings,
 * so an invocation that changes only (b)'s or (c)'s settings trains neither again. The keys cover the
 * settings, not the code: clear the folder after changing how the trainer trains them.
 *
 * Prints one JSON object on stdout (per seed, medians, targets); progress on stderr. The runs go to
 * `--out` (default a fresh temporary folder): `seed<N>/{b-offpolicy,c-onpolicy}-seed<N>` (the cold
 * start and (a) are in the cache). Each
 * seed's (c) run holds `distill-arms.json` (trainer/run/distill-arms.ts) and a `report.html` that
 * draws every arm's held-out success against compute on one plot; `<out>/report.html` compares all
 * seeds' (c) runs, every arm of every seed on that plot.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { computeMetrics } from '../agent/eval/index.js';
import { runBatch } from '../agent/rollout/index.js';
import { codeInterpEnv } from '../envs/code-interp/index.js';
import { BuiltinPolicy, loadCheckpoint, ModelRunner } from '../trainer/model/index.js';
import {
  compareDistillArms,
  type DistillArm,
  type DistillArmsResult,
  type DistillCurvePoint,
  distill,
  evalSampling,
  evaluateSplits,
  headlineMode,
  learnEnv,
  learnSplits,
  phaseCurve,
  type RunConfig,
  type RunSummary,
  resolveRunConfig,
  type SplitName,
  selectTasks,
  train,
  wilsonInterval,
  writeDistillArms,
  writeTrainingReport,
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
    'off-policy-warmup': { type: 'string' },
    'off-policy-lr': { type: 'string' },
    'off-policy-batch': { type: 'string' },
    'on-policy-decoding': { type: 'string' },
    'on-policy-mode': { type: 'string' },
    'eval-every': { type: 'string' },
    'ood-tasks': { type: 'string' },
    'test-tasks': { type: 'string' },
    'pass-tasks': { type: 'string' },
    k: { type: 'string' },
    out: { type: 'string' },
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
  teacherGrpo: int('teacher-grpo-steps', quick ? 2 : 30),
  grpo: int('grpo-steps', quick ? 2 : 30),
  offPolicy: int('off-policy-steps', quick ? 3 : 30),
  offPolicyWarmup: int('off-policy-warmup', quick ? 0 : 5),
  onPolicy: int('on-policy-steps', quick ? 2 : 10),
  testTasks: int('test-tasks', quick ? 4 : 64),
  passTasks: int('pass-tasks', quick ? 2 : 8),
  k: int('k', quick ? 2 : 16),
  evalEvery: int('eval-every', quick ? 1 : 2),
  oodTasks: int('ood-tasks', quick ? 2 : 16),
  onPolicyLr: flags['on-policy-lr'] === undefined ? undefined : Number(flags['on-policy-lr']),
  offPolicyLr: flags['off-policy-lr'] === undefined ? undefined : Number(flags['off-policy-lr']),
  offPolicyBatch: flags['off-policy-batch'] === undefined ? undefined : int('off-policy-batch', 8),
  onPolicyDecoding: flags['on-policy-decoding'],
  onPolicyMode: flags['on-policy-mode'],
};
for (const f of ['on-policy-lr', 'off-policy-lr'] as const)
  if (flags[f] !== undefined && !(Number(flags[f]) > 0)) throw new Error(`--${f} ${flags[f]}: want a positive number`);
if (S.offPolicyBatch === 0) throw new Error('--off-policy-batch 0: want at least 1 sequence per step');
const OOD_SPLITS = ['ood-harder', 'ood-family', 'ood-reworded', 'ood-flaky'] as const satisfies readonly SplitName[];
const oodEnv = learnEnv();
const seeds = (flags.seeds as string).split(',').map((s) => Number(s.trim()));
const log = (s: string) => process.stderr.write(`[distill] ${s}\n`);
const preset = quick ? 'quick' : 'default';
const out = resolve(flags.out ?? mkdtempSync(join(tmpdir(), 'toolgym-bench-distill-')));

function hooks(tag: string) {
  return {
    onNote: (s: string) => log(`${tag}: ${s}`),
    onRecord: (r: Record<string, unknown>) => {
      if (r.phase === 'eval') log(`${tag}: held-out ${Number(r.success).toFixed(3)} at step ${r.step}`);
      else if (['sft', 'grpo', 'distill'].includes(String(r.phase)) && typeof r.step === 'number' && r.step % 10 === 0)
        log(
          `${tag}: ${r.phase} ${r.step} ${r.phase === 'distill' ? `D ${Number(r.divergence).toFixed(4)}` : r.phase === 'grpo' ? `success ${Number(r.success).toFixed(2)}` : `loss ${Number(r.loss).toFixed(3)}`}`,
        );
    },
  };
}

/**
 * The teacher: micro, cold-start SFT + GRPO, cached by its config. Always the default preset, even
 * with `--quick`: the quick preset's cold start is too short for a teacher whose episodes survive the
 * off-policy filter, and arm (b) has nothing to learn from without them.
 */
async function teacher(): Promise<Run> {
  const preset = 'default';
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

function arm(
  headline: 'think' | 'no_think',
  s: RunSummary,
  compute: { studentFlops: number; teacherFlops: number; wallMs: number },
  pass: number,
  ood: Record<string, number>,
  points: DistillCurvePoint[],
): Omit<DistillArm, 'flopsToReachA'> {
  const m = s.after.byMode;
  const episodes = m[headline]?.episodes ?? 0;
  return {
    success: s.after.success,
    successInterval: wilsonInterval(s.after.success, episodes),
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

type Run = { dir: string; summary: RunSummary };
type Base = {
  cold: Run;
  a: Run;
  pass: { cold: number; a: number };
  ood: { cold: Record<string, number>; a: Record<string, number> };
};

function readRun(dir: string): Run {
  return { dir, summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary };
}

/**
 * A seed's cold start and arm (a), with their pass@k and OOD success: deterministic given the seed,
 * the teacher and the settings they use, so they are kept in the cache folder (`student-<key>/seed<N>`)
 * and a later invocation that changes only (b)'s or (c)'s settings reuses them.
 */
async function studentBase(seed: number, t: Run): Promise<Base> {
  const T = join(t.dir, 'checkpoints', 'final');
  const settings = {
    preset,
    teacher: T,
    testTasks: S.testTasks,
    evalEvery: S.evalEvery,
    grpo: S.grpo,
    passTasks: S.passTasks,
    k: S.k,
    oodTasks: S.oodTasks,
  };
  const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
  const dir = join(resolve(flags.cache as string), `student-${key}`, `seed${seed}`);
  const done = join(dir, 'base.json');
  if (existsSync(done)) {
    const b = JSON.parse(readFileSync(done, 'utf8')) as Omit<Base, 'cold' | 'a'> & { cold: string; a: string };
    log(`seed ${seed}: cold start and (a) cached in ${dir}`);
    return { ...b, cold: readRun(b.cold), a: readRun(b.a) };
  }
  rmSync(dir, { recursive: true, force: true });
  const common = { env: 'code-interp', model: 'nano', seed, out: dir, testTasks: S.testTasks, evalEvery: S.evalEvery };
  log(`seed ${seed}: student cold start (nano, oracle SFT on the teacher's tokenizer)`);
  const cold = await train(codeInterpEnv, resolveRunConfig({ preset, flags: { ...common, tokenizer: T, grpo: { steps: 0 } } }), {
    runId: `cold-seed${seed}`,
    hooks: hooks(`s${seed} cold`),
  });
  const S0 = cold.summary.checkpoints.final;
  const cfgA = resolveRunConfig({ preset, flags: { ...common, init: S0, sft: { steps: 0 }, grpo: { steps: S.grpo } } });
  log(`seed ${seed}: (a) GRPO ${S.grpo} steps`);
  const a = await train(codeInterpEnv, cfgA, { runId: `a-grpo-seed${seed}`, hooks: hooks(`s${seed} a`) });
  log(`seed ${seed}: pass@${S.k} and out-of-distribution splits of the cold start and (a)`);
  const pass = { cold: await passAtK(S0, cfgA), a: await passAtK(a.summary.checkpoints.final, cfgA) };
  const ood = {
    cold: await oodSuccess(S0, cfgA, `cold${seed}`),
    a: await oodSuccess(a.summary.checkpoints.final, cfgA, `a${seed}`),
  };
  // written last: a base without base.json (an interrupted invocation) is trained again
  writeFileSync(done, `${JSON.stringify({ cold: cold.dir, a: a.dir, pass, ood }, null, 1)}\n`);
  return { cold, a, pass, ood };
}

async function oneSeed(seed: number, t: Run) {
  const dir = join(out, `seed${seed}`);
  const T = join(t.dir, 'checkpoints', 'final');
  const common = { env: 'code-interp', model: 'nano', seed, out: dir, testTasks: S.testTasks, evalEvery: S.evalEvery };
  const base = await studentBase(seed, t);
  const { cold, a } = base;
  const S0 = cold.summary.checkpoints.final;
  const cfgA = resolveRunConfig({ preset, flags: { ...common, init: S0, sft: { steps: 0 }, grpo: { steps: S.grpo } } });
  log(`seed ${seed}: (b) off-policy distillation, ${S.offPolicy} SFT steps on the teacher's episodes`);
  const cfgB = resolveRunConfig({
    preset,
    distill: true,
    flags: {
      ...common,
      init: S0,
      sft: {
        steps: S.offPolicy,
        warmupSteps: S.offPolicyWarmup,
        ...(S.offPolicyLr === undefined ? {} : { lr: S.offPolicyLr }),
        ...(S.offPolicyBatch === undefined ? {} : { batchSize: S.offPolicyBatch }),
      },
      distill: { teacher: T, steps: 0 },
    },
  });
  const b = await distill(codeInterpEnv, cfgB, { runId: `b-offpolicy-seed${seed}`, hooks: hooks(`s${seed} b`) });
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
  const c = await distill(codeInterpEnv, cfgC, { runId: `c-onpolicy-seed${seed}`, hooks: hooks(`s${seed} c`) });
  log(`seed ${seed}: pass@${S.k} and out-of-distribution splits of (b) and (c)`);
  const pass = {
    ...base.pass,
    b: await passAtK(b.summary.checkpoints.final, cfgA),
    c: await passAtK(c.summary.checkpoints.final, cfgA),
  };
  const ood = {
    ...base.ood,
    b: await oodSuccess(b.summary.checkpoints.final, cfgA, `b${seed}`),
    c: await oodSuccess(c.summary.checkpoints.final, cfgA, `c${seed}`),
  };
  const bc = b.summary.compute.total;
  const cc = c.summary.compute.total;
  const bTotal = bc.studentFlops + bc.teacherFlops;
  // held-out success is the headline mode's (the RL mode's) in every arm's runs
  const headline = headlineMode(cfgA);
  const partial = {
    a: arm(headline, a.summary, a.summary.compute.total, pass.a, ood.a, phaseCurve(a.dir, a.summary, 'grpo')),
    b: arm(headline, b.summary, bc, pass.b, ood.b, [
      // the cold start, once the teacher's episodes are paid for
      { step: 0, totalFlops: b.summary.compute.sft.teacherFlops, success: cold.summary.after.success },
      ...phaseCurve(b.dir, b.summary, 'sft', { upfront: b.summary.compute.sft.teacherFlops }),
    ]),
    c: arm(
      headline,
      c.summary,
      {
        studentFlops: bc.studentFlops + cc.studentFlops,
        teacherFlops: bc.teacherFlops + cc.teacherFlops,
        wallMs: bc.wallMs + cc.wallMs,
      },
      pass.c,
      ood.c,
      phaseCurve(c.dir, c.summary, 'distill', { base: bTotal }),
    ),
  };
  const coldM = cold.summary.after.byMode;
  const result: DistillArmsResult = {
    format: 'toolgym.distill-arms/1',
    seed,
    k: S.k,
    teacher: { dir: t.dir, params: t.summary.params, success: t.summary.after.success },
    coldStart: {
      success: cold.summary.after.success,
      compliance: { think: coldM.think?.compliance, no_think: coldM.no_think?.compliance },
      passAtK: pass.cold,
      ood: ood.cold,
      studentFlops: cold.summary.compute.total.studentFlops,
    },
    ...compareDistillArms(partial),
  };
  // (c)'s run report draws every arm against compute
  writeDistillArms(c.dir, result);
  writeTrainingReport(c.dir);
  log(`seed ${seed}: report ${join(c.dir, 'report.html')}`);
  return { ...result, runDir: c.dir };
}

type SeedResult = Awaited<ReturnType<typeof oneSeed>>;

async function main() {
  const t = await teacher();
  log(`teacher held-out success ${t.summary.after.success.toFixed(3)}`);
  const results: SeedResult[] = [];
  for (const seed of seeds) results.push(await oneSeed(seed, t));
  // every seed's arms on one plot: the seeds' (c) runs compared
  const report = writeTrainingReport(
    results[0].runDir,
    results.slice(1).map((r) => r.runDir),
    join(out, 'report.html'),
  );
  log(`report of all seeds: ${report}`);
  const med = (f: (r: SeedResult) => number) => median(results.map(f));
  const modes = ['think', 'no_think'] as const;
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'distill',
        env: 'code-interp',
        settings: {
          ...S,
          // the rate (b) trained at: gym distill's default for a trained student unless --off-policy-lr
          offPolicyLr: resolveRunConfig({ preset, distill: true, flags: { init: 'cold start', sft: { lr: S.offPolicyLr } } }).sft
            .lr,
          preset,
        },
        teacher: {
          dir: t.dir,
          params: t.summary.params,
          success: t.summary.after.success,
          byMode: t.summary.after.byMode,
          trainFlops: t.summary.compute.total,
        },
        report,
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
          cSustainedReachComputeOverA: med((r) => r.cVsA.sustainedReachRatio ?? Number.POSITIVE_INFINITY),
          cRunReachComputeOverA: med((r) => r.cVsA.runReachRatio ?? Number.POSITIVE_INFINITY),
          cRunSustainedReachComputeOverA: med((r) => r.cVsA.runSustainedReachRatio ?? Number.POSITIVE_INFINITY),
          cThinkCompliance: med((r) => r.arms.c.compliance.think ?? 0),
          cNoThinkCompliance: med((r) => r.arms.c.compliance.no_think ?? 0),
          bReachComputeOverA: med((r) => r.cVsA.bReachRatio ?? Number.POSITIVE_INFINITY),
          ood: Object.fromEntries((['a', 'b', 'c'] as const).map((k) => [k, med((r) => r.arms[k].ood.mean)])),
          cMinusASuccessPoints: med((r) => r.cVsA.successPoints),
        },
        // each reading of a target, the stricter ones too
        targets: {
          // the compute at which (c)'s run (its off-policy checkpoints, then its on-policy curve) first
          // reaches (a)'s final success, over (a)'s total, median over seeds
          cReachesAAtTenthCompute: med((r) => r.cVsA.runReachRatio ?? Number.POSITIVE_INFINITY) <= 0.1,
          // ... and stays there from
          cStaysAtAFromTenthCompute: med((r) => r.cVsA.runSustainedReachRatio ?? Number.POSITIVE_INFINITY) <= 0.1,
          // on the on-policy curve alone
          cOnPolicyCurveReachesAAtTenthCompute: med((r) => r.cVsA.reachRatio ?? Number.POSITIVE_INFINITY) <= 0.1,
          cPassAtKAtLeastA: med((r) => r.cVsA.passAtKPoints) >= 0,
          cModeCompliance98Median: modes.every((m) => med((r) => r.arms.c.compliance[m] ?? 0) >= 0.98),
          cModeCompliance98EverySeed: modes.every((m) => results.every((r) => (r.arms.c.compliance[m] ?? 0) >= 0.98)),
        },
      },
      null,
      1,
    )}\n`,
  );
}

await main();
