/**
 * Session benchmark for Streamable HTTP: what a session costs in server memory (idle, with an
 * episode running, with its episode ended), what abandoned sessions do to the server, and
 * trivial-step latency with 1,000 concurrent sessions (nothing may be dropped).
 *
 * The server (`serveHttp` with the `echo` fixture env, what `gym serve --http` runs) is a child
 * process, so its memory is measured alone (`--expose-gc`, a full GC before each reading). The
 * clients speak raw JSON-RPC over keep-alive HTTP, one connection per session, so client overhead
 * stays small on a 2-core machine.
 *
 * Memory (any env, `--env`): a session is opened in one of three states and left there:
 *  - idle: initialized, no episode;
 *  - active: an episode started (`gym_start`): the env instance and its per-episode resources
 *    (code-interp: an isolate) are live;
 *  - ended: an episode started and answered (`gym_submit`).
 * For each state, `--rounds` times: open `--memory-sessions` sessions, read the server's memory after
 * a full GC, close them (DELETE). Per-session figures are medians over the rounds. `abandoned` opens
 * `--memory-sessions` sessions (active, or the state `--abandon` names) on the fresh server and
 * leaves them open (the case the session caps are for): server RSS and heap before and after.
 *
 * Two loads on the same 1,000 open sessions (each with an episode started; echo env only):
 *  - paced (closed loop, the target's load): every session steps, thinks for a seeded uniform
 *    0.5-1.5 s (mean 1 s, as an agent waiting on its model), and steps again, for `--seconds`.
 *    Nominal offered load = sessions / mean think time = ~1,000 steps/s for 1,000 sessions; the
 *    achieved rate is printed next to it (it falls below the offered one only when the server is slow);
 *  - burst: all 1,000 sessions step at the same instant (worst case; p99 is the drain time).
 *
 *   npx tsx bench/sessions.ts [--env echo] [--memory-sessions 200] [--rounds 5] [--abandon active]
 *                             [--sessions 1000] [--seconds 10]
 *   (`--sessions 0` skips the latency loads; they need the echo env)
 * Prints one JSON object. Target (DESIGN): paced p99 <= 50 ms, nothing dropped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../tools/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = join(root, 'test', 'fixtures', 'serve-fixture.ts');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const SESSIONS = arg('--sessions', 1000);
const SECONDS = arg('--seconds', 10);
const MEMORY_SESSIONS = arg('--memory-sessions', 200);
const ROUNDS = arg('--rounds', 5);
const ENV = (() => {
  const i = process.argv.indexOf('--env');
  return i >= 0 ? (process.argv[i + 1] as string) : 'echo';
})();
const ABANDON = (() => {
  const i = process.argv.indexOf('--abandon');
  return (i >= 0 ? process.argv[i + 1] : 'active') as 'idle' | 'active' | 'ended';
})();
const MB = 1024 * 1024;

type SessionState = 'idle' | 'active' | 'ended';
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

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

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

  post(body: unknown, method = 'POST'): Promise<{ status: number; json: any; sid?: string }> {
    const data = body === undefined ? '' : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method,
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

  /** Opens the session and leaves it in `state` (`active` by default: an episode started). */
  async open(state: SessionState = 'active'): Promise<void> {
    const init = await this.post({
      jsonrpc: '2.0',
      id: this.#next++,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    });
    if (init.status !== 200 || !init.sid) throw new Error(`initialize failed: ${init.status}`);
    this.id = init.sid;
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (state === 'idle') return;
    const start = await this.call('gym_start', {});
    if (start.isError) throw new Error('gym_start failed');
    if (state === 'ended') await this.call('gym_submit', { answer: 'x' });
  }

  /** Ends the session (HTTP DELETE) and its connection. */
  async close(): Promise<void> {
    await this.post(undefined, 'DELETE');
    this.agent.destroy();
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

function machine(): { cpus: number; loadavg_1m: number } {
  return { cpus: cpus().length, loadavg_1m: r2(loadavg()[0]) };
}

/** `n` sessions opened in `state`, 20 at a time. */
async function openMany(url: URL, n: number, state: SessionState): Promise<RawSession[]> {
  const out = Array.from({ length: n }, () => new RawSession(url));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(20, n) }, async () => {
      while (next < out.length) await out[next++].open(state);
    }),
  );
  // An ended episode's env is closed just after its answer: let that run before reading.
  await new Promise((r) => setTimeout(r, 200));
  return out;
}

const mb = (x: number): number => Math.round((x / MB) * 10) / 10;

/** Abandoned sessions on the fresh server, then the per-session cost of each state (medians over rounds). */
async function memoryFigures(url: URL, child: ChildProcess) {
  const base = await readMemory(child);
  const left = await openMany(url, MEMORY_SESSIONS, ABANDON);
  const loaded = await readMemory(child);
  await Promise.all(left.map((s) => s.close()));
  const abandoned = {
    sessions: MEMORY_SESSIONS,
    state: ABANDON,
    rss_mb: { before: mb(base.rss), after: mb(loaded.rss) },
    heap_used_mb: { before: mb(base.heapUsed), after: mb(loaded.heapUsed) },
  };
  const per: Record<string, { heap_used: number; external: number; rss: number }> = {};
  for (const state of ['idle', 'active', 'ended'] as const) {
    const rows: Array<{ heap_used: number; external: number; rss: number }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = await readMemory(child);
      const open = await openMany(url, MEMORY_SESSIONS, state);
      const after = await readMemory(child);
      await Promise.all(open.map((s) => s.close()));
      const d = (k: keyof Memory): number => (after[k] - before[k]) / MEMORY_SESSIONS;
      rows.push({ heap_used: d('heapUsed'), external: d('external'), rss: d('rss') });
    }
    per[state] = {
      heap_used: Math.round(median(rows.map((x) => x.heap_used))),
      external: Math.round(median(rows.map((x) => x.external))),
      rss: Math.round(median(rows.map((x) => x.rss))),
    };
  }
  return {
    memory_per_session_bytes: { ...per, sessions_per_round: MEMORY_SESSIONS, rounds: ROUNDS, statistic: 'median' },
    abandoned,
  };
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, ENV, '--http', '127.0.0.1:0'], {
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
    for (const state of ['idle', 'active', 'ended'] as const) {
      const w = await openMany(url, 10, state);
      await Promise.all(w.map((s) => s.close()));
    }
    const memory = await memoryFigures(url, child);
    if (SESSIONS <= 0) {
      process.stdout.write(`${JSON.stringify({ benchmark: 'sessions', machine: machine(), env: ENV, ...memory })}\n`);
      return;
    }
    if (ENV !== 'echo') throw new Error('the latency loads step the echo env: pass --env echo, or --sessions 0');
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
      machine: machine(),
      env: ENV,
      ...memory,
      sessions: SESSIONS,
      open_sessions_ms: Math.round(openMs),
      // with an episode started (active), 1,000 at once, one reading
      memory_per_loaded_session_bytes: {
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
