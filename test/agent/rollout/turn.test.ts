import { describe, expect, it } from 'vitest';
import { afterThink, assistantMessage, failureObservation, mapLimit, observationMessages } from '../../../agent/rollout/turn.js';

describe('turn helpers', () => {
  it('runs at most `limit` calls at once and keeps results in call order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2], 2, async (ms, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });

  it('keeps a malformed turn verbatim (after its thoughts) and drops its calls from the history', () => {
    const raw = '<think>\nhmm\n</think>\n\n<tool_call>\n{"name": "add", "arguments": {"a": 1}\n</tool_call>';
    const msg = assistantMessage(
      { thinking: 'hmm', content: '', calls: [], failures: [{ kind: 'invalid_json', message: 'x' }] },
      raw,
    );
    expect(msg).toEqual({
      role: 'assistant',
      content: '<tool_call>\n{"name": "add", "arguments": {"a": 1}\n</tool_call>',
      reasoning_content: 'hmm',
    });
    expect(afterThink('no think')).toBe('no think');
  });

  it('tells the policy what failed and how a valid call looks', () => {
    const text = failureObservation([{ kind: 'schema_wrong_type', message: 'a must be an integer', field: 'a' }]);
    expect(text).toMatch(/^Error: your last turn could not be executed \(1 problem\)/);
    expect(text).toMatch(/schema_wrong_type \(a\): a must be an integer/);
    expect(text).toMatch(/<tool_call>/);
    const msgs = observationMessages(
      [{ name: 'add', arguments: {}, result: '3', isError: false, latencyMs: 1 }],
      [{ kind: 'unknown_tool', message: 'no' }],
    );
    expect(msgs.map((m) => [m.role, m.name])).toEqual([
      ['tool', 'add'],
      ['tool', 'error'],
    ]);
  });
});
