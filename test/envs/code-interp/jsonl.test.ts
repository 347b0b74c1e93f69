import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCodeInterpEnv, JsonlTaskError, jsonlFamily } from '../../../envs/code-interp/index.js';
import type { OracleObservation, Task } from '../../../envs/core/index.js';

const dir = mkdtempSync(join(tmpdir(), 'toolgym-jsonl-'));
function file(name: string, lines: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return p;
}

const GOOD = [
  { prompt: 'What is 2 + 2?', answer: '4', split: 'train' },
  { prompt: 'Name the capital of France.', answer: 'Paris', ignoreCase: true, split: 'test' },
  {
    prompt: 'Write function double(x).',
    tests: [{ call: 'double(2)', expected: 4 }, { assert: 'double(0) === 0' }],
    solution: 'function double(x) { return 2 * x }',
    split: 'test',
  },
];

describe('jsonlFamily', () => {
  it('loads answer and test tasks into the splits they name', () => {
    const fam = jsonlFamily(file('mine.jsonl', GOOD));
    expect(fam.name).toBe('jsonl.mine');
    expect(fam.splitSizes).toEqual({ train: 1, test: 2 });
    expect(fam.generate('test', 1).prompt).toBe('Write function double(x).');
    expect(fam.generate('train', 0).id).toBe('code-interp/jsonl.mine/train/0');
  });

  it('verifies exact answers (case-insensitive when asked) and hidden tests', async () => {
    const fam = jsonlFamily(file('v.jsonl', GOOD));
    expect((await fam.verify(fam.generate('train', 0), ' 4 ')).reward).toBe(1);
    expect((await fam.verify(fam.generate('train', 0), '5')).reward).toBe(0);
    expect((await fam.verify(fam.generate('test', 0), 'PARIS')).reward).toBe(1);
    expect((await fam.verify(fam.generate('test', 1), 'function double(x) { return x + x }')).reward).toBe(1);
    expect((await fam.verify(fam.generate('test', 1), 'function double(x) { return x === 2 ? 4 : 1 }')).reward).toBe(0.5);
  });

  it('lets its oracle solve every task through the environment', async () => {
    const def = createCodeInterpEnv({ jsonl: [file('play.jsonl', GOOD)], onlyJsonl: true });
    const env = def.create();
    try {
      for (const split of ['train', 'test'] as const) {
        const fam = def.families[0];
        for (let i = 0; i < fam.splitSizes[split]; i++) {
          const task = fam.generate(split, i) as Task;
          await env.reset({ taskId: task.id });
          const history: OracleObservation[] = [];
          let act = fam.oracle(task, history);
          while (act.kind === 'tool_calls') {
            const r = await env.step({ kind: 'tool_calls', calls: act.calls });
            history.push({ call: act.calls[0], result: r.observation.toolResults![0] });
            act = fam.oracle(task, history);
          }
          const end = await env.step({ kind: 'answer', answer: act.answer });
          expect({ id: task.id, reward: end.reward }).toEqual({ id: task.id, reward: 1 });
        }
      }
    } finally {
      await env.close();
    }
  });

  it('names the file and line of a malformed line', () => {
    const bad = file('bad.jsonl', [GOOD[0], '{"prompt": "x", "answer": 1', GOOD[1]]);
    expect(() => jsonlFamily(bad)).toThrow(JsonlTaskError);
    expect(() => jsonlFamily(bad)).toThrow(/bad\.jsonl:2: not valid JSON/);
    const neither = file('neither.jsonl', [{ prompt: 'no answer' }]);
    expect(() => jsonlFamily(neither)).toThrow(/neither\.jsonl:1: give exactly one of "answer" or "tests"/);
    const typo = file('typo.jsonl', [{ prompt: 'p', answer: '1', answr: '2' }]);
    expect(() => jsonlFamily(typo)).toThrow(/typo\.jsonl:1:/);
    expect(() => jsonlFamily(join(dir, 'missing.jsonl'))).toThrow(/cannot read task file/);
  });
});
