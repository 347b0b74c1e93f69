import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../agent/policies/index.js';
import { BatchConfigError, runBatch, runEpisode } from '../../../agent/rollout/index.js';
import { connectInMemory, serveHttp } from '../../../envs/core/index.js';
import { arithEnv } from '../fixtures/arith-env.js';

describe('rollouts against a remote env server', () => {
  it('runs GRPO groups over Streamable HTTP with a bearer token, one session per worker', async () => {
    const server = await serveHttp(arithEnv, { host: '127.0.0.1', port: 0, token: 'sesame' });
    try {
      const policy = await createPolicy('oracle', { env: arithEnv });
      const { trajectories, summary } = await runBatch({
        env: { url: server.url, token: 'sesame' },
        policy,
        count: 3,
        groupSize: 2,
        concurrency: 2,
        progress: false,
      });
      expect(summary.successRate).toBe(1);
      expect(summary.endings.terminated).toBe(6);
      expect(trajectories[0].ids.env).toBe('arith');
      const denied = await runEpisode({ env: { url: server.url, token: 'wrong' }, policy, seed: 1 });
      expect(denied.ending).toBe('aborted');
    } finally {
      await server.close();
    }
  });

  it('runs an episode over stdio against a spawned server process', async () => {
    const script = fileURLToPath(new URL('../fixtures/arith-stdio.ts', import.meta.url));
    const policy = await createPolicy('oracle', { env: arithEnv });
    const t = await runEpisode({
      env: { command: process.execPath, args: ['--import', 'tsx', script] },
      policy,
      taskId: 'arith/arith.add/train/3',
    });
    expect({ ending: t.ending, reward: t.reward, error: t.error }).toEqual({ ending: 'terminated', reward: 1, error: undefined });
  }, 120_000); // a child process that compiles TypeScript on start: slow on a busy CI machine

  it('refuses to share one MCP client between concurrent episodes', async () => {
    const client = await connectInMemory(arithEnv);
    const policy = await createPolicy('oracle', { env: arithEnv });
    await expect(runBatch({ env: client, policy, count: 2, concurrency: 2, progress: false })).rejects.toThrow(BatchConfigError);
    const { summary } = await runBatch({ env: client, policy, count: 3, concurrency: 1, progress: false });
    expect(summary.successRate).toBe(1);
    await client.close();
  });
});
