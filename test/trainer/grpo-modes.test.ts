/**
 * GRPO in both thinking modes (`grpo.mode: 'both'`): a step's tasks are split between think and
 * no_think groups as the cold-start data splits its episodes, so RL does not train one mode alone.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeInterpEnv } from '../../envs/code-interp/index.js';
import { resolveRunConfig, train } from '../../trainer/run/index.js';
import { modeParts } from '../../trainer/run/tasks.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-grpo-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('GRPO thinking modes', () => {
  it('splits a step between think and no_think as the cold-start data does', () => {
    const tasks = ['a', 'b', 'c', 'd'];
    expect(modeParts('no_think', tasks, 0.5)).toEqual([{ mode: 'no_think', tasks, suffix: '' }]);
    expect(modeParts('both', tasks, 0.5)).toEqual([
      { mode: 'think', tasks: ['a', 'b'], suffix: '-think' },
      { mode: 'no_think', tasks: ['c', 'd'], suffix: '-no_think' },
    ]);
    // a small fraction still puts one group in think mode, a large one still leaves one in no_think
    expect(modeParts('both', tasks, 0.1).map((p) => p.tasks.length)).toEqual([1, 3]);
    expect(modeParts('both', tasks, 0.95).map((p) => p.tasks.length)).toEqual([3, 1]);
    // one task: the fraction decides its mode
    expect(modeParts('both', ['a'], 0.3)).toEqual([{ mode: 'no_think', tasks: ['a'], suffix: '-no_think' }]);
    expect(modeParts('both', ['a'], 0)).toEqual([{ mode: 'no_think', tasks: ['a'], suffix: '-no_think' }]);
  });

  it("plays a step's groups in both modes, one mode per group", async () => {
    const cfg = resolveRunConfig({
      preset: 'quick',
      file: { sft: { stopAtSuccess: 0, thinkFraction: 0.5 }, grpo: { steps: 1, tasksPerStep: 2, mode: 'both' } },
      flags: { out: root, seed: 3 },
    });
    const { dir } = await train(codeInterpEnv, cfg, { runId: 'modes' });
    const episodes = readFileSync(join(dir, 'trajectories', 'grpo.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { mode: string; ids: { group: string; task: string } });
    expect(new Set(episodes.map((e) => e.mode))).toEqual(new Set(['think', 'no_think']));
    const modeOfGroup = new Map<string, Set<string>>();
    for (const e of episodes) modeOfGroup.set(e.ids.group, (modeOfGroup.get(e.ids.group) ?? new Set()).add(e.mode));
    expect(modeOfGroup.size).toBeGreaterThanOrEqual(2);
    for (const modes of modeOfGroup.values()) expect(modes.size).toBe(1);
  }, 600_000);
});
