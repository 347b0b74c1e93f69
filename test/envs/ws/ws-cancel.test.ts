/**
 * `cancel` in the ws gym protocol: a tool-call step in flight is answered at once as cancelled (the
 * running call as a cancelled tool result, the later calls not run), the episode goes on, and every
 * frame both ways matches the shipped JSON Schema. The TypeScript client sends it for a tool call it
 * timed out or whose episode its caller aborted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WsEnvClient, WsGymClient } from '../../../agent/rollout/ws-client.js';
import { serveWs, type WsServerHandle } from '../../../envs/core/index.js';
import { concurrency, faultyEnv, RawWs } from './ws-helpers.js';

let server: WsServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('cancel in the ws gym protocol', () => {
  it('cancels a running step: the call is answered as cancelled, later calls are not run, the episode goes on', async () => {
    server = await serveWs(faultyEnv, { port: 0, log: () => undefined });
    const c = await RawWs.open(server.url);
    const reset = await c.call({ id: 1, op: 'reset', seed: 0 });
    const episode: string = reset.episode;
    const t0 = performance.now();
    c.send({
      id: 'slow',
      op: 'step',
      episode,
      action: {
        kind: 'tool_calls',
        calls: [
          { name: 'hold', arguments: { ms: 2000 } },
          { name: 'add', arguments: { a: 1, b: 2 } },
        ],
      },
    });
    // Cancel once `hold` runs (a step cancelled while it waits its turn runs none of its calls).
    await expect.poll(() => concurrency.now).toBe(1);
    const cancel = await c.call({ id: 'c1', op: 'cancel', target: 'slow' });
    expect(cancel).toEqual({ id: 'c1', ok: true, op: 'cancel', target: 'slow', cancelled: true });
    const step = await c.answer('slow');
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(step).toMatchObject({ ok: true, op: 'step', terminated: false, truncated: false, aborted: false });
    expect(step.info.cancelled).toBe(true);
    const [held, added] = step.observation.toolResults;
    expect(held.isError).toBe(true);
    expect(held.content[0].text).toMatch(/`hold` was cancelled/);
    expect(added.content[0].text).toMatch(/Not run: the step was cancelled before `add`/);
    // The episode goes on; a step nobody cancelled has no `cancelled`.
    const next = await c.call({
      id: 2,
      op: 'step',
      episode,
      action: { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 2, b: 3 } }] },
    });
    expect(next.observation.toolResults[0].content[0].text).toBe('2 + 3 = 5');
    expect(next.info.cancelled).toBeUndefined();
    // Nothing to cancel: an id that finished, one never sent, an answer.
    expect((await c.call({ id: 'c2', op: 'cancel', target: 2 })).cancelled).toBe(false);
    expect((await c.call({ id: 'c3', op: 'cancel', target: 'never' })).cancelled).toBe(false);
    expect(c.invalid).toEqual([]);
    c.close();
  });
});

describe('cancel from the TypeScript ws client', () => {
  it('cancels a tool call it timed out or its caller aborted: the tool sees the abort, the episode goes on', async () => {
    server = await serveWs(faultyEnv, { port: 0, log: () => undefined });
    const socket = await WsGymClient.connect(server.url);
    const env = new WsEnvClient(socket);
    concurrency.aborted = 0;
    const live = new AbortController().signal;
    try {
      await env.start({ seed: 0 });
      // A call the client times out: the step is cancelled on the server, whose tool observes the abort.
      const slow = await env.call('hold', { ms: 60_000 }, 300, live);
      // Its state is the cancelled step's answer (the step count when it was cancelled).
      expect(slow).toMatchObject({ isError: true, timedOut: true, meta: { step: 0, terminated: false, truncated: false } });
      expect(slow.text).toMatch(/did not finish within 300 ms and was cancelled/);
      expect(concurrency.aborted).toBe(1);
      expect(concurrency.now).toBe(0);
      // The episode's next step is not held behind the slow call (it would time out if it were). The
      // cancelled call counted as a step once its tool stopped.
      const next = await env.call('add', { a: 2, b: 3 }, 30_000, live);
      expect(next).toMatchObject({ text: '2 + 3 = 5', isError: false, meta: { step: 2 } });
      expect(socket.load).toEqual({ inflight: 0, queued: 0 });

      // The caller aborts the episode mid-call: the call throws the reason and the step is cancelled.
      const stop = new AbortController();
      const call = env.call('hold', { ms: 60_000 }, 60_000, stop.signal);
      await expect.poll(() => concurrency.now).toBe(1);
      stop.abort(new Error('episode wall time'));
      await expect(call).rejects.toThrow('episode wall time');
      await expect.poll(() => concurrency.aborted).toBe(2);
      await expect.poll(() => socket.load.inflight).toBe(0);
      expect((await env.call('add', { a: 1, b: 1 }, 30_000, live)).meta.step).toBe(4);

      // At the socket: an aborted step resolves with the server's answer, marked cancelled.
      const ctl = new AbortController();
      const step = socket.step(
        env.episode!,
        { kind: 'tool_calls', calls: [{ name: 'hold', arguments: { ms: 60_000 } }] },
        { signal: ctl.signal },
      );
      await expect.poll(() => concurrency.now).toBe(1);
      ctl.abort();
      const answer = await step;
      expect(answer.info.cancelled).toBe(true);
      expect(answer.observation.toolResults?.[0].content[0].text).toMatch(/`hold` was cancelled/);
      expect(await socket.cancel(answer.id as number)).toMatchObject({ cancelled: false });
      expect(socket.load).toEqual({ inflight: 0, queued: 0 });
    } finally {
      await env.release();
      socket.close();
    }
  });

  it('never sends a request aborted while it waits for a slot; the slot passes on', async () => {
    server = await serveWs(faultyEnv, { port: 0, log: () => undefined });
    const socket = await WsGymClient.connect(server.url, { maxInflight: 1 });
    try {
      const { episode } = await socket.reset({ seed: 0 });
      const holding = new AbortController();
      const first = socket.step(
        episode,
        { kind: 'tool_calls', calls: [{ name: 'hold', arguments: { ms: 60_000 } }] },
        { signal: holding.signal },
      );
      await expect.poll(() => concurrency.now).toBe(1);
      const waiting = new AbortController();
      const second = socket.step(
        episode,
        { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 1, b: 2 } }] },
        { signal: waiting.signal },
      );
      const refused = second.catch((e: Error) => e);
      const third = socket.step(episode, { kind: 'tool_calls', calls: [{ name: 'add', arguments: { a: 3, b: 4 } }] });
      expect(socket.load).toEqual({ inflight: 1, queued: 2 });
      waiting.abort(new Error('not wanted'));
      holding.abort();
      expect((await first).info).toMatchObject({ step: 0, cancelled: true });
      expect(await refused).toMatchObject({ message: 'not wanted' });
      // The aborted step never reached the server: the next one is the episode's second step (the
      // cancelled hold counted once it stopped); had the aborted `add` run, it would be the third.
      const r = await third;
      expect(r.observation.toolResults?.[0].content[0].text).toBe('3 + 4 = 7');
      expect(r.info.step).toBe(2);
      expect(socket.load).toEqual({ inflight: 0, queued: 0 });
    } finally {
      socket.close();
    }
  });
});
