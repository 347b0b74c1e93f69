import { describe, expect, it } from 'vitest';
import type { Trajectory } from '../../agent/types.js';
import { summarizeEval } from '../../trainer/run/index.js';

function ep(o: { correct: boolean; calls: number; invalid: number; ending?: string; thinking?: string[] }): Trajectory {
  return {
    correct: o.correct,
    ending: o.ending ?? 'terminated',
    metrics: { turns: 2, toolCalls: o.calls, invalidCalls: o.invalid, completionTokens: 10, wallMs: 1 },
    turns: (o.thinking ?? ['', '']).map((thinking) => ({ thinking })),
  } as unknown as Trajectory;
}

describe('held-out summary', () => {
  it('counts call validity per call, clean episodes per episode, and leaves aborted episodes out', () => {
    const s = summarizeEval(
      [
        ep({ correct: true, calls: 1, invalid: 0 }),
        ep({ correct: true, calls: 2, invalid: 0 }),
        // a runaway turn: six unclosed openers are six failed calls
        ep({ correct: false, calls: 0, invalid: 6 }),
        ep({ correct: false, calls: 0, invalid: 50, ending: 'aborted' }),
      ],
      'no_think',
    );
    expect(s.episodes).toBe(3);
    expect(s.success).toBeCloseTo(2 / 3);
    expect(s.validity).toBeCloseTo(3 / 9);
    expect(s.cleanEpisodes).toBeCloseTo(2 / 3);
    expect(s.compliance).toBe(1);
  });

  it('scores mode compliance by whether each turn thought', () => {
    const s = summarizeEval([ep({ correct: true, calls: 1, invalid: 0, thinking: ['plan', ''] })], 'think');
    expect(s.compliance).toBe(0.5);
    expect(s.validity).toBe(1);
  });
});
