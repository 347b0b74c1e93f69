/**
 * The distillation experiment's arms against compute (trainer/run/distill-arms.ts): a phase's curve
 * places each held-out evaluation at the FLOPs spent by then (hand-computed here), the first reach of
 * (a)'s success, and (c) against (a).
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalPoints } from '../../trainer/run/eval-points.js';
import {
  compareDistillArms,
  type DistillArm,
  type DistillCurvePoint,
  firstReach,
  phaseCurve,
  type RunSummary,
  sustainedReach,
  wilsonInterval,
} from '../../trainer/run/index.js';

function runDir(lines: unknown[], torn = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-distill-arms-'));
  writeFileSync(
    join(dir, 'metrics.jsonl'),
    `${lines.map((l) => JSON.stringify(l)).join('\n')}\n${torn ? '{"phase":"distill","step":9,"seqT' : ''}`,
  );
  return dir;
}

const phase = (studentFlops: number, teacherFlops: number) => ({ studentFlops, teacherFlops, wallMs: 1 });
const summary = (c: Partial<RunSummary['compute']>) =>
  ({
    compute: { sft: phase(0, 0), grpo: phase(0, 0), distill: phase(0, 0), total: phase(0, 0), ...c },
  }) as unknown as RunSummary;

describe('phaseCurve', () => {
  it('places a distillation run’s evaluations at the student and teacher FLOPs spent by their step', () => {
    // four on-policy steps of 100, 100, 200, 400 sequence tokens and 10, 10, 20, 40 teacher tokens;
    // evaluations before (step 0), at step 2, and the run's `after` (recorded at step 0, placed last)
    const dir = runDir(
      [
        { phase: 'eval', step: 0, success: 0.25 },
        { phase: 'distill', step: 1, seqTokens: 100, teacherTokens: 10 },
        { phase: 'distill', step: 2, seqTokens: 100, teacherTokens: 10 },
        { phase: 'eval', step: 2, success: 0.5 },
        { phase: 'distill', step: 3, seqTokens: 200, teacherTokens: 20 },
        { phase: 'distill', step: 4, seqTokens: 400, teacherTokens: 40 },
        { phase: 'eval', step: 0, success: 0.75 },
      ],
      true,
    );
    const s = summary({ distill: phase(8000, 1600) });
    const pts = phaseCurve(dir, s, 'distill', { base: 1000 });
    // step 2: 200/800 of the student's 8000 and 20/80 of the teacher's 1600, after (b)'s 1000
    expect(pts).toEqual([
      { step: 0, totalFlops: 1000, success: 0.25 },
      { step: 2, totalFlops: 1000 + 2000 + 400, success: 0.5 },
      { step: 4, totalFlops: 1000 + 8000 + 1600, success: 0.75 },
    ]);
  });

  it('counts the teacher’s episodes before an off-policy phase’s first step, and its cold-start evaluation at the phase’s end', () => {
    // an off-policy run: SFT steps, then `before` (step 0: after SFT) and `after`
    const dir = runDir([
      { phase: 'sft', step: 1, seqTokens: 50 },
      { phase: 'eval', step: 1, success: 0.1 },
      { phase: 'sft', step: 2, seqTokens: 150 },
      { phase: 'eval', step: 0, success: 0.3 },
      { phase: 'eval', step: 0, success: 0.3 },
    ]);
    const pts = phaseCurve(dir, summary({ sft: phase(400, 0) }), 'sft', { upfront: 500 });
    expect(pts).toEqual([
      { step: 1, totalFlops: 500 + 100, success: 0.1 },
      { step: 2, totalFlops: 500 + 400, success: 0.3 },
    ]);
  });
});

describe('phaseCurve, evaluations that say which they are', () => {
  it('places each phase’s own evaluations, the run’s `before` and its `after`', () => {
    // a run with an off-policy phase (2 SFT steps) and an on-policy phase (2 steps): evaluations
    // every step of each, `before` after SFT and `after` at the last on-policy step
    const rows = [
      { phase: 'sft', step: 1, seqTokens: 50 },
      { phase: 'eval', of: 'sft', step: 1, success: 0.1 },
      { phase: 'sft', step: 2, seqTokens: 150 },
      { phase: 'eval', when: 'before', step: 0, success: 0.2 },
      { phase: 'distill', step: 1, seqTokens: 100, teacherTokens: 10 },
      { phase: 'eval', of: 'distill', step: 1, success: 0.4 },
      { phase: 'distill', step: 2, seqTokens: 300, teacherTokens: 30 },
      { phase: 'eval', when: 'after', step: 2, success: 0.6 },
    ];
    const dir = runDir(rows, true);
    const s = summary({ sft: phase(400, 0), distill: phase(800, 80) });
    expect(phaseCurve(dir, s, 'sft', { upfront: 500 })).toEqual([
      { step: 1, totalFlops: 500 + 100, success: 0.1 },
      // the last SFT point is the run's `before`; the on-policy evaluations are not SFT's
      { step: 2, totalFlops: 500 + 400, success: 0.2 },
    ]);
    expect(phaseCurve(dir, s, 'distill', { base: 900 })).toEqual([
      { step: 0, totalFlops: 900, success: 0.2 },
      { step: 1, totalFlops: 900 + 200 + 20, success: 0.4 },
      { step: 2, totalFlops: 900 + 800 + 80, success: 0.6 },
    ]);
  });
});

describe('compareDistillArms', () => {
  const arm = (totalFlops: number, success: number, curve: DistillCurvePoint[], passAtK = 0.5) =>
    ({
      success,
      successByMode: {},
      compliance: {},
      passAtK,
      ood: { mean: 0 },
      curve,
      studentFlops: totalFlops,
      teacherFlops: 0,
      totalFlops,
      wallMs: 1,
      final: '',
    }) satisfies Omit<DistillArm, 'flopsToReachA'>;
  const a = arm(1000, 0.5, [
    { step: 0, totalFlops: 0, success: 0.2 },
    { step: 10, totalFlops: 1000, success: 0.5 },
  ]);

  it('finds the first point at or above a target', () => {
    expect(firstReach(a.curve, 0.5)).toBe(1000);
    expect(firstReach(a.curve, 0.2)).toBe(0);
    expect(firstReach(a.curve, 0.51)).toBeNull();
  });

  it('finds where a curve reaches a target for good', () => {
    const noisy: DistillCurvePoint[] = [0.2, 0.5, 0.4, 0.5, 0.6].map((y, i) => ({ step: i, totalFlops: 10 * i, success: y }));
    expect(firstReach(noisy, 0.5)).toBe(10);
    expect(sustainedReach(noisy, 0.5)).toBe(30);
    expect(sustainedReach(noisy, 0.65)).toBeNull();
    expect(sustainedReach([], 0)).toBeNull();
  });

  it('says whether (c) reaches (a)’s final success within a tenth of its compute', () => {
    const b = arm(80, 0.4, [{ step: 5, totalFlops: 80, success: 0.4 }]);
    const within = compareDistillArms({
      a,
      b,
      c: arm(
        300,
        0.6,
        [
          { step: 0, totalFlops: 80, success: 0.4 },
          { step: 2, totalFlops: 100, success: 0.5 },
          { step: 4, totalFlops: 300, success: 0.6 },
        ],
        0.625,
      ),
    });
    expect(within.cVsA.reachRatio).toBeCloseTo(0.1, 12);
    expect(within.cVsA.reachesAAtTenth).toBe(true);
    expect(within.cVsA.bReachRatio).toBeNull();
    expect(within.cVsA.computeRatio).toBeCloseTo(0.3, 12);
    expect(within.cVsA.successPoints).toBeCloseTo(10, 9);
    expect(within.cVsA.passAtKPoints).toBeCloseTo(12.5, 9);
    expect(within.arms.a.flopsToReachA).toBe(1000);
    expect(within.cVsA.sustainedReachRatio).toBeCloseTo(0.1, 12);

    const past = compareDistillArms({
      a,
      b,
      c: arm(300, 0.6, [
        { step: 0, totalFlops: 80, success: 0.4 },
        { step: 2, totalFlops: 101, success: 0.5 },
      ]),
    });
    expect(past.cVsA.reachRatio).toBeCloseTo(0.101, 12);
    expect(past.cVsA.reachesAAtTenth).toBe(false);
    const never = compareDistillArms({ a, b, c: arm(300, 0.45, [{ step: 0, totalFlops: 80, success: 0.45 }]) });
    expect(never.cVsA.reachRatio).toBeNull();
    expect(never.cVsA.reachesAAtTenth).toBe(false);
    expect(never.cVsA.runReachRatio).toBeNull();

    // (c)'s run counts its off-policy checkpoints ((b)'s curve): a blip there is a first reach, and
    // the run stays above only from its on-policy step 2
    const early = arm(80, 0.4, [
      { step: 2, totalFlops: 30, success: 0.5 },
      { step: 4, totalFlops: 80, success: 0.4 },
    ]);
    const run = compareDistillArms({
      a,
      b: early,
      c: arm(300, 0.6, [
        { step: 0, totalFlops: 80, success: 0.4 },
        { step: 2, totalFlops: 120, success: 0.55 },
        { step: 4, totalFlops: 300, success: 0.6 },
      ]),
    });
    expect(run.cVsA.runReachRatio).toBeCloseTo(0.03, 12);
    expect(run.cVsA.runSustainedReachRatio).toBeCloseTo(0.12, 12);
    expect(run.cVsA.reachRatio).toBeCloseTo(0.12, 12);
    expect(run.cVsA.bReachRatio).toBeCloseTo(0.03, 12);
  });
});

describe('wilsonInterval', () => {
  it('gives the 95% Wilson score interval of a held-out success rate', () => {
    // 32 of 64: symmetric about 0.5; by hand, half-width 1.96/1.0600 * sqrt(0.25/64 + 3.8415/16384)
    const [lo, hi] = wilsonInterval(0.5, 64);
    expect(lo).toBeCloseTo(0.38102, 4);
    expect(hi).toBeCloseTo(0.61898, 4);
    // 0 of 10: not degenerate, unlike p ± 1.96 sqrt(p (1 - p) / n)
    expect(wilsonInterval(0, 10)[0]).toBe(0);
    expect(wilsonInterval(0, 10)[1]).toBeCloseTo(0.27754, 4);
    expect(wilsonInterval(1, 10)[0]).toBeCloseTo(1 - 0.27754, 4);
    expect(wilsonInterval(0.5, 0)).toEqual([0, 1]);
  });
});

describe('evalPoints', () => {
  it('places a gym train run’s evaluations: `before` ends SFT and opens GRPO, `after` ends GRPO', () => {
    const rows = [
      { phase: 'sft', step: 1 },
      { phase: 'sft', step: 2 },
      { phase: 'eval', when: 'before', step: 0, success: 0.2 },
      { phase: 'grpo', step: 1 },
      { phase: 'eval', of: 'grpo', step: 1, split: 'val', success: 0.3 },
      { phase: 'grpo', step: 2 },
      { phase: 'eval', when: 'after', step: 2, success: 0.4 },
    ];
    expect(evalPoints(rows)).toEqual([
      { phase: 'sft', step: 2, success: 0.2, split: 'test' },
      { phase: 'grpo', step: 0, success: 0.2, split: 'test' },
      { phase: 'grpo', step: 1, success: 0.3, split: 'val' },
      { phase: 'grpo', step: 2, success: 0.4, split: 'test' },
    ]);
    // the same run written before the markers: step 0 is `before`, the last one `after`
    const legacy = rows.map(({ when: _w, of: _o, ...r }: Record<string, unknown>) => r);
    expect(evalPoints(legacy)).toEqual(evalPoints(rows));
  });
});
