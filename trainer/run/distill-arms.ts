/**
 * The arms of the distillation experiment (bench/distill) against compute, from one student cold
 * start: (a) GRPO on the student, (b) off-policy distillation only, (c) off-policy then on-policy
 * distillation. Each arm is a run folder; this file turns their held-out evaluations and compute
 * records into curves of success against model FLOPs (student + teacher), compares (c) with (a), and
 * writes the result as `distill-arms.json` beside (c)'s run, where the run report draws every arm on
 * one plot (`report.ts`).
 *
 * The compute at an intermediate step is the phase's FLOPs in proportion to the sequence tokens
 * trained so far (exact for SFT and for the teacher's scoring, which are per token; a rollout's tokens
 * are taken as proportional to the tokens trained on them). Teacher FLOPs paid before a phase's first
 * step (the off-policy episodes) are `upfront`; compute paid by an earlier arm that this one continues
 * ((b)'s, for (c)) is `base`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalPoints } from './eval-points.js';
import type { RunSummary } from './types.js';

export const DISTILL_ARMS_FILE = 'distill-arms.json';
export type DistillArmName = 'a' | 'b' | 'c';
export const DISTILL_ARM_NAMES: readonly DistillArmName[] = ['a', 'b', 'c'];
export const DISTILL_ARM_LABELS: Record<DistillArmName, string> = {
  a: '(a) GRPO on the student',
  b: '(b) off-policy distillation',
  c: '(c) off-policy + on-policy distillation',
};

export interface DistillCurvePoint {
  /** Phase step of the evaluation (0: before the phase's first step). */
  step: number;
  /** Student + teacher model FLOPs spent by then. */
  totalFlops: number;
  /** Held-out success (headline mode, one episode per test task). */
  success: number;
}

export interface DistillArm {
  success: number;
  /** 95% Wilson score interval of `success` over its held-out episodes (absent in older results). */
  successInterval?: [number, number];
  successByMode: { think?: number; no_think?: number };
  compliance: { think?: number; no_think?: number };
  passAtK: number;
  /** Success per out-of-distribution split, and their `mean`. */
  ood: Record<string, number>;
  curve: DistillCurvePoint[];
  /** Total FLOPs at which the arm's curve first reaches (a)'s final held-out success (null: never). */
  flopsToReachA: number | null;
  studentFlops: number;
  teacherFlops: number;
  totalFlops: number;
  wallMs: number;
  final: string;
}

export interface DistillArmsResult {
  format: 'toolgym.distill-arms/1';
  seed: number;
  /** pass@k's k. */
  k: number;
  teacher: { dir: string; params: number; success: number };
  coldStart: {
    success: number;
    compliance: { think?: number; no_think?: number };
    passAtK: number;
    ood: Record<string, number>;
    studentFlops: number;
  };
  arms: Record<DistillArmName, DistillArm>;
  cVsA: {
    successPoints: number;
    /** (c)'s total FLOPs over (a)'s. */
    computeRatio: number;
    passAtKPoints: number;
    /** (c)'s curve reaches (a)'s final success at no more than a tenth of (a)'s compute. */
    reachesAAtTenth: boolean;
    /** (c)'s FLOPs where its curve first reaches (a)'s final success, over (a)'s total (null: never). */
    reachRatio: number | null;
    /** The same for (b) alone. */
    bReachRatio: number | null;
    /** (c)'s FLOPs from which its curve stays at or above (a)'s final success, over (a)'s total (null: never). */
    sustainedReachRatio: number | null;
    /**
     * The same two readings on (c)'s whole run: its off-policy checkpoints ((b)'s curve, the same run
     * up to there) then its on-policy curve. First reach, and from where it stays (null: never;
     * absent in results written before they were recorded).
     */
    runReachRatio?: number | null;
    runSustainedReachRatio?: number | null;
  };
}

/**
 * The held-out curve of one run's training phase (`sft`, `grpo` or `distill`): its `eval` records
 * against the FLOPs spent by then, each placed as `evalPoints` places it.
 */
export function phaseCurve(
  dir: string,
  s: RunSummary,
  phase: 'sft' | 'grpo' | 'distill',
  o: { base?: number; upfront?: number } = {},
): DistillCurvePoint[] {
  const rows: Record<string, unknown>[] = [];
  for (const line of readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // a torn last line of a killed run: left out
    }
  }
  const steps = rows.filter((r) => r.phase === phase);
  const upTo = (k: string, step: number) =>
    steps.filter((r) => Number(r.step) <= step).reduce((a, r) => a + Number(r[k] ?? 0), 0);
  const last = steps.reduce((m, r) => Math.max(m, Number(r.step)), 0);
  const c = s.compute[phase];
  const seqAll = Math.max(1, upTo('seqTokens', last));
  const teachAll = Math.max(1, upTo('teacherTokens', last));
  const at = (step: number) =>
    (o.base ?? 0) +
    (o.upfront ?? 0) +
    (c.studentFlops * upTo('seqTokens', step)) / seqAll +
    (phase === 'distill' ? (c.teacherFlops * upTo('teacherTokens', step)) / teachAll : 0);
  const byStep = new Map<number, number>();
  for (const e of evalPoints(rows)) if (e.phase === phase) byStep.set(e.step, e.success);
  return [...byStep].sort((a, b) => a[0] - b[0]).map(([step, success]) => ({ step, totalFlops: at(step), success }));
}

/**
 * The 95% Wilson score interval of a proportion of `n` trials whose share `p` succeeded: the
 * interval a held-out success rate over n episodes is quoted with (it stays inside [0, 1] and is
 * not degenerate at 0 or 1, unlike the normal approximation).
 */
export function wilsonInterval(p: number, n: number, z = 1.959964): [number, number] {
  if (!(n > 0)) return [0, 1];
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The compute of a curve's first point at or above `target` success, or null when none is. */
export function firstReach(points: readonly DistillCurvePoint[], target: number): number | null {
  return points.find((p) => p.success >= target)?.totalFlops ?? null;
}

/**
 * The compute of the first point from which a curve stays at or above `target` to its end, or null:
 * a stricter reading than `firstReach`, which one lucky evaluation of a noisy curve can satisfy (and
 * the more often a run evaluates, the likelier that is).
 */
export function sustainedReach(points: readonly DistillCurvePoint[], target: number): number | null {
  let from: number | null = null;
  for (const p of points) {
    if (p.success < target) from = null;
    else from ??= p.totalFlops;
  }
  return from;
}

/** Fills in each arm's first reach of (a)'s final success, and (c) (which continues (b)) against (a). */
export function compareDistillArms(
  arms: Record<DistillArmName, Omit<DistillArm, 'flopsToReachA'>>,
): Pick<DistillArmsResult, 'arms' | 'cVsA'> {
  const target = arms.a.success;
  const full = Object.fromEntries(
    DISTILL_ARM_NAMES.map((k) => [k, { ...arms[k], flopsToReachA: firstReach(arms[k].curve, target) }]),
  ) as Record<DistillArmName, DistillArm>;
  const ratio = (f: number | null) => (f === null ? null : f / full.a.totalFlops);
  // (c) continues (b): its whole run is (b)'s curve, then its own from where (b)'s ends
  const run = [...full.b.curve, ...full.c.curve];
  return {
    arms: full,
    cVsA: {
      successPoints: 100 * (full.c.success - full.a.success),
      computeRatio: full.c.totalFlops / full.a.totalFlops,
      passAtKPoints: 100 * (full.c.passAtK - full.a.passAtK),
      reachesAAtTenth: full.c.flopsToReachA !== null && full.c.flopsToReachA <= full.a.totalFlops / 10,
      reachRatio: ratio(full.c.flopsToReachA),
      bReachRatio: ratio(full.b.flopsToReachA),
      sustainedReachRatio: ratio(sustainedReach(full.c.curve, target)),
      runReachRatio: ratio(firstReach(run, target)),
      runSustainedReachRatio: ratio(sustainedReach(run, target)),
    },
  };
}

/** Writes `<dir>/distill-arms.json` (the report of the run in `dir` then draws the arms). */
export function writeDistillArms(dir: string, result: DistillArmsResult): string {
  const path = join(dir, DISTILL_ARMS_FILE);
  writeFileSync(path, `${JSON.stringify(result, null, 1)}\n`);
  return path;
}
