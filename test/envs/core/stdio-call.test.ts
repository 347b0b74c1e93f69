/**
 * The stdio tool-call lane (envs/core/stdio-call.ts): which lines it takes, and that what it answers
 * is what the SDK's path answers. Two stdio servers of one environment over in-process streams, one
 * with the lane and one without (`callLane: false`), get the same lines in the same order on both
 * protocol revisions; their answers must agree, handles aside. The lines the lane must leave to the
 * SDK (the opening exchange, protocol errors, other shapes, malformed lines) go through the same
 * comparison, so the SDK's answers stay the reference for both.
 */
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { serveStdio } from '../../../envs/core/index.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { sumOf } from './http-helpers.js';

const REPLICA = 'r1';
const FOREIGN = 'gone.AAAAAAAAAAAAAAAAAAAAAA';
const UNKNOWN = `${REPLICA}.AAAAAAAAAAAAAAAAAAAAAA`;
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'lane-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** One stdio server over in-process streams, spoken to line by line. */
async function lineServer(callLane: boolean) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const lines: any[] = [];
  createInterface({ input: stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  const handle = await serveStdio(arithEnv, { stdin, stdout, callLane, replicaId: REPLICA, log: () => undefined });
  let sync_ = 0;
  return {
    lane: handle.lane,
    close: () => handle.close(),
    /**
     * Writes `text` (one or more lines, in one chunk) and returns what came back for the ids in
     * `expect`. With `sync` (the `_meta` a ping on this connection carries) a `ping` follows in the
     * same chunk, and whatever else came back before its answer is returned too (the opening
     * exchange sends none: a ping there would itself open the connection).
     */
    async exchange(text: string, expect: Array<string | number | null>, sync?: { meta?: unknown }): Promise<any[]> {
      const from = lines.length;
      const pingId = sync ? `sync-${++sync_}` : undefined;
      const ping = pingId ? `${line(req(pingId, 'ping', sync?.meta ? { _meta: sync.meta } : undefined))}\n` : '';
      stdin.write(`${text}\n${ping}`);
      const waitFor = pingId ? [...expect, pingId] : expect;
      const has = (id: unknown) => lines.slice(from).some((l) => l.id === id);
      for (let i = 0; i < 400 && !waitFor.every(has); i++) await new Promise((r) => setTimeout(r, 5));
      return lines.slice(from).filter((l) => l.id !== pingId);
    },
  };
}

type LineServer = Awaited<ReturnType<typeof lineServer>>;

const line = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const req = (id: unknown, method: string, params?: unknown) => ({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

/** What a case sends, given the episode handle and task prompt the case named `gym_start` got on that server. */
interface Case {
  name: string;
  /** Whether the lane answers it (the SDK otherwise). */
  lane: boolean;
  send: (h: string, prompt: string) => unknown;
  /** The ids answered (default: the request's own id). */
  answers?: Array<string | number | null>;
  /** Part of the opening exchange: sent without a following ping (a ping there would open the connection itself). */
  opening?: boolean;
}

/** A line of the opening exchange (the SDK's on both servers). */
const opening = (name: string, message: unknown, answers: Array<string | number>): Case => ({
  name,
  lane: false,
  send: () => message,
  answers,
  opening: true,
});

const call = (id: unknown, name: string, args?: unknown, meta?: unknown) =>
  req(id, 'tools/call', { name, ...(args === undefined ? {} : { arguments: args }), ...(meta ? { _meta: meta } : {}) });

/** Cases common to both revisions; `m` is the envelope a 2026-07-28 request carries (none on 2025-11-25). */
function commonCases(m: typeof ENVELOPE | undefined): Case[] {
  return [
    { name: 'gym_list_tasks', lane: true, send: () => call(10, 'gym_list_tasks', { limit: 2 }, m) },
    { name: 'gym_start', lane: true, send: () => call(11, 'gym_start', { seed: 1 }, m) },
    { name: 'a step by handle', lane: true, send: (h) => call(12, 'add', { a: 2, b: 5, episode: h }, m) },
    { name: 'a string id', lane: true, send: (h) => call('s-13', 'add', { a: 1, b: 1, episode: h }, m) },
    { name: 'a negative id', lane: true, send: (h) => call(-14, 'add', { a: 1, b: 2, episode: h }, m) },
    { name: 'a bad argument value (isError)', lane: true, send: (h) => call(15, 'add', { a: 'x', b: 5, episode: h }, m) },
    { name: 'a missing argument (isError)', lane: true, send: (h) => call(16, 'add', { a: 1, episode: h }, m) },
    { name: 'an empty episode handle (isError)', lane: true, send: () => call(17, 'add', { a: 1, b: 2, episode: '' }, m) },
    { name: 'episode as a number (isError)', lane: true, send: () => call(18, 'add', { a: 1, b: 2, episode: 5 }, m) },
    { name: 'an unknown handle (isError)', lane: true, send: () => call(19, 'add', { a: 1, b: 2, episode: UNKNOWN }, m) },
    { name: "another replica's handle (aborted)", lane: true, send: () => call(20, 'add', { a: 1, b: 2, episode: FOREIGN }, m) },
    // Left to the SDK: its protocol errors and every other shape.
    { name: 'an unknown tool', lane: false, send: () => call(30, 'nope', {}, m) },
    { name: 'no arguments', lane: false, send: () => call(31, 'add', undefined, m) },
    { name: 'arguments not an object', lane: false, send: () => call(32, 'add', [1, 2], m) },
    { name: 'no tool name', lane: false, send: () => req(33, 'tools/call', { arguments: {}, ...(m ? { _meta: m } : {}) }) },
    {
      name: 'a progress token in _meta',
      lane: false,
      send: (h) => call(34, 'add', { a: 1, b: 2, episode: h }, { ...m, progressToken: 'p1' }),
    },
    {
      name: 'an extra param',
      lane: false,
      send: (h) => ({ ...call(35, 'add', { a: 1, b: 2, episode: h }, m), params: { ...call(0, 'add', {}, m).params, task: {} } }),
    },
    { name: 'a fractional id (invalid JSON-RPC)', lane: false, send: (h) => call(1.5, 'add', { a: 1, b: 2, episode: h }, m) },
    { name: 'a null id (invalid JSON-RPC)', lane: false, send: (h) => call(null, 'add', { a: 1, b: 2, episode: h }, m) },
    {
      name: 'jsonrpc 1.0 (invalid JSON-RPC)',
      lane: false,
      send: (h) => ({ ...call(38, 'add', { a: 1, b: 2, episode: h }, m), jsonrpc: '1.0' }),
    },
    {
      name: 'an extra top-level key (invalid JSON-RPC)',
      lane: false,
      send: (h) => ({ ...call(39, 'add', { a: 1, b: 2, episode: h }, m), extra: 1 }),
    },
    { name: 'a batch', lane: false, send: (h) => [call(40, 'add', { a: 1, b: 2, episode: h }, m)], answers: [null] },
    {
      name: 'a notification (no id)',
      lane: false,
      send: (h) => ({ jsonrpc: '2.0', method: 'tools/call', params: call(0, 'add', { a: 1, b: 2, episode: h }, m).params }),
      answers: [],
    },
    { name: 'not JSON', lane: false, send: () => '{"jsonrpc":"2.0","id":42,"method":"tools/call"', answers: [null] },
    { name: 'tools/list', lane: false, send: () => req(43, 'tools/list', m ? { _meta: m } : undefined) },
    // The episode ends; a step after it.
    {
      name: 'gym_submit (reward in _meta)',
      lane: true,
      send: (h, prompt) => call(50, 'gym_submit', { answer: String(sumOf(prompt)), episode: h }, m),
    },
    { name: 'a step after the end', lane: true, send: (h) => call(51, 'add', { a: 1, b: 2, episode: h }, m) },
    { name: 'a second episode', lane: true, send: () => call(52, 'gym_start', { seed: 2 }, m) },
  ];
}

/** 2025-11-25 only: calls that leave `episode` out act on the session's current episode. */
const SESSION_CASES: Case[] = [
  { name: 'a step before any episode (isError)', lane: true, send: () => call(60, 'add', { a: 1, b: 2 }) },
  { name: 'gym_start (session)', lane: true, send: () => call(61, 'gym_start', { seed: 3 }) },
  { name: 'a step on the current episode', lane: true, send: () => call(62, 'add', { a: 3, b: 4 }) },
  {
    name: 'a 2026-07-28 envelope on a 2025-11-25 connection',
    lane: false,
    send: () => call(63, 'add', { a: 1, b: 1 }, ENVELOPE),
  },
  { name: 'a wrong submission on the current episode', lane: true, send: () => call(64, 'gym_submit', { answer: 'no' }) },
  { name: 'a step after the current episode ended', lane: true, send: () => call(65, 'add', { a: 1, b: 1 }) },
];

/** 2026-07-28 only: the envelope, and the SDK's refusals. */
const MODERN_CASES: Case[] = [
  { name: 'no episode on a sessionless call (isError)', lane: true, send: () => call(70, 'add', { a: 1, b: 2 }, ENVELOPE) },
  { name: 'no envelope', lane: false, send: (h) => call(71, 'add', { a: 1, b: 2, episode: h }) },
  {
    name: 'an envelope without clientInfo (it is optional)',
    lane: true,
    send: (h) => call(72, 'add', { a: 1, b: 2, episode: h }, { ...ENVELOPE, 'io.modelcontextprotocol/clientInfo': undefined }),
  },
  {
    name: 'a malformed envelope (clientInfo a string)',
    lane: false,
    send: (h) => call(73, 'add', { a: 1, b: 2, episode: h }, { ...ENVELOPE, 'io.modelcontextprotocol/clientInfo': 'me' }),
  },
  {
    name: 'malformed client capabilities',
    lane: false,
    send: (h) =>
      call(74, 'add', { a: 1, b: 2, episode: h }, { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': { roots: 5 } }),
  },
  {
    name: 'an unsupported revision claimed',
    lane: false,
    send: (h) =>
      call(75, 'add', { a: 1, b: 2, episode: h }, { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }),
  },
  {
    name: 'a 2025-11-25 initialize (refused)',
    lane: false,
    send: () =>
      req(76, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }),
  },
  { name: 'ping', lane: false, send: () => req(77, 'ping', { _meta: ENVELOPE }) },
];

const INITIALIZE = req(1, 'initialize', {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 'lane-test', version: '1' },
});
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };

function normalise(answers: any[], handles: string[]): unknown {
  let text = JSON.stringify([...answers].sort((a, b) => String(a.id).localeCompare(String(b.id))));
  for (const [i, h] of handles.entries()) text = text.split(h).join(`<handle ${i}>`);
  return JSON.parse(text);
}

/**
 * Sends `cases` (the opening exchange first) to both servers and compares the answers; returns which
 * cases the lane answered and which it should have.
 */
async function compare(
  servers: { lane: LineServer; sdk: LineServer },
  cases: Case[],
  meta?: unknown,
): Promise<{ taken: string[]; expected: string[] }> {
  const handles: Record<'lane' | 'sdk', string[]> = { lane: [], sdk: [] };
  const prompts: Record<'lane' | 'sdk', string> = { lane: '', sdk: '' };
  const taken: string[] = [];
  const expected: string[] = [];
  for (const c of cases) {
    const got: Record<'lane' | 'sdk', unknown> = { lane: undefined, sdk: undefined };
    for (const which of ['lane', 'sdk'] as const) {
      const s = servers[which];
      const before = s.lane?.served ?? 0;
      const sent = c.send(handles[which].at(-1) ?? 'none', prompts[which]);
      const id = (sent as { id?: string | number | null }).id;
      const want = c.answers ?? [id ?? null];
      const answers = await s.exchange(line(sent), want, c.opening ? undefined : { meta });
      expect(answers.length, `${c.name} (${which})`).toBe(want.length);
      for (const a of answers) {
        const started = a.result?.structuredContent;
        if (started?.episode) {
          handles[which].push(started.episode);
          prompts[which] = started.task.prompt;
        }
      }
      got[which] = normalise(answers, handles[which]);
      if (which === 'lane') {
        if ((s.lane?.served ?? 0) > before) taken.push(c.name);
        if (c.lane) expected.push(c.name);
      }
    }
    expect(got.lane, c.name).toEqual(got.sdk);
  }
  expect(handles.lane.length).toBeGreaterThan(0);
  return { taken, expected };
}

describe('the stdio tools/call lane', () => {
  const open: LineServer[] = [];
  const both = async () => {
    const servers = { lane: await lineServer(true), sdk: await lineServer(false) };
    open.push(servers.lane, servers.sdk);
    expect(servers.lane.lane).toBeDefined();
    expect(servers.sdk.lane).toBeUndefined();
    return servers;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('answers every line of a 2025-11-25 session as the SDK does, and takes exactly the well-formed calls', async () => {
    const servers = await both();
    const { taken, expected } = await compare(servers, [
      opening('initialize', INITIALIZE, [1]),
      opening('notifications/initialized', INITIALIZED, []),
      ...SESSION_CASES,
      ...commonCases(undefined),
    ]);
    expect(taken).toEqual(expected);
    expect(servers.lane.lane?.era).toBe('legacy');
  });

  it('answers every line of a 2026-07-28 connection as the SDK does, and takes exactly the well-formed calls', async () => {
    const servers = await both();
    const { taken, expected } = await compare(
      servers,
      [
        // The opening: a discover (the SDK's probe instance), then the first enveloped request, which pins it.
        opening('server/discover', req(1, 'server/discover', { _meta: ENVELOPE }), [1]),
        opening('the first request', call(2, 'gym_list_tasks', { limit: 1 }, ENVELOPE), [2]),
        ...commonCases(ENVELOPE),
        ...MODERN_CASES,
      ],
      ENVELOPE,
    );
    expect(taken).toEqual(expected);
    expect(servers.lane.lane?.era).toBe('modern');
  });

  it('leaves the opening to the SDK: a first tools/call, and a discover that an initialize then replaces', async () => {
    const servers = await both();
    // A 2025-11-25 connection may open with a tools/call (no initialize): the SDK answers it and pins.
    const first = await compare(servers, [
      opening('a first tools/call', call(1, 'gym_start', { seed: 5 }), [1]),
      SESSION_CASES[2],
    ]);
    expect(first.taken).toEqual([SESSION_CASES[2].name]);
    expect(servers.lane.lane?.served).toBe(1);

    const probe = await both();
    const replaced = await compare(probe, [
      opening('server/discover', req(1, 'server/discover', { _meta: ENVELOPE }), [1]),
      opening('initialize', INITIALIZE, [1]),
      ...SESSION_CASES,
    ]);
    expect(replaced.taken).toEqual(replaced.expected);
    // The probe instance saw only `server/discover`: the connection is a 2025-11-25 session.
    expect(probe.lane.lane?.era).toBe('legacy');
  });

  it('drops the answer of a call that is cancelled while in flight, and keeps serving', async () => {
    const servers = await both();
    const s = servers.lane;
    await s.exchange(`${line(INITIALIZE)}\n${line(INITIALIZED)}`, [1]);
    const answers = await s.exchange(
      [
        call(2, 'gym_start', { seed: 1 }),
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2, reason: 'changed my mind' } },
      ]
        .map(line)
        .join('\n'),
      [],
      {},
    );
    expect(answers).toEqual([]);
    const [after] = await s.exchange(line(call(3, 'add', { a: 1, b: 2 })), [3], {});
    expect(after.result.content[0].text).toMatch(/gym_start|1 \+ 2 = 3/);
    // Both calls ran on the lane; only the second was answered.
    expect(s.lane?.served).toBe(2);
  });

  it("takes the official clients' tool calls, on both revisions", async () => {
    for (const [revision, client] of [
      ['2025-11-25', new Client({ name: 'lane-v1', version: '1' })],
      [
        '2026-07-28',
        new ModernClient({ name: 'lane-v2', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
      ],
    ] as const) {
      const { transport, stdin, stdout } = streamPair();
      const handle = await serveStdio(arithEnv, { stdin, stdout, replicaId: REPLICA, log: () => undefined });
      await (client as Client).connect(transport as Parameters<Client['connect']>[0]);
      const started = (await client.callTool({ name: 'gym_start', arguments: { seed: 7 } })) as any;
      const h: string = started.structuredContent.episode;
      const step = (await client.callTool({ name: 'add', arguments: { a: 1, b: 2, episode: h } })) as any;
      expect(step.content[0].text, revision).toBe('1 + 2 = 3');
      const submitted = (await client.callTool({
        name: 'gym_submit',
        arguments: { answer: String(sumOf(started.structuredContent.task.prompt)), episode: h },
      })) as any;
      expect(submitted._meta, revision).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true });
      await expect(client.callTool({ name: 'nope', arguments: {} }), revision).rejects.toThrow(/Unknown tool/);
      // A 2025-11-25 client's calls all take the lane; a 2026-07-28 client's first request pins the
      // connection and is the SDK's (it opens the connection), the rest take the lane.
      expect(handle.lane?.era, revision).toBe(revision === '2025-11-25' ? 'legacy' : 'modern');
      expect(handle.lane?.served, revision).toBe(revision === '2025-11-25' ? 3 : 2);
      await client.close();
      await handle.close();
    }
  });
});

/** A client transport over in-process streams, speaking stdio's newline-delimited JSON. */
function streamPair(): { transport: Transport; stdin: PassThrough; stdout: PassThrough } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const read = new ReadBuffer();
  const transport: Transport = {
    async start() {
      stdout.on('data', (c: Buffer) => {
        read.append(c);
        for (let m = read.readMessage(); m; m = read.readMessage()) transport.onmessage?.(m);
      });
    },
    async send(message: JSONRPCMessage) {
      stdin.write(serializeMessage(message));
    },
    async close() {
      stdin.end();
      transport.onclose?.();
    },
  };
  return { transport, stdin, stdout };
}
