import { describe, expect, it } from 'vitest';
import { runEpisode } from '../../../agent/rollout/index.js';
import { arithEnv } from '../fixtures/arith-env.js';
import { call, ScriptPolicy } from '../fixtures/script-policy.js';

// Task arith/arith.add/train/3 is 21 + 44.
const TASK = 'arith/arith.add/train/3';

describe('rollout: turns the parser voids run no tool', () => {
  it('runs no call of a turn with a nested call, and the next turn sees only the error', async () => {
    const nested = `<tool_call>\n{"name": "add", ${call('add', { a: 21, b: 44 })}`;
    const policy = new ScriptPolicy([nested, call('add', { a: 21, b: 44 }), '65']);
    const t = await runEpisode({ env: arithEnv, policy, taskId: TASK });
    expect(t.turns[0].failures.map((f) => f.kind)).toEqual(['nested_call']);
    expect(t.turns[0].calls).toEqual([]);
    const seen = policy.requests[1].messages.at(-1);
    expect(seen?.content).toContain('nested_call');
    expect(seen?.content).not.toContain('65');
    // the episode goes on: the next turn's call runs, then the answer scores
    expect(t.turns[1].calls.map((c) => c.result)).toEqual(['65']);
    expect(t.correct).toBe(true);
  });

  it('reports a turn over maxTurnChars as oversized and runs none of its calls', async () => {
    const long = `${call('add', { a: 21, b: 44 })}\n${'x'.repeat(200)}`;
    const policy = new ScriptPolicy([long, '65']);
    const t = await runEpisode({ env: arithEnv, policy, taskId: TASK, limits: { maxTurnChars: 100 } });
    expect(t.turns[0].failures.map((f) => f.kind)).toEqual(['oversized_turn']);
    expect(t.turns[0].calls).toEqual([]);
    expect(t.correct).toBe(true);
  });
});
