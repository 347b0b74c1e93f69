/**
 * Rollout loop benchmark. Prints ONE JSON object on stdout (progress on stderr).
 *
 *  1. overhead: the loop's own time per turn (parse, MCP round trip over the in-memory transport,
 *     machine transitions, bookkeeping) with the oracle and a trivial tool, p50 / p99. The policy's
 *     own time is subtracted. Peer: the same tool called in a bare MCP client loop (no machine, no
 *     parsing): `peerRawMcpCallP50Ms`, and the ratio.
 *  2. throughput: episodes/s of 3-turn code-interp episodes with the oracle (one extra exploratory
 *     `run_code` turn before the family oracle's call + answer), in-memory, concurrency 8. Peer: the
 *     same tool calls sent as bare MCP requests over 8 sessions (`peerRawMcpEpisodesPerSecond`): the
 *     ceiling the environment itself sets (sandbox creation per episode, code runs). The same batch
 *     with the environment in two worker threads (`envWorkers*`, concurrency 16): the loop keeps its
 *     thread and the environment's host work runs beside it. Medians of 3 rounds (1 with --quick).
 *  3. memory: heapUsed / RSS after GC every 1,000 episodes over 10,000 trivial episodes streamed
 *     with `keep: false` (the batch holds no trajectories): flat means the last sample is within a
 *     few MB of the first.
 *
 * Targets (TEAM.md): overhead p50 <= 1 ms, >= 500 episodes/s, memory flat. Throughput also reports
 * CPU ms per episode (process.cpuUsage, all threads), the figure that holds on a loaded machine.
 * Run: npx tsx bench/rollout.ts [--quick]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import type { GenerateRequest, GenerateResult, Policy } from '../agent/index.js';
import { OraclePolicy, runBatch } from '../agent/index.js';
import { codeInterpEnv } from '../envs/code-interp/index.js';
import {
  connectInMemory,
  defineToolEnv,
  type EnvDefinition,
  EnvWorkerPool,
  type Task,
  type TaskFamily,
  textResult,
} from '../envs/index.js';

const quick = process.argv.includes('--quick');
const log = (msg: string): void => {
  process.stderr.write(`[bench/rollout] ${msg}\n`);
};

// ---------------------------------------------------------------------------------------------
// A trivial env: `echo({text})` returns its input; the oracle echoes K times, then answers.

function echoEnv(turns: number): EnvDefinition {
  const family: TaskFamily<{ word: string }> = {
    name: 'echo',
    description: 'echo a word',
    splitSizes: { train: 1000, test: 100 },
    generate: (split, index): Task<{ word: string }> => ({
      id: `bench-echo/echo/${split}/${index}`,
      family: 'echo',
      split,
      difficulty: 1,
      prompt: `Echo the word w${index} with the tool, then answer it.`,
      seed: index,
      reference: { word: `w${index}` },
    }),
    verify: async (task, answer) => {
      const ok = answer.trim() === task.reference.word;
      return { reward: ok ? 1 : 0, components: { correct: ok ? 1 : 0 }, correct: ok };
    },
    oracle: (task, history) =>
      history.length < turns - 1
        ? { kind: 'tool_calls', calls: [{ name: 'echo', arguments: { text: task.reference.word } }] }
        : { kind: 'answer', answer: task.reference.word },
  };
  return defineToolEnv<Record<string, never>>({
    id: 'bench-echo',
    version: '1.0.0',
    description: 'benchmark env: one trivial tool',
    families: [family],
    systemPrompt: 'Use the echo tool.',
    createEpisode: () => ({}),
    tools: [
      {
        name: 'echo',
        description: 'Returns its input.',
        inputSchema: { text: z.string().describe('text to return') },
        handler: async (args: { text: string }) => textResult(args.text),
      },
    ],
  });
}

/** Wraps a policy and records, for each generate call, when it started and how long it took. */
class TimedPolicy implements Policy {
  readonly spec: string;
  readonly starts: number[] = [];
  readonly spent: number[] = [];
  constructor(private readonly inner: Policy) {
    this.spec = inner.spec;
  }
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const t0 = performance.now();
    this.starts.push(t0);
    const out = await this.inner.generate(req);
    this.spent.push(performance.now() - t0);
    return out;
  }
}

/** The oracle with one extra exploratory `run_code` turn first: 3-turn code-interp episodes. */
class ThreeTurnOracle implements Policy {
  readonly spec = 'oracle+explore';
  private readonly inner = new OraclePolicy(codeInterpEnv);
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    if (req.turn === 0) {
      return {
        text: '<tool_call>\n{"name": "run_code", "arguments": {"code": "console.log(typeof BigInt)"}}\n</tool_call>',
        finishReason: 'stop',
      };
    }
    return this.inner.generate({ ...req, turn: req.turn - 1, history: (req.history ?? []).slice(1) });
  }
}

function quantile(xs: number[], q: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));

// ---------------------------------------------------------------------------------------------

async function overhead(): Promise<Record<string, number>> {
  const turns = 21;
  const env = echoEnv(turns);
  const episodes = quick ? 20 : 100;
  const policy = new TimedPolicy(new OraclePolicy(env));
  await runBatch({ env, policy, count: 5, concurrency: 1, progress: false, limits: { maxTurns: turns + 1 } }); // warm-up
  policy.starts.length = 0;
  policy.spent.length = 0;
  await runBatch({ env, policy, count: episodes, concurrency: 1, progress: false, limits: { maxTurns: turns + 1 } });
  // Loop time of one turn = from one generate call to the next, minus the policy's own time.
  const per: number[] = [];
  for (let i = 1; i < policy.starts.length; i++) {
    if (i % turns === 0) continue; // episode boundary: includes gym_submit + gym_start
    per.push(policy.starts[i] - policy.starts[i - 1] - policy.spent[i - 1]);
  }

  // Peer: the same tool over a bare MCP client, no machine, no parser.
  const client = await connectInMemory(env);
  await client.callTool({ name: 'gym_start', arguments: { seed: 0 } });
  const raw: number[] = [];
  for (let i = 0; i < per.length; i++) {
    const t0 = performance.now();
    await client.callTool({ name: 'echo', arguments: { text: 'w0' } });
    raw.push(performance.now() - t0);
  }
  await client.close();
  const p50 = quantile(per, 0.5);
  const peer = quantile(raw, 0.5);
  return {
    turnsMeasured: per.length,
    overheadP50Ms: round(p50),
    overheadP99Ms: round(quantile(per, 0.99)),
    peerRawMcpCallP50Ms: round(peer),
    ratioVsRawMcp: round(p50 / peer, 2),
  };
}

async function throughput(): Promise<Record<string, number>> {
  const policy = new ThreeTurnOracle();
  const tasks = codeInterpEnv.families.flatMap((f) => Array.from({ length: 40 }, (_, i) => `code-interp/${f.name}/train/${i}`));
  const n = quick ? 120 : tasks.length;
  const rounds = quick ? 1 : 3;
  const workers = await new EnvWorkerPool({ env: codeInterpEnv.id, workers: 2 }).start();
  // Warm-up of both paths (JIT, isolate pools, task caches): rates climb over the first ~1,000
  // episodes of a process (and of each worker); long rollouts run at the steady state.
  const warmTasks = Array.from({ length: quick ? 48 : 1000 }, (_, i) => tasks[i % tasks.length]);
  await runBatch({ env: codeInterpEnv, policy, tasks: warmTasks, concurrency: 8, progress: false, keep: false });
  await runBatch({ env: () => workers.connect(), policy, tasks: warmTasks, concurrency: 16, progress: false, keep: false });

  type Script = { taskId: string; calls: Array<{ name: string; arguments: Record<string, unknown> }>; answer: string };
  const scripts: Script[] = [];
  const inMem: Array<{ eps: number; cpuMs: number; success: number; turns: number; episodeMs: number; toolMs: number }> = [];
  const viaWorkers: Array<{ eps: number; cpuMs: number; success: number }> = [];
  const peer: Array<{ eps: number; cpuMs: number }> = [];
  for (let r = 0; r < rounds; r++) {
    // 1. In-memory: the loop and the environment share the event loop's thread.
    let toolMs = 0;
    let episodeMs = 0;
    // CPU time of the whole process (every thread, isolate threads included): on a shared, loaded
    // machine wall-clock episodes/s mostly measures the neighbours; CPU ms per episode does not.
    let cpu0 = process.cpuUsage();
    const a = await runBatch({
      env: codeInterpEnv,
      policy,
      tasks: tasks.slice(0, n),
      concurrency: 8,
      progress: false,
      keep: false,
      onTrajectory: (t) => {
        const calls = t.turns.flatMap((x) => x.calls);
        toolMs += calls.reduce((acc, c) => acc + c.latencyMs, 0);
        episodeMs += t.metrics.wallMs;
        if (r === 0)
          scripts.push({
            taskId: t.ids.task,
            calls: calls.map((c) => ({ name: c.name, arguments: c.arguments })),
            answer: t.turns.at(-1)?.answer ?? '',
          });
      },
    });
    let cpu = process.cpuUsage(cpu0);
    inMem.push({
      eps: a.summary.episodesPerSecond,
      cpuMs: (cpu.user + cpu.system) / 1000 / a.summary.episodes,
      success: a.summary.successRate,
      turns: a.summary.meanTurns,
      episodeMs: episodeMs / a.summary.episodes,
      toolMs: toolMs / a.summary.episodes,
    });

    // 2. The environment in two worker threads (MCP over MessagePort): the loop keeps its thread.
    cpu0 = process.cpuUsage();
    const w = await runBatch({
      env: () => workers.connect(),
      policy,
      tasks: tasks.slice(0, n),
      concurrency: 16,
      progress: false,
      keep: false,
    });
    cpu = process.cpuUsage(cpu0);
    viaWorkers.push({
      eps: w.summary.episodesPerSecond,
      cpuMs: (cpu.user + cpu.system) / 1000 / w.summary.episodes,
      success: w.summary.successRate,
    });

    // 3. Peer: the same tool calls as bare MCP requests (no policy, no parser, no machine), 8 sessions.
    const t0 = performance.now();
    const peerCpu0 = process.cpuUsage();
    let nextScript = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = await connectInMemory(codeInterpEnv);
        while (nextScript < scripts.length) {
          const s = scripts[nextScript++];
          await client.callTool({ name: 'gym_start', arguments: { taskId: s.taskId } });
          for (const c of s.calls) await client.callTool(c);
          await client.callTool({ name: 'gym_submit', arguments: { answer: s.answer } });
        }
        await client.close();
      }),
    );
    const peerCpu = process.cpuUsage(peerCpu0);
    peer.push({
      eps: scripts.length / ((performance.now() - t0) / 1000),
      cpuMs: (peerCpu.user + peerCpu.system) / 1000 / scripts.length,
    });
  }
  await workers.close();
  const med = <T>(xs: T[], f: (x: T) => number) => quantile(xs.map(f), 0.5);
  const eps = med(inMem, (x) => x.eps);
  const peerEps = med(peer, (x) => x.eps);
  const cpuMsPerEpisode = med(inMem, (x) => x.cpuMs);
  return {
    episodes: n,
    rounds,
    meanTurns: round(inMem[0].turns, 2),
    successRate: round(Math.min(...inMem.map((x) => x.success), ...viaWorkers.map((x) => x.success))),
    episodesPerSecond: round(eps, 1),
    cpuMsPerEpisode: round(cpuMsPerEpisode, 2),
    /** What 2 idle cores would sustain at that CPU cost. */
    cpuBoundEpisodesPerSecondOn2Cores: round(2000 / cpuMsPerEpisode, 1),
    envWorkers: 2,
    envWorkersEpisodesPerSecond: round(
      med(viaWorkers, (x) => x.eps),
      1,
    ),
    envWorkersCpuMsPerEpisode: round(
      med(viaWorkers, (x) => x.cpuMs),
      2,
    ),
    peerRawMcpCpuMsPerEpisode: round(
      med(peer, (x) => x.cpuMs),
      2,
    ),
    meanEpisodeWallMs: round(
      med(inMem, (x) => x.episodeMs),
      2,
    ),
    meanToolMsPerEpisode: round(
      med(inMem, (x) => x.toolMs),
      2,
    ),
    peerRawMcpEpisodesPerSecond: round(peerEps, 1),
    ratioVsRawMcp: round(eps / peerEps, 2),
  };
}

async function memory(): Promise<Record<string, unknown>> {
  const gc = gcFn();
  const env = echoEnv(3);
  const policy = new OraclePolicy(env);
  const total = quick ? 2000 : 10_000;
  const every = total / 10;
  const samples: Array<{ episodes: number; heapMB: number; rssMB: number }> = [];
  const mb = (b: number): number => round(b / 2 ** 20, 1);
  const t0 = performance.now();
  await runBatch({
    env,
    policy,
    count: total,
    concurrency: 8,
    progress: false,
    keep: false,
    onTrajectory: (_t, _i) => {
      done++;
      if (done % every === 0) {
        gc();
        const m = process.memoryUsage();
        samples.push({ episodes: done, heapMB: mb(m.heapUsed), rssMB: mb(m.rss) });
        log(`memory: ${done} episodes, heap ${mb(m.heapUsed)} MB, rss ${mb(m.rss)} MB`);
      }
    },
  });
  const secs = (performance.now() - t0) / 1000;
  const first = samples[0];
  const last = samples[samples.length - 1];
  return {
    episodes: total,
    trivialEpisodesPerSecond: round(total / secs, 1),
    heapMBFirst: first.heapMB,
    heapMBLast: last.heapMB,
    heapGrowthMB: round(last.heapMB - first.heapMB, 1),
    rssMBFirst: first.rssMB,
    rssMBLast: last.rssMB,
    samples,
  };
}
let done = 0;

async function main(): Promise<void> {
  log('loop overhead per turn ...');
  const o = await overhead();
  log(`overhead p50 ${o.overheadP50Ms} ms`);
  log('code-interp throughput ...');
  const t = await throughput();
  log(`${t.episodesPerSecond} episodes/s`);
  log('memory over many episodes ...');
  const m = await memory();
  process.stdout.write(
    `${JSON.stringify({
      bench: 'rollout',
      quick,
      overhead: o,
      codeInterp: t,
      memory: m,
      targets: { overheadP50Ms: 1, episodesPerSecond: 500 },
    })}\n`,
  );
}

await main();
