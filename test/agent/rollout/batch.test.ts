import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { createProgress, formatSummary, planEpisodes, runBatch, summarizeBatch } from '../../../agent/rollout/index.js';
import { readTrajectories } from '../../../agent/trajectory/index.js';
import type { GenerateRequest, GenerateResult, Policy } from '../../../agent/types.js';
import { arithEnv } from '../fixtures/arith-env.js';

/** The oracle, except that one task's episodes blow up inside the policy. */
class FlakyOracle implements Policy {
  readonly spec = 'flaky';
  private readonly inner = new OraclePolicy(arithEnv);
  constructor(private readonly badTask: string) {}
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    if (req.episode.taskId === this.badTask) throw new Error('GPU fell over');
    return this.inner.generate(req);
  }
}

describe('the batch runner', () => {
  it('plans G episodes per task that share the task seed and differ in sample index', () => {
    const plan = planEpisodes({ count: 3, groupSize: 4, seed: 10, split: 'test', runId: 'r' });
    expect(plan).toHaveLength(12);
    expect(plan.filter((p) => p.groupId === 'r/g1').map((p) => [p.seed, p.sample])).toEqual([
      [11, 0],
      [11, 1],
      [11, 2],
      [11, 3],
    ]);
    expect(new Set(plan.map((p) => p.split))).toEqual(new Set(['test']));
    expect(() => planEpisodes({ count: 1, groupSize: 0 })).toThrow(/groupSize/);
  });

  it('runs GRPO groups concurrently, writes each episode to JSONL and summarises', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollout-'));
    const out = join(dir, 'x.jsonl');
    const seen: number[] = [];
    const { trajectories, summary } = await runBatch({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      count: 5,
      groupSize: 3,
      concurrency: 4,
      out,
      runId: 'r1',
      progress: false,
      onTrajectory: (_t, i) => {
        seen.push(i);
      },
    });
    expect(trajectories).toHaveLength(15);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(15).keys()]);
    const groups = new Map<string, Set<string>>();
    for (const t of trajectories) {
      const g = groups.get(t.ids.group) ?? new Set();
      g.add(`${t.ids.task}@${t.ids.seed}`);
      groups.set(t.ids.group, g);
    }
    expect(groups.size).toBe(5);
    for (const g of groups.values()) expect(g.size).toBe(1);
    expect(trajectories.filter((t) => t.ids.group === 'r1/g0').map((t) => t.ids.sample)).toEqual([0, 1, 2]);
    expect(summary).toMatchObject({ episodes: 15, groups: 5, successRate: 1, meanTurns: 2, invalidCallRate: 0 });
    expect(summary.endings).toEqual({ terminated: 15, truncated: 0, aborted: 0 });
    const back = readTrajectories(out);
    expect(back).toHaveLength(15);
    expect(new Set(back.map((t) => t.ids.episode))).toEqual(new Set(trajectories.map((t) => t.ids.episode)));
  });

  it('keeps going when one episode fails: that episode ends aborted with its error', async () => {
    const { trajectories, summary } = await runBatch({
      env: arithEnv,
      policy: new FlakyOracle('arith/arith.add/train/1'),
      count: 4,
      groupSize: 2,
      concurrency: 3,
      progress: false,
    });
    expect(trajectories).toHaveLength(8);
    const bad = trajectories.filter((t) => t.ending === 'aborted');
    expect(bad.map((t) => t.ids.task)).toEqual(['arith/arith.add/train/1', 'arith/arith.add/train/1']);
    expect(bad[0].error).toMatch(/GPU fell over/);
    expect(summary.endings).toEqual({ terminated: 6, truncated: 0, aborted: 2 });
    expect(summary.successRate).toBe(1);
  });

  it('runs explicit task ids and can stream without keeping trajectories', async () => {
    const { trajectories, summary } = await runBatch({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      tasks: ['arith/arith.add/test/0', { taskId: 'arith/arith.add/test/5' }],
      groupSize: 2,
      keep: false,
      progress: false,
    });
    expect(trajectories).toEqual([]);
    expect(summary.episodes).toBe(4);
    expect(summary.successRate).toBe(1);
  });

  it('stops starting episodes once the batch signal aborts', async () => {
    const ctl = new AbortController();
    const { trajectories } = await runBatch({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      count: 50,
      concurrency: 1,
      progress: false,
      signal: ctl.signal,
      onTrajectory: (_t, i) => {
        if (i === 2) ctl.abort('enough');
      },
    });
    expect(trajectories.length).toBe(3);
  });

  it('formats a summary with success rate, mean turns, invalid-call rate and endings', () => {
    const text = formatSummary(summarizeBatch([], 0));
    expect(text).toMatch(/success rate/);
    expect(text).toMatch(/mean turns/);
    expect(text).toMatch(/invalid calls/);
    expect(text).toMatch(/endings/);
  });

  it('draws a progress bar with rate and ETA when asked, and nothing on a non-TTY by default', () => {
    let written = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        written += String(chunk);
        cb();
      },
    });
    createProgress(10, 'x', undefined, sink).tick(true);
    expect(written).toBe('');
    const bar = createProgress(10, 'x', true, sink);
    bar.tick(true);
    bar.stop();
    expect(written).toMatch(/ep\/s/);
    expect(written).toMatch(/ETA/);
  });
});
