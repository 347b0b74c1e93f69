/**
 * Memory benchmark: the memory environment's store against the official MCP memory server
 * (@modelcontextprotocol/server-memory, a knowledge graph in a JSONL file), measured in the same run.
 *
 * Both are spawned as a user would, over stdio with the MCP SDK client: ours is `gym serve --env
 * memory --db <file>` (SQLite, WAL), theirs `mcp-server-memory` with MEMORY_FILE_PATH. Each store is
 * first filled with the same `--memories` (100,000) seeded memories (ours: one file each, loaded in
 * one transaction; theirs: one entity each, written as its JSONL file), then timed one call at a time:
 *  - write: ours `create` of a new file; theirs `create_entities` of one new entity;
 *  - search: ours `memory_search` (FTS5 BM25, k=5); theirs `search_nodes` (substring over the graph),
 *    with the same queries (a tag word that about 1 in 2,000 memories carries).
 * The same operations on the store in-process (no MCP) are reported as well. Then `--episodes` (500)
 * memory episodes run at once through the rollout loop with the oracle: every one must come back
 * finished and correct (nothing dropped).
 *
 *   npm run build && npx tsx bench/memory.ts [--memories 100000] [--ops 300] [--peer-ops 40] [--episodes 500]
 *
 * Prints one JSON object. Targets: write p50 <= 1 ms, search p50 <= 2 ms at 100k memories, both faster
 * than the official server; 500 concurrent episodes with nothing dropped.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createPolicy, runBatch } from '../agent/index.js';
import { MemoryStore, memoryEnv } from '../envs/memory/index.js';
import { Rng } from '../tools/index.js';
import { median, round } from './stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const MEMORIES = arg('--memories', 100_000);
const OPS = arg('--ops', 300);
const PEER_OPS = arg('--peer-ops', 40);
const EPISODES = arg('--episodes', 500);
const TAGS = 2000;

// ---------------------------------------------------------------------------------------------
// Data

const SYL = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'da', 'fi', 'gu', 'ho', 'ja', 'pe', 'qui', 'bra', 'tor'];
function word(rng: Rng, n: number): string {
  let w = '';
  for (let i = 0; i < n; i++) w += rng.pick(SYL);
  return w;
}
const tagOf = (i: number): string => `tag${(i * 7919) % TAGS}x`;

/** Memory `i`: a sentence about someone, with a tag word shared by 1 in TAGS memories. */
function memory(rng: Rng, i: number): { name: string; text: string } {
  return {
    name: `person-${i}`,
    text: `${word(rng, 3)} lives in ${word(rng, 2)}, works at ${word(rng, 2)} labs and likes ${word(rng, 2)} (${tagOf(i)}).`,
  };
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
const stats = (xs: readonly number[]) => ({ p50: round(median(xs), 3), p99: round(pct(xs, 99), 3), n: xs.length });

async function timed(n: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function connect(command: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench-memory', version: '0' });
  await client.connect(new StdioClientTransport({ command, args, env: { ...process.env, ...env } as Record<string, string> }));
  return client;
}

function mustOk(r: unknown, what: string): void {
  if ((r as { isError?: boolean }).isError) throw new Error(`${what} failed: ${JSON.stringify(r).slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const gym = join(root, 'dist', 'bin', 'gym.js');
  if (!existsSync(gym)) throw new Error('bench/memory spawns the built CLI: run `npm run build` first.');
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-bench-memory-'));
  const rng = new Rng(7);
  const data = Array.from({ length: MEMORIES }, (_, i) => memory(rng, i));
  const queries = Array.from({ length: Math.max(OPS, PEER_OPS) }, (_, i) => tagOf((i * 104729) % MEMORIES));
  const out: Record<string, unknown> = {
    bench: 'memory',
    machine: { cpus: cpus().length, loadavg: loadavg().map((x) => round(x, 2)) },
    memories: MEMORIES,
  };
  try {
    // -- ours: fill, then time in-process and over MCP stdio --------------------------------
    const db = join(dir, 'memory.db');
    let t0 = performance.now();
    const store = new MemoryStore({ path: db });
    store.batch(() => {
      for (let i = 0; i < data.length; i++) store.create(`/memories/m${i}.md`, data[i].text);
    });
    const fillMs = performance.now() - t0;
    const direct = {
      write: stats(await timed(OPS, (i) => store.create(`/memories/direct-${i}.md`, data[i].text))),
      search: stats(await timed(OPS, (i) => store.search(queries[i], 5))),
    };
    store.close();
    const ours = await connect(process.execPath, [gym, 'serve', '--env', 'memory', '--db', db]);
    for (let i = 0; i < 20; i++) await ours.callTool({ name: 'memory_search', arguments: { query: queries[i], k: 5 } });
    const oursWrite = await timed(OPS, async (i) =>
      mustOk(
        await ours.callTool({ name: 'create', arguments: { path: `/memories/new-${i}.md`, file_text: data[i].text } }),
        'create',
      ),
    );
    const oursSearch = await timed(OPS, async (i) =>
      mustOk(await ours.callTool({ name: 'memory_search', arguments: { query: queries[i], k: 5 } }), 'memory_search'),
    );
    await ours.close();
    out.toolgym = { fillMs: round(fillMs, 0), mcp: { write: stats(oursWrite), search: stats(oursSearch) }, inProcess: direct };

    // -- the official server: same memories as its JSONL graph --------------------------------
    const graph = join(dir, 'memory.jsonl');
    t0 = performance.now();
    writeFileSync(
      graph,
      data.map((m) => JSON.stringify({ type: 'entity', name: m.name, entityType: 'memory', observations: [m.text] })).join('\n'),
    );
    const peerFill = performance.now() - t0;
    const serverJs = join(root, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js');
    const peer = await connect(process.execPath, [serverJs], { MEMORY_FILE_PATH: graph });
    for (let i = 0; i < 3; i++) await peer.callTool({ name: 'search_nodes', arguments: { query: queries[i] } });
    const peerWrite = await timed(PEER_OPS, async (i) =>
      mustOk(
        await peer.callTool({
          name: 'create_entities',
          arguments: { entities: [{ name: `new-${i}`, entityType: 'memory', observations: [data[i].text] }] },
        }),
        'create_entities',
      ),
    );
    const peerSearch = await timed(PEER_OPS, async (i) =>
      mustOk(await peer.callTool({ name: 'search_nodes', arguments: { query: queries[i] } }), 'search_nodes'),
    );
    await peer.close();
    const pw = stats(peerWrite);
    const ps = stats(peerSearch);
    out.peer = { name: '@modelcontextprotocol/server-memory', fillMs: round(peerFill, 0), write: pw, search: ps };
    const ow = stats(oursWrite);
    const os = stats(oursSearch);
    out.ratio = {
      writeP50: round(pw.p50 / ow.p50, 1),
      searchP50: round(ps.p50 / os.p50, 1),
      note: 'peer p50 / toolgym p50 over MCP stdio: above 1 means toolgym is faster',
    };

    // -- concurrent episodes -----------------------------------------------------------------
    const policy = await createPolicy('oracle', { env: memoryEnv });
    t0 = performance.now();
    const { trajectories } = await runBatch({
      env: memoryEnv,
      policy,
      count: EPISODES,
      split: 'test',
      concurrency: EPISODES,
      progress: false,
      keep: true,
    });
    const wall = performance.now() - t0;
    const finished = trajectories.filter((t) => t.ending === 'terminated').length;
    const correct = trajectories.filter((t) => t.correct).length;
    out.episodes = {
      requested: EPISODES,
      returned: trajectories.length,
      finished,
      correct,
      aborted: trajectories.filter((t) => t.ending === 'aborted').length,
      wallMs: round(wall, 0),
      episodesPerSecond: round((EPISODES * 1000) / wall, 1),
    };
    out.targets = {
      writeP50_le_1ms: ow.p50 <= 1,
      searchP50_le_2ms: os.p50 <= 2,
      fasterThanPeer: pw.p50 > ow.p50 && ps.p50 > os.p50,
      episodesNothingDropped: trajectories.length === EPISODES && finished === EPISODES,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
