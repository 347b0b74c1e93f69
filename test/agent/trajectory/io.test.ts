import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import {
  exportable,
  readTrajectories,
  streamTrajectories,
  TrajectoryFileError,
  TrajectoryWriter,
  toTrl,
  toVerl,
} from '../../../agent/trajectory/index.js';
import type { Trajectory } from '../../../agent/types.js';
import { arithEnv } from '../fixtures/arith-env.js';

async function episodes(): Promise<Trajectory[]> {
  const policy = new OraclePolicy(arithEnv);
  return [
    await runEpisode({ env: arithEnv, policy, taskId: 'arith/arith.add/train/3', mode: 'think' }),
    await runEpisode({ env: arithEnv, policy, taskId: 'arith/arith.add/train/4', sample: 1 }),
  ];
}

describe('trajectory files', () => {
  it('round-trips episodes through JSONL unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traj-'));
    const path = join(dir, 'sub', 'a.jsonl');
    const eps = await episodes();
    const w = new TrajectoryWriter(path);
    for (const t of eps) w.write(t);
    w.close();
    w.close();
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(readTrajectories(path)).toEqual(eps);
    const streamed: Trajectory[] = [];
    for await (const t of streamTrajectories(path)) streamed.push(t);
    expect(streamed).toEqual(eps);
  });

  it('appends to an existing file instead of truncating it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traj-'));
    const path = join(dir, 'a.jsonl');
    const [a, b] = await episodes();
    const w1 = new TrajectoryWriter(path);
    w1.write(a);
    w1.close();
    const w2 = new TrajectoryWriter(path);
    w2.write(b);
    w2.close();
    expect(readTrajectories(path).map((t) => t.ids.task)).toEqual([a.ids.task, b.ids.task]);
  });

  it('names the bad line of a file with a torn or invalid record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traj-'));
    const path = join(dir, 'a.jsonl');
    const [a] = await episodes();
    writeFileSync(path, `${JSON.stringify(a)}\n\n${JSON.stringify({ ...a, reward: 'high' })}\n`);
    expect(() => readTrajectories(path)).toThrow(TrajectoryFileError);
    expect(() => readTrajectories(path)).toThrow(/a\.jsonl:3: .*reward/);
    appendFileSync(path, '{"format": "toolgym.traj');
    const bad: number[] = [];
    const ok = readTrajectories(path, { skipInvalid: true, onBadLine: (e) => bad.push(e.line) });
    expect(ok).toHaveLength(1);
    expect(bad).toEqual([3, 4]);
  });
});

describe('torn lines (a writer killed mid-record)', () => {
  it('a writer appending to a file whose last line is torn starts on a new line, so the next episode is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traj-'));
    const path = join(dir, 'a.jsonl');
    const [a, b] = await episodes();
    writeFileSync(path, `${JSON.stringify(a)}\n${JSON.stringify(b).slice(0, 40)}`);
    const w = new TrajectoryWriter(path);
    w.write(b);
    w.close();
    const bad: string[] = [];
    expect(readTrajectories(path, { onBadLine: (e) => bad.push(e.message) }).map((t) => t.ids.task)).toEqual([
      a.ids.task,
      b.ids.task,
    ]);
    expect(bad).toEqual([`${path}:2: torn line skipped (an unfinished record: the writer was stopped mid-line)`]);
  });

  it('readers skip a torn line with a process warning naming file:line, yet still reject a complete invalid line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'traj-'));
    const path = join(dir, 'a.jsonl');
    const [a] = await episodes();
    writeFileSync(path, `${JSON.stringify(a)}\n${JSON.stringify(a).slice(0, 60)}`);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      expect(readTrajectories(path)).toHaveLength(1);
      const streamed: Trajectory[] = [];
      for await (const t of streamTrajectories(path)) streamed.push(t);
      expect(streamed).toHaveLength(1);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(/a\.jsonl:2: torn line skipped/),
        expect.stringMatching(/a\.jsonl:2: torn line skipped/),
      ]);
    } finally {
      warn.mockRestore();
    }
    writeFileSync(path, `${JSON.stringify(a)}\nnot json at all\n`);
    expect(() => readTrajectories(path)).toThrow(/a\.jsonl:2: not a valid trajectory/);
  });
});

describe('exporters', () => {
  it('exports TRL conversational rows with structured tool calls and tool messages', async () => {
    const [t] = await episodes();
    const tools = [{ type: 'function' as const, function: { name: 'add', description: 'Add', parameters: {} } }];
    const row = toTrl(t, { tools });
    expect(row.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(row.messages[2].tool_calls).toEqual([{ type: 'function', function: { name: 'add', arguments: { a: 21, b: 44 } } }]);
    expect(row.messages[2].reasoning_content).toMatch(/add/);
    expect(row.messages[3]).toEqual({ role: 'tool', name: 'add', content: '65' });
    expect(row.messages[4].content).toBe('65');
    expect(row.tools).toEqual(tools);
    expect(row.reward).toBe(1);
    expect(toTrl(t, { dropThinking: true }).messages[2].reasoning_content).toBeUndefined();
    expect(JSON.parse(JSON.stringify(row))).toEqual(row);
  });

  it('exports verl rows with the prompt split from the whole conversation', async () => {
    const [t] = await episodes();
    const row = toVerl(t, 7);
    expect(row.data_source).toBe('arith');
    expect(row.ability).toBe('arith.add');
    expect(row.prompt.map((m) => m.role)).toEqual(['system', 'user']);
    expect(row.messages).toHaveLength(5);
    expect(row.reward_model).toEqual({ style: 'rule' });
    expect(row.extra_info).toMatchObject({
      index: 7,
      split: 'train',
      task_id: 'arith/arith.add/train/3',
      reward: 1,
      correct: true,
      ending: 'terminated',
    });
    expect(row.extra_info.tokens).toBeUndefined();
    const withTokens = toVerl({ ...t, tokens: [1, 2], mask: [0, 1], logprobs: [0, -1] }, 0, { withTokens: true });
    expect(withTokens.extra_info).toMatchObject({ tokens: [1, 2], loss_mask: [0, 1], logprobs: [0, -1] });
    expect(exportable(t)).toBe(true);
    expect(exportable({ ...t, ending: 'aborted' })).toBe(false);
  });
});
