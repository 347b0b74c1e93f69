/**
 * `cancel` in the ws gym protocol: a tool-call step in flight is answered at once as cancelled (the
 * running call as a cancelled tool result, the later calls not run), the episode goes on, and every
 * frame both ways matches the shipped JSON Schema.
 */
import { afterEach, describe, expect, it } from 'vitest';
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
