import { afterEach, describe, expect, it } from 'vitest';
import { codeInterpEnv, normalizeAnswer, programFamily, splitOfPrompt } from '../../../envs/code-interp/index.js';
import { createCodeEpisode } from '../../../envs/code-interp/tool.js';
import type { Environment, OracleObservation, StepResult, Task, TaskFamily } from '../../../envs/core/index.js';

// The conformance suite runs over every registered environment in test/envs/registered.test.ts.

const envs: Environment[] = [];
function env(options?: Record<string, unknown>): Environment {
  const e = codeInterpEnv.create(options);
  envs.push(e);
  return e;
}
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close();
});

/** Plays a family's oracle through the Environment API; returns the final step. */
async function playOracle(e: Environment, family: TaskFamily<any>, task: Task): Promise<{ last: StepResult; calls: number }> {
  await e.reset({ taskId: task.id });
  const history: OracleObservation[] = [];
  for (let i = 0; i < 8; i++) {
    const act = family.oracle(task, history);
    if (act.kind === 'answer') return { last: await e.step({ kind: 'answer', answer: act.answer }), calls: history.length };
    const r = await e.step({ kind: 'tool_calls', calls: act.calls });
    for (const [k, call] of act.calls.entries()) {
      history.push({ call, result: r.observation.toolResults?.[k] ?? { content: [], isError: true } });
    }
  }
  throw new Error(`oracle of ${family.name} did not answer`);
}

async function runCode(e: Environment, code: string): Promise<{ text: string; isError: boolean }> {
  const r = await e.step({ kind: 'tool_calls', calls: [{ name: 'run_code', arguments: { code } }] });
  const tr = r.observation.toolResults?.[0];
  return { text: tr?.content.map((c) => c.text).join('\n') ?? '', isError: tr?.isError === true };
}

describe('code-interp task families', () => {
  it('lets the oracle score 1 on every family, at every difficulty, in both splits, through real run_code calls', async () => {
    const e = env();
    const failures: string[] = [];
    for (const family of codeInterpEnv.families) {
      for (const split of ['train', 'test'] as const) {
        // Indices 0..4 cover difficulties 1..5; a far index adds a second sample of each split.
        for (const index of [0, 1, 2, 3, 4, 5 * 137 + 2]) {
          const task = family.generate(split, index);
          const { last, calls } = await playOracle(e, family, task);
          if (calls < 1) failures.push(`${task.id}: the oracle answered without running code`);
          if (!last.terminated || last.reward !== 1 || last.info.verdict?.correct !== true)
            failures.push(`${task.id} (d${task.difficulty}): reward ${last.reward}, ${last.info.verdict?.detail}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('scores wrong answers 0 and right answers 1 on compute tasks, after normalisation', async () => {
    const e = env();
    const bigint = codeInterpEnv.families.find((f) => f.name === 'compute.bigint') as TaskFamily<{ answer: string }>;
    const task = bigint.generate('test', 0);
    const right = task.reference.answer;
    const withCommas = BigInt(right).toLocaleString('en-US');
    for (const [answer, want] of [
      [right, 1],
      [`<answer>${withCommas}</answer>`, 1],
      [`${right}n`, 1],
      [String(BigInt(right) + 1n), 0],
      ['', 0],
      ['I cannot compute this.', 0],
    ] as const) {
      await e.reset({ taskId: task.id });
      const r = await e.step({ kind: 'answer', answer });
      expect({ answer, reward: r.reward }).toEqual({ answer, reward: want });
      expect(r.terminated).toBe(true);
    }
  });

  it('scores a wrong program by the fraction of hidden tests it passes, and 0 when it does not load', async () => {
    const task = programFamily.generate('test', 0);
    const ok = await programFamily.verify(task, `\`\`\`js\n${task.reference.solution}\n\`\`\``);
    expect(ok).toMatchObject({ reward: 1, correct: true });
    const broken = await programFamily.verify(task, 'function (');
    expect(broken).toMatchObject({ reward: 0, correct: false });
    expect(broken.components.format).toBe(0);
    const wrong = await programFamily.verify(task, `function ${task.reference.fn}() { return 0 }`);
    expect(wrong.correct).toBe(false);
    expect(wrong.reward).toBeLessThan(1);
    expect(wrong.detail).toMatch(/^Incorrect: \d+ of \d+ hidden tests passed/);
    expect(wrong.components.tests).toBe(wrong.reward);
  });

  it('generates the same task for the same split and index, and keeps the splits disjoint by prompt', () => {
    for (const family of codeInterpEnv.families) {
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const a = family.generate('train', i);
        expect(family.generate('train', i)).toEqual(a);
        expect(splitOfPrompt(family.name, a.prompt)).toBe('train');
        seen.add(a.prompt);
      }
      for (let i = 0; i < 60; i++) {
        const t = family.generate('test', i);
        expect(seen.has(t.prompt)).toBe(false);
        expect(splitOfPrompt(family.name, t.prompt)).toBe('test');
      }
      expect(family.splitSizes).toEqual({ train: 10_000, test: 1_000 });
    }
  });

  it('covers difficulties 1 to 5 and keeps difficulty-1 compute prompts short and regular', () => {
    for (const family of codeInterpEnv.families) {
      const levels = new Set(Array.from({ length: 10 }, (_, i) => family.generate('train', i).difficulty));
      expect([...levels].sort()).toEqual([1, 2, 3, 4, 5]);
    }
    const bigint = codeInterpEnv.families.find((f) => f.name === 'compute.bigint') as TaskFamily;
    for (let i = 0; i < 50; i += 5) expect(bigint.generate('train', i).prompt).toMatch(/^Compute \d{9} \* \d{9}\.$/);
    for (const family of codeInterpEnv.families.filter((f) => f.name.startsWith('compute.'))) {
      expect(family.generate('train', 0).prompt.length).toBeLessThan(90);
    }
  });

  it('gives the oracle a one-line console.log program on compute tasks', () => {
    for (const family of codeInterpEnv.families.filter((f) => f.name.startsWith('compute.'))) {
      const t = family.generate('train', 0) as Task<{ program: string }>;
      expect(t.reference.program).toMatch(/console\.log\(/);
      expect(t.reference.program).not.toContain('\n');
    }
  });

  it('normalises answers: case for words, separators for integers, exact for text', () => {
    expect(normalizeAnswer(' "Tuesday". ', { kind: 'word' })).toBe('tuesday');
    expect(normalizeAnswer('1,234,567', { kind: 'integer' })).toBe('1234567');
    expect(normalizeAnswer('007', { kind: 'integer' })).toBe('7');
    expect(normalizeAnswer('Answer: -42', { kind: 'integer' })).toBe('-42');
    expect(normalizeAnswer('AbC', { kind: 'text' })).toBe('AbC');
  });
});

describe('code-interp run_code episodes', () => {
  it('builds no sandbox until the first run_code, and builds it from the seed either way', async () => {
    const lazy = createCodeEpisode(7, {});
    expect(lazy.started).toBe(false);
    const a = await lazy.sandbox();
    expect(lazy.started).toBe(true);
    expect(await lazy.sandbox()).toBe(a);
    const other = createCodeEpisode(7, {});
    const code = 'console.log(Math.random(), Date.now())';
    const [x, y] = [await a.run(code), await (await other.sandbox()).run(code)];
    expect(x.output).toBe(y.output);
    expect(x.output).toMatch(/^0\.\d+ \d+/);
    await lazy.dispose();
    await other.dispose();
    expect(lazy.started).toBe(false);
    await createCodeEpisode(1, {}).dispose(); // never started: nothing to free
  });

  it('keeps REPL state across calls in one episode and starts the next episode clean', async () => {
    const e = env();
    await e.reset({ seed: 3 });
    await runCode(e, 'var counter = 41; function bump() { return ++counter }');
    expect((await runCode(e, 'bump()')).text).toBe('42');
    await e.reset({ seed: 4 });
    expect((await runCode(e, 'typeof counter + " " + typeof bump')).text).toBe("'undefined undefined'");
  });

  it('gives the same tool results for the same seed and different Math.random for another seed', async () => {
    const code = 'console.log(Math.random(), new Date().toISOString())';
    const a = env();
    const b = env();
    await a.reset({ seed: 9 });
    await b.reset({ seed: 9 });
    const ra = await runCode(a, code);
    expect(await runCode(b, code)).toEqual(ra);
    await b.reset({ seed: 10 });
    expect((await runCode(b, code)).text).not.toBe(ra.text);
  });

  it('contains hostile code inside an episode and keeps serving that episode and the next', async () => {
    const e = env({ timeoutMs: 300, memoryLimitMb: 16 });
    await e.reset({ seed: 1 });
    const loop = await runCode(e, 'for (;;) {}');
    expect(loop.isError).toBe(true);
    expect(loop.text).toMatch(/time limit/);
    expect((await runCode(e, '1 + 1')).text).toBe('2');
    // A longer limit for the memory bomb, so it reaches the heap limit before the time limit.
    await e.reset({ seed: 1, options: { timeoutMs: 10_000 } });
    const bomb = await runCode(e, 'const a = []; for (;;) a.push(new Array(1e5).fill(0.5))');
    expect(bomb.isError).toBe(true);
    expect(bomb.text).toMatch(/the sandbox ran out of memory; its state was reset/);
    const breakout = await runCode(e, 'this.constructor.constructor("return process")().exit(1)');
    expect(breakout.isError).toBe(true);
    expect((await runCode(e, '6 * 7')).text).toBe('42');
    await e.reset({ seed: 2 });
    expect((await runCode(e, '"fresh"')).text).toBe("'fresh'");
  });

  it('answers invalid run_code arguments with an error naming the field', async () => {
    const e = env();
    await e.reset({ seed: 0 });
    const r = await e.step({ kind: 'tool_calls', calls: [{ name: 'run_code', arguments: { code: 5 } }] });
    expect(r.observation.toolResults?.[0].isError).toBe(true);
    expect(r.observation.toolResults?.[0].content[0].text).toMatch(/code/);
    expect(r.terminated).toBe(false);
  });

  it('never shows the reference answer in the reset observation', async () => {
    const e = env();
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      const { observation, info } = await e.reset({ seed, split: 'test' });
      const task = codeInterpEnv.getTask(info.task.id) as Task<{ answer?: string; solution?: string }>;
      const text = JSON.stringify(observation);
      if (task.reference.answer && task.reference.answer.length > 3) expect(text).not.toContain(task.reference.answer);
      if (task.reference.solution) expect(text).not.toContain(task.reference.solution);
    }
  });
});
