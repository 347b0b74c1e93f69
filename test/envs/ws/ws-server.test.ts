import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWs, type WsServerHandle, wsProtocolJsonSchema } from '../../../envs/core/index.js';
import { arithEnv } from '../../fixtures/arith-env.js';
import { concurrency, faultyEnv, RawWs, refusal, schemaProblems, shippedSchema } from './ws-helpers.js';

const quiet = { log: () => undefined };

describe('the ws protocol schema', () => {
  it('ships docs/ws-protocol.schema.json exactly as the protocol module generates it (npx tsx scripts/ws-schema.ts)', () => {
    expect(shippedSchema).toEqual(JSON.parse(JSON.stringify(wsProtocolJsonSchema())));
  });

  it('rejects frames that break the protocol', () => {
    expect(schemaProblems('request', { id: 1, op: 'reset', seed: 3 })).toBe('');
    expect(schemaProblems('request', { id: 1, op: 'step', episode: 'x' })).not.toBe(''); // no action
    expect(schemaProblems('request', { id: 1, op: 'launch' })).not.toBe('');
    expect(schemaProblems('request', { id: -1, op: 'info' })).not.toBe('');
    expect(schemaProblems('response', { id: 1, ok: false, error: { code: 'unknown_episode', message: 'gone' } })).toBe('');
    expect(schemaProblems('response', { id: 1, ok: false, error: { code: 'teapot', message: 'x' } })).not.toBe('');
  });
});

describe('gym serve --ws: reset, step and close over one socket', () => {
  let server: WsServerHandle;
  beforeAll(async () => {
    server = await serveWs(arithEnv, { port: 0, replicaId: 'r7', maxSteps: 3, ...quiet });
  });
  afterAll(() => server.close());

  it('answers info with the environment, its tools and the limits', async () => {
    const c = await RawWs.open(server.url);
    const info = await c.call({ id: 'i', op: 'info' });
    expect(info).toMatchObject({ ok: true, protocol: 'toolgym.ws/1', env: { id: 'arith' }, replica: 'r7' });
    expect(info.tools.map((t: { name: string }) => t.name)).toEqual(['add']);
    expect(info.tools[0].inputSchema.required).toEqual(['a', 'b']);
    expect(info.limits.maxSteps).toBe(3);
    expect(c.invalid).toEqual([]);
    c.close();
  });

  it('runs many pipelined episodes on one socket, matching answers to requests by id', async () => {
    const c = await RawWs.open(server.url);
    const n = 20;
    // All resets go out before any answer is read.
    for (let i = 0; i < n; i++) c.send({ id: i, op: 'reset', seed: i, split: 'test' });
    const resets = await Promise.all(Array.from({ length: n }, (_, i) => c.answer(i)));
    const handles = resets.map((r) => r.episode as string);
    expect(new Set(handles).size).toBe(n);
    for (const h of handles) expect(h).toMatch(/^r7\.[A-Za-z0-9_-]{22}$/);
    expect(resets.map((r) => r.info.task.id)).toEqual(Array.from({ length: n }, (_, i) => `arith/sum3/test/${i}`));

    // Each episode: one add, then the right (even) or a wrong (odd) answer; all steps pipelined.
    for (let i = 0; i < n; i++) {
      c.send({
        id: 100 + i,
        op: 'step',
        episode: handles[i],
        action: { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: i, b: 1 } }] },
      });
      const answer = i % 2 === 0 ? String(arithEnv.getTask(resets[i].info.task.id).reference) : '-1';
      c.send({ id: 200 + i, op: 'step', episode: handles[i], action: { kind: 'answer', answer } });
    }
    const steps = await Promise.all(Array.from({ length: n }, (_, i) => c.answer(100 + i)));
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => c.answer(200 + i)));
    steps.forEach((s, i) => {
      expect(s).toMatchObject({
        ok: true,
        episode: handles[i],
        terminated: false,
        truncated: false,
        aborted: false,
        info: { step: 1 },
      });
      expect(s.observation.toolResults[0].content[0].text).toBe(`${i} + 1 = ${i + 1}`);
    });
    answers.forEach((s, i) => {
      expect(s).toMatchObject({ ok: true, terminated: true, truncated: false, aborted: false, info: { step: 2 } });
      expect(s.reward).toBe(i % 2 === 0 ? 1 : 0);
      expect(s.info.correct).toBe(i % 2 === 0);
    });
    expect(server.episodes()).toBe(n);
    for (let i = 0; i < n; i++) c.send({ id: 300 + i, op: 'close', episode: handles[i] });
    await Promise.all(Array.from({ length: n }, (_, i) => c.answer(300 + i)));
    expect(server.episodes()).toBe(0);
    expect(c.invalid).toEqual([]);
    c.close();
  });

  it('keeps truncated apart from terminated: the step limit ends the episode without a reward', async () => {
    const c = await RawWs.open(server.url);
    const r = await c.call({ id: 1, op: 'reset', seed: 5 });
    const call = { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 1, b: 2 } }] };
    await c.call({ id: 2, op: 'step', episode: r.episode, action: call });
    await c.call({ id: 3, op: 'step', episode: r.episode, action: call });
    const third = await c.call({ id: 4, op: 'step', episode: r.episode, action: call });
    expect(third).toMatchObject({ ok: true, truncated: true, terminated: false, aborted: false, reward: 0, info: { step: 3 } });
    const late = await c.call({ id: 5, op: 'step', episode: r.episode, action: { kind: 'answer', answer: '1' } });
    expect(late).toMatchObject({ ok: false, error: { code: 'episode_over' } });
    expect(c.invalid).toEqual([]);
    c.close();
  });

  it('answers a bad frame, an unknown episode and a control tool per request, and the socket goes on', async () => {
    const c = await RawWs.open(server.url);
    c.send('{not json', true);
    c.send({ id: 7, op: 'step', episode: 'r7.nope', action: { kind: 'answer', answer: '1' } });
    c.send({ id: 8, op: 'reset', seed: 'one' }, true);
    c.send({ id: 9, op: 'reset', taskId: 'arith/sum3/test/99999' });
    const unknown = await c.answer(7);
    const badSeed = await c.answer(8);
    const badTask = await c.answer(9);
    expect(c.received[0]).toMatchObject({ id: null, ok: false, error: { code: 'bad_request' } });
    expect(unknown).toMatchObject({ ok: false, op: 'step', episode: 'r7.nope', error: { code: 'unknown_episode' } });
    expect(badSeed.error).toMatchObject({ code: 'bad_request' });
    expect(badSeed.error.message).toMatch(/seed/);
    expect(badTask.error.code).toBe('reset_failed');
    const ok = await c.call({ id: 10, op: 'reset', seed: 1 });
    const ctl = await c.call({
      id: 11,
      op: 'step',
      episode: ok.episode,
      action: { kind: 'tool_calls', calls: [{ name: 'gym_submit', arguments: { answer: '1' } }] },
    });
    expect(ctl).toMatchObject({ ok: true, terminated: false, info: { step: 0 } });
    expect(ctl.observation.toolResults[0]).toMatchObject({ isError: true });
    expect(ctl.observation.toolResults[0].content[0].text).toMatch(/not a tool here.*add/);
    expect(c.invalid).toEqual([]);
    c.close();
  });

  it('scopes handles to their socket: another socket cannot step them', async () => {
    const a = await RawWs.open(server.url);
    const b = await RawWs.open(server.url);
    const r = await a.call({ id: 1, op: 'reset', seed: 2 });
    const stolen = await b.call({ id: 1, op: 'step', episode: r.episode, action: { kind: 'answer', answer: '0' } });
    expect(stolen.error.code).toBe('unknown_episode');
    a.close();
    b.close();
  });

  it('closes the episodes of a socket that goes away', async () => {
    const c = await RawWs.open(server.url);
    await c.call({ id: 1, op: 'reset', seed: 1 });
    await c.call({ id: 2, op: 'reset', seed: 2 });
    const before = server.episodes();
    c.close();
    await expect.poll(() => server.episodes()).toBe(before - 2);
  });
});

describe('gym serve --ws: aborted episodes and back-pressure', () => {
  let server: WsServerHandle;
  beforeAll(async () => {
    server = await serveWs(faultyEnv, { port: 0, maxInflight: 4, ...quiet });
  });
  afterAll(() => server.close());

  it('ends an episode aborted (not terminated, not truncated) when the environment itself fails', async () => {
    const c = await RawWs.open(server.url);
    const [x, y] = [await c.call({ id: 1, op: 'reset', seed: 1 }), await c.call({ id: 2, op: 'reset', seed: 2 })];
    const broken = await c.call({
      id: 3,
      op: 'step',
      episode: x.episode,
      action: {
        kind: 'tool_calls',
        calls: [
          { name: 'fault', arguments: {} },
          { name: 'add', arguments: { a: 1, b: 1 } },
        ],
      },
    });
    expect(broken).toMatchObject({ ok: true, aborted: true, terminated: false, truncated: false, reward: 0 });
    expect(broken.info.error).toMatch(/sandbox process died/);
    expect(broken.observation.toolResults[1].content[0].text).toMatch(/Not run/);
    // The other episode on the same socket is untouched.
    const fine = await c.call({
      id: 4,
      op: 'step',
      episode: y.episode,
      action: { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 2, b: 2 } }] },
    });
    expect(fine).toMatchObject({ ok: true, aborted: false, terminated: false });
    expect(c.invalid).toEqual([]);
    c.close();
  });

  it('works on at most maxInflight requests of a socket at once and still answers every one', async () => {
    const c = await RawWs.open(server.url);
    const n = 24;
    for (let i = 0; i < n; i++) c.send({ id: i, op: 'reset', seed: i });
    const eps = await Promise.all(Array.from({ length: n }, (_, i) => c.answer(i)));
    concurrency.max = 0;
    for (let i = 0; i < n; i++) {
      c.send({
        id: 100 + i,
        op: 'step',
        episode: eps[i].episode,
        action: { kind: 'tool_calls', calls: [{ name: 'hold', arguments: { ms: 15 } }] },
      });
    }
    const done = await Promise.all(Array.from({ length: n }, (_, i) => c.answer(100 + i)));
    expect(done.every((d) => d.ok && d.observation.toolResults[0].content[0].text === 'held')).toBe(true);
    // Different episodes run in parallel, but never more than the socket's cap.
    expect(concurrency.max).toBeGreaterThan(1);
    expect(concurrency.max).toBeLessThanOrEqual(4);
    c.close();
  });
});

describe('gym serve --ws: the same access checks as HTTP', () => {
  let server: WsServerHandle;
  beforeAll(async () => {
    server = await serveWs(arithEnv, { port: 0, token: 's3cret', allowedOrigins: ['https://trainer.example'], ...quiet });
  });
  afterAll(() => server.close());

  it('refuses an upgrade without the bearer token, or with a wrong one (401)', async () => {
    const none = await refusal(server.url, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.message).toMatch(/Bearer/);
    expect((await refusal(server.url, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('refuses a foreign Origin and a rebound Host name (403) even with the token', async () => {
    const auth = { authorization: 'Bearer s3cret' };
    const origin = await refusal(server.url, { ...auth, origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(origin.body).toMatch(/--allow-origin/);
    const host = await refusal(server.url, { ...auth, host: 'evil.example' });
    expect(host.status).toBe(403);
    expect(host.body).toMatch(/--allow-host/);
  });

  it('accepts the token with an allowed Origin', async () => {
    const c = await RawWs.open(server.url, { authorization: 'Bearer s3cret', origin: 'https://trainer.example' });
    expect((await c.call({ id: 1, op: 'info' })).ok).toBe(true);
    c.close();
  });

  it('refuses a public bind without a token', async () => {
    await expect(serveWs(arithEnv, { host: '0.0.0.0', port: 0, ...quiet })).rejects.toThrow(/bearer token/);
  });
});
