/**
 * `program`: "write `function f(...)` that ...". The answer is JavaScript source; the verifier loads
 * it into a fresh sandbox (never the episode's REPL) and runs hidden tests. Reward = fraction of tests
 * passed; `correct` only when every test passes.
 */
import { type CodeLanguage, type HiddenTest, runHiddenTests, stripCodeFence } from '../../../tools/sandbox/index.js';
import type { Oracle, OracleAction, Split, Task, TaskFamily, Verdict } from '../../core/index.js';
import { CODE_TOOL, checkIndex, DEFAULT_SPLIT_SIZES, difficultyOf, drawInSplit, taskIdOf } from '../family.js';
import { PROGRAM_TEMPLATES } from './program-templates.js';

export interface ProgramRef {
  fn: string;
  solution: string;
  tests: HiddenTest[];
}

const FAMILY = 'program';

// ---------------------------------------------------------------------------------------------
// Pure functions

/** The code inside an answer: thinking removed, then an `<answer>` block, then a fenced block. */
export function codeFromAnswer(answer: string): string {
  let s = answer.replace(/<think>[\s\S]*?<\/think>/g, '');
  const close = s.lastIndexOf('</think>');
  if (close >= 0) s = s.slice(close + '</think>'.length);
  const tags = [...s.matchAll(/<answer>([\s\S]*?)<\/answer>/gi)];
  if (tags.length > 0) s = tags[tags.length - 1][1];
  return stripCodeFence(s);
}

export function callText(fn: string, args: readonly unknown[]): string {
  return `${fn}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
}

/** Hidden tests as program-ish verdict: fraction passed, with a policy-safe summary. */
export function programVerdict(
  passed: number,
  total: number,
  loadError: string | undefined,
  firstFailure: string | undefined,
): Verdict {
  const frac = total === 0 ? 0 : passed / total;
  const correct = total > 0 && passed === total;
  const detail = correct
    ? `Correct: all ${total} hidden tests passed.`
    : loadError
      ? `Incorrect: the code did not load (${loadError}).`
      : `Incorrect: ${passed} of ${total} hidden tests passed${firstFailure ? ` (first failure: ${firstFailure})` : ''}.`;
  return { reward: frac, components: { tests: frac, correct: correct ? 1 : 0, format: loadError ? 0 : 1 }, correct, detail };
}

/** Runs hidden tests on an answer (in a fresh sandbox of `language`) and turns the report into a verdict. */
export async function verifyProgram(
  answer: string,
  tests: HiddenTest[],
  seed: number,
  language: CodeLanguage = 'javascript',
): Promise<Verdict> {
  const code = codeFromAnswer(answer);
  if (!code) return programVerdict(0, tests.length, 'the answer was empty', undefined);
  const report = await runHiddenTests(code, tests, { seed, language });
  const fail = report.outcomes.find((o) => !o.passed);
  return programVerdict(report.passed, report.total, report.loadError, fail?.message);
}

/** Oracle: try the reference solution once in the sandbox on the first test, then submit it. */
export function programOracle<R extends { solution?: string; tests: HiddenTest[] }>(
  language: CodeLanguage = 'javascript',
): Oracle<R> {
  return (task, history): OracleAction => {
    const solution = task.reference.solution ?? '';
    if (history.length === 0) {
      const t = task.reference.tests[0];
      const probe = t ? ('call' in t ? t.call : t.assert) : language === 'python' ? 'None' : 'undefined';
      const code =
        language === 'python' ? `${solution}\nprint(repr(${probe}))` : `${solution}\nconsole.log(JSON.stringify(${probe}))`;
      return {
        kind: 'tool_calls',
        calls: [{ name: CODE_TOOL[language], arguments: { code } }],
        thought: 'Define the function and try it on one input.',
      };
    }
    return { kind: 'answer', answer: solution, thought: 'The function works; submit it.' };
  };
}

// ---------------------------------------------------------------------------------------------
// The family

export const programFamily: TaskFamily<ProgramRef> = {
  name: FAMILY,
  description: 'Write a JavaScript function from a specification; checked by hidden tests in a fresh sandbox.',
  splitSizes: DEFAULT_SPLIT_SIZES,
  generate(split: Split, index: number): Task<ProgramRef> {
    checkIndex(FAMILY, DEFAULT_SPLIT_SIZES, split, index);
    const difficulty = difficultyOf(index);
    const { draw, seed } = drawInSplit(FAMILY, split, index, (rng) => {
      const d = rng.pick(PROGRAM_TEMPLATES[difficulty])(rng);
      return { ...d, prompt: `${d.prompt} Answer with the complete function source.` };
    });
    const tests: HiddenTest[] = draw.inputs.map((args) => ({ call: callText(draw.fn, args), expected: draw.impl(...args) }));
    return {
      id: taskIdOf(FAMILY, split, index),
      family: FAMILY,
      split,
      difficulty,
      prompt: draw.prompt,
      seed,
      reference: { fn: draw.fn, solution: draw.solution, tests },
    };
  },
  verify(task: Task<ProgramRef>, answer: string): Promise<Verdict> {
    return verifyProgram(answer, task.reference.tests, task.seed);
  },
  oracle: programOracle<ProgramRef>(),
};
