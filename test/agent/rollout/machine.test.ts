import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { STOP_THINKING_TEXT } from '../../../agent/format/index.js';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import { connectInMemory } from '../../../envs/core/index.js';
import { arithEnv, hangEvents } from '../fixtures/arith-env.js';
import { call, never, ScriptPolicy } from '../fixtures/script-policy.js';

// Task arith/arith.add/train/3 is 21 + 44.
const TASK = 'arith/arith.add/train/3';

/** Lets pending promise callbacks and MCP in-memory messages run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('the episode machine', () => {
  it('solves a task with the oracle through a real tool call and scores 1 from gym_submit', async () => {
    const t = await runEpisode({ env: arithEnv, policy: new OraclePolicy(arithEnv), taskId: TASK });
    expect(t.ending).toBe('terminated');
    expect(t.reason).toBe('answer');
    expect(t.reward).toBe(1);
    expect(t.correct).toBe(true);
    expect(t.components).toEqual({ correct: 1 });
    expect(t.turns.map((x) => x.calls.map((c) => c.name))).toEqual([['add'], []]);
    expect(t.turns[0].calls[0].result).toBe('65');
    expect(t.turns[1].answer).toBe('65');
    expect(t.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(t.ids).toMatchObject({ task: TASK, family: 'arith.add', env: 'arith', envVersion: '1.0.0', sample: 0 });
  });

  it('scores a wrong answer 0 and still ends terminated', async () => {
    const p = new ScriptPolicy([call('add', { a: 21, b: 44 }), '64']);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expect(t.ending).toBe('terminated');
    expect(t.reward).toBe(0);
    expect(t.correct).toBe(false);
  });

  it('hides the control tools from the policy', async () => {
    const p = new ScriptPolicy(['65']);
    await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expect(p.requests[0].tools.map((t) => t.function.name).sort()).toEqual(['add', 'hang']);
  });

  it('feeds a malformed turn back as an error observation and counts it', async () => {
    const p = new ScriptPolicy([
      '<tool_call>\n{"name": "add", "arguments": {"a": 21, "b": 44}\n</tool_call>',
      call('add', { a: 21, b: 44 }),
      '65',
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expect(t.ending).toBe('terminated');
    expect(t.correct).toBe(true);
    expect(t.turns[0].failures.map((f) => f.kind)).toEqual(['invalid_json']);
    expect(t.turns[0].calls).toEqual([]);
    expect(t.metrics.invalidCalls).toBe(1);
    const obs = p.requests[1].messages.at(-1);
    expect(obs?.role).toBe('tool');
    expect(obs?.content).toMatch(/invalid_json/);
  });

  it('reports an unknown tool and a wrong argument type with their kinds', async () => {
    const p = new ScriptPolicy([call('addition', { a: 1, b: 2 }), call('add', { a: '21', b: 44 }), '65']);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expect(t.turns[0].failures.map((f) => f.kind)).toEqual(['unknown_tool']);
    expect(t.turns[1].failures.map((f) => f.kind)).toEqual(['schema_wrong_type']);
    expect(t.metrics.invalidCalls).toBe(2);
  });

  it('runs the calls of one turn and returns their results in call order', async () => {
    const calls = [1, 2, 3, 4, 5].map((i) => call('add', { a: i, b: 100 })).join('\n');
    const p = new ScriptPolicy([calls, '65']);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, limits: { maxParallelCalls: 2 } });
    expect(t.turns[0].calls.map((c) => c.result)).toEqual(['101', '102', '103', '104', '105']);
    expect(p.requests[1].messages.filter((m) => m.role === 'tool').map((m) => m.content)).toEqual([
      '101',
      '102',
      '103',
      '104',
      '105',
    ]);
  });

  it('truncates at max turns', async () => {
    const p = new ScriptPolicy([], call('add', { a: 1, b: 1 }));
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, limits: { maxTurns: 3 } });
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('max_turns');
    expect(t.turns).toHaveLength(3);
    expect(t.reward).toBe(0);
  });

  it('ends in budgetExceeded when the total token budget is spent', async () => {
    const p = new ScriptPolicy([], (req) => ({
      text: call('add', { a: 1, b: 1 }),
      finishReason: 'stop',
      completionTokens: Math.min(100, req.maxTokens),
    }));
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, limits: { maxTotalTokens: 250, maxTurnTokens: 1000 } });
    expect(p.requests.map((r) => r.maxTokens)).toEqual([250, 150, 50]);
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('max_tokens');
    expect(t.metrics.completionTokens).toBe(250);
  });

  it('truncates a turn cut at its token cap', async () => {
    const p = new ScriptPolicy([{ text: '<tool_call>\n{"name": "ad', finishReason: 'length', completionTokens: 8 }]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, limits: { maxTurnTokens: 8 } });
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('max_turn_tokens');
    expect(t.turns[0].finishReason).toBe('length');
  });

  it('injects the stop-thinking text when thinking hits its budget and lets the policy finish the turn', async () => {
    const p = new ScriptPolicy([
      { text: '<think>\nlet me think about 21 and 44 for a', finishReason: 'budget', completionTokens: 10 },
      { text: '65', finishReason: 'stop', completionTokens: 1 },
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, mode: 'think', limits: { thinkingBudget: 10 } });
    expect(p.requests[0].thinkingBudget).toBe(10);
    expect(p.requests[1].continuation).toBe(`<think>\nlet me think about 21 and 44 for a${STOP_THINKING_TEXT}`);
    expect(p.requests[1].thinkingBudget).toBeUndefined();
    expect(p.requests[1].turn).toBe(0);
    expect(t.turns).toHaveLength(1);
    expect(t.turns[0].budgetHit).toBe(true);
    expect(t.turns[0].finishReason).toBe('stop');
    expect(t.turns[0].answer).toBe('65');
    expect(t.turns[0].raw).toContain('Considering the limited time');
    expect(t.correct).toBe(true);
    expect(t.thinkingBudget).toBe(10);
  });

  it('cancels a tool call at the per-tool timeout and shows the policy an error result', async () => {
    const clock = new SimulatedClock();
    const p = new ScriptPolicy([call('hang', {}), '65']);
    const cancelled = once(hangEvents, 'cancelled');
    const started = once(hangEvents, 'start');
    const run = runEpisode({ env: arithEnv, policy: p, taskId: TASK, clock, limits: { toolTimeoutMs: 1000 } });
    await started;
    clock.increment(999);
    await settle();
    expect(p.requests).toHaveLength(1);
    clock.increment(1);
    const t = await run;
    await cancelled;
    expect(t.ending).toBe('terminated');
    expect(t.correct).toBe(true);
    expect(t.turns[0].calls[0].isError).toBe(true);
    expect(t.turns[0].calls[0].result).toMatch(/did not finish within 1000 ms/);
  });

  it('truncates at the wall-time limit and aborts the generation in flight', async () => {
    const clock = new SimulatedClock();
    const seen: { aborted?: boolean } = {};
    const p = new ScriptPolicy([call('add', { a: 1, b: 2 }), never(seen)]);
    const run = runEpisode({ env: arithEnv, policy: p, taskId: TASK, clock, limits: { wallTimeMs: 5000 } });
    while (p.requests.length < 2) await settle();
    clock.increment(4999);
    await settle();
    expect(seen.aborted).toBeUndefined();
    clock.increment(1);
    const t = await run;
    expect(seen.aborted).toBe(true);
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('wall_time');
    expect(t.turns).toHaveLength(1);
  });

  it('ends aborted with the reason when the caller aborts', async () => {
    const ctl = new AbortController();
    const seen: { aborted?: boolean } = {};
    const p = new ScriptPolicy([never(seen)]);
    const run = runEpisode({ env: arithEnv, policy: p, taskId: TASK, signal: ctl.signal });
    while (p.requests.length < 1) await settle();
    ctl.abort('operator stop');
    const t = await run;
    expect(t.ending).toBe('aborted');
    expect(t.error).toBe('operator stop');
    expect(seen.aborted).toBe(true);
  });

  it('ends aborted, not thrown, when the policy fails', async () => {
    const p = new ScriptPolicy([
      () => {
        throw new Error('server down');
      },
    ]);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK });
    expect(t.ending).toBe('aborted');
    expect(t.error).toMatch(/server down/);
  });

  it('ends aborted when the environment cannot start the task', async () => {
    const t = await runEpisode({ env: arithEnv, policy: new ScriptPolicy(['1']), taskId: 'arith/arith.add/train/999999' });
    expect(t.ending).toBe('aborted');
    expect(t.error).toMatch(/gym_start/);
  });

  it('uses a connected MCP client it is given and leaves it open', async () => {
    const client = await connectInMemory(arithEnv);
    const policy = new OraclePolicy(arithEnv);
    const a = await runEpisode({ env: client, policy, taskId: TASK, envId: 'arith' });
    const b = await runEpisode({ env: client, policy, taskId: 'arith/arith.add/train/4', envId: 'arith' });
    expect([a.correct, b.correct]).toEqual([true, true]);
    await client.close();
  });

  it('states the mode as a soft switch in mixed mode and records it per turn', async () => {
    const modes = new Set<string>();
    for (let sample = 0; sample < 8; sample++) {
      const p = new ScriptPolicy(['65']);
      const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, sample, mode: 'mixed' });
      const user = t.messages.find((m) => m.role === 'user')?.content ?? '';
      const flag = user.endsWith('/think') ? 'think' : user.endsWith('/no_think') ? 'no_think' : 'none';
      expect(flag).toBe(t.turns[0].mode);
      expect(p.requests[0].enableThinking).toBe(flag === 'think');
      modes.add(flag);
    }
    expect(modes).toEqual(new Set(['think', 'no_think']));
  });
});
