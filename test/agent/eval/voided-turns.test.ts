import { describe, expect, it } from 'vitest';
import { classifyTurnCalls, computeMetrics } from '../../../agent/eval/index.js';
import { parseAssistant } from '../../../agent/format/index.js';
import { episode, turn } from './fixtures.js';

const noBoot = { bootstrap: { samples: 0 } };
const good = '<tool_call>\n{"name": "run_code", "arguments": {"code": "1"}}\n</tool_call>';

/** The turn the loop records for `raw`: the parser's failures, no call run when it returned none. */
function recorded(raw: string, maxChars?: number) {
  const parsed = parseAssistant(raw, undefined, { maxChars });
  expect(parsed.calls).toEqual([]);
  return turn({ raw, failures: parsed.failures });
}

describe('evaluator: turns the parser voids', () => {
  it('counts a nested call as a format failure and one syntax-invalid call attempt', () => {
    const t = recorded(`<tool_call>\n{"name": "run_code", ${good}`);
    expect(classifyTurnCalls(t)).toEqual({ attempted: 1, syntaxInvalid: 1, unknownName: 0, schemaInvalid: 0, valid: 0 });
    const m = computeMetrics([episode({ turns: [t, turn({ answer: '1' })] })], noBoot).overall.metrics;
    expect(m.formatValidity).toMatchObject({ num: 1, den: 2 });
    expect(m.callValidity).toMatchObject({ num: 0, den: 1 });
  });

  it('counts an oversized turn as a format failure with no call attempt', () => {
    const t = recorded(`${good}\n${'x'.repeat(100)}`, 50);
    expect(classifyTurnCalls(t).attempted).toBe(0);
    const m = computeMetrics([episode({ turns: [t, turn({ answer: '1' })] })], noBoot);
    expect(m.overall.metrics.formatValidity).toMatchObject({ num: 1, den: 2 });
    expect(m.failureKinds).toMatchObject({ oversized_turn: 1 });
  });
});
