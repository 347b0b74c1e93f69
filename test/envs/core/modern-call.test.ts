/**
 * The 2026-07-28 tools/call lane (envs/core/modern-call.ts): which requests it takes, and that what
 * it answers is what the SDK's per-request handler answers. Two servers of one environment, one
 * with the lane and one without (`modernCallLane: false`), get the same requests in the same order;
 * their answers must agree (status, content type, JSON), handles aside. The requests the lane must
 * leave to the SDK (protocol rejections, other shapes) go through the same comparison, so the
 * SDK's answers stay the reference for both.
 */
import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EpisodeTable } from '../../../envs/core/episodes.js';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import { serveHttp } from '../../../envs/core/index.js';
import { createModernCallLane, headerDeclarations, type ModernCallLane } from '../../../envs/core/modern-call.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { type RawResponse, raw, sumOf } from './http-helpers.js';

const quiet = { log: () => undefined };
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'lane-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface Req {
  body: unknown;
  headers: Record<string, string>;
}

/** A 2026-07-28 tools/call as the SDK's client sends it (headers mirror the body). */
function call(id: number | string, name: string, args: Record<string, unknown> | undefined, episodeHeader?: string): Req {
  const headers: Record<string, string> = {
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': name,
  };
  if (episodeHeader !== undefined) headers['mcp-param-episode'] = episodeHeader;
  const params: Record<string, unknown> = { name, _meta: ENVELOPE };
  if (args !== undefined) params.arguments = args;
  return { body: { jsonrpc: '2.0', id, method: 'tools/call', params }, headers };
}

const send = (url: string, r: Req): Promise<RawResponse> => raw(url, { body: JSON.stringify(r.body), headers: r.headers });

function edit(r: Req, f: (body: any, headers: Record<string, string>) => void): Req {
  const copy = structuredClone(r) as { body: any; headers: Record<string, string> };
  f(copy.body, copy.headers);
  return copy;
}

/**
 * The cases, in order, as functions of the episode handle the first case started on that server
 * and the task prompt it returned. `lane` says whether the lane takes the request.
 */
const CASES: Array<{ name: string; lane: boolean; req: (h: string, prompt: string) => Req }> = [
  { name: 'gym_start', lane: true, req: () => call(1, 'gym_start', { seed: 1 }) },
  { name: 'a step by handle', lane: true, req: (h) => call(2, 'add', { a: 2, b: 5, episode: h }, h) },
  { name: 'a string id', lane: true, req: (h) => call('s-3', 'add', { a: 1, b: 1, episode: h }, h) },
  { name: 'a bad argument value (isError)', lane: true, req: (h) => call(4, 'add', { a: 'x', b: 5, episode: h }, h) },
  { name: 'no episode on a sessionless call (isError)', lane: true, req: () => call(5, 'add', { a: 1, b: 2 }) },
  {
    name: 'an unknown handle (isError)',
    lane: true,
    req: (h) =>
      call(
        6,
        'add',
        { a: 1, b: 2, episode: `${h.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA` },
        `${h.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA`,
      ),
  },
  {
    name: "another replica's handle (aborted)",
    lane: true,
    req: () => call(7, 'add', { a: 1, b: 2, episode: 'gone.AAAAAAAAAAAAAAAAAAAAAA' }, 'gone.AAAAAAAAAAAAAAAAAAAAAA'),
  },
  { name: 'gym_list_tasks', lane: true, req: () => call(8, 'gym_list_tasks', { limit: 2 }) },
  {
    name: 'header white space (trimmed, as the SDK reads headers)',
    lane: true,
    req: (h) =>
      edit(call(9, 'add', { a: 3, b: 4, episode: h }, h), (_b, hd) => {
        hd['mcp-name'] = ' add ';
      }),
  },
  // Left to the SDK: its rejections and every other shape.
  {
    name: 'Mcp-Param-Episode disagrees with the body',
    lane: false,
    req: (h) => call(20, 'add', { a: 1, b: 2, episode: h }, 'other'),
  },
  { name: 'Mcp-Param-Episode missing', lane: false, req: (h) => call(21, 'add', { a: 1, b: 2, episode: h }) },
  {
    name: 'Mcp-Name missing',
    lane: false,
    req: (h) =>
      edit(call(22, 'add', { a: 1, b: 2, episode: h }, h), (_b, hd) => {
        delete hd['mcp-name'];
      }),
  },
  {
    name: 'Mcp-Name names another tool',
    lane: false,
    req: (h) =>
      edit(call(23, 'add', { a: 1, b: 2, episode: h }, h), (_b, hd) => {
        hd['mcp-name'] = 'sum3';
      }),
  },
  {
    name: 'Mcp-Method missing',
    lane: false,
    req: (h) =>
      edit(call(24, 'add', { a: 1, b: 2, episode: h }, h), (_b, hd) => {
        delete hd['mcp-method'];
      }),
  },
  {
    name: 'MCP-Protocol-Version missing',
    lane: false,
    req: (h) =>
      edit(call(25, 'add', { a: 1, b: 2, episode: h }, h), (_b, hd) => {
        delete hd['mcp-protocol-version'];
      }),
  },
  {
    name: 'an unsupported revision claimed',
    lane: false,
    req: (h) =>
      edit(call(26, 'add', { a: 1, b: 2, episode: h }, h), (b, hd) => {
        b.params._meta['io.modelcontextprotocol/protocolVersion'] = '2099-01-01';
        hd['mcp-protocol-version'] = '2099-01-01';
      }),
  },
  {
    name: 'a malformed envelope (clientInfo a string)',
    lane: false,
    req: (h) =>
      edit(call(27, 'add', { a: 1, b: 2, episode: h }, h), (b) => {
        b.params._meta['io.modelcontextprotocol/clientInfo'] = 'me';
      }),
  },
  { name: 'an unknown tool', lane: false, req: () => call(28, 'nope', {}) },
  { name: 'no arguments', lane: false, req: () => call(29, 'add', undefined) },
  {
    name: 'arguments not an object',
    lane: false,
    req: () =>
      edit(call(30, 'add', {}), (b) => {
        b.params.arguments = [1, 2];
      }),
  },
  {
    name: 'a progress token in _meta',
    lane: false,
    req: (h) =>
      edit(call(31, 'add', { a: 1, b: 2, episode: h }, h), (b) => {
        b.params._meta.progressToken = 'p1';
      }),
  },
  {
    name: 'an extra param',
    lane: false,
    req: (h) =>
      edit(call(32, 'add', { a: 1, b: 2, episode: h }, h), (b) => {
        b.params.task = { ttl: 1000 };
      }),
  },
  { name: 'episode as a number', lane: false, req: () => call(33, 'add', { a: 1, b: 2, episode: 5 }, '5') },
  {
    name: 'a notification (no id)',
    lane: false,
    req: (h) =>
      edit(call(34, 'add', { a: 1, b: 2, episode: h }, h), (b) => {
        delete b.id;
      }),
  },
  { name: 'a fractional id', lane: false, req: (h) => call(1.5, 'add', { a: 1, b: 2, episode: h }, h) },
  {
    name: 'a batch',
    lane: false,
    req: (h) => ({ body: [call(36, 'add', { a: 1, b: 2, episode: h }, h).body], headers: call(36, 'add', {}, h).headers }),
  },
  {
    name: 'text/plain',
    lane: false,
    req: (h) =>
      edit(call(37, 'add', { a: 1, b: 2, episode: h }, h), (_b, hd) => {
        hd['content-type'] = 'text/plain';
      }),
  },
  {
    name: 'tools/list',
    lane: false,
    req: () =>
      edit(call(38, 'add', {}), (b, hd) => {
        b.method = 'tools/list';
        b.params = { _meta: ENVELOPE };
        hd['mcp-method'] = 'tools/list';
        delete hd['mcp-name'];
      }),
  },
  // The episode ends; a step after it; both on the lane.
  {
    name: 'gym_submit (reward in _meta)',
    lane: true,
    req: (h, prompt) => call(40, 'gym_submit', { answer: String(sumOf(prompt)), episode: h }, h),
  },
  { name: 'a step after the end', lane: true, req: (h) => call(41, 'add', { a: 1, b: 2, episode: h }, h) },
];

function normalise(r: RawResponse, handle: string): { status: number; type: string | undefined; json: unknown } {
  const text = r.body
    .split(handle)
    .join('<handle>')
    .split(handle.split('.')[0] as string)
    .join('<replica>');
  return { status: r.status, type: String(r.headers['content-type'] ?? ''), json: text === '' ? undefined : JSON.parse(text) };
}

describe('the 2026-07-28 tools/call lane', () => {
  let withLane: HttpServerHandle;
  let sdkOnly: HttpServerHandle;
  let lane: ModernCallLane;
  beforeAll(async () => {
    withLane = await serveHttp(arithEnv, { port: 0, ...quiet });
    sdkOnly = await serveHttp(arithEnv, { port: 0, modernCallLane: false, ...quiet });
    lane = createModernCallLane(arithEnv, { table: new EpisodeTable(arithEnv) });
  });
  afterAll(async () => {
    await withLane?.close();
    await sdkOnly?.close();
  });

  it('serves the control tools and the environment tools that mirror only `episode` into a header', () => {
    expect(lane.tools).toEqual(['gym_list_tasks', 'gym_start', 'gym_submit', 'add']);
    expect(headerDeclarations({ type: 'object', properties: { episode: { type: 'string', 'x-mcp-header': 'Episode' } } })).toBe(
      'episode',
    );
    expect(headerDeclarations({ type: 'object', properties: { a: { type: 'number' } } })).toBe('none');
    // Any other declaration (another argument, a nested one, another header name) is the SDK's to check.
    expect(headerDeclarations({ type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } } })).toBe(
      'other',
    );
    expect(headerDeclarations({ type: 'object', properties: { episode: { type: 'string', 'x-mcp-header': 'Ep' } } })).toBe(
      'other',
    );
    expect(
      headerDeclarations({
        type: 'object',
        properties: { o: { type: 'object', properties: { episode: { 'x-mcp-header': 'Episode' } } } },
      }),
    ).toBe('other');
  });

  it('takes exactly the well-formed calls, and both paths answer every request alike', async () => {
    const handles: Record<'lane' | 'sdk', string> = { lane: '', sdk: '' };
    let prompt = '';
    const taken: string[] = [];
    const expected: string[] = [];
    for (const c of CASES) {
      const answers: Record<'lane' | 'sdk', ReturnType<typeof normalise>> = {} as never;
      for (const [which, server] of [
        ['lane', withLane],
        ['sdk', sdkOnly],
      ] as const) {
        const { body, headers } = c.req(handles[which] || 'none.AAAAAAAAAAAAAAAAAAAAAA', prompt);
        if (which === 'lane') {
          if (
            lane.accept(
              Object.fromEntries(
                Object.entries({ 'content-type': 'application/json', ...headers }).map(([k, v]) => [k.toLowerCase(), v]),
              ),
              body,
            )
          )
            taken.push(c.name);
          if (c.lane) expected.push(c.name);
        }
        const r = await send(server.url, { body, headers });
        if (c.name === 'gym_start') {
          const sc = r.json().result.structuredContent;
          handles[which] = sc.episode;
          prompt = sc.task.prompt;
        }
        answers[which] = normalise(r, handles[which] || 'none.AAAAAAAAAAAAAAAAAAAAAA');
      }
      expect(answers.lane, c.name).toEqual(answers.sdk);
    }
    expect(taken).toEqual(expected);
    // The comparison covered answers of every kind: a result, an isError result, a reward, protocol errors.
    expect(handles.lane).toMatch(/\.[A-Za-z0-9_-]{22}$/);
  });

  it('answers a reward and the step after the end as the SDK path does (spot checks on the lane)', async () => {
    const start = await send(withLane.url, call(1, 'gym_start', { seed: 4 }));
    expect(start.status).toBe(200);
    const started = start.json().result;
    expect(started.resultType).toBe('complete');
    expect(started._meta['io.modelcontextprotocol/serverInfo']).toEqual({ name: 'toolgym-arith', version: arithEnv.version });
    const h: string = started.structuredContent.episode;
    const step = (await send(withLane.url, call(2, 'add', { a: 20, b: 22, episode: h }, h))).json();
    expect(step.result.content[0].text).toBe('20 + 22 = 42');
    expect(step.result._meta['toolgym/step']).toBe(1);
    const wrong = (await send(withLane.url, call(3, 'gym_submit', { answer: '-1', episode: h }, h))).json();
    expect(wrong.result._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/correct': false, 'toolgym/terminated': true });
  });

  it("takes the official v2 client's tool calls once it knows the tools' schemas", async () => {
    const sent: Array<{ headers: Record<string, string>; body: any }> = [];
    const recorded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (typeof init?.body === 'string')
        sent.push({ headers: Object.fromEntries(new Headers(init.headers).entries()), body: JSON.parse(init.body) });
      return fetch(input, init);
    };
    const client = new ModernClient({ name: 'lane-v2', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(withLane.url), { fetch: recorded }));
    await client.listTools();
    const started = (await client.callTool({ name: 'gym_start', arguments: { seed: 2 } })) as { structuredContent: any };
    const h: string = started.structuredContent.episode;
    const step = (await client.callTool({ name: 'add', arguments: { a: 1, b: 2, episode: h } })) as { content: any[] };
    expect(step.content[0].text).toBe('1 + 2 = 3');
    const calls = sent.filter((s) => s.body.method === 'tools/call');
    expect(calls.map((s) => s.body.params.name)).toEqual(['gym_start', 'add']);
    for (const s of calls) expect(lane.accept(s.headers, s.body), s.body.params.name).toBeDefined();
    expect(sent.filter((s) => s.body.method !== 'tools/call').every((s) => lane.accept(s.headers, s.body) === undefined)).toBe(
      true,
    );
    await client.close();
  });
});
