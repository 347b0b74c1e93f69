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
 * tasks x k samples (no_think), and compute from the runs' summaries (student + teacher model FLOPs
 * of the arm's own phases: the cold start is common to all arms and the teacher's training is paid
 * once; held-out evaluations are not counted), plus wall time. (c)'s compute includes (b)'s.
 *
 *   npx tsx bench/distill.ts [--seeds 0,1,2,3,4] [--quick] [--cache .bench-cache/distill]
 *     [--teacher-grpo-steps 60] [--grpo-steps 60] [--off-policy-steps 100] [--on-policy-steps 20]
 *     [--test-tasks 64] [--pass-tasks 16] [--k 16] [--plot out.svg]
 *
 * Prints one JSON object on stdout (per seed, medians, targets); progress on stderr. `--plot` writes
 * an SVG of held-out success against total FLOPs (log scale) for every arm and seed.
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
  type RunConfig,
  type RunSummary,
  resolveRunConfig,
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
};
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

interface Arm {
  success: number;
  successByMode: { think?: number; no_think?: number };
  compliance: { think?: number; no_think?: number };
  passAtK: number;
  studentFlops: number;
  teacherFlops: number;
  totalFlops: number;
  wallMs: number;
  final: string;
}

function arm(s: RunSummary, compute: { studentFlops: number; teacherFlops: number; wallMs: number }, pass: number): Arm {
  const m = s.after.byMode;
  return {
    success: s.after.success,
    successByMode: { think: m.think?.success, no_think: m.no_think?.success },
    compliance: { think: m.think?.compliance, no_think: m.no_think?.compliance },
    passAtK: pass,
    ...compute,
    totalFlops: compute.studentFlops + compute.teacherFlops,
    final: s.checkpoints.final,
  };
}

async function oneSeed(seed: number, teacherDir: string) {
  const out = join(work, `seed${seed}`);
  const T = join(teacherDir, 'checkpoints', 'final');
  const common = { env: 'code-interp', model: 'nano', seed, out, testTasks: S.testTasks };
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
    flags: { ...common, init: b.summary.checkpoints.final, sft: { steps: 0 }, distill: { teacher: T, steps: S.onPolicy } },
  });
  const c = await distill(codeInterpEnv, cfgC, { runId: 'c-onpolicy', hooks: hooks(`s${seed} c`) });
  log(`seed ${seed}: pass@${S.k}`);
  const pass = {
    cold: await passAtK(S0, cfgA),
    a: await passAtK(a.summary.checkpoints.final, cfgA),
    b: await passAtK(b.summary.checkpoints.final, cfgA),
    c: await passAtK(c.summary.checkpoints.final, cfgA),
  };
  const bc = b.summary.compute.total;
  const cc = c.summary.compute.total;
  const arms = {
    a: arm(a.summary, a.summary.compute.total, pass.a),
    b: arm(b.summary, bc, pass.b),
    c: arm(
      c.summary,
      {
        studentFlops: bc.studentFlops + cc.studentFlops,
        teacherFlops: bc.teacherFlops + cc.teacherFlops,
        wallMs: bc.wallMs + cc.wallMs,
      },
      pass.c,
    ),
  };
  const coldM = cold.summary.after.byMode;
  return {
    seed,
    coldStart: {
      success: cold.summary.after.success,
      compliance: { think: coldM.think?.compliance, no_think: coldM.no_think?.compliance },
      passAtK: pass.cold,
      studentFlops: cold.summary.compute.total.studentFlops,
    },
    arms,
    cVsA: {
      successPoints: 100 * (arms.c.success - arms.a.success),
      computeRatio: arms.c.totalFlops / arms.a.totalFlops,
      passAtKPoints: 100 * (arms.c.passAtK - arms.a.passAtK),
      reachesAAtTenth: arms.c.success >= arms.a.success && arms.c.totalFlops <= arms.a.totalFlops / 10,
    },
  };
}

type SeedResult = Awaited<ReturnType<typeof oneSeed>>;

/** Held-out success against total FLOPs (log x), one marker per arm and seed. */
function plot(results: SeedResult[], file: string): void {
  const pts = results.flatMap((r) =>
    (['a', 'b', 'c'] as const).map((k) => ({ k, x: Math.log10(Math.max(1, r.arms[k].totalFlops)), y: r.arms[k].success })),
  );
  const xs = pts.map((p) => p.x);
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
    ...pts.map((p) => `<circle cx="${px(p.x)}" cy="${py(p.y)}" r="5" fill="${color[p.k]}"/>`),
    ...(['a', 'b', 'c'] as const).map(
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
          cMinusASuccessPoints: med((r) => r.cVsA.successPoints),
        },
        targets: {
          cReachesAAtTenthCompute: med((r) => r.cVsA.successPoints) >= 0 && med((r) => r.cVsA.computeRatio) <= 0.1,
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
