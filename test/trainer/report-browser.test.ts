/**
 * The training report (runs/<id>/report.html) in real headless Chromium: no console errors, no
 * network, every chart drawn (training curves, the arms over compute, the split bars, the budget
 * curve), a comparison of two runs, and `gym report` choosing the training report for a run folder.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../tools/browser/index.js';
import type { DistillArmsResult, LearnResult, SplitFigures } from '../../trainer/run/index.js';
import {
  compareDistillArms,
  readTrainingRun,
  renderTrainingReport,
  writeDistillArms,
  writeTrainingReport,
} from '../../trainer/run/index.js';
import { chartInk, openReport } from '../fixtures/report-page.js';

const haveChromium = existsSync(CHROMIUM_PATH);
if (!haveChromium) {
  if (process.env.CI === 'true')
    throw new Error(`chromium is missing at ${CHROMIUM_PATH}: CI must install it (.ci/system-deps.sh)`);
  console.warn(`skipping training report browser test: no chromium at ${CHROMIUM_PATH}`);
}

const HOSTILE = '</script><script>window.__pwned = 1</script>';

function figures(p: number): SplitFigures {
  const r = (v: number) => ({ value: v, lo: Math.max(0, v - 0.1), hi: Math.min(1, v + 0.1) });
  return {
    tasks: 8,
    episodes: 128,
    passAt1: r(p),
    passHat4: r(p * p),
    passAt16: r(Math.min(1, p * 2)),
    callValidity: r(0.99),
    recovery: { ...r(0.5), opportunities: 6 },
    cleanEpisodes: r(0.9),
    failureKinds: { schema_missing_required: 0, unclosed_tag: 10, invalid_json: 12 },
  };
}

/** A run folder as `gym train` and `runArms` write it, with made-up figures. */
function writeRun(dir: string, skill: number, withLearn: boolean): void {
  mkdirSync(dir, { recursive: true });
  const lines: unknown[] = [];
  for (let s = 1; s <= 30; s++) lines.push({ phase: 'sft', step: s, loss: 3 / s });
  for (let s = 1; s <= 40; s++)
    lines.push({
      phase: 'grpo',
      step: s,
      reward: skill * (s / 40),
      success: skill * (s / 40),
      entropy: 1 - s / 60,
      kl: s / 400,
      covSelected: s % 3,
      groups: 1 + (s % 4),
    });
  for (const s of [0, 10, 20, 30, 40])
    lines.push({ phase: 'eval', step: s, split: s % 40 ? 'val' : 'test', success: (skill * s) / 50 });
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ seed: 0 }));
  if (!withLearn) return;
  const arm = (name: 'cold' | 'sft' | 'rs' | 'grpo', p: number) => ({
    arm: name,
    curve: [0, 1000, 2000, 3000].map((c, i) => ({ computeSeqTokens: c, grpoStep: i * 10, val: p * (i / 3) })),
    selected: { computeSeqTokens: 3000, grpoStep: 30, val: p },
    checkpoint: HOSTILE,
    splits: Object.fromEntries(
      ['id', 'ood-harder', 'ood-family', 'ood-reworded', 'ood-flaky'].map((s, i) => [s, figures(p / (1 + i))]),
    ),
  });
  const learn: LearnResult = {
    format: 'toolgym.learn/1',
    runDir: dir,
    seed: 0,
    k: 16,
    splits: { id: 8, val: 8, 'ood-harder': 8, 'ood-family': 8, 'ood-reworded': 8, 'ood-flaky': 8 },
    rlTasks: 40,
    grpoComputeSeqTokens: 3000,
    arms: [arm('cold', 0.2), arm('sft', 0.4), arm('rs', 0.45), arm('grpo', 0.5)],
    thinking: {
      compliance: { think: { value: 1, lo: 1, hi: 1 }, no_think: { value: 0.97, lo: 0.9, hi: 1 } },
      budgets: [0, 16, 32, 64].map((b, i) => ({
        budget: b,
        success: { value: 0.3 + i * 0.05, lo: 0.2, hi: 0.6 },
        budgetHit: 0.1,
      })),
    },
    wallSeconds: 1,
  };
  writeFileSync(join(dir, 'learn.json'), JSON.stringify(learn));
}

/** A distillation run's folder as bench/distill leaves (c)'s: on-policy steps and every arm's curve. */
function writeDistillRun(dir: string, seed: number, reach: number): void {
  mkdirSync(dir, { recursive: true });
  const lines: unknown[] = [];
  for (let s = 1; s <= 10; s++) lines.push({ phase: 'sft', step: s, loss: 2 / s });
  for (let s = 1; s <= 12; s++)
    lines.push({ phase: 'distill', step: s, reward: s / 12, success: s / 12, entropy: 0.5, divergence: 1 / s });
  // off-policy evaluations at SFT steps 5 and 10, `before` (the end of SFT), on-policy ones at 4 and
  // 8, and `after` at the last on-policy step
  for (const s of [5, 10]) lines.push({ phase: 'eval', of: 'sft', step: s, success: 0.1 + s / 100 });
  lines.push({ phase: 'eval', when: 'before', step: 0, success: 0.3 });
  for (const s of [4, 8]) lines.push({ phase: 'eval', of: 'distill', step: s, success: 0.3 + s / 20 });
  lines.push({ phase: 'eval', when: 'after', step: 12, success: 0.75 });
  writeFileSync(join(dir, 'metrics.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ seed }));
  const A = 1e12;
  const arm = (totalFlops: number, curve: Array<[number, number]>) => ({
    success: curve[curve.length - 1][1],
    successInterval: [0.25, 0.75] as [number, number],
    successByMode: { think: 0.5, no_think: 0.5 },
    compliance: { think: 0.99, no_think: 0.97 },
    passAtK: 0.75,
    ood: { mean: 0 },
    curve: curve.map(([f, y], i) => ({ step: i, totalFlops: f, success: y })),
    flopsToReachA: null,
    studentFlops: totalFlops * 0.8,
    teacherFlops: totalFlops * 0.2,
    totalFlops,
    wallMs: 1000,
    final: HOSTILE,
  });
  const result: DistillArmsResult = {
    format: 'toolgym.distill-arms/1',
    seed,
    k: 16,
    teacher: { dir: HOSTILE, params: 500_000, success: 0.9 },
    coldStart: { success: 0.2, compliance: {}, passAtK: 0.5, ood: { mean: 0 }, studentFlops: 1e10 },
    ...compareDistillArms({
      a: arm(A, [
        [0, 0.2],
        [A / 4, 0.3],
        [A / 2, 0.4],
        [A, 0.5],
      ]),
      b: arm(A / 20, [
        [A / 100, 0.2],
        [A / 40, 0.3],
        [A / 20, 0.45],
      ]),
      c: arm(A / 5, [
        [A / 20, 0.45],
        [A * reach, 0.5],
        [A / 5, 0.6],
      ]),
    }),
  };
  writeDistillArms(dir, result);
}

describe('training report', () => {
  it('reads a run folder and escapes what it shows', () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-train-report-'));
    writeRun(join(root, 'a'), 0.8, true);
    const run = readTrainingRun(join(root, 'a'));
    expect(run.records.filter((r) => r.phase === 'grpo')).toHaveLength(40);
    const html = renderTrainingReport([{ ...run, label: HOSTILE }]);
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('id="chart-arms"');
    // why call validity is what it is: failures by kind, most common first, kinds never seen left out
    expect(html).toContain('<td>invalid_json 12, unclosed_tag 10</td>');
    expect(html).not.toContain('schema_missing_required');
    expect(() => readTrainingRun(root)).toThrow(/gym train/);
  });

  it('shows a distillation run’s arms against compute, and says when (c) misses a tenth of (a)’s compute', () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-train-report-'));
    writeDistillRun(join(root, 'within'), 0, 0.08);
    writeDistillRun(join(root, 'past'), 1, 0.12);
    const within = renderTrainingReport([readTrainingRun(join(root, 'within'))]);
    expect(within).toContain('id="chart-distill-arms"');
    expect(within).toContain('id="chart-divergence"');
    expect(within).not.toContain(HOSTILE);
    expect(within).toContain('0.080×');
    expect(within).toContain('<span class="ci">[25.0%, 75.0%]</span>');
    expect(within).toMatch(/on-policy curve reaches \(a\)'s final success within a tenth/);
    expect(within).toMatch(/counting its off-policy checkpoints, first at 0\.080× \(a\)'s compute/);
    const past = renderTrainingReport([readTrainingRun(join(root, 'past'))]);
    expect(past).toContain('0.120×');
    expect(past).toMatch(/<strong>not<\/strong> within a tenth/);
    // a plain training run has neither section
    writeRun(join(root, 'plain'), 0.5, false);
    const plain = renderTrainingReport([readTrainingRun(join(root, 'plain'))]);
    expect(plain).not.toContain('id="chart-distill-arms"');
    expect(plain).not.toContain('id="chart-divergence"');
    // a damaged result file is named, with what to do
    writeFileSync(join(root, 'past', 'distill-arms.json'), '{"format": "toolgym.distill-ar');
    expect(() => readTrainingRun(join(root, 'past'))).toThrow(/distill-arms\.json is not valid JSON.*move it aside/);
  });
});

describe.skipIf(!haveChromium)('training report in headless Chromium', () => {
  it('draws every chart without errors or network, for one run and for two compared', async () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-train-report-'));
    writeRun(join(root, 'a'), 0.8, true);
    writeRun(join(root, 'b'), 0.5, false);
    const single = writeTrainingReport(join(root, 'a'));
    const compare = writeTrainingReport(join(root, 'a'), [join(root, 'b')]);
    expect(readFileSync(compare, 'utf8')).toContain('a vs b');
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
    try {
      for (const file of [single, compare]) {
        const { page, errors, requests } = await openReport(browser, file);
        const shotDir = join(tmpdir(), 'toolgym-train-screenshots');
        mkdirSync(shotDir, { recursive: true });
        await page.screenshot({
          path: join(shotDir, `${file.endsWith('compare.html') ? 'compare' : 'report'}.png`),
          fullPage: true,
        });
        expect(errors).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
        const charts = [
          'chart-reward',
          'chart-success',
          'chart-entropy',
          'chart-kl',
          'chart-cov',
          'chart-heldout',
          'chart-sft',
          'chart-arms',
          'chart-splits',
          'chart-budget',
        ];
        for (const id of charts) {
          expect(await chartInk(page, id), `${file}: ${id}`).toBeGreaterThan(1000);
        }
        // a compared run's lines are drawn beside the first run's
        const datasets = await page.evaluate<number>(
          `window.Chart.getChart(document.getElementById('chart-reward')).data.datasets.length`,
        );
        expect(datasets).toBe(file === compare ? 2 : 1);
        expect(await page.locator('table.splits tr').count()).toBe(1 + 5 * 4);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('leaves out what a run did not measure: KL without a reference, tokens without entropy control', async () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-train-report-'));
    writeRun(join(root, 'a'), 0.8, false);
    // gym train's defaults: no KL reference (beta 0) and no entropy control, whose records hold 0s
    writeFileSync(join(root, 'a', 'config.json'), JSON.stringify({ seed: 0, grpo: { beta: 0, entropyControl: 'none' } }));
    const file = writeTrainingReport(join(root, 'a'));
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
    try {
      const { page, errors } = await openReport(browser, file);
      expect(errors).toEqual([]);
      expect(await page.locator('#chart-kl').isVisible()).toBe(false);
      expect(await page.locator('#chart-heldout-sft').isVisible()).toBe(false);
      const cov = await page.evaluate<{ labels: string[]; title: string }>(`(() => {
        const ch = window.Chart.getChart(document.getElementById('chart-cov'));
        return { labels: ch.data.datasets.map((d) => d.label), title: ch.options.scales.y.title.text };
      })()`);
      expect(cov.labels).toEqual(['groups a']);
      expect(cov.title).toBe('informative groups (rewards not all equal)');
      expect(await chartInk(page, 'chart-entropy')).toBeGreaterThan(1000);
      await page.close();
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('draws a distillation run’s arms against compute on a log axis, alone and with another seed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-train-report-'));
    writeDistillRun(join(root, 's0'), 0, 0.08);
    writeDistillRun(join(root, 's1'), 1, 0.12);
    const single = writeTrainingReport(join(root, 's0'));
    const compare = writeTrainingReport(join(root, 's0'), [join(root, 's1')]);
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true });
    try {
      for (const file of [single, compare]) {
        const { page, errors, requests } = await openReport(browser, file);
        expect(errors).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
        for (const id of ['chart-distill-arms', 'chart-divergence', 'chart-heldout', 'chart-sft', 'chart-heldout-sft']) {
          expect(await chartInk(page, id), `${file}: ${id}`).toBeGreaterThan(1000);
        }
        // on-policy steps carry no KL to a reference: that chart is left out, not drawn empty
        expect(await page.locator('#chart-kl').isVisible()).toBe(false);
        expect(await page.locator('#chart-entropy').isVisible()).toBe(true);
        // held-out success over the on-policy steps, `before` at 0 and `after` at the last step; the
        // off-policy phase's over SFT steps, ending with `before`
        const held = await page.evaluate<{ x: number[][]; min: number; max: number; sft: number[][] }>(`(() => {
          const h = window.Chart.getChart(document.getElementById('chart-heldout'));
          const s = window.Chart.getChart(document.getElementById('chart-heldout-sft'));
          return { x: h.data.datasets.map((d) => d.data.map((p) => p.x)), min: h.scales.x.min, max: h.scales.x.max,
            sft: s.data.datasets.map((d) => d.data.map((p) => p.x)) };
        })()`);
        expect(held.x[0]).toEqual([0, 4, 8, 12]);
        expect([held.min, held.max]).toEqual([0, 12]);
        expect(held.sft[0]).toEqual([5, 10, 10]);
        const chart = await page.evaluate<{ x: string; labels: string[]; points: number }>(`(() => {
          const ch = window.Chart.getChart(document.getElementById('chart-distill-arms'));
          return { x: ch.scales.x.type, labels: ch.data.datasets.map((d) => d.label),
            points: ch.data.datasets.reduce((n, d) => n + d.data.length, 0) };
        })()`);
        expect(chart.x).toBe('logarithmic');
        if (file === single) {
          // three arms (a's zero-compute start left off the log axis), (a)'s success and a tenth of its compute
          expect(chart.labels).toHaveLength(5);
          expect(chart.points).toBe(3 + 3 + 3 + 2 + 2);
          expect(chart.labels.slice(3)).toEqual(["(a)'s final success", "a tenth of (a)'s compute"]);
        } else {
          expect(chart.labels).toHaveLength(6);
          expect(chart.labels.filter((l) => l.endsWith(' s1'))).toHaveLength(3);
        }
        expect(await page.locator('table.distill-arms tr').count()).toBe(file === single ? 4 : 8);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
