import { describe, expect, it } from 'vitest';
import { computeMetrics, turnFollowsMode } from '../../../agent/eval/index.js';
import { modeFor, STOP_THINKING_TEXT } from '../../../agent/format/index.js';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { mixedModeSchedule, resolveLimits, runEpisode } from '../../../agent/rollout/index.js';
import type { GenerateRequest, GenerateResult, Policy, Trajectory } from '../../../agent/types.js';
import { arithEnv } from '../fixtures/arith-env.js';
import { call, ScriptPolicy } from '../fixtures/script-policy.js';

// Task arith/arith.add/train/3 is 21 + 44.
const TASK = 'arith/arith.add/train/3';

/** Records every request the oracle is asked (a copy of its messages). */
class Recording implements Policy {
  readonly spec = 'oracle';
  readonly requests: GenerateRequest[] = [];
  private readonly inner = new OraclePolicy(arithEnv);
  generate(req: GenerateRequest): Promise<GenerateResult> {
    this.requests.push({ ...req, messages: req.messages.slice() });
    return this.inner.generate(req);
  }
}

describe('thinking modes per turn', () => {
  it('appends a scheduled switch as a user message after the tool results, and the oracle follows it', async () => {
    const p = new Recording();
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, modeSchedule: ['think', 'no_think'] });
    expect(t.correct).toBe(true);
    expect(t.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'user', 'assistant']);
    expect(t.messages[1].content.endsWith(' /think')).toBe(true);
    expect(t.messages[4].content).toBe('/no_think');
    expect(t.turns.map((x) => x.mode)).toEqual(['think', 'no_think']);
    expect(p.requests.map((r) => r.enableThinking)).toEqual([true, false]);
    // Under /think a short reasoning trace; under the /no_think soft switch the empty think block.
    expect(t.turns[0].thinking?.trim().length).toBeGreaterThan(0);
    expect(t.turns[1].raw.startsWith('<think>\n\n</think>\n\n')).toBe(true);
    expect(t.turns[1].thinking?.trim()).toBe('');
    expect(t.mode).toBe('mixed');
    expect(t.turns.every(turnFollowsMode)).toBe(true);
  });

  it('adds no message when the schedule keeps the mode', async () => {
    const t = await runEpisode({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      taskId: TASK,
      modeSchedule: ['no_think', 'no_think'],
    });
    expect(t.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant']);
    expect(t.mode).toBe('no_think');
  });

  it('lets the evaluator score a switch the policy ignored as non-compliant', async () => {
    // A policy that always thinks, whatever the flag says.
    const thinker = new ScriptPolicy([
      `<think>\nadd them\n</think>\n\n${call('add', { a: 21, b: 44 })}`,
      '<think>\nread it\n</think>\n\n65',
    ]);
    const bad = await runEpisode({ env: arithEnv, policy: thinker, taskId: TASK, modeSchedule: ['think', 'no_think'] });
    const good = await runEpisode({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      taskId: TASK,
      modeSchedule: ['think', 'no_think'],
    });
    expect(bad.turns.map(turnFollowsMode)).toEqual([true, false]);
    const mBad = computeMetrics([bad], { bootstrap: { samples: 0 } }).overall.metrics;
    const mGood = computeMetrics([good], { bootstrap: { samples: 0 } }).overall.metrics;
    expect(mBad.switchCompliance).toMatchObject({ num: 0, den: 1 });
    expect(mGood.switchCompliance).toMatchObject({ num: 1, den: 1 });
    expect(mGood.modeCompliance).toMatchObject({ num: 2, den: 2 });
  });

  it('draws a seeded per-turn schedule in mixed mode: deterministic, with switches mid-dialogue that every turn records', async () => {
    const runs: Trajectory[] = [];
    for (let sample = 0; sample < 12; sample++) {
      runs.push(await runEpisode({ env: arithEnv, policy: new OraclePolicy(arithEnv), taskId: TASK, sample, mode: 'mixed' }));
    }
    const again = await runEpisode({ env: arithEnv, policy: new OraclePolicy(arithEnv), taskId: TASK, sample: 5, mode: 'mixed' });
    expect(again.messages).toEqual(runs[5].messages);
    for (const t of runs) {
      expect(t.correct).toBe(true);
      // Each turn's recorded mode is the latest flag of the messages before it.
      let a = 0;
      for (let i = 0; i < t.messages.length; i++) {
        if (t.messages[i].role !== 'assistant') continue;
        expect(t.turns[a].mode).toBe(modeFor(t.messages.slice(0, i), false));
        a++;
      }
      expect(t.turns.every(turnFollowsMode)).toBe(true);
      const sched = mixedModeSchedule(3, t.ids.sample);
      expect(t.turns.map((x) => x.mode)).toEqual(t.turns.map((_, i) => sched(i)));
    }
    expect(new Set(runs.map((t) => t.mode))).toEqual(new Set(['think', 'no_think', 'mixed']));
    expect(runs.some((t) => t.messages.some((m) => m.role === 'user' && /^\/(no_)?think$/.test(m.content)))).toBe(true);
  });
});

describe('a thinking budget of 0', () => {
  it('is a valid limit; a negative one is not', () => {
    expect(resolveLimits({ thinkingBudget: 0 }).thinkingBudget).toBe(0);
    expect(() => resolveLimits({ thinkingBudget: -1 })).toThrow();
  });

  it('injects the stop-thinking text at once and asks the policy only for the answer', async () => {
    const p = new ScriptPolicy([call('add', { a: 21, b: 44 }), '65']);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, mode: 'think', limits: { thinkingBudget: 0 } });
    expect(t.correct).toBe(true);
    expect(p.requests).toHaveLength(2);
    expect(p.requests[0].continuation).toBe(`<think>\n${STOP_THINKING_TEXT}`);
    expect(p.requests[1].continuation).toBe(`<think>\n${STOP_THINKING_TEXT}`);
    expect(p.requests.every((r) => r.thinkingBudget === undefined)).toBe(true);
    expect(t.turns.map((x) => x.budgetHit)).toEqual([true, true]);
    expect(t.turns[0].raw).toBe(`<think>\n${STOP_THINKING_TEXT}${call('add', { a: 21, b: 44 })}`);
    expect(t.turns[0].completionTokens).toBeGreaterThan(0);
    expect(t.thinkingBudget).toBe(0);
  });

  it('leaves no_think turns alone', async () => {
    const p = new ScriptPolicy([call('add', { a: 21, b: 44 }), '65']);
    const t = await runEpisode({ env: arithEnv, policy: p, taskId: TASK, mode: 'no_think', limits: { thinkingBudget: 0 } });
    expect(p.requests.every((r) => r.continuation === undefined)).toBe(true);
    expect(t.turns.some((x) => x.budgetHit)).toBe(false);
  });

  it('lets the oracle answer after the injected text', async () => {
    const t = await runEpisode({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      taskId: TASK,
      mode: 'think',
      limits: { thinkingBudget: 0 },
    });
    expect(t.correct).toBe(true);
    expect(t.turns.every((x) => x.budgetHit && x.raw.startsWith(`<think>\n${STOP_THINKING_TEXT}`))).toBe(true);
  });
});
