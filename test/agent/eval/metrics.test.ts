import { describe, expect, it } from 'vitest';
import { classifyTurnCalls, computeMetrics, effectiveSamples, turnFollowsMode } from '../../../agent/eval/index.js';
import { parseAssistant } from '../../../agent/format/index.js';
import { call, episode, fail, trials, turn } from './fixtures.js';

const noBoot = { bootstrap: { samples: 0 } };

describe('success metrics', () => {
  it('computes avg@k, pass@k, pass^k and mixed outcomes over tasks', () => {
    const trajs = [...trials('e/a/test/0', 4, 2), ...trials('e/a/test/1', 4, 4), ...trials('e/b/test/2', 4, 0)];
    const m = computeMetrics(trajs, noBoot);
    expect(m.maxK).toBe(4);
    expect(m.overall.metrics.avgAtK).toMatchObject({ num: 6, den: 12 });
    expect(m.overall.metrics.avgAtK?.value).toBeCloseTo(0.5, 12);
    const k2 = m.overall.passCurve[1];
    expect(k2?.passHat.value).toBeCloseTo((1 / 6 + 1 + 0) / 3, 12);
    expect(k2?.passAt.value).toBeCloseTo((5 / 6 + 1 + 0) / 3, 12);
    expect(k2?.passHat.den).toBe(3);
    expect(m.overall.metrics.mixedOutcomes).toMatchObject({ num: 1, den: 3 });
  });

  it('breaks success down per family and difficulty', () => {
    const trajs = [...trials('e/a/test/0', 2, 2, { difficulty: 1 }), ...trials('e/b/test/1', 2, 0, { difficulty: 3 })];
    const m = computeMetrics(trajs, noBoot);
    expect(m.breakdowns.family?.map((r) => [r.key, r.summary.metrics.avgAtK?.value])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
    expect(m.breakdowns.difficulty?.map((r) => r.key)).toEqual(['1', '3']);
    expect(m.breakdowns.budget).toBeUndefined();
  });

  it('keeps tasks under different thinking budgets apart and gives one budget point each', () => {
    const trajs = [
      ...trials('e/a/test/0', 2, 0, { budget: 0 }),
      ...trials('e/a/test/0', 2, 2, { budget: 256 }),
      ...trials('e/a/test/0', 2, 1, { budget: 64 }),
    ];
    const m = computeMetrics(trajs, noBoot);
    expect(m.overall.units).toBe(3);
    expect(m.breakdowns.budget?.map((r) => [r.key, r.summary.metrics.avgAtK?.value])).toEqual([
      ['0', 0],
      ['64', 0.5],
      ['256', 1],
    ]);
  });
});

describe('aborted episodes', () => {
  it('are excluded from every other metric and counted apart with their reasons', () => {
    const good = trials('e/a/test/0', 3, 3);
    const bad = episode({
      task: 'e/a/test/0',
      sample: 3,
      correct: false,
      ending: 'aborted',
      error: 'tool server crashed',
      turns: [turn({ failures: [fail('invalid_json')] })],
    });
    const m = computeMetrics([...good, bad], noBoot);
    expect(m.overall.metrics.avgAtK?.value).toBe(1);
    expect(m.overall.episodes).toBe(3);
    expect(m.overall.passCurve).toHaveLength(3);
    expect(m.overall.metrics.formatValidity?.value).toBe(1);
    expect(m.failureKinds.invalid_json).toBeUndefined();
    expect(m.aborted).toMatchObject({ episodes: 1, ofAll: 4, share: 0.25, reasons: { 'tool server crashed': 1 } });
  });
});

describe('endings', () => {
  it('counts context-length truncations as failures and shows every ending and reason with its share', () => {
    const good = trials('e/a/test/0', 2, 2);
    const full = episode({
      task: 'e/a/test/0',
      sample: 2,
      correct: false,
      ending: 'truncated',
      reason: 'context_length',
      turns: [turn({ raw: '<tool_call><tool_call>', finishReason: 'context_length' })],
    });
    const down = episode({
      task: 'e/a/test/0',
      sample: 3,
      correct: false,
      ending: 'aborted',
      reason: 'error: env: Error: closed',
    });
    const m = computeMetrics([...good, full, down], noBoot);
    // the truncated episode counts (a failure); the aborted one does not
    expect(m.overall.episodes).toBe(3);
    expect(m.overall.metrics.avgAtK).toMatchObject({ num: 2, den: 3 });
    expect(m.overall.metrics.contextLimit).toMatchObject({ num: 1, den: 3 });
    expect(m.endings.ofAll).toBe(4);
    expect(m.endings.byEnding).toEqual({
      terminated: { episodes: 2, share: 0.5 },
      truncated: { episodes: 1, share: 0.25 },
      aborted: { episodes: 1, share: 0.25 },
    });
    expect(m.endings.byReason).toEqual({
      answer: { ending: 'terminated', fault: 'policy', episodes: 2, share: 0.5 },
      context_length: { ending: 'truncated', fault: 'policy', episodes: 1, share: 0.25 },
      'error: env': { ending: 'aborted', fault: 'environment', episodes: 1, share: 0.25 },
    });
  });
});

describe('call validity', () => {
  it('splits call attempts into syntax-invalid, unknown name, schema-invalid and valid', () => {
    const t = turn({
      calls: [call('run_code', { code: '1' })],
      failures: [
        fail('invalid_json'),
        fail('unknown_tool'),
        fail('schema_missing_required', 'code'),
        fail('schema_unexpected_parameter', 'x'),
      ],
      raw: '<tool_call>a</tool_call><tool_call>b</tool_call><tool_call>c</tool_call><tool_call>d</tool_call>',
    });
    // Four blocks: one valid, one bad JSON, one unknown tool, and ONE call failing two schema fields.
    expect(classifyTurnCalls(t)).toEqual({ attempted: 4, syntaxInvalid: 1, unknownName: 1, schemaInvalid: 1, valid: 1 });
  });

  it('uses the call index on failures when the parser gives one', () => {
    const t = turn({
      failures: [
        { ...fail('schema_wrong_type', 'a'), call: 0 } as never,
        { ...fail('schema_wrong_value', 'b'), call: 1 } as never,
      ],
      raw: '<tool_call>x</tool_call><tool_call>y</tool_call>',
    });
    expect(classifyTurnCalls(t).schemaInvalid).toBe(2);
  });

  it('counts an unclosed tool_call as a failed attempt but an unclosed think as format only', () => {
    expect(
      classifyTurnCalls(turn({ failures: [fail('unclosed_tag')], raw: '<tool_call>\n{"name": "run_code"' })).syntaxInvalid,
    ).toBe(1);
    expect(classifyTurnCalls(turn({ failures: [fail('unclosed_tag')], raw: '<think>hmm' })).attempted).toBe(0);
  });

  it('computes name validity, schema compliance, execution success and the schema split', () => {
    const e = episode({
      turns: [
        turn({
          calls: [call('run_code', { code: '1' }), call('run_code', { code: '2' }, true)],
          failures: [fail('unknown_tool')],
        }),
        turn({ failures: [fail('schema_wrong_type', 'code')] }),
        turn({ answer: '3' }),
      ],
    });
    const m = computeMetrics([e], noBoot).overall.metrics;
    expect(m.toolNameValidity).toMatchObject({ num: 3, den: 4 });
    expect(m.schemaCompliance).toMatchObject({ num: 2, den: 3 });
    expect(m.executionSuccess).toMatchObject({ num: 1, den: 2 });
    expect(m.callValidity).toMatchObject({ num: 2, den: 4 });
    expect(m.formatValidity).toMatchObject({ num: 3, den: 3 });
    expect(computeMetrics([e], noBoot).schemaFailures).toEqual({
      missing_required: 0,
      unexpected_parameter: 0,
      wrong_type: 1,
      wrong_value: 0,
    });
  });
});

describe('recovery rate', () => {
  it('counts a failure followed by a valid, successful next call as recovered', () => {
    const e = episode({
      turns: [
        turn({ failures: [fail('invalid_json')] }),
        turn({ answer: 'thinking aloud' }),
        turn({ calls: [call('run_code', { code: 'x' })] }),
        turn({ answer: '1' }),
      ],
    });
    expect(computeMetrics([e], noBoot).overall.metrics.recovery).toMatchObject({ num: 1, den: 1 });
  });

  it('counts a failure followed by another failure as not recovered, and that failure as a new opportunity', () => {
    const e = episode({
      turns: [
        turn({ calls: [call('run_code', { code: 'x' }, true)] }),
        turn({ calls: [call('run_code', { code: 'y' }, true)] }),
        turn({ calls: [call('run_code', { code: 'z' })] }),
        turn({ answer: '1' }),
      ],
    });
    expect(computeMetrics([e], noBoot).overall.metrics.recovery).toMatchObject({ num: 1, den: 2 });
  });

  it('has no opportunity when the episode ends without another call', () => {
    const e = episode({ turns: [turn({ failures: [fail('unknown_tool')] }), turn({ answer: '1' })] });
    const r = computeMetrics([e], noBoot).overall.metrics.recovery;
    expect(r?.den).toBe(0);
    expect(r?.value).toBeNaN();
  });

  it('does not count a retry that mixes a valid call with an invalid one as recovered', () => {
    const e = episode({
      turns: [
        turn({ failures: [fail('invalid_json')] }),
        turn({ calls: [call('run_code', { code: 'x' })], failures: [fail('invalid_json')] }),
      ],
    });
    expect(computeMetrics([e], noBoot).overall.metrics.recovery).toMatchObject({ num: 0, den: 1 });
  });
});

describe('mode compliance', () => {
  it('wants an empty think block under /no_think and a non-empty one under /think', () => {
    expect(turnFollowsMode(turn({ mode: 'no_think', thinking: '' }))).toBe(true);
    expect(turnFollowsMode(turn({ mode: 'no_think' }))).toBe(true);
    expect(turnFollowsMode(turn({ mode: 'no_think', thinking: 'let me think' }))).toBe(false);
    expect(turnFollowsMode(turn({ mode: 'think', thinking: 'let me think' }))).toBe(true);
    expect(turnFollowsMode(turn({ mode: 'think', thinking: '  \n' }))).toBe(false);
    expect(turnFollowsMode(turn({ mode: 'think', thinking: '', budgetHit: true }))).toBe(true);
  });

  it('follows the latest flag after a mid-dialogue switch', () => {
    const e = episode({
      mode: 'mixed',
      turns: [
        turn({ mode: 'think', thinking: 'plan', calls: [call('run_code', { code: '1' })] }),
        // switched to /no_think but still thinks: non-compliant
        turn({ mode: 'no_think', thinking: 'still thinking', calls: [call('run_code', { code: '2' })] }),
        // switched back to /think and thinks: compliant
        turn({ mode: 'think', thinking: 'ok', answer: '1' }),
      ],
    });
    const m = computeMetrics([e], noBoot).overall.metrics;
    expect(m.modeCompliance).toMatchObject({ num: 2, den: 3 });
    expect(m.switchCompliance).toMatchObject({ num: 1, den: 2 });
    expect(m.thinkCompliance).toMatchObject({ num: 2, den: 2 });
    expect(m.noThinkCompliance).toMatchObject({ num: 0, den: 1 });
  });
});

describe('termination health and efficiency', () => {
  it('counts turn-limit and token-limit truncations, empty turns and cut turns', () => {
    const trajs = [
      episode({ ending: 'truncated', reason: 'max_turns', correct: false }),
      episode({
        ending: 'truncated',
        reason: 'max_tokens',
        correct: false,
        turns: [turn({ raw: '', failures: [fail('empty_turn')] }), turn({ finishReason: 'length', raw: 'abc' })],
      }),
      episode({}),
      episode({}),
    ];
    const m = computeMetrics(trajs, noBoot).overall.metrics;
    expect(m.turnLimit).toMatchObject({ num: 1, den: 4 });
    expect(m.tokenLimit).toMatchObject({ num: 1, den: 4 });
    expect(m.answered).toMatchObject({ num: 2, den: 4 });
    expect(m.emptyTurns).toMatchObject({ num: 1, den: 5 });
    expect(m.lengthTurns).toMatchObject({ num: 1, den: 5 });
    expect(m.formatValidity).toMatchObject({ num: 4, den: 5 });
  });

  it('finds redundant identical calls whatever the key order of their arguments', () => {
    const e = episode({
      turns: [
        turn({ calls: [call('f', { a: 1, b: [1, { c: 2, d: 3 }] }), call('f', { a: 2 })] }),
        turn({ calls: [call('f', { b: [1, { d: 3, c: 2 }], a: 1 })] }),
        turn({ answer: '1', completionTokens: 4 }),
      ],
    });
    const m = computeMetrics([e], noBoot).overall.metrics;
    expect(m.redundantCalls).toMatchObject({ num: 1, den: 3 });
    expect(m.callsPerEpisode?.value).toBe(3);
    expect(m.turnsPerEpisode?.value).toBe(3);
    expect(m.tokensPerEpisode?.value).toBe(24);
  });
});

describe('bootstrap intervals', () => {
  it('bracket the estimate, are reproducible for a seed and shrink with more tasks', () => {
    const small = Array.from({ length: 10 }, (_, i) => trials(`e/a/test/${i}`, 4, i % 4)).flat();
    const big = Array.from({ length: 400 }, (_, i) => trials(`e/a/test/${i}`, 4, i % 4)).flat();
    const a = computeMetrics(small, { bootstrap: { samples: 500, seed: 7 } }).overall.metrics.avgAtK;
    const b = computeMetrics(small, { bootstrap: { samples: 500, seed: 7 } }).overall.metrics.avgAtK;
    const c = computeMetrics(big, { bootstrap: { samples: 500, seed: 7 } }).overall.metrics.avgAtK;
    expect(a).toEqual(b);
    expect(a?.lo).toBeLessThanOrEqual(a?.value as number);
    expect(a?.hi).toBeGreaterThanOrEqual(a?.value as number);
    expect((c?.hi as number) - (c?.lo as number)).toBeLessThan(((a?.hi as number) - (a?.lo as number)) / 3);
    const d = computeMetrics(small, { bootstrap: { samples: 500, seed: 8 } }).overall.metrics.avgAtK;
    expect(d).not.toEqual(a);
  });

  it('gives a zero-width interval when every task has the same outcome', () => {
    const all = Array.from({ length: 20 }, (_, i) => trials(`e/a/test/${i}`, 2, 2)).flat();
    expect(computeMetrics(all, { bootstrap: { samples: 200, seed: 1 } }).overall.metrics.avgAtK).toMatchObject({
      value: 1,
      lo: 1,
      hi: 1,
    });
  });
});

describe('with the real parser', () => {
  it('counts a call failing two syntax checks as one invalid call attempt', () => {
    const raw =
      '<tool_call>\n{"arguments": 3}\n</tool_call>\n<tool_call>\n{"name": "run_code", "arguments": {"code": "1"}}\n</tool_call>';
    const parsed = parseAssistant(raw, [
      {
        type: 'function',
        function: {
          name: 'run_code',
          description: 'run',
          parameters: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
        },
      },
    ]);
    expect(parsed.failures.map((f) => f.kind).sort()).toEqual(['missing_name', 'non_object_arguments']);
    const t = turn({ raw, calls: [call('run_code', { code: '1' })], failures: parsed.failures });
    expect(classifyTurnCalls(t)).toEqual({ attempted: 2, syntaxInvalid: 1, unknownName: 0, schemaInvalid: 0, valid: 1 });
  });

  it('counts one call with two schema failures once', () => {
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'f',
          description: 'f',
          parameters: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false },
        },
      },
    ];
    const raw = '<tool_call>\n{"name": "f", "arguments": {"b": 1}}\n</tool_call>';
    const parsed = parseAssistant(raw, tools);
    expect(parsed.failures.length).toBeGreaterThanOrEqual(2);
    expect(classifyTurnCalls(turn({ raw, failures: parsed.failures }))).toMatchObject({
      attempted: 1,
      schemaInvalid: 1,
      valid: 0,
    });
  });
});

describe('bootstrap work cap', () => {
  it('keeps the requested resamples for ordinary runs and lowers them, not below 200, for huge ones', () => {
    const opts = { samples: 1000, seed: 0, confidence: 0.95 };
    expect(effectiveSamples(opts, 500, 40)).toBe(1000);
    expect(effectiveSamples(opts, 25_000, 40)).toBe(250);
    expect(effectiveSamples(opts, 10_000_000, 40)).toBe(200);
    expect(effectiveSamples({ ...opts, samples: 0 }, 500, 40)).toBe(0);
  });
});

describe('order of episodes', () => {
  it('does not change any metric or interval', () => {
    const trajs = Array.from({ length: 30 }, (_, i) => trials(`e/${i % 3 ? 'a' : 'b'}/test/${i}`, 3, i % 4)).flat();
    const shuffled = [...trajs].reverse();
    expect(computeMetrics(shuffled, { bootstrap: { samples: 300, seed: 2 } })).toEqual(
      computeMetrics(trajs, { bootstrap: { samples: 300, seed: 2 } }),
    );
  });
});

describe('per-mode breakdown', () => {
  it('splits the episodes of a mixed-mode run by mode, even within one task', () => {
    const trajs = [
      ...trials('e/a/test/0', 2, 2, { mode: 'think' }).map((t, i) => ({ ...t, ids: { ...t.ids, sample: i } })),
      ...trials('e/a/test/0', 2, 0, { mode: 'no_think' }).map((t, i) => ({ ...t, ids: { ...t.ids, sample: i + 2 } })),
    ];
    const rows = computeMetrics(trajs, noBoot).breakdowns.mode;
    expect(rows?.map((r) => [r.key, r.summary.episodes, r.summary.metrics.avgAtK?.value])).toEqual([
      ['no_think', 2, 0],
      ['think', 2, 1],
    ]);
  });
});
