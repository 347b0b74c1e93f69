/**
 * Session benchmark for Streamable HTTP: memory per idle session, and trivial-step latency with
 * 1,000 concurrent sessions (nothing may be dropped).
 *
 * The server (`serveHttp` with the `echo` fixture env, what `gym serve --http` runs) is a child
 * process, so its memory is measured alone (`--expose-gc`, a full GC before each reading). The
 * clients speak raw JSON-RPC over keep-alive HTTP, one connection per session, so client overhead
 * stays small on a 2-core machine.
 *
 * Two loads on the same 1,000 open sessions (each with an episode started):
 *  - paced (closed loop, the target's load): every session steps, thinks for a seeded uniform
 *    0.5-1.5 s (mean 1 s, as an agent waiting on its model), and steps again, for `--seconds`.
 *    Nominal offered load = sessions / mean think time = ~1,000 steps/s for 1,000 sessions; the
 *    achieved rate is printed next to it (it falls below the offered one only when the server is slow);
 *  - burst: all 1,000 sessions step at the same instant (worst case; p99 is the drain time).
 *
 *   npx tsx bench/sessions.ts [--sessions 1000] [--seconds 10]
 * Prints one JSON object. Target (DESIGN): paced p99 <= 50 ms, nothing dropped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../tools/rng.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = join(root, 'test', 'fixtures', 'serve-fixture.ts');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SESSIONS = arg('--sessions', 1000);
const SECONDS = arg('--seconds', 10);
/** Think time between a session's steps in the paced load: uniform in [THINK_MIN_MS, THINK_MAX_MS]. */
const THINK_MIN_MS = 500;
const THINK_MAX_MS = 1500;

const dropReasons = new Map<string, number>();

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

function stats(lat: number[]): { n: number; p50_ms: number; p99_ms: number; max_ms: number } {
  const s = [...lat].sort((a, b) => a - b);
  return { n: s.length, p50_ms: r2(percentile(s, 50)), p99_ms: r2(percentile(s, 99)), max_ms: r2(s[s.length - 1] ?? Number.NaN) };
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON-RPC-over-HTTP session

class RawSession {
  id = '';
  #next = 1;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly url: URL) {}

  post(body: unknown): Promise<{ status: number; json: any; sid?: string }> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-06-18',
            'content-length': Buffer.byteLength(data),
            ...(this.id ? { 'mcp-session-id': this.id } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              json: text ? JSON.parse(text) : undefined,
              sid: res.headers['mcp-session-id'] as string | undefined,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async open(): Promise<void> {
    const init = await this.post({
      jsonrpc: '2.0',
      id: this.#next++,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
    if (init.status !== 200 || !init.sid) throw new Error(`initialize failed: ${init.status}`);
    this.id = init.sid;
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const start = await this.call('gym_start', {});
    if (start.isError) throw new Error('gym_start failed');
  }

  async call(name: string, args: Record<string, unknown>): Promise<any> {
    const r = await this.post({ jsonrpc: '2.0', id: this.#next++, method: 'tools/call', params: { name, arguments: args } });
    if (r.status !== 200 || !r.json?.result)
      throw new Error(`tools/call ${name}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
    return r.json.result;
  }

  /** One trivial step: latency in ms, or undefined when it was dropped (error / wrong result). */
  async step(i: number): Promise<number | undefined> {
    const t0 = performance.now();
    try {
      const r = await this.call('echo', { message: `m${i}` });
      if (r.content?.[0]?.text === `Echo: m${i}`) return performance.now() - t0;
      dropReasons.set('wrong result', (dropReasons.get('wrong result') ?? 0) + 1);
    } catch (err) {
      const why = ((err as NodeJS.ErrnoException).code ?? (err as Error).message).slice(0, 80);
      dropReasons.set(why, (dropReasons.get(why) ?? 0) + 1);
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

/** User+system CPU seconds of a process (Linux /proc; undefined elsewhere). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

function readMemory(child: ChildProcess): Promise<Memory> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer): void => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{"memory"'));
      if (line) {
        child.stderr!.off('data', onData);
        resolve(JSON.parse(line).memory);
      }
    };
    child.stderr!.on('data', onData);
    child.kill('SIGUSR2');
  });
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, 'echo', '--http', '127.0.0.1:0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = new URL(
      await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /(http:\/\/\S+)\n/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      }),
    );

    // Warm the server (JIT, first-use allocations) so the memory baseline is steady.
    const warm = Array.from({ length: 20 }, () => new RawSession(url));
    for (const s of warm) await s.open();
    for (let i = 0; i < 200; i++) await warm[i % warm.length].step(i);
    const before = await readMemory(child);

    const sessions = Array.from({ length: SESSIONS }, () => new RawSession(url));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < sessions.length) await sessions[next++].open();
      }),
    );
    const openMs = performance.now() - t0;
    const after = await readMemory(child);

    // Paced load.
    const rand = mulberry32(1234);
    const paced: number[] = [];
    let pacedDropped = 0;
    const cpu0 = cpuSeconds(child.pid);
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      sessions.map(async (s, k) => {
        // Stagger the first steps over a think time so the load starts steady.
        await new Promise((r) => setTimeout(r, (rand() * (THINK_MIN_MS + THINK_MAX_MS)) / 2));
        for (let i = 0; performance.now() < until; i++) {
          const ms = await s.step(k * 100_000 + i);
          if (ms === undefined) pacedDropped++;
          else paced.push(ms);
          await new Promise((r) => setTimeout(r, THINK_MIN_MS + rand() * (THINK_MAX_MS - THINK_MIN_MS)));
        }
      }),
    );
    const pacedRate = paced.length / SECONDS;
    const cpu1 = cpuSeconds(child.pid);
    const serverCpuPerStep =
      cpu0 !== undefined && cpu1 !== undefined && paced.length ? Math.round(((cpu1 - cpu0) / paced.length) * 1e6) : undefined;

    // Burst load: everyone at once, three times.
    const burst: number[] = [];
    let burstDropped = 0;
    for (let round = 0; round < 3; round++) {
      const lat = await Promise.all(sessions.map((s, k) => s.step(round * 10_000 + k)));
      for (const ms of lat)
        if (ms === undefined) burstDropped++;
        else burst.push(ms);
    }

    const perSession = (k: keyof Memory): number => Math.round((after[k] - before[k]) / SESSIONS);
    const pacedStats = stats(paced);
    const out = {
      benchmark: 'sessions',
      machine: { cpus: cpus().length, loadavg_1m: r2(loadavg()[0]) },
      sessions: SESSIONS,
      open_sessions_ms: Math.round(openMs),
      memory_per_idle_session_bytes: {
        heap_used: perSession('heapUsed'),
        rss: perSession('rss'),
        external: perSession('external'),
      },
      paced: {
        load: `closed loop: ${SESSIONS} sessions each step, think U(${THINK_MIN_MS}, ${THINK_MAX_MS}) ms, step again`,
        think_ms: { min: THINK_MIN_MS, max: THINK_MAX_MS, mean: (THINK_MIN_MS + THINK_MAX_MS) / 2 },
        offered_steps_per_s: Math.round(SESSIONS / ((THINK_MIN_MS + THINK_MAX_MS) / 2 / 1000)),
        ...pacedStats,
        steps_per_s: Math.round(pacedRate),
        dropped: pacedDropped,
        seconds: SECONDS,
        server_cpu_us_per_step: serverCpuPerStep,
      },
      burst: { ...stats(burst), dropped: burstDropped, rounds: 3 },
      drop_reasons: Object.fromEntries(dropReasons),
      target: { paced_p99_ms_max: 50, met: pacedStats.p99_ms <= 50 && pacedDropped === 0 },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    for (const s of [...warm, ...sessions]) s.agent.destroy();
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
