/**
 * `gym serve --env memory --db <file>` as real child processes: the store survives a restart and a
 * SIGKILL with every acknowledged write, and two servers on one file lose nothing under concurrent writes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../fixtures/gym-cli.js';

const gym = join(repoRoot, 'dist', 'bin', 'gym.js');
const dir = mkdtempSync(join(tmpdir(), 'toolgym-memory-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(db: string): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [gym, 'serve', '--env', 'memory', '--db', db],
    stderr: 'pipe',
  });
  const client = new Client({ name: 'persist-test', version: '0' });
  await client.connect(transport);
  return { client, transport };
}

const text = (r: unknown): string => ((r as { content: Array<{ text: string }> }).content ?? []).map((c) => c.text).join('\n');

describe('gym serve --env memory --db', { timeout: 180_000 }, () => {
  it('lists only the memory tools and keeps what was written across a restart', async () => {
    const db = join(dir, 'restart.db');
    const a = await serve(db);
    const tools = (await a.client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual(['create', 'delete', 'insert', 'memory_search', 'rename', 'str_replace', 'view']);
    await a.client.callTool({ name: 'create', arguments: { path: '/memories/profile.md', file_text: 'home city: Porto' } });
    await a.client.close();
    expect(existsSync(db)).toBe(true);
    const b = await serve(db);
    expect(text(await b.client.callTool({ name: 'view', arguments: { path: '/memories/profile.md' } }))).toContain(
      'home city: Porto',
    );
    const miss = await b.client.callTool({ name: 'view', arguments: { path: '/memories/nope.md' } });
    expect(miss.isError).toBe(true);
    expect(text(miss)).toContain('Existing files: /memories/profile.md');
    await b.client.close();
  });

  it('loses no acknowledged write when the server is killed with SIGKILL mid-stream', async () => {
    const db = join(dir, 'kill.db');
    const a = await serve(db);
    const acked: number[] = [];
    const calls = Array.from({ length: 400 }, (_, i) =>
      a.client
        .callTool({ name: 'create', arguments: { path: `/memories/n${i}.md`, file_text: `note ${i}` } })
        .then((r) => {
          if (!r.isError) acked.push(i);
        })
        .catch(() => undefined),
    );
    while (acked.length < 50) await new Promise((r) => setTimeout(r, 2));
    process.kill(a.transport.pid as number, 'SIGKILL');
    const seen = acked.slice(); // what the client had been told was written when the server died
    await Promise.all(calls);
    await a.client.close().catch(() => undefined);
    const b = await serve(db);
    const listing = text(await b.client.callTool({ name: 'view', arguments: { path: '/memories' } }));
    for (const i of seen) expect(listing).toContain(`/memories/n${i}.md `);
    expect(text(await b.client.callTool({ name: 'view', arguments: { path: `/memories/n${seen[0]}.md` } }))).toContain(
      `note ${seen[0]}`,
    );
    await b.client.close();
  });

  it('serves one file from two processes at once without losing a concurrent edit', async () => {
    const db = join(dir, 'shared.db');
    const a = await serve(db);
    const b = await serve(db);
    await a.client.callTool({ name: 'create', arguments: { path: '/memories/log.md', file_text: 'start' } });
    const writes = (c: Client, who: string) =>
      Array.from({ length: 40 }, (_, i) =>
        c.callTool({ name: 'insert', arguments: { path: '/memories/log.md', insert_line: 1, insert_text: `${who} ${i}` } }),
      );
    const results = await Promise.all([...writes(a.client, 'a'), ...writes(b.client, 'b')]);
    expect(results.filter((r) => r.isError)).toEqual([]);
    const shown = text(await a.client.callTool({ name: 'view', arguments: { path: '/memories/log.md' } }));
    for (const who of ['a', 'b']) for (let i = 0; i < 40; i++) expect(shown).toMatch(new RegExp(`\\t${who} ${i}$`, 'm'));
    await a.client.close();
    await b.client.close();
  });
});
