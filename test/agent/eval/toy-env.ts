/**
 * A two-family environment for the evaluator's tests: `toy.add` and `toy.mul` through one `calc`
 * tool, solved by the scripted oracle in one call and one answer.
 */
import { z } from 'zod';
import type { EnvDefinition, Task, TaskFamily } from '../../../envs/core/index.js';
import { defineToolEnv, textResult } from '../../../envs/core/index.js';

interface Ref {
  a: number;
  b: number;
}

function family(name: 'toy.add' | 'toy.mul', op: 'add' | 'mul'): TaskFamily<Ref> {
  const apply = (r: Ref) => (op === 'add' ? r.a + r.b : r.a * r.b);
  return {
    name,
    description: `${op} two integers with the calc tool`,
    splitSizes: { train: 50, test: 30 },
    generate(split, index): Task<Ref> {
      const a = (index * 7 + (split === 'test' ? 31 : 0)) % 41;
      const b = (index * 13 + 5) % 37;
      return {
        id: `toy/${name}/${split}/${index}`,
        family: name,
        split,
        difficulty: op === 'add' ? 1 : 2,
        prompt: `Compute ${a} ${op} ${b} with calc, then answer with the number.`,
        seed: index,
        reference: { a, b },
      };
    },
    async verify(task, answer) {
      const ok = answer.trim() === String(apply(task.reference));
      return { reward: ok ? 1 : 0, components: { correct: ok ? 1 : 0 }, correct: ok };
    },
    oracle(task, history) {
      if (history.length === 0)
        return {
          kind: 'tool_calls',
          calls: [{ name: 'calc', arguments: { op, a: task.reference.a, b: task.reference.b } }],
          thought: 'use calc',
        };
      return { kind: 'answer', answer: history[history.length - 1]?.result.content[0]?.text ?? '', thought: 'done' };
    },
  };
}

export const toyEnv: EnvDefinition = defineToolEnv<Record<string, never>>({
  id: 'toy',
  version: '0.1.0',
  description: 'evaluator test fixture: arithmetic through one tool',
  families: [family('toy.add', 'add'), family('toy.mul', 'mul')],
  systemPrompt: 'Use the calc tool, then answer.',
  createEpisode: () => ({}),
  tools: [
    {
      name: 'calc',
      description: 'Apply an arithmetic operation to two integers.',
      inputSchema: {
        op: z.enum(['add', 'mul']).describe('operation'),
        a: z.number().int().describe('left operand'),
        b: z.number().int().describe('right operand'),
      },
      handler: async (args: { op: 'add' | 'mul'; a: number; b: number }) =>
        textResult(String(args.op === 'add' ? args.a + args.b : args.a * args.b)),
    },
  ],
});
