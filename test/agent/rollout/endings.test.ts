import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { z } from 'zod';
import type { EnvClient, Scored, ToolOutcome } from '../../../agent/rollout/index.js';
import { ENDINGS, endingRow, reasonKey, runEpisode } from '../../../agent/rollout/index.js';
import { resolveLimits } from '../../../agent/rollout/limits.js';
import { type EpisodeDeps, episodeMachine } from '../../../agent/rollout/machine.js';
import { ContextLengthError, type Trajectory } from '../../../agent/types.js';
import { connectInMemory, defineToolEnv, EnvFaultError } from '../../../envs/core/index.js';
import { arithEnv } from '../fixtures/arith-env.js';
import { call, never, ScriptPolicy } from '../fixtures/script-policy.js';

// Task arith/arith.add/train/3 is 21 + 44.
const TASK = 'arith/arith.add/train/3';
const settle = () => new Promise((r) => setImmediate(r));

/** Every ending the loop writes must be a row of the table, with the ending the table gives it. */
function expectRow(t: Trajectory, reason: string, fault: string): void {
  expect(reasonKey(t.reason)).toBe(reason);
  const row = endingRow(t.reason);
  expect(row, `no table row for ${t.reason}`).toBeDefined();
  expect(t.ending).toBe(row?.ending);
  expect(row?.fault).toBe(fault);
}

/** The machine against a stand-in env: a tool call gives `outcome`; `submit` scores 1 or throws. */
async function runAgainst(outcome: ToolOutcome, policy: ScriptPolicy, submit?: () => Promise<Scored>) {
  const env = {
    call: async () => outcome,
    submit: submit ?? (async (): Promise<Scored> => ({ reward: 1, components: {}, correct: true, text: 'ok' })),
  } as unknown as EnvClient;
  const deps: EpisodeDeps = {
    policy,
    env,
    tools: [{ type: 'function', function: { name: 'add', description: '', parameters: { type: 'object' } } }],
    limits: resolveLimits({}),
    clock: new SimulatedClock() as never,
    defaultThinking: false,
    seed: 1,
    episode: { taskId: 't', envId: 'stub', sample: 0 },
    now: () => 0,
  };
  const actor = createActor(episodeMachine, { input: { deps, messages: [{ role: 'user', content: 'go' }] } });
  const done = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve() }));
  actor.start();
  await done;
  return actor.getSnapshot().context;
}

describe('episode endings: who is at fault', () => {
  it('has one row per reason, and only faults outside the policy are aborted', () => {
    const reasons = ENDINGS.map((r) => r.reason);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const r of ENDINGS) expect(r.ending === 'aborted').toBe(r.fault !== 'policy');
  });

  it('answer: the policy answered and the env scored it (terminated)', async () => {
    const t = await runEpisode({ env: arithEnv, policy: new ScriptPolicy([call('add', { a: 21, b: 44 }), '65']), taskId: TASK });
    expectRow(t, 'answer', 'policy');
    expect(t.correct).toBe(true);
  });

  it('env_terminated: a tool call that ends the task is terminated with the score the env attached', async () => {
    const ctx = await runAgainst(
      { text: 'task failed', isError: false, meta: { terminated: true, truncated: false, reward: 0.25, correct: false } },
      new ScriptPolicy([call('add', { a: 1, b: 2 })]),
    );
    expect(ctx.ending).toBe('terminated');
    expect(ctx.reason).toBe('env_terminated');
    expect(ctx.scored?.reward).toBe(0.25);
    expect(endingRow(ctx.reason)?.ending).toBe('terminated');
  });

  it("env_truncated: a tool call reaching the env's own step limit is truncated", async () => {
    const ctx = await runAgainst(
      { text: '3', isError: false, meta: { terminated: false, truncated: true } },
      new ScriptPolicy([call('add', { a: 1, b: 2 })]),
    );
    expect(ctx.ending).toBe('truncated');
    expect(ctx.reason).toBe('env_truncated');
    expect(endingRow(ctx.reason)?.fault).toBe('policy');
  });

  it('max_turns, max_turn_tokens and max_tokens: the policy ran out of turns or tokens (truncated)', async () => {
    const turns = await runEpisode({
      env: arithEnv,
      policy: new ScriptPolicy([], call('add', { a: 1, b: 1 })),
      taskId: TASK,
      limits: { maxTurns: 2 },
    });
    expectRow(turns, 'max_turns', 'policy');
    const cut = await runEpisode({
      env: arithEnv,
      policy: new ScriptPolicy([{ text: 'thinking...', finishReason: 'length', completionTokens: 8 }]),
      taskId: TASK,
      limits: { maxTurnTokens: 8 },
    });
    expectRow(cut, 'max_turn_tokens', 'policy');
    const spent = await runEpisode({
      env: arithEnv,
      policy: new ScriptPolicy([{ text: 'thinking...', finishReason: 'length', completionTokens: 8 }]),
      taskId: TASK,
      limits: { maxTurnTokens: 8, maxTotalTokens: 8 },
    });
    expectRow(spent, 'max_tokens', 'policy');
  });

  it('context_length: a policy that throws ContextLengthError is truncated, keeping its turns', async () => {
    const p = new ScriptPolicy([
      call('add', { a: 21, b: 44 }),
      () => {
        throw new ContextLengthError('sequence of 2184 tokens exceeds the limit of 2048');
      },
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expectRow(t, 'context_length', 'policy');
    expect(t.turns).toHaveLength(1);
    expect(t.correct).toBe(false);
    expect(t.error).toMatch(/2184 tokens/);
  });

  it('context_length: an error whose class was lost across a boundary still counts by its marker', async () => {
    const err = Object.assign(new Error('window full'), { contextLength: true });
    const t = await runEpisode({
      env: arithEnv,
      policy: new ScriptPolicy([
        () => {
          throw err;
        },
      ]),
      taskId: TASK,
    });
    expectRow(t, 'context_length', 'policy');
  });

  it('context_length: a turn the window cut short ends the episode truncated with that turn recorded', async () => {
    const p = new ScriptPolicy([{ text: '<tool_call>\n{"name": "ad', finishReason: 'context_length', completionTokens: 5 }]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expectRow(t, 'context_length', 'policy');
    expect(t.turns).toHaveLength(1);
    expect(t.turns[0].finishReason).toBe('context_length');
    expect(p.requests).toHaveLength(1);
  });

  it('context_length after a budget stop keeps the partial turn', async () => {
    const p = new ScriptPolicy([
      { text: '<think>\nlong thought', finishReason: 'budget', completionTokens: 4 },
      () => {
        throw new ContextLengthError('full');
      },
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, mode: 'think', limits: { thinkingBudget: 4 } });
    expectRow(t, 'context_length', 'policy');
    expect(t.turns).toHaveLength(1);
    expect(t.turns[0].budgetHit).toBe(true);
    expect(t.turns[0].finishReason).toBe('context_length');
  });

  it('wall_time: the episode ran out of time (truncated)', async () => {
    const clock = new SimulatedClock();
    const p = new ScriptPolicy([never()]);
    const run = runEpisode({ env: arithEnv, policy: p, taskId: TASK, clock, limits: { wallTimeMs: 1000 } });
    while (p.requests.length < 1) await settle();
    clock.increment(1000);
    expectRow(await run, 'wall_time', 'policy');
  });

  it("error: policy: a policy server that fails is outside the policy's control (aborted)", async () => {
    const p = new ScriptPolicy([
      () => {
        throw new Error('HTTP 503 after 5 attempts');
      },
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expectRow(t, 'error: policy', 'policy_server');
    expect(t.error).toMatch(/503/);
  });

  it('error: start: an env that cannot start the task is aborted', async () => {
    const t = await runEpisode({ env: arithEnv, policy: new ScriptPolicy(['1']), taskId: 'arith/arith.add/train/999999' });
    expectRow(t, 'error: start', 'environment');
  });

  it('error: env: a tool call whose transport dies is aborted', async () => {
    const client = await connectInMemory(arithEnv);
    const p = new ScriptPolicy([
      async () => {
        await client.close();
        return { text: call('add', { a: 1, b: 2 }), finishReason: 'stop' };
      },
    ]);
    const t = await runEpisode({ env: client, policy: p, taskId: TASK, envId: 'arith' });
    expectRow(t, 'error: env', 'environment');
  });

  it("error: env: a tool whose environment machinery fails (EnvFaultError) aborts the episode; a tool's own failure does not", async () => {
    const faulty = defineToolEnv<Record<string, never>>({
      id: 'arith',
      version: '1.0.0',
      description: 'arith whose tools fail',
      families: arithEnv.families,
      tools: [
        {
          name: 'add',
          description: 'Add two integers (its sandbox cannot start).',
          inputSchema: { a: z.number().int().describe('first addend'), b: z.number().int().describe('second addend') },
          handler: async () => {
            throw new EnvFaultError('the sandbox could not start');
          },
        },
        {
          name: 'hang',
          description: 'Fails on its own terms.',
          inputSchema: { note: z.string().optional().describe('ignored') },
          handler: async () => {
            throw new Error('bad input');
          },
        },
      ],
      systemPrompt: 's',
      createEpisode: () => ({}),
    });
    const fault = await runEpisode({ env: faulty, policy: new ScriptPolicy([call('add', { a: 1, b: 2 }), '3']), taskId: TASK });
    expectRow(fault, 'error: env', 'environment');
    expect(fault.error).toMatch(/sandbox could not start/);
    const own = await runEpisode({ env: faulty, policy: new ScriptPolicy([call('hang', {}), '65']), taskId: TASK });
    expectRow(own, 'answer', 'policy');
    expect(own.turns[0].calls[0]).toMatchObject({ isError: true });
    expect(own.turns[0].calls[0].result).toMatch(/bad input/);
  });

  it('error: submit: scoring that fails is aborted', async () => {
    const ctx = await runAgainst(
      { text: '3', isError: false, meta: { terminated: false, truncated: false } },
      new ScriptPolicy(['3']),
      async () => {
        throw new Error('gym_submit returned no toolgym/reward');
      },
    );
    expect(ctx.ending).toBe('aborted');
    expect(reasonKey(ctx.reason)).toBe('error: submit');
    expect(endingRow(ctx.reason)?.fault).toBe('environment');
  });

  it("error: cancelled: the caller's abort signal is aborted", async () => {
    const ctl = new AbortController();
    const p = new ScriptPolicy([never()]);
    const run = runEpisode({ env: arithEnv, policy: p, taskId: TASK, signal: ctl.signal });
    while (p.requests.length < 1) await settle();
    ctl.abort('operator stop');
    const t = await run;
    expectRow(t, 'error: cancelled', 'caller');
    expect(t.error).toBe('operator stop');
  });
});
