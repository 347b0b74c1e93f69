/**
 * MCP transport benchmark: trivial tool-call latency (p50 / p99) and throughput over stdio and
 * Streamable HTTP, toolgym against `@modelcontextprotocol/server-everything`'s `echo` tool, both
 * spawned as child processes in the same run and measured in alternating rounds (so machine load
 * hits both alike).
 *
 * toolgym side: the `echo` fixture env served by `serveStdio` / `serveHttp` (what `gym serve` runs),
 * one episode started, then `echo({message})` calls: every call goes through the episode session
 * (argument validation, step accounting, `_meta`).
 *
 * Protocol revisions: on the same toolgym HTTP server, a 2026-07-28 client (the v2 SDK's, pinned;
 * no session, the episode handle in every call and in `Mcp-Param-Episode`) against a 2025-11-25
 * session client (`revisions`, the ratio in the same run).
 *
 *   npx tsx bench/mcp.ts [--rounds 5] [--calls 300] [--only revisions]
 * Prints one JSON object. Targets: stdio p50 latency <= 1.2x the reference's (DESIGN); a 2026-07-28
 * tool call no slower than a 2025-11-25 one (p50 ratio <= 1).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHTTPTransport } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const everything = join(root, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const fixture = join(root, 'test', 'fixtures', 'serve-fixture.ts');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 5);
const CALLS = arg('--calls', 500);
const CONCURRENCY = 16;
/** `--only revisions`: measure the two protocol revisions alone (no stdio, no reference server). */
const ONLY_REVISIONS = process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'revisions';
// The SDK's HTTP client adds an abort listener per request to one long-lived signal (it caps the
// signal at 1,500 itself): silence that warning so stderr stays readable; stdout holds the result.
setMaxListeners(1_000_000);
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'MaxListenersExceededWarning') process.stderr.write(`${w.name}: ${w.message}\n`);
});

interface Target {
  name: string;
  client: Client | ModernClient;
  /** Arguments added to every call (the episode handle of a sessionless client). */
  extra?: Record<string, unknown>;
  /** The server process, whose CPU time is read from /proc (load-independent cost per call). */
  pid?: number;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** User+system CPU seconds of a process (Linux /proc; undefined elsewhere). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /(http:\/\/\S+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code} before printing its URL`)));
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'GET' });
      await r.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

async function connectStdio(name: string, args: string[]): Promise<Target> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const transport = new StdioClientTransport({ command: process.execPath, args, cwd: root, stderr: 'ignore' });
  await client.connect(transport);
  return { name, client, pid: transport.pid ?? undefined };
}

async function connectHttp(name: string, url: string, child: ChildProcess): Promise<Target> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { name, client, pid: child.pid };
}

// ---------------------------------------------------------------------------------------------
// Measurement

async function call(t: Target, i: number): Promise<void> {
  const r = await t.client.callTool({ name: 'echo', arguments: { message: `m${i}`, ...t.extra } });
  if (r.isError) throw new Error(`${t.name}: echo failed: ${JSON.stringify(r.content)}`);
}

async function sequential(t: Target, n: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(t, i);
    lat.push(performance.now() - t0);
  }
  return lat;
}

async function concurrent(t: Target, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await call(t, next++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

interface Figures {
  /** Server CPU (user+system) per call, from /proc: robust to other load on the machine. */
  server_cpu_us_per_call?: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  seq_calls_per_s: number;
  conc16_calls_per_s: number;
}

async function compare(
  a: Target,
  b: Target,
): Promise<{
  toolgym: Figures;
  reference: Figures;
  ratio_p50: number;
  ratio_p99: number;
  ratio_throughput: number;
  ratio_server_cpu?: number;
}> {
  const per: Record<string, { p50: number[]; p99: number[]; mean: number[]; conc: number[]; cpu: number; calls: number }> = {};
  for (const t of [a, b]) {
    per[t.name] = { p50: [], p99: [], mean: [], conc: [], cpu: 0, calls: 0 };
    await sequential(t, CALLS); // warm-up: JIT, sockets
  }
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first so drift in machine load favours neither side.
    for (const t of r % 2 ? [b, a] : [a, b]) {
      const cpu0 = cpuSeconds(t.pid);
      const lat = (await sequential(t, CALLS)).sort((x, y) => x - y);
      per[t.name].p50.push(percentile(lat, 50));
      per[t.name].p99.push(percentile(lat, 99));
      per[t.name].mean.push(lat.reduce((s, x) => s + x, 0) / lat.length);
      per[t.name].conc.push(await concurrent(t, CALLS));
      const cpu1 = cpuSeconds(t.pid);
      if (cpu0 !== undefined && cpu1 !== undefined) {
        per[t.name].cpu += cpu1 - cpu0;
        per[t.name].calls += 2 * CALLS;
      }
    }
  }
  const figs = (name: string): Figures => ({
    ...(per[name].calls ? { server_cpu_us_per_call: Math.round((per[name].cpu / per[name].calls) * 1e6) } : {}),
    p50_ms: round3(median(per[name].p50)),
    p99_ms: round3(median(per[name].p99)),
    mean_ms: round3(median(per[name].mean)),
    seq_calls_per_s: Math.round(1000 / median(per[name].mean)),
    conc16_calls_per_s: Math.round(median(per[name].conc)),
  });
  const toolgym = figs(a.name);
  const reference = figs(b.name);
  return {
    toolgym,
    reference,
    ratio_p50: round3(toolgym.p50_ms / reference.p50_ms),
    ratio_p99: round3(toolgym.p99_ms / reference.p99_ms),
    ratio_throughput: round3(toolgym.conc16_calls_per_s / reference.conc16_calls_per_s),
    ...(toolgym.server_cpu_us_per_call && reference.server_cpu_us_per_call
      ? { ratio_server_cpu: round3(toolgym.server_cpu_us_per_call / reference.server_cpu_us_per_call) }
      : {}),
  };
}

async function main(): Promise<void> {
  const cleanup: Array<() => Promise<void> | void> = [];
  try {
    let stdio: Awaited<ReturnType<typeof compare>> | undefined;
    if (!ONLY_REVISIONS) {
      const tgStdio = await connectStdio('toolgym', ['--import', 'tsx', fixture, 'echo']);
      cleanup.push(() => tgStdio.client.close());
      await tgStdio.client.callTool({ name: 'gym_start', arguments: {} });
      const refStdio = await connectStdio('reference', [everything, 'stdio']);
      cleanup.push(() => refStdio.client.close());
      stdio = await compare(tgStdio, refStdio);
    }

    const tgChild = spawn(process.execPath, ['--import', 'tsx', fixture, 'echo', '--http', '127.0.0.1:0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cleanup.push(() => void tgChild.kill());
    const tgUrl = await waitForUrl(tgChild);
    const tgHttp = await connectHttp('toolgym', tgUrl, tgChild);
    cleanup.push(() => tgHttp.client.close());
    await tgHttp.client.callTool({ name: 'gym_start', arguments: {} });
    let http: Awaited<ReturnType<typeof compare>> | undefined;
    if (!ONLY_REVISIONS) {
      const port = await freePort();
      const refChild = spawn(process.execPath, [everything, 'streamableHttp'], {
        cwd: root,
        env: { ...process.env, PORT: String(port) },
        stdio: 'ignore',
      });
      cleanup.push(() => void refChild.kill());
      await waitForPort(port);
      const refHttp = await connectHttp('reference', `http://127.0.0.1:${port}/mcp`, refChild);
      cleanup.push(() => refHttp.client.close());
      http = await compare(tgHttp, refHttp);
    }

    // Same toolgym server, the other protocol revision: no session, the handle names the episode.
    const modern = new ModernClient({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(new ModernHTTPTransport(new URL(tgUrl)));
    cleanup.push(() => modern.close());
    const started = await modern.callTool({ name: 'gym_start', arguments: {} });
    const episode = (started.structuredContent as { episode?: string } | undefined)?.episode;
    if (!episode) throw new Error('gym_start over 2026-07-28 returned no episode handle');
    const revisions = await compare(
      { name: '2026-07-28', client: modern, extra: { episode }, pid: tgChild.pid },
      { name: '2025-11-25', client: tgHttp.client, pid: tgChild.pid },
    );

    const out = {
      benchmark: 'mcp',
      peer: '@modelcontextprotocol/server-everything echo tool',
      machine: { cpus: cpus().length, loadavg_1m: round3(loadavg()[0]) },
      rounds: ROUNDS,
      calls_per_round: CALLS,
      note: 'medians over rounds of per-round p50/p99/mean; reference HTTP answers with SSE streams, toolgym with JSON bodies',
      stdio,
      http,
      // toolgym = 2026-07-28 (sessionless, handle), reference = 2025-11-25 (session), same server.
      revisions,
      ...(stdio ? { target: { stdio_p50_ratio_max: 1.2, met: stdio.ratio_p50 <= 1.2 } } : {}),
      target_revisions: { modern_over_legacy_p50_ratio_max: 1, met: revisions.ratio_p50 <= 1 },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
  process.exit(0);
}

await main();
