import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkEnv } from '../../../envs/core/check.js';
import { defineToolEnv, type EnvDefinition, type Environment, type ToolSpec, textResult } from '../../../envs/core/index.js';
import { arithEnv, sum3 } from '../../fixtures/arith-env.js';
import { describeConformance } from '../conformance.js';

describeConformance(arithEnv);

/** A variant of the fixture with one thing broken. */
function variant(patch: Partial<Parameters<typeof defineToolEnv<{ calls: number }>>[0]>): EnvDefinition {
  return defineToolEnv<{ calls: number }>({
    id: 'arith',
    version: '1.0.0',
    description: 'broken fixture',
    families: [sum3],
    tools: arithEnv.tools as ToolSpec<{ calls: number }, any>[],
    systemPrompt: 'Add.',
    createEpisode: () => ({ calls: 0 }),
    ...patch,
  });
}

function failed(report: Awaited<ReturnType<typeof checkEnv>>): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.name);
}

describe('checkEnv', () => {
  it('passes every check on the honest fixture environment', async () => {
    const report = await checkEnv(arithEnv);
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toContain('close-twice');
  });

  it('flags a tool field without a description', async () => {
    const bad: ToolSpec<{ calls: number }, any> = {
      name: 'add',
      description: 'Add.',
      inputSchema: { a: z.number(), b: z.number().describe('second') },
      handler: async ({ a, b }: { a: number; b: number }) => textResult(String(a + b)),
    };
    const report = await checkEnv(variant({ tools: [bad] }));
    expect(failed(report)).toContain('tool-schemas');
    expect(report.checks.find((c) => c.name === 'tool-schemas')?.message).toMatch(/field "a"/);
  });

  it('flags tool results that differ between two runs of the same task', async () => {
    let counter = 0;
    const drifting: ToolSpec<{ calls: number }, any> = {
      ...(arithEnv.tools[0] as ToolSpec<{ calls: number }, any>),
      handler: async ({ a, b }: { a: number; b: number }) => textResult(`${a + b} (call ${counter++})`),
    };
    expect(failed(await checkEnv(variant({ tools: [drifting] })))).toContain('tool-results-deterministic');
  });

  it('flags a system prompt that leaks the reference answer', async () => {
    const leaky = variant({ systemPrompt: (t) => `Hint: ${sum3.generate(t.split, Number(t.id.split('/').pop())).reference}` });
    expect(failed(await checkEnv(leaky))).toContain('reference-hidden');
  });

  it('flags an environment whose step throws on an unknown tool and whose close throws the second time', async () => {
    const def: EnvDefinition = {
      ...arithEnv,
      id: 'arith-throws',
      create() {
        const inner = arithEnv.create();
        let closed = 0;
        const env: Environment = {
          id: 'arith-throws',
          version: inner.version,
          tools: inner.tools,
          reset: (o) => inner.reset(o),
          step: async (a, s) => {
            if (a.kind === 'tool_calls' && a.calls.some((c) => c.name !== 'add')) throw new Error('no such tool');
            return inner.step(a, s);
          },
          close: async () => {
            if (closed++ > 0) throw new Error('already closed');
          },
        };
        return env;
      },
    };
    const f = failed(await checkEnv(def));
    expect(f).toContain('invalid-actions');
    expect(f).toContain('close-twice');
  });

  it('flags a verifier that accepts any answer', async () => {
    const lenient = { ...sum3, verify: async () => ({ reward: 1, components: { correct: 1 }, correct: true }) };
    expect(failed(await checkEnv(variant({ families: [lenient] })))).toEqual(['wrong-answer']);
  });

  it('flags train and test splits that share prompts', async () => {
    const same = {
      ...sum3,
      generate: (split: 'train' | 'test', i: number) => ({ ...sum3.generate('train', i), id: `arith/sum3/${split}/${i}`, split }),
    };
    expect(failed(await checkEnv(variant({ families: [same] })))).toContain('splits-disjoint');
  });
});

describe('checkEnv on the built-in code-interp environment', () => {
  it('passes every conformance check', { timeout: 120_000 }, async () => {
    const { codeInterpEnv } = await import('../../../envs/code-interp/index.js');
    const report = await checkEnv(codeInterpEnv);
    expect(report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.message}`)).toEqual([]);
    expect(report.checks.find((c) => c.name === 'tool-results-deterministic')?.skipped).toBeUndefined();
  });
});
