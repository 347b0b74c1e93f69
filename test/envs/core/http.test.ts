import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import {
  defineToolEnv,
  type EnvDefinition,
  ServerConfigError,
  serveHttp,
  type ToolSpec,
  textResult,
} from '../../../envs/core/index.js';
import { arithEnv, sum3 } from '../../fixtures/arith-env.js';
import { httpClient, INIT, raw } from './http-helpers.js';

const quiet = { log: () => undefined };
let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function sumOf(structured: unknown): number {
  const [a, b, c] = (structured as { task: { prompt: string } }).task.prompt.match(/\d+/g)!.map(Number);
  return a + b + c;
}

describe('serveHttp', () => {
  it('binds 127.0.0.1 by default and plays a task to a correct and to a wrong submission', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const { client } = await httpClient(server.url);
    const start = await client.callTool({ name: 'gym_start', arguments: { seed: 3, split: 'test' } });
    const sum = sumOf(start.structuredContent);
    const add = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
    expect(add._meta).toMatchObject({ 'toolgym/step': 1 });
    const right = await client.callTool({ name: 'gym_submit', arguments: { answer: String(sum) } });
    expect(right._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true, 'toolgym/terminated': true });
    await client.callTool({ name: 'gym_start', arguments: { seed: 4 } });
    const wrong = await client.callTool({ name: 'gym_submit', arguments: { answer: '12' } });
    expect(wrong._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/correct': false });
    await client.close();
  });

  it('keeps one episode per session: sessions do not see each other', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const a = await httpClient(server.url);
    const b = await httpClient(server.url);
    await a.client.callTool({ name: 'gym_start', arguments: { seed: 1 } });
    const r = await b.client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
    expect(r.isError).toBe(true);
    expect(server.sessionCount()).toBe(2);
    await a.client.close();
    await b.client.close();
  });

  it('rejects a foreign Host header and a foreign Origin with 403, and accepts allow-listed ones', async () => {
    server = await serveHttp(arithEnv, { port: 0, allowedOrigins: ['https://ide.example'], ...quiet });
    const badHost = await raw(server.url, { body: INIT, headers: { host: 'evil.example:80' } });
    expect(badHost.status).toBe(403);
    expect(badHost.json().error.message).toMatch(/Host/);
    const badOrigin = await raw(server.url, { body: INIT, headers: { origin: 'http://evil.example' } });
    expect(badOrigin.status).toBe(403);
    expect(badOrigin.json().jsonrpc).toBe('2.0');
    const goodOrigin = await raw(server.url, { body: INIT, headers: { origin: 'https://ide.example' } });
    expect(goodOrigin.status).toBe(200);
    expect(goodOrigin.headers['access-control-allow-origin']).toBe('https://ide.example');
    const localOrigin = await raw(server.url, {
      body: INIT,
      headers: { origin: 'http://localhost:6274', host: `localhost:${server.port}` },
    });
    expect(localOrigin.status).toBe(200);
  });

  it('requires the bearer token when one is set, and accepts it', async () => {
    server = await serveHttp(arithEnv, { port: 0, token: 's3cret', ...quiet });
    expect((await raw(server.url, { body: INIT })).status).toBe(401);
    const wrong = await raw(server.url, { body: INIT, headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect((await raw(server.url, { body: INIT, headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    const { client } = await httpClient(server.url, { authorization: 'Bearer s3cret' });
    expect((await client.listTools()).tools.length).toBe(4);
    await client.close();
  });

  it('refuses to bind a non-loopback host without a token', async () => {
    await expect(serveHttp(arithEnv, { host: '0.0.0.0', port: 0, ...quiet })).rejects.toThrow(ServerConfigError);
    await expect(serveHttp(arithEnv, { host: '0.0.0.0', port: 0, ...quiet })).rejects.toThrow(/--token/);
  });

  it('answers an oversized body with 413 and a JSON-RPC error', async () => {
    server = await serveHttp(arithEnv, { port: 0, maxBodyBytes: 10_000, ...quiet });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(50_000) } });
    const r = await raw(server.url, { body: big });
    expect(r.status).toBe(413);
    expect(r.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    expect((await raw(server.url, { body: INIT })).status).toBe(200);
  });

  it('answers malformed JSON with a JSON-RPC parse error and keeps serving', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const { client, transport } = await httpClient(server.url);
    const bad = await raw(server.url, {
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
      headers: { 'mcp-session-id': transport.sessionId! },
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const notRpc = await raw(server.url, { body: '[1, 2, 3]', headers: { 'mcp-session-id': transport.sessionId! } });
    expect(notRpc.status).toBeGreaterThanOrEqual(400);
    expect(notRpc.json().jsonrpc).toBe('2.0');
    expect((await client.callTool({ name: 'gym_start', arguments: {} })).isError).toBeUndefined();
    await client.close();
  });

  it('answers an unknown session id with 404 and a request without one with 400', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect((await raw(server.url, { body: call, headers: { 'mcp-session-id': 'nope' } })).status).toBe(404);
    expect((await raw(server.url, { body: call })).status).toBe(400);
  });

  it('closes a session on DELETE', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const { client, transport } = await httpClient(server.url);
    const sid = transport.sessionId!;
    expect(server.sessionCount()).toBe(1);
    await transport.terminateSession();
    expect(server.sessionCount()).toBe(0);
    const after = await raw(server.url, {
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      headers: { 'mcp-session-id': sid },
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it('expires idle sessions', async () => {
    server = await serveHttp(arithEnv, { port: 0, idleTimeoutMs: 100, ...quiet });
    const { client, transport } = await httpClient(server.url);
    await client.callTool({ name: 'gym_start', arguments: {} });
    expect(server.sessionCount()).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(server.sessionCount()).toBe(0);
    const after = await raw(server.url, {
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      headers: { 'mcp-session-id': transport.sessionId! },
    });
    expect(after.status).toBe(404);
    await client.close().catch(() => undefined);
  });

  it('keeps serving other sessions while one session is stuck in a tool call', async () => {
    const stuck = new Promise<never>(() => undefined);
    const hanging: EnvDefinition = defineToolEnv<null>({
      id: 'hang',
      version: '1.0.0',
      description: 'a tool that never returns for a = -1',
      families: [{ ...sum3, generate: (split, i) => ({ ...sum3.generate(split, i), id: `hang/sum3/${split}/${i}` }) }],
      tools: [
        {
          ...(arithEnv.tools[0] as ToolSpec<null, any>),
          handler: async ({ a, b }: { a: number; b: number }) => (a === -1 ? stuck : textResult(String(a + b))),
        },
      ],
      systemPrompt: 'Add.',
      createEpisode: () => null,
    });
    server = await serveHttp(hanging, { port: 0, ...quiet });
    const sick = await httpClient(server.url);
    const healthy = await httpClient(server.url);
    await sick.client.callTool({ name: 'gym_start', arguments: {} });
    await healthy.client.callTool({ name: 'gym_start', arguments: {} });
    const pending = sick.client
      .callTool({ name: 'add', arguments: { a: -1, b: 0 } }, undefined, { timeout: 60_000 })
      .catch(() => 'closed');
    const ok = await healthy.client.callTool({ name: 'add', arguments: { a: 2, b: 2 } });
    expect((ok.content as Array<{ text: string }>)[0].text).toBe('4');
    await healthy.client.close();
    await server.close();
    server = undefined;
    expect(await Promise.race([pending, new Promise((r) => setTimeout(() => r('still pending'), 2000))])).not.toBe(
      'still pending',
    );
  });

  it('runs 100 concurrent sessions, each finishing an episode with the right reward', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const url = server.url;
    const rewards = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const { client } = await httpClient(url);
        const start = await client.callTool({ name: 'gym_start', arguments: { seed: i, split: 'test' } });
        const sum = sumOf(start.structuredContent);
        await client.callTool({ name: 'add', arguments: { a: i, b: 1 } });
        const done = await client.callTool({ name: 'gym_submit', arguments: { answer: String(i % 2 === 0 ? sum : sum + 1) } });
        await client.close();
        return done._meta?.['toolgym/reward'];
      }),
    );
    expect(rewards).toEqual(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 0)));
    expect(server.sessionCount()).toBe(100);
  });

  it("refuses a client's session past the per-client cap with 429 saying what to do; its sessions and other clients go on", async () => {
    server = await serveHttp(arithEnv, { port: 0, maxSessions: 10, maxSessionsPerClient: 2, ...quiet });
    const url = server.url;
    const open = (from: string) => raw(url, { body: INIT, localAddress: from });
    const a1 = await open('127.0.0.1');
    const a2 = await open('127.0.0.1');
    expect([a1.status, a2.status]).toEqual([200, 200]);
    const refused = await open('127.0.0.1');
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(refused.json().error.message).toMatch(/DELETE.*--max-sessions-per-client/);
    expect(server.sessionCount()).toBe(2);
    // the open sessions keep working, and another client gets a session
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const sid = a1.headers['mcp-session-id'] as string;
    const listed = await raw(url, { body: list, headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } });
    expect(listed.json().result.tools.length).toBeGreaterThan(0);
    expect((await open('127.0.0.2')).status).toBe(200);
    // closing one frees its place
    await raw(url, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } });
    expect((await open('127.0.0.1')).status).toBe(200);
  });

  it('refuses any new session past the total cap with 503 and Retry-After, whoever asks', async () => {
    server = await serveHttp(arithEnv, { port: 0, maxSessions: 2, maxSessionsPerClient: 2, ...quiet });
    expect((await raw(server.url, { body: INIT, localAddress: '127.0.0.1' })).status).toBe(200);
    expect((await raw(server.url, { body: INIT, localAddress: '127.0.0.2' })).status).toBe(200);
    const full = await raw(server.url, { body: INIT, localAddress: '127.0.0.3' });
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBe('5');
    expect(full.json().error.message).toMatch(/--max-sessions/);
  });

  it('refuses a session cap that is not a positive whole number', async () => {
    await expect(serveHttp(arithEnv, { port: 0, maxSessions: 0, ...quiet })).rejects.toThrow(ServerConfigError);
    await expect(serveHttp(arithEnv, { port: 0, maxSessionsPerClient: 1.5, ...quiet })).rejects.toThrow(
      /maxSessionsPerClient must be a positive integer/,
    );
  });

  it('sends a malformed tools/call error as -32602 with a one-line message and no MCP prefix on the wire', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const init = await raw(server.url, { body: INIT });
    const headers = { 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-06-18' };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add', arguments: '{"a": 1}' } });
    const r = await raw(server.url, { body, headers });
    expect(r.json().error).toEqual({
      code: -32602,
      message: 'Invalid arguments for tool "add": "arguments" must be a JSON object, got a string; send {"a": ..., "b": ...}.',
    });
  });

  it('answers a resources/read without a string uri as -32602 in one line, and reads on', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const init = await raw(server.url, { body: INIT });
    const headers = { 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-06-18' };
    const read = (params: unknown) =>
      raw(server!.url, { body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'resources/read', params }), headers });
    expect((await read({})).json().error).toEqual({
      code: -32602,
      message:
        'resources/read needs "uri", the resource to read as a string, got none: call resources/list to see the resources.',
    });
    expect((await read({ uri: 5 })).json().error.message).toMatch(/^resources\/read needs "uri".*got a number/);
    const ok = (await read({ uri: 'toolgym://env' })).json();
    expect(JSON.parse(ok.result.contents[0].text).id).toBe('arith');
  });

  it('answers a POST with one JSON body carrying its Content-Length and the session id', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const init = await raw(server.url, { body: INIT });
    expect(init.status).toBe(200);
    expect(init.headers['content-type']).toMatch(/^application\/json/);
    expect(Number(init.headers['content-length'])).toBe(Buffer.byteLength(init.body));
    expect(init.headers['mcp-session-id']).toMatch(/^[A-Za-z0-9_-]{1,32}\.[0-9a-f-]{36}$/);
    expect(init.json().result.serverInfo.name).toBe('toolgym-arith');
  });

  it('plays an episode over SSE responses when JSON responses are turned off', async () => {
    server = await serveHttp(arithEnv, { port: 0, jsonResponse: false, ...quiet });
    const init = await raw(server.url, { body: INIT });
    expect(init.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(init.body).toMatch(/^event: message\ndata: \{.*"serverInfo"/m);
    const { client } = await httpClient(server.url);
    const start = await client.callTool({ name: 'gym_start', arguments: { seed: 2, split: 'test' } });
    const done = await client.callTool({ name: 'gym_submit', arguments: { answer: String(sumOf(start.structuredContent)) } });
    expect(done._meta).toMatchObject({ 'toolgym/reward': 1 });
    await client.close();
  });

  it('releases a standalone GET stream when its client disconnects, so the session can open another', async () => {
    server = await serveHttp(arithEnv, { port: 0, ...quiet });
    const sid = (await raw(server.url, { body: INIT })).headers['mcp-session-id'] as string;
    const u = new URL(server.url);
    const openStream = (): Promise<{ status: number; type?: string; close(): void }> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'GET',
            headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
          },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], close: () => req.destroy() });
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
        req.end();
      });
    const first = await openStream();
    expect(first).toMatchObject({ status: 200, type: 'text/event-stream' });
    expect((await openStream()).status).toBe(409);
    first.close();
    let again = await openStream();
    for (let i = 0; i < 50 && again.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await openStream();
    }
    expect(again.status).toBe(200);
    again.close();
  });
});
