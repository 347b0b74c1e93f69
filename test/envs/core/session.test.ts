import { describe, expect, it } from 'vitest';
import type { EnvDefinition } from '../../../envs/core/index.js';
import { EpisodeSession, type SessionResult } from '../../../envs/core/session.js';
import { arithEnv } from '../../fixtures/arith-env.js';

const text = (r: SessionResult): string => r.content.map((c) => c.text).join('\n');

function sumOf(prompt: string): number {
  const [a, b, c] = prompt.match(/\d+/g)!.map(Number);
  return a + b + c;
}

describe('EpisodeSession', () => {
  it('tells the client to call gym_start when an env tool is called before any episode', async () => {
    const s = new EpisodeSession(arithEnv);
    const r = await s.call('add', { a: 1, b: 2 });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/gym_start/);
    expect(r._meta['toolgym/step']).toBe(0);
    expect(s.state).toBe('idle');
  });

  it('plays an episode to a correct answer with the reward in the final _meta', async () => {
    const s = new EpisodeSession(arithEnv);
    const start = await s.start({ seed: 5, split: 'test' });
    const task = (start.structuredContent as { task: { id: string; prompt: string } }).task;
    expect(task.id).toBe('arith/sum3/test/5');
    expect(start._meta).toMatchObject({ 'toolgym/step': 0, 'toolgym/terminated': false, 'toolgym/truncated': false });
    expect(JSON.stringify(start)).not.toContain('reference');
    const step = await s.call('add', { a: 2, b: 3 });
    expect(text(step)).toBe('2 + 3 = 5');
    expect(step._meta['toolgym/step']).toBe(1);
    const done = await s.submit(String(sumOf(task.prompt)));
    expect(done._meta).toMatchObject({
      'toolgym/step': 2,
      'toolgym/terminated': true,
      'toolgym/reward': 1,
      'toolgym/correct': true,
    });
    expect(done._meta['toolgym/components']).toEqual({ correct: 1 });
    expect(s.state).toBe('ended');
  });

  it('scores a wrong answer 0 and refuses further calls until a new gym_start', async () => {
    const s = new EpisodeSession(arithEnv);
    const start = await s.start({ seed: 1 });
    const prompt = (start.structuredContent as { task: { prompt: string } }).task.prompt;
    const done = await s.submit(String(sumOf(prompt) + 1));
    expect(done._meta['toolgym/reward']).toBe(0);
    expect(done._meta['toolgym/correct']).toBe(false);
    const after = await s.call('add', { a: 1, b: 1 });
    expect(after.isError).toBe(true);
    expect(text(after)).toMatch(/gym_start to begin a new episode/);
    expect((await s.submit('1')).isError).toBe(true);
    const again = await s.start({ seed: 2 });
    expect(again.isError).toBeUndefined();
    expect(again._meta['toolgym/episode']).toBe(2);
    expect((await s.call('add', { a: 1, b: 1 }))._meta['toolgym/step']).toBe(1);
  });

  it('answers invalid arguments with an error result naming the field', async () => {
    const s = new EpisodeSession(arithEnv);
    await s.start();
    const wrongType = await s.call('add', { a: 'one', b: 2 });
    expect(wrongType.isError).toBe(true);
    expect(text(wrongType)).toMatch(/`a`/);
    const missing = await s.call('add', { a: 1 });
    expect(text(missing)).toMatch(/`b`/);
    const extra = await s.call('add', { a: 1, b: 2, c: 3 });
    expect(text(extra)).toMatch(/unexpected parameter `c`/);
    const badStart = await s.call('gym_start', { split: 'validation' });
    expect(badStart.isError).toBe(true);
    expect(text(badStart)).toMatch(/`split`/);
  });

  it('rejects arguments over the size limit with a clear error', async () => {
    const s = new EpisodeSession(arithEnv);
    await s.start();
    const r = await s.call('gym_submit', { answer: 'x'.repeat(1_100_000) });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/over the limit of 1000000 bytes/);
    expect(s.state).toBe('running');
  });

  it('truncates the episode at the step limit', async () => {
    const s = new EpisodeSession(arithEnv, { maxSteps: 3 });
    await s.start();
    expect((await s.call('add', { a: 1, b: 1 }))._meta['toolgym/truncated']).toBe(false);
    await s.call('add', { a: 1, b: 1 });
    const third = await s.call('add', { a: 1, b: 1 });
    expect(third._meta).toMatchObject({ 'toolgym/step': 3, 'toolgym/truncated': true, 'toolgym/terminated': false });
    expect(text(third)).toMatch(/step limit \(3\)/);
    const late = await s.submit('2');
    expect(late.isError).toBe(true);
    expect(text(late)).toMatch(/truncated/);
  });

  it('reports an unknown task id as an error result and stays usable', async () => {
    const s = new EpisodeSession(arithEnv);
    const r = await s.start({ taskId: 'arith/nope/test/0' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/no family "nope"/);
    expect((await s.start({ taskId: 'arith/sum3/test/0' })).isError).toBeUndefined();
  });

  it('aborts the episode, without throwing, when the environment itself fails', async () => {
    const flaky: EnvDefinition = {
      ...arithEnv,
      create() {
        const env = arithEnv.create();
        return {
          ...env,
          id: env.id,
          version: env.version,
          tools: env.tools,
          reset: (o) => env.reset(o),
          step: async () => Promise.reject(new Error('sandbox died')),
          close: () => env.close(),
        };
      },
    };
    const s = new EpisodeSession(flaky);
    await s.start();
    const r = await s.call('add', { a: 1, b: 2 });
    expect(r.isError).toBe(true);
    expect(r._meta['toolgym/aborted']).toBe(true);
    expect(text(r)).toMatch(/sandbox died/);
    expect((await s.start()).isError).toBeUndefined();
  });

  it("closes an ended episode's environment at once (answer, step limit) and opens a new one on gym_start", async () => {
    let created = 0;
    let closed = 0;
    const counting: EnvDefinition = {
      ...arithEnv,
      create: (o) => {
        created++;
        const env = arithEnv.create(o);
        const close = env.close.bind(env);
        env.close = async () => {
          closed++;
          await close();
        };
        return env;
      },
    };
    const settle = () => new Promise((r) => setImmediate(r));
    const s = new EpisodeSession(counting, { maxSteps: 2 });
    await s.start({ seed: 1 });
    await s.submit('0');
    await settle();
    expect([created, closed]).toEqual([1, 1]);
    // the ended episode still answers, without an environment
    expect(text(await s.call('add', { a: 1, b: 2 }))).toMatch(/gym_start/);
    await s.start({ seed: 2 });
    expect(created).toBe(2);
    await s.call('add', { a: 1, b: 2 });
    expect(closed).toBe(1);
    await s.call('add', { a: 1, b: 2 });
    await settle();
    expect(s.state).toBe('ended');
    expect(closed).toBe(2);
    await s.close();
    expect(closed).toBe(2);
  });

  it('serialises concurrent calls so steps are numbered in order', async () => {
    const s = new EpisodeSession(arithEnv);
    await s.start();
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => s.call('add', { a: i, b: 0 })));
    expect(rs.map((r) => r._meta['toolgym/step'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rs.map(text)).toEqual(Array.from({ length: 10 }, (_, i) => `${i} + 0 = ${i}`));
  });

  it('lists tasks without their references', async () => {
    const s = new EpisodeSession(arithEnv);
    const r = await s.call('gym_list_tasks', { split: 'test', limit: 3 });
    const tasks = (r.structuredContent as { tasks: Array<{ id: string }> }).tasks;
    expect(tasks.map((t) => t.id)).toEqual(['arith/sum3/test/0', 'arith/sum3/test/1', 'arith/sum3/test/2']);
    expect(JSON.stringify(r)).not.toContain(String(arithEnv.getTask('arith/sum3/test/0').reference));
  });

  it('closes twice safely and refuses calls afterwards', async () => {
    const s = new EpisodeSession(arithEnv);
    await s.start();
    await s.close();
    await s.close();
    expect(s.state).toBe('closed');
    expect((await s.call('add', { a: 1, b: 2 })).isError).toBe(true);
  });
});

describe('EpisodeSession cancellation', () => {
  it('answers a cancelled call at once and keeps the session usable when the tool ignores the signal', async () => {
    const stuck = new Promise<never>(() => undefined);
    const def: EnvDefinition = {
      ...arithEnv,
      create() {
        const env = arithEnv.create();
        return {
          id: env.id,
          version: env.version,
          tools: env.tools,
          reset: (o) => env.reset(o),
          step: (a, s) => (a.kind === 'tool_calls' && a.calls[0].arguments.a === -1 ? stuck : env.step(a, s)),
          close: () => env.close(),
        };
      },
    };
    const s = new EpisodeSession(def);
    await s.start();
    const ctl = new AbortController();
    const pending = s.call('add', { a: -1, b: 0 }, ctl.signal);
    ctl.abort();
    const r = await pending;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/cancelled/);
    const next = await s.call('add', { a: 1, b: 1 });
    expect(text(next)).toBe('1 + 1 = 2');
  });
});
