/**
 * Scale-out: three `gym serve --http` replicas (child processes of the built CLI) behind a real
 * HAProxy with the generated configuration. 2025-11-25 sessions and 2026-07-28 episode handles are
 * routed by the replica id that prefixes them; one replica is killed mid-run: its episodes end
 * `aborted` with an error naming it, no other episode is lost, and the rollout finishes.
 *
 * Needs HAProxy: skipped with a printed reason where it is missing, a failure under CI=true.
 */

import { join } from 'node:path';
import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../../agent/policies/index.js';
import { runBatch } from '../../../agent/rollout/index.js';
import type { Policy } from '../../../agent/types.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { repoRoot } from '../../fixtures/gym-cli.js';
import { type Balancer, haproxyBinary, type ReplicaProcess, startBalancer, startReplicas } from '../../fixtures/replicas.js';
import { type Result, sumOf, text } from '../core/http-helpers.js';

const haproxy = haproxyBinary();
const ci = process.env.CI === 'true';
if (!haproxy && !ci) {
  process.stdout.write('[skip] test/envs/scale: HAProxy is not installed (apt-get install haproxy); CI installs it.\n');
}

/** The oracle, held at its first turn until `open()`: every episode has started (and holds a session) by then. */
function gated(inner: Policy): { policy: Policy; waiting: () => number; open: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let waiting = 0;
  const policy: Policy = {
    spec: inner.spec,
    async generate(req) {
      if (req.messages.filter((m) => m.role === 'assistant').length === 0) {
        waiting++;
        await gate;
      }
      return inner.generate(req);
    },
  };
  return { policy, waiting: () => waiting, open: release };
}

async function modernClient(url: string): Promise<ModernClient> {
  const client = new ModernClient(
    { name: 'scale-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('replicas behind HAProxy', () => {
  it('has HAProxy where CI runs', () => {
    if (ci) expect(haproxy, 'CI must install HAProxy (.ci/system-deps.sh)').toBeDefined();
  });

  describe.skipIf(!haproxy)('three replicas, one killed mid-run', { timeout: 180_000 }, () => {
    let replicas: ReplicaProcess[] = [];
    let lb: Balancer;
    beforeAll(async () => {
      replicas = await startReplicas(['r1', 'r2', 'r3'], { envModule: join(repoRoot, 'test', 'fixtures', 'arith-env.ts') });
      lb = await startBalancer(replicas);
    }, 180_000);
    afterAll(async () => {
      await lb?.stop();
      await Promise.all(replicas.map((r) => r.stop()));
    });

    it('routes by replica prefix; a killed replica aborts only its own episodes, naming it, and the rollout finishes', async () => {
      // 2026-07-28: episodes by handle, no session. New episodes spread over the replicas; every later
      // call reaches the replica its handle names (a misrouted one would be answered "belongs to replica").
      const modern = await modernClient(lb.url);
      const started: Result[] = [];
      for (let i = 0; i < 6; i++) started.push((await modern.callTool({ name: 'gym_start', arguments: { seed: i } })) as Result);
      const handles: string[] = started.map((r) => r.structuredContent.episode);
      expect(new Set(handles.map((h) => h.split('.')[0]))).toEqual(new Set(['r1', 'r2', 'r3']));
      for (const h of handles) {
        const r = (await modern.callTool({ name: 'add', arguments: { a: 1, b: 2, episode: h } })) as Result;
        expect([r.isError, text(r)]).toEqual([undefined, '1 + 2 = 3']);
        expect(r._meta).toMatchObject({ 'toolgym/handle': h, 'toolgym/step': 1 });
      }

      // 2025-11-25: a rollout over the balancer, one MCP session per worker, held at the first turn.
      const oracle = await createPolicy('oracle', { env: arithEnv });
      const g = gated(oracle);
      const batch = runBatch({ env: lb.url, policy: g.policy, count: 12, concurrency: 6, progress: false });
      await expect.poll(() => g.waiting(), { timeout: 60_000 }).toBe(6);

      await replicas[1]!.kill(); // r2
      g.open();
      const { trajectories, summary } = await batch;

      expect(trajectories).toHaveLength(12);
      const aborted = trajectories.filter((t) => t.ending === 'aborted');
      const finished = trajectories.filter((t) => t.ending !== 'aborted');
      // Round robin put two of the six sessions on r2: those episodes, and only those, are lost.
      expect(aborted.length).toBe(2);
      for (const t of aborted) {
        expect(t.reason).toMatch(/^error: env/);
        expect(t.error).toMatch(/replica r2 is unavailable/);
      }
      expect(finished.every((t) => t.ending === 'terminated' && t.correct)).toBe(true);
      expect(summary.successRate).toBe(1);

      // The 2026-07-28 episodes: r2's fail naming r2; the others go on and score.
      for (const [i, h] of handles.entries()) {
        const answer = String(sumOf(started[i]!.structuredContent.task.prompt));
        const r = await modern
          .callTool({ name: 'gym_submit', arguments: { answer, episode: h } })
          .then((x) => x as Result)
          .catch((err: Error) => err);
        if (h.startsWith('r2.')) {
          expect(r).toBeInstanceOf(Error);
          expect((r as Error).message).toMatch(/replica r2 is unavailable/);
        } else {
          expect((r as Result)._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true });
        }
      }
      await modern.close();

      // New episodes after the kill go to live replicas only.
      const after = await modernClient(lb.url);
      for (let i = 0; i < 4; i++) {
        const r = (await after.callTool({ name: 'gym_start', arguments: { seed: i } })) as Result;
        expect(r.structuredContent.episode).toMatch(/^r[13]\./);
      }
      await after.close();
    });
  });
});
