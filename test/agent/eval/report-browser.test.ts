/**
 * report.html in real headless Chromium: no console errors, no network, charts drawn, hostile
 * episode text shown as text, and a screenshot written for inspection.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { rebuildReport, replayEval } from '../../../agent/eval/index.js';
import { serializeTrajectory } from '../../../agent/trajectory/index.js';
import type { Trajectory } from '../../../agent/types.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../../tools/browser/index.js';
import { chartInk, openReport } from '../../fixtures/report-page.js';
import { call, episode, fail, turn } from './fixtures.js';

// The same binary and launch flags as the browser pool (tools/browser).
const CHROMIUM = CHROMIUM_PATH;
const HOSTILE = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`chromium is missing at ${CHROMIUM}: CI must install it (.ci/system-deps.sh)`);
  console.warn(`skipping report.html browser tests: no chromium at ${CHROMIUM} (install it, e.g. apt-get install chromium)`);
}

function syntheticRun(budgets: readonly number[], skill: number): Trajectory[] {
  const out: Trajectory[] = [];
  let i = 0;
  for (const budget of budgets) {
    for (let task = 0; task < 12; task++) {
      const family = task % 2 ? 'compute.mul' : 'compute.add';
      for (let s = 0; s < 4; s++) {
        i++;
        const correct = (task * 7 + s * 3 + budget) % 10 < skill + budget / 64;
        const bad = i % 5 === 0;
        out.push(
          episode({
            task: `code-interp/${family}/test/${task}`,
            family,
            difficulty: 1 + (task % 3),
            sample: s,
            budget,
            mode: 'think',
            correct,
            turns: [
              turn({
                mode: 'think',
                thinking: 'plan',
                calls: bad ? [] : [call('run_code', { code: HOSTILE })],
                failures: bad ? [fail(i % 2 ? 'invalid_json' : 'schema_wrong_type', 'code')] : [],
              }),
              ...(bad
                ? [turn({ mode: 'think', thinking: 'retry', calls: [call('run_code', { code: '1+1' }, i % 3 === 0)] })]
                : []),
              turn({ mode: 'think', thinking: i % 7 === 0 ? '' : 'answer', answer: correct ? '2' : HOSTILE }),
            ],
          }),
        );
      }
    }
  }
  out.push(
    episode({
      task: 'code-interp/compute.add/test/99',
      ending: 'aborted',
      error: `sandbox crashed ${HOSTILE}`,
      correct: false,
      budget: budgets[0],
    }),
  );
  return out;
}

function writeRun(dir: string, trajs: Trajectory[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'trajectories.jsonl'), trajs.map(serializeTrajectory).join(''));
}

describe.skipIf(!haveChromium)('report.html in headless Chromium', () => {
  it('renders without console errors or network, draws its charts, escapes episode text, and compares two runs', async () => {
    const root = mkdtempSync(join(tmpdir(), 'toolgym-report-'));
    writeRun(join(root, 'a'), syntheticRun([16, 64, 256], 4));
    writeRun(join(root, 'b'), syntheticRun([16, 64, 256], 6));
    replayEval(join(root, 'a'), { bootstrapSamples: 200 });
    replayEval(join(root, 'b'), { bootstrapSamples: 200 });
    const compare = rebuildReport(join(root, 'a'), join(root, 'b'));

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS], headless: true });
    try {
      for (const [name, file] of [
        ['report', join(root, 'a', 'report.html')],
        ['compare', compare],
      ] as const) {
        const { page, errors, requests } = await openReport(browser, file, 1280);

        const shotDir = join(tmpdir(), 'toolgym-eval-screenshots');
        mkdirSync(shotDir, { recursive: true });
        const shot = join(shotDir, `${name}.png`);
        await page.screenshot({ path: shot });
        for (const section of name === 'compare' ? ['headline', 'curves', 'failure-kinds', 'budget', 'breakdowns'] : []) {
          await page.locator(`#${section}`).screenshot({ path: join(shotDir, `${name}-${section}.png`) });
        }
        console.log(`report screenshots: ${shot} and ${name}-<section>.png beside it`);

        expect(errors).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
        // Every chart exists and has drawn pixels.
        for (const id of ['chart-passk', 'chart-failures', 'chart-budget']) {
          expect(await chartInk(page, id), `${name}: ${id}`).toBeGreaterThan(1000);
        }
        // The hostile text is shown, never run.
        expect(await page.evaluate('window.__pwned')).toBeUndefined();
        expect(await page.locator('#episodes img').count()).toBe(0);
        const first = page.locator('#episodes details').first();
        await first.locator('summary').click();
        expect(await first.textContent()).toContain('window.__pwned');
        // The episode filter narrows the list.
        const total = await page.locator('#episodes details').count();
        expect(total).toBeGreaterThan(5);
        await page.selectOption('#ep-kind', 'invalid_json');
        const visible = await page.locator('#episodes details:visible').count();
        expect(visible).toBeGreaterThan(0);
        expect(visible).toBeLessThan(total);
        await page.selectOption('#ep-kind', '');

        if (name === 'compare') expect(await page.locator('table.headline th', { hasText: 'Δ' }).count()).toBe(1);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
