/**
 * Scale-out benchmark: replicas behind a real load balancer, and the ws gym protocol against HTTP.
 *
 * 1. Scale: `--replicas` (4) `gym serve --http` processes of the built CLI (the `echo` fixture env:
 *    trivial steps) behind HAProxy on loopback, with the configuration scripts/haproxy-config.ts
 *    generates (routing on the replica prefix of `Mcp-Param-Episode`). `--episodes` (5,000) episodes
 *    are started through the balancer as 2026-07-28 requests (no session; each episode a handle) and
 *    all stay open. Then every episode steps in a closed loop with a seeded think time, uniform in
 *    [`--think-min`, `--think-max`] ms (default 2.5-7.5 s, mean 5 s: an agent waiting on its model),
 *    for `--seconds`: the offered load is episodes / mean think = ~1,000 steps/s for 5,000 episodes.
 *    Then every episode submits. Lost = a step or submit that failed in any way (HTTP status,
 *    JSON-RPC error, an error result, an aborted episode) or an episode whose submit brought no reward.
 * 2. Pipeline: on one replica directly (not through the balancer), `--pipeline` (64) episodes step as
 *    fast as they can (each closed-loop: one step in flight per episode), over the ws gym protocol
 *    (all on ONE socket, pipelined) and over Streamable HTTP (2026-07-28 requests, one keep-alive
 *    connection per episode; and 2025-11-25 sessions, one per episode), interleaved `--reps` times
 *    for `--pipeline-seconds` each. Medians; the ratio is against the faster HTTP path. The same run
 *    sets the two HTTP revisions side by side: steps/s, the replica's CPU per step (from /proc), and
 *    per-rep cost ratios 2026-07-28 / 2025-11-25 (their median). `--only-pipeline` runs this part
 *    alone (with `--replicas 1` it starts one replica).
 *
 * Clients speak raw JSON-RPC over node:http keep-alive (and the project's ws client), so the load
 * generator costs little next to the servers on a 2-core machine.
 *
 *   npm run build && npx tsx bench/scale.ts [--episodes 5000] [--replicas 4] [--seconds 30]
 *       [--think-min 2500] [--think-max 7500] [--pipeline 64] [--pipeline-seconds 4] [--reps 3]
 *       [--warmup-seconds 4]
 * Prints one JSON object. Targets (issue 22): >= 5,000 concurrent episodes across 4 replicas, p99 <= 100 ms,
 * nothing lost; a 2026-07-28 client's tool call no slower than a 2025-11-25 client's (cost ratio <= 1);
 * ws pipelined steps/s >= 2x HTTP's.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { WsGymClient } from '../agent/rollout/ws-client.js';
import { haproxyBinary, type ReplicaProcess, startBalancer, startReplicas } from '../test/fixtures/replicas.js';
import { mulberry32 } from '../tools/index.js';

const root = join(import.meta.dirname, '..');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const EPISODES = arg('--episodes', 5000);
const REPLICAS = arg('--replicas', 4);
const SECONDS = arg('--seconds', 30);
const THINK_MIN = arg('--think-min', 2500);
const THINK_MAX = arg('--think-max', 7500);
const PIPELINE = arg('--pipeline', 64);
const PIPELINE_SECONDS = arg('--pipeline-seconds', 4);
const REPS = arg('--reps', 3);
const WARMUP_SECONDS = arg('--warmup-seconds', 4);
const ONLY_PIPELINE = process.argv.includes('--only-pipeline');

const log = (s: string): void => void process.stderr.write(`[scale] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// Pure helpers

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function median(xs: readonly number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** User+system CPU seconds of a process so far (Linux /proc; NaN elsewhere): the replica's own work. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** One timed run of the pipeline part: steps per second, and the serving replica's CPU per step. */
interface PipelineRun {
  rate: number;
  cpuMs: number;
}

/** Runs `loop` (the stepping, setup already done) and measures it against the replica `pid`. */
async function measured(pid: number | undefined, loop: () => Promise<number>): Promise<PipelineRun> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  const steps = await loop();
  const seconds = (performance.now() - t0) / 1000;
  return { rate: steps / seconds, cpuMs: ((cpuSeconds(pid) - c0) * 1000) / steps };
}

// ---------------------------------------------------------------------------------------------
// A raw 2026-07-28 MCP client: one JSON-RPC request per POST, the handle in Mcp-Param-Episode

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench-scale', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface CallResult {
  ok: boolean;
  why?: string;
  result?: { isError?: boolean; structuredContent?: any; _meta?: Record<string, unknown> };
}

class Modern {
  #id = 0;
  constructor(
    readonly url: URL,
    readonly agent: Agent,
  ) {}

  call(name: string, args: Record<string, unknown>): Promise<CallResult> {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: ++this.#id,
      method: 'tools/call',
      params: { name, arguments: args, _meta: ENVELOPE },
    });
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'content-length': Buffer.byteLength(body),
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': name,
    };
    if (typeof args.episode === 'string') headers['mcp-param-episode'] = args.episode;
    return new Promise((resolve) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port, path: this.url.pathname, method: 'POST', agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) {
              resolve({ ok: false, why: `HTTP ${res.statusCode}: ${text.slice(0, 160)}` });
              return;
            }
            try {
              const m = JSON.parse(text);
              if (m.error) resolve({ ok: false, why: `JSON-RPC ${m.error.code}: ${m.error.message}` });
              else if (m.result?.isError) resolve({ ok: false, why: 'error result', result: m.result });
              else if (m.result?._meta?.['toolgym/aborted']) resolve({ ok: false, why: 'aborted', result: m.result });
              else resolve({ ok: true, result: m.result });
            } catch (err) {
              resolve({ ok: false, why: `bad JSON: ${(err as Error).message}` });
            }
          });
        },
      );
      req.on('error', (err) => resolve({ ok: false, why: err.message }));
      req.end(body);
    });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Scale through the balancer

async function scale(lbUrl: string): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const mcp = new Modern(new URL(lbUrl), agent);
  const lost = new Map<string, number>();
  const lose = (why: string): void => void lost.set(why.replace(/\d+/g, 'N').slice(0, 80), (lost.get(why) ?? 0) + 1);

  const t0 = performance.now();
  const starts = await mapLimit(
    Array.from({ length: EPISODES }, (_, i) => i),
    128,
    async (i) => mcp.call('gym_start', { seed: i }),
  );
  const openMs = performance.now() - t0;
  const handles: string[] = [];
  for (const s of starts) {
    const h = s.result?.structuredContent?.episode;
    if (s.ok && typeof h === 'string') handles.push(h);
    else lose(`gym_start: ${s.why ?? 'no handle'}`);
  }
  const perReplica: Record<string, number> = {};
  for (const h of handles) perReplica[h.split('.')[0] as string] = (perReplica[h.split('.')[0] as string] ?? 0) + 1;
  log(`${handles.length} episodes open in ${Math.round(openMs)} ms: ${JSON.stringify(perReplica)}`);

  const lat: number[] = [];
  let steps = 0;
  const end = performance.now() + SECONDS * 1000;
  const tLoad = performance.now();
  await Promise.all(
    handles.map(async (episode, i) => {
      const rng = mulberry32(1000 + i);
      const think = (): Promise<void> => new Promise((r) => setTimeout(r, THINK_MIN + rng() * (THINK_MAX - THINK_MIN)));
      // Episodes start spread over one think time, not all at once.
      await new Promise((r) => setTimeout(r, rng() * (THINK_MAX + THINK_MIN) * 0.5));
      while (performance.now() < end) {
        const s = performance.now();
        const r = await mcp.call('echo', { message: `m${i}`, episode });
        lat.push(performance.now() - s);
        steps++;
        if (!r.ok) lose(`step: ${r.why}`);
        await think();
      }
    }),
  );
  const loadS = (performance.now() - tLoad) / 1000;
  let rewarded = 0;
  await mapLimit(handles, 128, async (episode) => {
    const r = await mcp.call('gym_submit', { answer: 'alpha!', episode });
    if (r.result?._meta?.['toolgym/reward'] !== undefined) rewarded++;
    else lose(`submit: ${r.why ?? 'no reward'}`);
  });
  agent.destroy();
  const sorted = lat.sort((a, b) => a - b);
  const lostCount = [...lost.values()].reduce((a, b) => a + b, 0);
  return {
    episodes: EPISODES,
    open_episodes: handles.length,
    per_replica: perReplica,
    open_ms: Math.round(openMs),
    think_ms: [THINK_MIN, THINK_MAX],
    offered_steps_per_s: Math.round(handles.length / ((THINK_MIN + THINK_MAX) / 2 / 1000)),
    achieved_steps_per_s: Math.round(steps / loadS),
    steps,
    p50_ms: r2(percentile(sorted, 50)),
    p90_ms: r2(percentile(sorted, 90)),
    p99_ms: r2(percentile(sorted, 99)),
    max_ms: r2(sorted.at(-1) ?? Number.NaN),
    submitted_with_reward: rewarded,
    lost: lostCount,
    lost_reasons: Object.fromEntries(lost),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. ws pipelined against HTTP, one replica

async function wsRun(url: string, seconds: number, pid: number | undefined): Promise<PipelineRun> {
  const client = await WsGymClient.connect(url, { maxInflight: PIPELINE });
  const eps = await Promise.all(Array.from({ length: PIPELINE }, (_, i) => client.reset({ seed: i })));
  let failed = 0;
  const run = await measured(pid, async () => {
    let steps = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      eps.map(async (e, i) => {
        while (performance.now() < end) {
          const r = await client.step(e.episode, {
            kind: 'tool_calls',
            calls: [{ name: 'echo', arguments: { message: `m${i}` } }],
          });
          if (r.aborted || r.observation.toolResults?.[0]?.isError) failed++;
          steps++;
        }
      }),
    );
    return steps;
  });
  await Promise.all(eps.map((e) => client.closeEpisode(e.episode)));
  client.close();
  if (failed) throw new Error(`ws: ${failed} steps failed`);
  return run;
}

async function httpRun(url: string, seconds: number, pid: number | undefined): Promise<PipelineRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: PIPELINE });
  const mcp = new Modern(new URL(url), agent);
  const starts = await Promise.all(Array.from({ length: PIPELINE }, (_, i) => mcp.call('gym_start', { seed: i })));
  const handles = starts.map((s) => s.result?.structuredContent?.episode as string);
  let failed = 0;
  const run = await measured(pid, async () => {
    let steps = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      handles.map(async (episode, i) => {
        while (performance.now() < end) {
          const r = await mcp.call('echo', { message: `m${i}`, episode });
          if (!r.ok) failed++;
          steps++;
        }
      }),
    );
    return steps;
  });
  await Promise.all(handles.map((episode) => mcp.call('gym_submit', { answer: 'x', episode })));
  agent.destroy();
  if (failed) throw new Error(`http: ${failed} steps failed`);
  return run;
}

/** A 2025-11-25 session on its own keep-alive connection: initialize, then calls with Mcp-Session-Id. */
class LegacySession {
  sid = '';
  #id = 0;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  constructor(readonly url: URL) {}

  post(body: Record<string, unknown>): Promise<{ status: number; json: any; sid?: string }> {
    const data = JSON.stringify({ jsonrpc: '2.0', ...body });
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      'content-length': Buffer.byteLength(data),
    };
    if (this.sid) headers['mcp-session-id'] = this.sid;
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port, path: this.url.pathname, method: 'POST', agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              json: text ? JSON.parse(text) : undefined,
              sid: res.headers['mcp-session-id'] as string,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async open(): Promise<void> {
    const init = await this.post({
      id: ++this.#id,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench-scale', version: '1' } },
    });
    this.sid = init.sid ?? '';
    await this.post({ method: 'notifications/initialized' });
  }

  async call(name: string, args: Record<string, unknown>): Promise<boolean> {
    const r = await this.post({ id: ++this.#id, method: 'tools/call', params: { name, arguments: args } });
    return r.status === 200 && !r.json?.error && !r.json?.result?.isError;
  }
}

async function legacyRun(url: string, seconds: number, pid: number | undefined): Promise<PipelineRun> {
  const sessions = Array.from({ length: PIPELINE }, () => new LegacySession(new URL(url)));
  await Promise.all(sessions.map((s) => s.open()));
  await Promise.all(sessions.map((s, i) => s.call('gym_start', { seed: i })));
  let failed = 0;
  const run = await measured(pid, async () => {
    let steps = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      sessions.map(async (s, i) => {
        while (performance.now() < end) {
          if (!(await s.call('echo', { message: `m${i}` }))) failed++;
          steps++;
        }
      }),
    );
    return steps;
  });
  for (const s of sessions) s.agent.destroy();
  if (failed) throw new Error(`http 2025-11-25: ${failed} steps failed`);
  return run;
}

// ---------------------------------------------------------------------------------------------

/**
 * ws against the faster of the two HTTP paths (sessions or handles), and the 2026-07-28 path
 * against the 2025-11-25 one: medians over the interleaved reps. A cost ratio is taken per rep (the
 * two paths ran seconds apart, under the same load) and its median reported: wall = 2025-11-25
 * steps/s over 2026-07-28 steps/s, cpu = the replica's CPU per 2026-07-28 step over its CPU per
 * 2025-11-25 step. Either <= 1 means a 2026-07-28 call costs no more.
 */
function pipelineFigures(ws: PipelineRun[], http: PipelineRun[], legacy: PipelineRun[]) {
  const rate = (xs: PipelineRun[]) => median(xs.map((x) => x.rate));
  const cpu = (xs: PipelineRun[]) => median(xs.map((x) => x.cpuMs));
  const best = Math.max(rate(http), rate(legacy));
  const wallRatio = median(http.map((h, i) => (legacy[i] as PipelineRun).rate / h.rate));
  const cpuRatio = median(http.map((h, i) => h.cpuMs / (legacy[i] as PipelineRun).cpuMs));
  return {
    episodes: PIPELINE,
    ws_steps_per_s: Math.round(rate(ws)),
    http_2026_steps_per_s: Math.round(rate(http)),
    http_2025_steps_per_s: Math.round(rate(legacy)),
    ratio: r2(rate(ws) / best),
    cpu_ms_per_step: { ws: r3(cpu(ws)), http_2026: r3(cpu(http)), http_2025: r3(cpu(legacy)) },
    cost_2026_over_2025: { wall: r2(wallRatio), cpu: r2(cpuRatio) },
    reps: {
      ws: ws.map((x) => Math.round(x.rate)),
      http_2026: http.map((x) => Math.round(x.rate)),
      http_2025: legacy.map((x) => Math.round(x.rate)),
      cpu_ms_http_2026: http.map((x) => r3(x.cpuMs)),
      cpu_ms_http_2025: legacy.map((x) => r3(x.cpuMs)),
    },
  };
}

async function main(): Promise<void> {
  if (!haproxyBinary()) throw new Error('HAProxy is not installed (apt-get install haproxy): bench/scale needs it.');
  const ids = Array.from({ length: REPLICAS }, (_, i) => `r${i + 1}`);
  log(`starting ${REPLICAS} replicas (echo env) and HAProxy`);
  const replicas: ReplicaProcess[] = await startReplicas(ids, {
    envModule: join(root, 'test', 'fixtures', 'echo-env.ts'),
    ws: true,
    extra: ['--max-steps', '1000000000', '--max-episodes', '100000'],
  });
  const lb = await startBalancer(replicas, { checkIntervalMs: 1000 });
  try {
    const first = replicas[0] as ReplicaProcess;
    log(`pipeline: ${PIPELINE} episodes, ws (one socket) vs HTTP (one connection each), ${REPS} x ${PIPELINE_SECONDS} s`);
    const ws: PipelineRun[] = [];
    const http: PipelineRun[] = [];
    const legacy: PipelineRun[] = [];
    const pid = first.child.pid;
    // An unrecorded round first: the replica's JIT (and, for 2026-07-28, its pool of server
    // instances) warms up on every path before any rep counts.
    await wsRun(first.wsUrl as string, WARMUP_SECONDS, pid);
    await httpRun(first.url, WARMUP_SECONDS, pid);
    await legacyRun(first.url, WARMUP_SECONDS, pid);
    for (let rep = 0; rep < REPS; rep++) {
      ws.push(await wsRun(first.wsUrl as string, PIPELINE_SECONDS, pid));
      // The two HTTP paths alternate which goes first, so neither always follows the ws run.
      if (rep % 2 === 0) {
        http.push(await httpRun(first.url, PIPELINE_SECONDS, pid));
        legacy.push(await legacyRun(first.url, PIPELINE_SECONDS, pid));
      } else {
        legacy.push(await legacyRun(first.url, PIPELINE_SECONDS, pid));
        http.push(await httpRun(first.url, PIPELINE_SECONDS, pid));
      }
      const [w, h, l] = [ws.at(-1), http.at(-1), legacy.at(-1)] as PipelineRun[];
      log(
        `rep ${rep}: ws ${Math.round(w.rate)}, http 2026-07-28 ${Math.round(h.rate)} (${r3(h.cpuMs)} ms CPU/step), http 2025-11-25 ${Math.round(l.rate)} (${r3(l.cpuMs)} ms CPU/step) steps/s`,
      );
    }
    if (ONLY_PIPELINE) {
      const pipeline = pipelineFigures(ws, http, legacy);
      const out = {
        bench: 'scale (pipeline part)',
        machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_1m: r2(loadavg()[0] as number) },
        node: process.version,
        pipeline,
        targets: {
          ws_ge_2x_http: pipeline.ratio >= 2,
          http_2026_no_slower_than_2025: pipeline.cost_2026_over_2025.wall <= 1,
        },
      };
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    log(`scale: ${EPISODES} episodes through HAProxy, ${SECONDS} s of paced load`);
    const s = await scale(lb.url);
    const pipeline = pipelineFigures(ws, http, legacy);
    const out = {
      bench: 'scale',
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_1m: r2(loadavg()[0] as number) },
      replicas: REPLICAS,
      balancer: 'HAProxy (scripts/haproxy-config.ts), loopback',
      scale: s,
      pipeline,
      targets: {
        episodes_5000_p99_le_100ms_nothing_lost:
          (s.open_episodes as number) >= 5000 && (s.p99_ms as number) <= 100 && s.lost === 0 && REPLICAS >= 4,
        ws_ge_2x_http: pipeline.ratio >= 2,
        http_2026_no_slower_than_2025: pipeline.cost_2026_over_2025.wall <= 1,
      },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await lb.stop();
    await Promise.all(replicas.map((r) => r.stop()));
  }
}

await main();
