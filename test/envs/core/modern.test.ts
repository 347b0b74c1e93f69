/**
 * Protocol revision 2026-07-28 over Streamable HTTP: the official v2 `Client` pinned to it talks to
 * `serveHttp` with no session, naming each episode by handle; a 2025-11-25 client on the same
 * server keeps its session.
 */

import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, type McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { EpisodeTable } from '../../../envs/core/episodes.js';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import { serveHttp } from '../../../envs/core/index.js';
import { sessionlessServers } from '../../../envs/core/server.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { httpClient, type Result, raw, sumOf, text } from './http-helpers.js';

const quiet = { log: () => undefined };
let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A v2 client pinned to 2026-07-28 whose requests' headers are recorded. */
async function modernClient(url: string, token?: string) {
  const sent: Array<Record<string, string>> = [];
  const fetchRecorded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sent.push(Object.fromEntries(new Headers(init?.headers).entries()));
    return fetch(input, init);
  };
  const client = new ModernClient(
    { name: 'modern-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: fetchRecorded, requestInit: { headers } }));
  return { client, sent };
}

describe('protocol revision 2026-07-28', () => {
  it('plays episodes by handle with no session; the handle rides Mcp-Param-Episode; reward in _meta', async () => {
    server = await serveHttp(arithEnv, { port: 0, replicaId: 'm1', token: 'tk', ...quiet });
    const { client, sent } = await modernClient(server.url, 'tk');
    expect(client.getProtocolEra()).toBe('modern');
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(['gym_list_tasks', 'gym_start', 'gym_submit', 'add']);
    const a = (await client.callTool({ name: 'gym_start', arguments: { seed: 1 } })) as Result;
    const b = (await client.callTool({ name: 'gym_start', arguments: { seed: 2 } })) as Result;
    const ha: string = a.structuredContent.episode;
    const hb: string = b.structuredContent.episode;
    expect(ha).toMatch(/^m1\.[A-Za-z0-9_-]{22}$/);
    const step = (await client.callTool({ name: 'add', arguments: { a: 2, b: 5, episode: hb } })) as Result;
    expect(text(step)).toBe('2 + 5 = 7');
    expect(step._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/handle': hb });
    const last = sent.at(-1)!;
    expect(last['mcp-method']).toBe('tools/call');
    expect(last['mcp-name']).toBe('add');
    expect(last['mcp-param-episode']).toBe(hb);
    expect(last).not.toHaveProperty('mcp-session-id');
    const done = (await client.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(a.structuredContent.task.prompt)), episode: ha },
    })) as Result;
    expect(done._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true, 'toolgym/handle': ha });
    // No session: a call must name its episode.
    const bare = (await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } })) as Result;
    expect(bare.isError).toBe(true);
    expect(text(bare)).toMatch(/Pass "episode"/);
    expect(server.sessionCount()).toBe(0);
    expect(server.episodeCount()).toBe(1);
    await client.close();
  });

  it('refuses a request whose Mcp-Param-Episode disagrees with its body (the SDK check), 400 / -32020', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'add', arguments: { a: 1, b: 2, episode: 'x.right' }, _meta: envelope },
    });
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'add' };
    const wrong = await raw(server.url, { body, headers: { ...headers, 'mcp-param-episode': 'x.wrong' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json().error.code).toBe(-32020);
    const right = await raw(server.url, { body, headers: { ...headers, 'mcp-param-episode': 'x.right' } });
    expect(right.status).toBe(200);
    expect(right.json().result._meta['toolgym/aborted']).toBe(true);
    expect(right.headers['x-gym-replica']).toBe(server.replicaId);
  });

  it('answers a malformed tools/call in one line on both revisions', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const { client } = await modernClient(server.url);
    await expect(client.callTool({ name: 'add', arguments: 'nope' as never })).rejects.toThrow(
      /Invalid arguments for tool "add": "arguments" must be a JSON object, got a string; send \{"a": \.\.\., "b": \.\.\.\}\./,
    );
    await client.close();
  });

  it('serves a 2025-11-25 session and a 2026-07-28 client side by side', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const legacy = await httpClient(server.url);
    const { client: modern } = await modernClient(server.url);
    const l = (await legacy.client.callTool({ name: 'gym_start', arguments: { seed: 3 } })) as Result;
    const m = (await modern.callTool({ name: 'gym_start', arguments: { seed: 3 } })) as Result;
    expect(l.structuredContent.task.id).toBe(m.structuredContent.task.id);
    // The legacy session may leave the handle out; the modern client names it.
    const lDone = (await legacy.client.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(l.structuredContent.task.prompt)) },
    })) as Result;
    const mDone = (await modern.callTool({
      name: 'gym_submit',
      arguments: { answer: String(sumOf(m.structuredContent.task.prompt)), episode: m.structuredContent.episode },
    })) as Result;
    expect(lDone._meta?.['toolgym/reward']).toBe(1);
    expect(mDone._meta?.['toolgym/reward']).toBe(1);
    expect(server.sessionCount()).toBe(1);
    await legacy.client.close();
    await modern.close();
  });

  it('reuses server instances across requests, never one for two requests at once, and keeps bearer-token scopes apart', async () => {
    const table = new EpisodeTable(arithEnv, { replicaId: 'p1' });
    const pool = sessionlessServers(arithEnv, { table });
    const built = new Set<McpServer>();
    const handler = createMcpHandler(
      (ctx) => {
        const s = pool.factory(ctx) as McpServer;
        built.add(s);
        return s;
      },
      { legacy: 'reject' },
    );
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    let id = 0;
    const call = async (scope: string, name: string, args: Record<string, unknown>): Promise<Result> => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': name,
      };
      if (typeof args.episode === 'string') headers['mcp-param-episode'] = args.episode;
      const body = { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name, arguments: args, _meta: envelope } };
      const res = await handler.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers }), {
        parsedBody: body,
        authInfo: { token: scope, clientId: 'test', scopes: [] },
      });
      const json = (await res.json()) as { error?: unknown; result: Result };
      expect(json.error).toBeUndefined();
      return json.result;
    };
    const start = await call('A', 'gym_start', { seed: 1 });
    const episode: string = start.structuredContent.episode;
    for (let i = 0; i < 5; i++) expect(text(await call('A', 'add', { a: i, b: 1, episode }))).toBe(`${i} + 1 = ${i + 1}`);
    // One scope, one request at a time: one instance served them all.
    expect(built.size).toBe(1);
    // Concurrent requests each get an instance of their own (the SDK refuses one that is still serving).
    const second: string = (await call('A', 'gym_start', { seed: 2 })).structuredContent.episode;
    const together = await Promise.all(Array.from({ length: 8 }, (_, i) => call('A', 'add', { a: i, b: 2, episode: second })));
    expect(together.map(text)).toEqual(Array.from({ length: 8 }, (_, i) => `${i} + 2 = ${i + 2}`));
    const afterBurst = built.size;
    expect(afterBurst).toBeLessThanOrEqual(8);
    for (let i = 0; i < 5; i++) await call('A', 'add', { a: 1, b: 1, episode });
    expect(built.size).toBe(afterBurst);
    // Another bearer token is served by instances of its own scope: the episode is unknown there.
    const other = await call('B', 'add', { a: 1, b: 1, episode });
    expect(other.isError).toBe(true);
    expect(text(other)).toMatch(/Unknown episode/);
    expect(built.size).toBe(afterBurst + 1);
    expect(text(await call('A', 'add', { a: 3, b: 4, episode }))).toBe('3 + 4 = 7');
    pool.close();
    await handler.close();
    await table.close();
  });
});
