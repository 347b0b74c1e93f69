import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runEval } from '../../../agent/eval/index.js';
import { OraclePolicy, runBatch } from '../../../agent/index.js';
import { codeInterpEnv } from '../../../envs/code-interp/index.js';
import { connectInMemory } from '../../../envs/core/index.js';
import { EnvWorkerError, EnvWorkerPool } from '../../../envs/core/worker.js';

const pools: EnvWorkerPool[] = [];
function pool(opts: ConstructorParameters<typeof EnvWorkerPool>[0]): EnvWorkerPool {
  const p = new EnvWorkerPool(opts);
  pools.push(p);
  return p;
}
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

type Result = { content: Array<{ type: string; text?: string }>; isError?: boolean; _meta?: Record<string, unknown> };
const text = (r: unknown) => (r as Result).content.map((c) => c.text ?? '').join('\n');

describe('environments in worker threads (MCP over MessagePort)', () => {
  it('answers exactly as the in-memory session does for the same task', async () => {
    const p = await pool({ env: 'code-interp', workers: 1 }).start();
    expect(p.env).toEqual({ id: 'code-interp', version: codeInterpEnv.version });
    const taskId = 'code-interp/compute.bigint/train/3';
    const play = async (client: Awaited<ReturnType<typeof connectInMemory>>) => {
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      const start = await client.callTool({ name: 'gym_start', arguments: { taskId } });
      const run = await client.callTool({
        name: 'run_code',
        arguments: { code: 'console.log(Math.random(), new Date().toISOString()); 2n ** 70n' },
      });
      const bad = await client.callTool({ name: 'run_code', arguments: { code: 42 } });
      const end = await client.callTool({ name: 'gym_submit', arguments: { answer: '<answer>0</answer>' } });
      await client.close();
      // Handles are random per episode: the same shape, never the same value.
      const { 'toolgym/handle': handle, ...meta } = (end as Result)._meta ?? {};
      expect(handle).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      return { tools, start: text(start), run: text(run), bad: [text(bad), (bad as Result).isError], meta };
    };
    const viaWorker = await play(await p.connect());
    const inMemory = await play(await connectInMemory(codeInterpEnv));
    expect(viaWorker).toEqual(inMemory);
    expect(viaWorker.run).toContain('1180591620717411303424n');
    expect(viaWorker.bad[1]).toBe(true);
    expect(viaWorker.meta?.['toolgym/terminated']).toBe(true);
  });

  it('runs a batch across two workers with the oracle scoring 1.0', async () => {
    const p = await pool({ env: 'code-interp', workers: 2 }).start();
    const { summary } = await runBatch({
      env: () => p.connect(),
      policy: new OraclePolicy(codeInterpEnv),
      tasks: ['code-interp/compute.sim/train/0', 'code-interp/compute.strings/train/1', 'code-interp/program/train/2'],
      groupSize: 4,
      concurrency: 6,
      progress: false,
    });
    expect(summary.episodes).toBe(12);
    expect(summary.successRate).toBe(1);
    expect(summary.endings.aborted ?? 0).toBe(0);
    expect(p.started).toBe(2);
  });

  it('a worker that exits loses only its own sessions; the next session gets a replacement worker', async () => {
    const module = fileURLToPath(new URL('../../fixtures/crash-env.ts', import.meta.url));
    const p = await pool({ env: 'crash', modules: [module], workers: 1 }).start();
    const victim = await p.connect();
    await victim.callTool({ name: 'gym_start', arguments: {} });
    expect(text(await victim.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    await expect(victim.callTool({ name: 'crash', arguments: { code: 3 } })).rejects.toThrow();
    const next = await p.connect();
    await next.callTool({ name: 'gym_start', arguments: {} });
    expect(text(await next.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
    expect(p.started).toBe(2);
    await next.close();
  });

  it('serves runEval the same episodes as in-process, and a pool of another environment is refused', async () => {
    const p = await pool({ env: 'code-interp', workers: 1 }).start();
    const out = mkdtempSync(join(tmpdir(), 'toolgym-worker-eval-'));
    const base = { env: 'code-interp', policy: 'oracle:err=0.3', k: 2, tasks: 3, seed: 5, bootstrapSamples: 0, progress: false };
    const viaWorkers = await runEval({ ...base, envWorkers: p, outDir: join(out, 'w') });
    const inProcess = await runEval({ ...base, outDir: join(out, 'i') });
    const calls = (r: typeof inProcess) =>
      r.trajectories.map((t) => t.turns.map((u) => u.calls.map((c) => [c.result, c.isError])));
    expect(calls(viaWorkers)).toEqual(calls(inProcess));
    expect(viaWorkers.record.metrics.overall.metrics.avgAtK?.value).toBe(inProcess.record.metrics.overall.metrics.avgAtK?.value);
    const other = await pool({
      env: 'crash',
      modules: [fileURLToPath(new URL('../../fixtures/crash-env.ts', import.meta.url))],
      workers: 1,
    }).start();
    await expect(runEval({ ...base, envWorkers: other, outDir: join(out, 'x') })).rejects.toThrow(/serves "crash"/);
    rmSync(out, { recursive: true, force: true });
  });

  it('names the environment when a worker cannot build it', async () => {
    const p = pool({ env: 'no-such-env', workers: 1 });
    await expect(p.start()).rejects.toThrow(EnvWorkerError);
    await expect(pool({ env: 'no-such-env', workers: 1 }).connect()).rejects.toThrow(/no-such-env/);
    expect(() => new EnvWorkerPool({ env: 'code-interp', workers: 0 })).toThrow(/positive integer/);
  });
});
