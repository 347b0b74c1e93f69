import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPolicy, ReplayMissError, ReplayPolicy } from '../../../agent/policies/index.js';
import { runBatch, runEpisode } from '../../../agent/rollout/index.js';
import { arithEnv } from '../fixtures/arith-env.js';

describe('the replay policy', () => {
  it('plays recorded episodes back turn by turn and reproduces them', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'replay-')), 'rec.jsonl');
    const rec = await runBatch({
      env: arithEnv,
      policy: await createPolicy('oracle:err=0.5,seed=3', { env: arithEnv }),
      count: 6,
      groupSize: 2,
      out,
      progress: false,
    });
    const replay = await createPolicy(`replay:${out}`);
    const again = await runBatch({ env: arithEnv, policy: replay, count: 6, groupSize: 2, progress: false });
    const strip = (ts: typeof rec.trajectories) =>
      ts.map((t) => ({ raw: t.turns.map((x) => x.raw), failures: t.turns.map((x) => x.failures), reward: t.reward }));
    expect(strip(again.trajectories)).toEqual(strip(rec.trajectories));
    expect(rec.summary.invalidCalls).toBeGreaterThan(0);
  });

  it('aborts an episode it has no recording for, saying why', async () => {
    const t = await runEpisode({ env: arithEnv, policy: new ReplayPolicy([]), taskId: 'arith/arith.add/train/1' });
    expect(t.ending).toBe('aborted');
    expect(t.error).toMatch(/ReplayMissError: no recorded episode/);
    expect(new ReplayMissError('x').name).toBe('ReplayMissError');
  });
});
