/**
 * code-interp-py: the Python environment's families, oracle, verifier and JSONL Python lines, and
 * the promise that the JavaScript environment's tool (and so its prompt) did not change.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgramRef } from '../../../envs/code-interp/index.js';
import {
  bigintPyFamily,
  codeInterpEnv,
  codeInterpPyEnv,
  createCodeInterpEnv,
  createCodeInterpPyEnv,
  JsonlTaskError,
  numtheoryPyFamily,
  programPyFamily,
  pyLiteral,
  RUN_CODE_DESCRIPTION,
} from '../../../envs/code-interp/index.js';
import type { EnvDefinition, OracleObservation, Task } from '../../../envs/core/index.js';

const dir = mkdtempSync(join(tmpdir(), 'toolgym-py-env-'));
function file(name: string, lines: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => JSON.stringify(l)).join('\n'));
  return p;
}

/** Plays the family's oracle through the environment; returns the final reward. */
async function play(def: EnvDefinition, task: Task): Promise<number> {
  const env = def.create();
  try {
    await env.reset({ taskId: task.id });
    const fam = def.families.find((f) => f.name === task.family);
    if (!fam) throw new Error(`no family ${task.family}`);
    const history: OracleObservation[] = [];
    let act = fam.oracle(task, history);
    while (act.kind === 'tool_calls') {
      const r = await env.step({ kind: 'tool_calls', calls: act.calls });
      history.push({ call: act.calls[0], result: r.observation.toolResults![0] });
      act = fam.oracle(task, history);
    }
    return (await env.step({ kind: 'answer', answer: act.answer })).reward;
  } finally {
    await env.close();
  }
}

// Cases that verify or play start interpreters: seconds of CPU each, more on a busy machine.
describe('code-interp-py', { timeout: 180_000 }, () => {
  it('leaves the JavaScript environment tool, and so its prompts and token ids, as they were', () => {
    const tool = codeInterpEnv.tools[0];
    expect(tool.name).toBe('run_code');
    expect(Object.keys(tool.inputSchema)).toEqual(['code']);
    expect(tool.description).toBe(RUN_CODE_DESCRIPTION);
    expect(codeInterpPyEnv.tools.map((t) => t.name)).toEqual(['run_python']);
    expect(codeInterpPyEnv.tools[0].description).toMatch(/Only the standard library is installed/);
  });

  it('asks the same compute questions as the JavaScript families, under its own task ids', () => {
    const js = createCodeInterpEnv().families.find((f) => f.name === 'compute.bigint');
    const a = bigintPyFamily.generate('train', 7);
    const b = js?.generate('train', 7);
    expect(a.prompt).toBe(b?.prompt);
    expect(a.id).toBe('code-interp-py/compute.bigint/train/7');
    expect((a.reference as { program: string }).program).toMatch(/print\(/);
  });

  it('solves compute and program tasks of every level with its oracle through run_python', async () => {
    const tasks = [
      ...[0, 1, 2, 3, 4].map((i) => bigintPyFamily.generate('train', i)),
      ...[0, 1, 2, 3, 4].map((i) => numtheoryPyFamily.generate('train', i)),
      ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => programPyFamily.generate('test', i)),
    ];
    const failures: string[] = [];
    for (const t of tasks) {
      const reward = await play(codeInterpPyEnv, t as Task);
      if (reward !== 1) failures.push(`${t.id}: ${reward}`);
    }
    expect(failures).toEqual([]);
  });

  it('rewards a program by the share of hidden tests it passes in a fresh interpreter', async () => {
    const task = programPyFamily.generate('train', 0) as Task<ProgramRef>;
    const ok = await programPyFamily.verify(task, `\`\`\`python\n${task.reference.solution}\n\`\`\``);
    expect(ok).toMatchObject({ reward: 1, correct: true });
    const wrong = await programPyFamily.verify(task, `def ${task.reference.fn}(*a):\n    return 0`);
    expect(wrong.correct).toBe(false);
    expect(wrong.reward).toBeLessThan(1);
    const js = await programPyFamily.verify(task, `function ${task.reference.fn}(x) { return x; }`);
    expect(js).toMatchObject({ reward: 0, correct: false });
    expect(js.detail).toMatch(/did not load \(SyntaxError/);
  });

  it('writes hidden-test arguments as Python literals', () => {
    expect(pyLiteral([true, null, 'a"b', 1.5, { k: [false] }])).toBe('[True, None, "a\\"b", 1.5, {"k": [False]}]');
  });
});

describe('JSONL tasks with language "python"', { timeout: 180_000 }, () => {
  const lines = [
    { language: 'python', prompt: 'What is 2 ** 10?', answer: '1024', split: 'train' },
    {
      language: 'python',
      prompt: 'Write cube(x).',
      tests: [{ call: 'cube(3)', expected: 27 }, { assert: 'cube(-1) == -1' }],
      solution: 'def cube(x):\n    return x ** 3',
      split: 'test',
    },
    { prompt: 'Write double(x).', tests: [{ call: 'double(2)', expected: 4 }], solution: 'function double(x) { return 2 * x }' },
  ];

  it('go to the Python environment, and the JavaScript lines of the same file to code-interp', () => {
    const path = file('mixed.jsonl', lines);
    const py = createCodeInterpPyEnv({ jsonl: [path], onlyJsonl: true }).families[0];
    expect(py.splitSizes).toEqual({ train: 1, test: 1 });
    expect(py.generate('test', 0).id).toBe('code-interp-py/jsonl.mixed/test/0');
    const js = createCodeInterpEnv({ jsonl: [path], onlyJsonl: true }).families[0];
    expect(js.splitSizes.train + js.splitSizes.test).toBe(2);
    expect(js.generate('train', 0).prompt).toBe('Write double(x).');
  });

  it('are verified in Python and solved by the oracle', async () => {
    const def = createCodeInterpPyEnv({ jsonl: [file('py.jsonl', lines)], onlyJsonl: true });
    const fam = def.families[0];
    const code = fam.generate('test', 0);
    expect((await fam.verify(code, 'def cube(x):\n    return x * x * x')).reward).toBe(1);
    expect((await fam.verify(code, 'def cube(x):\n    return x * x')).reward).toBe(0);
    expect(await play(def, fam.generate('train', 0) as Task)).toBe(1);
    expect(await play(def, code as Task)).toBe(1);
  });

  it('refuses a file with no lines for the environment and says which environment runs them', () => {
    const onlyPy = file('only-py.jsonl', lines.slice(0, 2));
    expect(() => createCodeInterpEnv({ jsonl: [onlyPy] })).toThrow(JsonlTaskError);
    expect(() => createCodeInterpEnv({ jsonl: [onlyPy] })).toThrow(/no javascript tasks .* --env code-interp-py/);
  });
});
