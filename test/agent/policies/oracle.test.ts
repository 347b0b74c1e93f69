import { describe, expect, it } from 'vitest';
import { parseAssistant } from '../../../agent/format/index.js';
import {
  breakJson,
  createPolicy,
  faultFor,
  OracleNeedsEnvError,
  OraclePolicy,
  parseOracleSpec,
  policyPrefixes,
  registerPolicyFactory,
  UnknownPolicyError,
  unknownToolName,
  wrongAnswer,
  wrongTypeCall,
} from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import type { GenerateRequest, Policy } from '../../../agent/types.js';
import type { OracleObservation } from '../../../envs/core/index.js';
import { arithEnv } from '../fixtures/arith-env.js';

const TASK = 'arith/arith.add/train/3';

function req(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    messages: [],
    tools: [],
    maxTokens: 100,
    enableThinking: false,
    seed: 1,
    turn: 0,
    episode: { taskId: TASK, envId: 'arith', sample: 0 },
    signal: new AbortController().signal,
    ...over,
  };
}

describe('policy specs', () => {
  it('builds policies from spec strings and names the known prefixes for an unknown one', async () => {
    expect(await createPolicy('oracle', { env: arithEnv })).toBeInstanceOf(OraclePolicy);
    expect((await createPolicy('oracle:err=0.2,seed=5', { env: arithEnv })).spec).toBe('oracle:err=0.2,seed=5');
    await expect(createPolicy('nope:x')).rejects.toThrow(UnknownPolicyError);
    await expect(createPolicy('nope:x')).rejects.toThrow(/openai:.*oracle:.*replay:/);
  });

  it('lets another part register a prefix (as the trainer does for builtin:)', async () => {
    const made: Policy = { spec: 'fake:ckpt', generate: async () => ({ text: 'x', finishReason: 'stop' }) };
    registerPolicyFactory('fake', (rest) => ({ ...made, spec: `fake:${rest}` }));
    expect(policyPrefixes()).toContain('fake');
    expect((await createPolicy('fake:ckpt/a')).spec).toBe('fake:ckpt/a');
  });

  it('refuses an oracle without an env definition to look tasks up in', async () => {
    await expect(createPolicy('oracle')).rejects.toThrow(OracleNeedsEnvError);
  });

  it('parses error rates: err splits over the call faults and sets the wrong-answer rate', () => {
    const o = parseOracleSpec('err=0.3,seed=9');
    expect(o.seed).toBe(9);
    expect(o.rates?.json).toBeCloseTo(0.1);
    expect(o.rates?.type).toBeCloseTo(0.1);
    expect(o.rates?.tool).toBeCloseTo(0.1);
    expect(o.rates?.answer).toBeCloseTo(0.3);
    expect(parseOracleSpec('err=0.3,json=0.5').rates?.json).toBe(0.5);
    expect(() => parseOracleSpec('err=2')).toThrow(/\[0, 1\]/);
    expect(() => parseOracleSpec('typo=1')).toThrow(/unknown oracle option/);
  });
});

describe('the oracle policy', () => {
  it('renders a reasoning trace in /think mode and none in /no_think mode', async () => {
    const p = new OraclePolicy(arithEnv);
    const think = await p.generate(req({ enableThinking: true }));
    const plain = await p.generate(req());
    const a = parseAssistant(think.text);
    expect(a.thinking).toMatch(/add/);
    expect(a.calls).toEqual([{ name: 'add', arguments: { a: 21, b: 44 } }]);
    expect(plain.text.startsWith('<tool_call>')).toBe(true);
    expect(parseAssistant(plain.text).thinking).toBeUndefined();
  });

  it('answers from the tool results once it has them', async () => {
    const out = await new OraclePolicy(arithEnv).generate(
      req({ history: [{ name: 'add', arguments: { a: 21, b: 44 }, result: '65', isError: false, latencyMs: 1 }] }),
    );
    expect(parseAssistant(out.text).content).toBe('65');
  });

  it("hands the family oracle each result's structuredContent as well as its text", async () => {
    const seen: unknown[] = [];
    const family = {
      ...arithEnv.families[0],
      oracle: (_task: unknown, history: readonly OracleObservation[]) => {
        seen.push(history.map((h) => h.result.structuredContent));
        return { kind: 'answer' as const, answer: String(history[0]?.result.structuredContent?.sum ?? 'none') };
      },
    };
    const env = { getTask: arithEnv.getTask, families: [family] };
    const out = await new OraclePolicy(env).generate(
      req({
        history: [
          {
            name: 'add',
            arguments: { a: 21, b: 44 },
            result: 'done',
            isError: false,
            structuredContent: { sum: 65 },
            latencyMs: 1,
          },
        ],
      }),
    );
    expect(parseAssistant(out.text).content).toBe('65');
    expect(seen).toEqual([[{ sum: 65 }]]);
  });

  it('draws faults at their configured rates, the same way for the same seed', () => {
    const rates = { json: 0.1, type: 0.2, tool: 0.05 };
    const counts: Record<string, number> = { json: 0, type: 0, tool: 0, none: 0 };
    for (let i = 0; i < 4000; i++) counts[faultFor(rates, i, 0, 'tool_calls') ?? 'none']++;
    expect(counts.json / 4000).toBeGreaterThan(0.08);
    expect(counts.json / 4000).toBeLessThan(0.12);
    expect(counts.type / 4000).toBeGreaterThan(0.17);
    expect(counts.type / 4000).toBeLessThan(0.23);
    expect(counts.tool / 4000).toBeGreaterThan(0.035);
    expect(counts.tool / 4000).toBeLessThan(0.065);
    expect(faultFor(rates, 77, 3, 'tool_calls')).toBe(faultFor(rates, 77, 3, 'tool_calls'));
    expect(faultFor({ answer: 1 }, 1, 0, 'tool_calls')).toBeUndefined();
    expect(faultFor({ answer: 1 }, 1, 0, 'answer')).toBe('answer');
  });

  it('makes each kind of mistake the parser recognises', () => {
    const call = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>';
    const tools = arithEnv.tools.map((t) => ({
      type: 'function' as const,
      function: {
        name: t.name,
        description: t.description,
        parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] },
      },
    }));
    expect(parseAssistant(breakJson(call), tools).failures.map((f) => f.kind)).toEqual(['invalid_json']);
    expect(wrongTypeCall({ name: 'add', arguments: { a: 1, b: 2 } })).toEqual({ name: 'add', arguments: { a: '1', b: 2 } });
    expect(wrongTypeCall({ name: 'run_code', arguments: { code: 'x' } })).toEqual({ name: 'run_code', arguments: { code: 1 } });
    expect(unknownToolName('run_code')).toBe('runcode');
    expect(unknownToolName('add')).toBe('adds');
    expect(wrongAnswer('65')).toBe('66');
    expect(wrongAnswer('123456789012345678901234567890')).toBe('123456789012345678901234567891');
    expect(wrongAnswer('abc')).toBe('cba');
    expect(wrongAnswer('aa')).toBe('aa?');
  });

  it('recovers after a malformed turn even at a fault rate of 1', async () => {
    const t = await runEpisode({ env: arithEnv, policy: await createPolicy('oracle:json=1', { env: arithEnv }), taskId: TASK });
    expect(t.turns.map((x) => x.failures.map((f) => f.kind))).toEqual([['invalid_json'], [], []]);
    expect(t.correct).toBe(true);
  });

  it('gives a wrong answer at answer=1 and the episode scores 0', async () => {
    const t = await runEpisode({ env: arithEnv, policy: await createPolicy('oracle:answer=1', { env: arithEnv }), taskId: TASK });
    expect(t.turns.at(-1)?.answer).toBe('66');
    expect(t.correct).toBe(false);
    expect(t.reward).toBe(0);
  });

  it('spends its thinking in two parts when the budget is shorter than its trace', async () => {
    const t = await runEpisode({
      env: arithEnv,
      policy: new OraclePolicy(arithEnv),
      taskId: TASK,
      mode: 'think',
      limits: { thinkingBudget: 5 },
    });
    expect(t.turns.every((x) => x.budgetHit)).toBe(true);
    expect(t.correct).toBe(true);
  });
});
