import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import {
  checkReplicaId,
  connectInMemory,
  defineToolEnv,
  EpisodeRouter,
  EpisodeTable,
  mintHandle,
  replicaOfHandle,
  ServerConfigError,
  scopeOfToken,
  serveHttp,
  textResult,
} from '../../../envs/core/index.js';
import type { SessionResult } from '../../../envs/core/session.js';
import { arithEnv, sum3 } from '../../fixtures/arith-env.js';
import { httpClient, type Result, sumOf, text } from './http-helpers.js';

const quiet = { log: () => undefined };
let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('episode handles', () => {
  it('are <replicaId>.<128 random bits, base64url>, unique, and name their replica', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const h = mintHandle('rep-1');
      expect(h).toMatch(/^rep-1\.[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(h.slice('rep-1.'.length), 'base64url')).toHaveLength(16);
      seen.add(h);
    }
    expect(seen.size).toBe(2000);
    expect(replicaOfHandle('rep-1.abc')).toBe('rep-1');
    expect(replicaOfHandle('no-dot')).toBeUndefined();
    expect(replicaOfHandle('.abc')).toBeUndefined();
  });

  it('accepts replica ids of letters, digits, _ and -, and refuses a dot or an empty one', () => {
    expect(checkReplicaId('gym-a_1')).toBe('gym-a_1');
    expect(() => checkReplicaId('a.b')).toThrow(ServerConfigError);
    expect(() => checkReplicaId('')).toThrow(/--replica-id/);
    expect(() => checkReplicaId('x'.repeat(33))).toThrow(/1-32/);
    expect(new EpisodeTable(arithEnv).replicaId).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });

  it('lists `episode` (x-mcp-header: Episode) on every env tool and gym_submit, not on gym_start', async () => {
    const client = await connectInMemory(arithEnv);
    const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t.inputSchema]));
    for (const name of ['add', 'gym_submit']) {
      expect(tools[name].properties?.episode).toMatchObject({ type: 'string', 'x-mcp-header': 'Episode' });
      expect(tools[name].required).not.toContain('episode');
    }
    expect(tools.gym_start.properties).not.toHaveProperty('episode');
    await client.close();
  });

  it('runs many episodes on one connection, each by its handle; a call without one acts on the last started', async () => {
    const client = await connectInMemory(arithEnv, { replicaId: 'mem' });
    const a = (await client.callTool({ name: 'gym_start', arguments: { seed: 1 } })) as Result;
    const b = (await client.callTool({ name: 'gym_start', arguments: { seed: 2 } })) as Result;
    const ha: string = a.structuredContent.episode;
    const hb: string = b.structuredContent.episode;
    expect(ha).toMatch(/^mem\./);
    expect(hb).not.toBe(ha);
    expect(a._meta?.['toolgym/handle']).toBe(ha);
    // Interleaved steps land in their own episode.
    const stepA = (await client.callTool({ name: 'add', arguments: { a: 1, b: 2, episode: ha } })) as Result;
    const stepB = (await client.callTool({ name: 'add', arguments: { a: 3, b: 4 } })) as Result;
    expect(stepA._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/handle': ha });
    expect(stepB._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/handle': hb });
    const doneA = (await client.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(a.structuredContent.task.prompt)), episode: ha },
    })) as Result;
    const doneB = (await client.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(b.structuredContent.task.prompt) + 1), episode: hb },
    })) as Result;
    expect(doneA._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/step': 2, 'toolgym/taskId': 'arith/sum3/train/1' });
    expect(doneB._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/step': 2, 'toolgym/taskId': 'arith/sum3/train/2' });
    const after = (await client.callTool({ name: 'add', arguments: { a: 1, b: 1, episode: ha } })) as Result;
    expect(after.isError).toBe(true);
    expect(text(after)).toMatch(/is over/);
    await client.close();
  });

  it('refuses a sessionless call without a handle, a foreign scope, and names the replica of a foreign handle', async () => {
    const table = new EpisodeTable(arithEnv, { replicaId: 'r1' });
    const alice = new EpisodeRouter(table, { scope: scopeOfToken('alice'), session: false });
    const bob = new EpisodeRouter(table, { scope: scopeOfToken('bob'), session: false });
    const add = alice.tool('add')!;
    const start = await alice.run(alice.tool('gym_start')!, { seed: 3 });
    const h = (start.structuredContent as { episode: string }).episode;
    expect(h).toMatch(/^r1\./);
    const noHandle = await alice.run(add, { a: 1, b: 2 });
    expect(noHandle.isError).toBe(true);
    expect(text(noHandle)).toMatch(/Pass "episode"/);
    expect(text(await alice.run(add, { a: 1, b: 2, episode: h }))).toBe('1 + 2 = 3');
    const stolen = await bob.run(add, { a: 1, b: 2, episode: h });
    expect(stolen.isError).toBe(true);
    expect(text(stolen)).toMatch(/Unknown episode/);
    expect(table.get(h, scopeOfToken('alice'))?.step).toBe(1);
    const foreign: SessionResult = await alice.run(add, { a: 1, b: 2, episode: 'r2.AAAAAAAAAAAAAAAAAAAAAA' });
    expect(foreign._meta['toolgym/aborted']).toBe(true);
    expect(text(foreign)).toMatch(/replica "r2".*this is replica "r1"/);
    expect(text(await alice.run(add, { a: 1, b: 2, episode: 42 }))).toMatch(/must be the handle string/);
    // Sessionless starts in one scope count up, so default seeds differ.
    const next = await alice.run(alice.tool('gym_start')!, {});
    expect(next._meta['toolgym/episode']).toBe(2);
    await table.close();
  });

  it('caps running episodes; ended ones do not count and expire after a grace period', async () => {
    const table = new EpisodeTable(arithEnv, { maxEpisodes: 2, episodeIdleMs: 1_000_000 });
    const r = new EpisodeRouter(table, { session: false });
    const start = table.probe.tool('gym_start')!;
    const h1 = (await r.run(start, { seed: 1 })).structuredContent!.episode as string;
    await r.run(start, { seed: 2 });
    const full = await r.run(start, { seed: 3 });
    expect(full.isError).toBe(true);
    expect(text(full)).toMatch(/--max-episodes/);
    await r.run(table.probe.tool('gym_submit')!, { answer: '0', episode: h1 });
    expect(table.running).toBe(1);
    expect((await r.run(start, { seed: 3 })).isError).toBeUndefined();
    expect(table.size).toBe(3);
    table.sweep(Date.now() + 61_000);
    expect(table.size).toBe(2);
    expect(table.get(h1, '')).toBeUndefined();
    await table.close();
  });

  it('refuses an environment whose tool has an argument named episode', () => {
    const clash = defineToolEnv<object>({
      id: 'clash',
      version: '1.0.0',
      description: 'clash',
      families: [sum3],
      tools: [
        {
          name: 'peek',
          description: 'Peek.',
          inputSchema: { episode: z.string().describe('which') },
          handler: async () => textResult('x'),
        },
      ],
      systemPrompt: 'Add.',
      createEpisode: () => ({}),
    });
    expect(() => new EpisodeTable(clash)).toThrow(/reserves for the episode handle/);
  });

  it('serves handles over HTTP under --replica-id; a handle works from another session of the same token', async () => {
    server = await serveHttp(arithEnv, { port: 0, token: 't0k', replicaId: 'west-2', ...quiet });
    expect(server.replicaId).toBe('west-2');
    const headers = { authorization: 'Bearer t0k' };
    const one = await httpClient(server.url, headers);
    const two = await httpClient(server.url, headers);
    const started = (await one.client.callTool({ name: 'gym_start', arguments: { seed: 4 } })) as Result;
    const h: string = started.structuredContent.episode;
    expect(h).toMatch(/^west-2\.[A-Za-z0-9_-]{22}$/);
    expect(server.episodeCount()).toBe(1);
    const done = (await two.client.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(started.structuredContent.task.prompt)), episode: h },
    })) as Result;
    expect(done._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/handle': h });
    expect(server.episodeCount()).toBe(0);
    await one.client.close();
    await two.client.close();
  });
});
