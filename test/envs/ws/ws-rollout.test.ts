import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../agent/policies/index.js';
import { runBatch, runEpisode } from '../../../agent/rollout/index.js';
import { WsClosedError, WsGymClient, WsRequestError } from '../../../agent/rollout/ws-client.js';
import { serveWs } from '../../../envs/core/index.js';
import { getEnv } from '../../../envs/index.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { repoRoot, runGym } from '../../fixtures/gym-cli.js';

const quiet = { log: () => undefined };

describe('rollouts over the ws gym protocol', () => {
  it('runs GRPO groups as episodes multiplexed on one socket, with the prompts of the in-process path', async () => {
    const server = await serveWs(arithEnv, { port: 0, token: 'sesame', ...quiet });
    try {
      const policy = await createPolicy('oracle', { env: arithEnv });
      const sockets: number[] = [];
      const { trajectories, summary } = await runBatch({
        env: { url: server.url, token: 'sesame' },
        policy,
        count: 4,
        groupSize: 2,
        concurrency: 4,
        progress: false,
        onTrajectory: () => void sockets.push(server.sockets()),
      });
      expect(summary.successRate).toBe(1);
      expect(summary.endings.terminated).toBe(8);
      expect(trajectories[0].ids).toMatchObject({ env: 'arith', envVersion: arithEnv.version });
      // Four workers, one socket.
      expect(Math.max(...sockets)).toBe(1);
      await expect.poll(() => server.sockets()).toBe(0);
      expect(server.episodes()).toBe(0);

      // The same task in-process: the same messages (system prompt with the tool list, task, tool results).
      const local = await runBatch({ env: arithEnv, policy, count: 4, groupSize: 2, concurrency: 4, progress: false });
      expect(trajectories.map((t) => t.messages)).toEqual(local.trajectories.map((t) => t.messages));
    } finally {
      await server.close();
    }
  });

  it('runs a scripted-user environment (memory: answers bring the next user turn) as it runs in-process', async () => {
    const memory = getEnv('memory');
    const server = await serveWs(memory, { port: 0, ...quiet });
    try {
      const policy = await createPolicy('oracle', { env: memory });
      const remote = await runBatch({ env: server.url, policy, count: 3, concurrency: 3, progress: false });
      const local = await runBatch({ env: memory, policy, count: 3, concurrency: 3, progress: false });
      expect(remote.summary.successRate).toBe(1);
      expect(remote.trajectories.map((t) => [t.ending, t.reward, t.messages])).toEqual(
        local.trajectories.map((t) => [t.ending, t.reward, t.messages]),
      );
    } finally {
      await server.close();
    }
  });

  it('aborts the episode with an error naming the server when the socket is refused or dies', async () => {
    const server = await serveWs(arithEnv, { port: 0, token: 'sesame', replicaId: 'r3', ...quiet });
    const policy = await createPolicy('oracle', { env: arithEnv });
    const denied = await runEpisode({ env: { url: server.url, token: 'wrong' }, policy, seed: 1 });
    expect(denied.ending).toBe('aborted');
    expect(denied.error).toMatch(/HTTP 401/);

    const client = await WsGymClient.connect(server.url, { token: 'sesame' });
    const ep = await client.reset({ seed: 1 });
    await expect(client.step('r3.missing', { kind: 'answer', answer: '1' })).rejects.toThrow(WsRequestError);
    await server.close();
    const err = await client.step(ep.episode, { kind: 'answer', answer: '1' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WsClosedError);
    expect((err as Error).message).toMatch(/replica r3/);
  });

  it('`gym rollout --url ws://...` runs against `gym serve --ws`', { timeout: 120_000 }, async () => {
    const fixture = join(repoRoot, 'test', 'fixtures', 'arith-env.ts');
    const gym = join(repoRoot, 'dist', 'bin', 'gym.js');
    const child = spawn(process.execPath, ['--import', 'tsx', gym, 'serve', '--env-module', fixture, '--ws', '127.0.0.1:0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /ws:\/\/\S+/.exec(out);
          if (m) resolve(m[0]);
        });
        child.once('exit', (code) => reject(new Error(`gym serve exited with ${code}`)));
      });
      const r = await runGym(
        ['rollout', '--url', url, '--env-module', fixture, '-n', '3', '-G', '2', '--json', '--no-progress'],
        {
          env: { NODE_OPTIONS: '--import tsx' },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
      expect(summary).toMatchObject({ episodes: 6, successRate: 1 });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
