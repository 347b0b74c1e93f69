import { fileURLToPath } from 'node:url';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../agent/policies/index.js';
import { connectEnv } from '../../../agent/rollout/connect.js';
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

  it('runs an episode over stdio against a spawned server process, in either MCP revision', async () => {
    const script = fileURLToPath(new URL('../fixtures/arith-stdio.ts', import.meta.url));
    const policy = await createPolicy('oracle', { env: arithEnv });
    const runs = [];
    for (const revision of ['2025-11-25', '2026-07-28'] as const) {
      // The loop's own connection for the target (a client handed to the loop is reused, not closed).
      const { client } = await connectEnv({ command: process.execPath, args: ['--import', 'tsx', script], revision });
      if (revision === '2026-07-28') expect((client as ModernClient).getProtocolEra()).toBe('modern');
      else expect(client).not.toBeInstanceOf(ModernClient);
      const t = await runEpisode({ env: client, policy, taskId: 'arith/arith.add/train/3' }).finally(() => client.close());
      expect({ ending: t.ending, reward: t.reward, error: t.error }, revision).toEqual({
        ending: 'terminated',
        reward: 1,
        error: undefined,
      });
      expect(t.metrics.toolCalls).toBeGreaterThan(0);
      runs.push(t.messages);
    }
    // A 2026-07-28 stdio connection has no current episode: the loop passed the handle on every
    // call, and the conversation is the session's, word for word.
    expect(runs[1]).toEqual(runs[0]);
  }, 120_000); // child processes that compile TypeScript on start: slow on a busy CI machine

  it('refuses to share one MCP client between concurrent episodes', async () => {
    const client = await connectInMemory(arithEnv);
    const policy = await createPolicy('oracle', { env: arithEnv });
    await expect(runBatch({ env: client, policy, count: 2, concurrency: 2, progress: false })).rejects.toThrow(BatchConfigError);
    const { summary } = await runBatch({ env: client, policy, count: 3, concurrency: 1, progress: false });
    expect(summary.successRate).toBe(1);
    await client.close();
  });
});
