import { describe, expect, it } from 'vitest';
import { computeMetrics } from '../../agent/eval/index.js';
import type { Trajectory } from '../../agent/types.js';
import { summarizeEval } from '../../trainer/run/index.js';
import { call, episode, fail, turn } from '../agent/eval/fixtures.js';

/** A turn of six unclosed `<tool_call>` openers: six failures, one nest. */
function runaway(): ReturnType<typeof turn> {
  return turn({
    raw: '<tool_call>\n{"name": "add"'.repeat(6),
    failures: Array.from({ length: 6 }, (_, i) => ({ ...fail('unclosed_tag'), call: i })),
  });
}

describe('held-out summary (read from agent/eval metrics)', () => {
  it('counts validity per failure, clean episodes per episode, and leaves aborted episodes out', () => {
    const eps = [
      episode({ task: 't/0', turns: [turn({ calls: [call('add')] }), turn({ answer: '3' })] }),
      episode({ task: 't/1', turns: [turn({ calls: [call('add'), call('add')] }), turn({ answer: '5' })] }),
      episode({ task: 't/2', correct: false, ending: 'truncated', turns: [runaway()] }),
      episode({ task: 't/3', correct: false, ending: 'aborted', turns: [runaway(), runaway()] }),
    ];
    const s = summarizeEval(eps);
    expect(s.episodes).toBe(3);
    expect(s.success).toBe(2 / 3);
    // 3 valid calls; the runaway turn's six openers are six failed calls
    expect(s.validity).toBe(3 / 9);
    expect(s.cleanEpisodes).toBe(2 / 3);
    expect(s.meanTurns).toBe(5 / 3);
    expect(s.meanTokens).toBe(50 / 3);
    // the same figure as gym eval reports it
    expect(computeMetrics(eps).overall.metrics.strictCallValidity?.value).toBe(3 / 9);
  });

  it('gives the figures of counting the episodes directly, bit for bit', () => {
    const eps: Trajectory[] = [];
    for (let i = 0; i < 7; i++) {
      const turns = [turn({ calls: Array.from({ length: i % 3 }, () => call('add')) }), turn({ answer: String(i) })];
      if (i % 4 === 1) turns.unshift(turn({ failures: [fail('invalid_json'), fail('schema_wrong_type', 'a')] }));
      eps.push(episode({ task: `t/${i}`, correct: i % 3 !== 2, turns }));
    }
    const live = eps.filter((t) => t.ending !== 'aborted');
    const calls = live.reduce((n, t) => n + t.metrics.toolCalls, 0);
    const invalid = live.reduce((n, t) => n + t.metrics.invalidCalls, 0);
    const s = summarizeEval(eps);
    expect(s.success).toBe(live.filter((t) => t.correct).length / live.length);
    expect(s.validity).toBe(calls / (calls + invalid));
    expect(s.cleanEpisodes).toBe(live.filter((t) => t.metrics.invalidCalls === 0).length / live.length);
  });

  it('scores mode compliance by whether each turn followed its mode, a budget-cut think turn included', () => {
    const think = (thinking: string, budgetHit?: boolean) => turn({ mode: 'think', thinking, budgetHit, answer: '1' });
    expect(summarizeEval([episode({ mode: 'think', turns: [think('plan'), think('')] })]).compliance).toBe(0.5);
    expect(summarizeEval([episode({ mode: 'think', turns: [think(' ', true)] })]).compliance).toBe(1);
    expect(summarizeEval([episode({ turns: [turn({ thinking: 'plan', answer: '1' })] })]).compliance).toBe(0);
  });

  it('reads no episodes as no success, full validity and full compliance', () => {
    const s = summarizeEval([episode({ ending: 'aborted' })]);
    expect(s).toEqual({ episodes: 0, success: 0, validity: 1, cleanEpisodes: 0, compliance: 1, meanTurns: 0, meanTokens: 0 });
  });
});
