/**
 * Building blocks shared by the code-interp task families: index-based deterministic generation with
 * train/test kept disjoint by construction, and the exact-answer compute family with its verifier and
 * its oracle (one real `run_code` call, then the printed value as the answer).
 */
import { hashString, mixSeed, Rng } from '../../tools/index.js';
import type { CodeLanguage } from '../../tools/sandbox/index.js';
import type { Difficulty, Oracle, OracleAction, Split, Task, TaskFamily, ToolResult, Verdict } from '../core/index.js';
import { type AnswerKind, answerWellFormed, normalizeAnswer } from './answer.js';

export const ENV_ID = 'code-interp';
export const PY_ENV_ID = 'code-interp-py';

/** The sandbox tool of each language's environment. */
export const CODE_TOOL: Record<CodeLanguage, string> = { javascript: 'run_code', python: 'run_python' };

/** The environment id of each language (task ids start with it). */
export const ENV_OF: Record<CodeLanguage, string> = { javascript: ENV_ID, python: PY_ENV_ID };

/** What a compute generator returns for one draw. */
export interface ComputeDraw {
  prompt: string;
  /** The exact expected answer, already in canonical form for `kind`. */
  answer: string;
  /** The oracle's program: prints the answer (one line where possible). */
  program: string;
  /** The same program in Python (for the Python environment's twin of the family). */
  python?: string;
  /** Overrides the family's answer kind for this draw (a family may mix integer and word answers). */
  kind?: AnswerKind;
}

export interface ComputeRef {
  answer: string;
  kind: AnswerKind;
  program: string;
}

export interface ComputeSpec {
  name: string;
  description: string;
  /** Answer kind of draws that do not set their own. */
  kind: AnswerKind;
  /** One generator per difficulty 1..5. */
  levels: Record<Difficulty, (rng: Rng) => ComputeDraw>;
  splitSizes?: Record<Split, number>;
}

export const DEFAULT_SPLIT_SIZES: Record<Split, number> = { train: 10_000, test: 1_000 };

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Difficulty cycles with the index so every split covers every level evenly. */
export function difficultyOf(index: number): Difficulty {
  return ((index % 5) + 1) as Difficulty;
}

/**
 * The split a prompt belongs to: one in eight prompts is a test prompt. Generators redraw until the
 * prompt lands in the requested split, so no prompt can ever be in both.
 */
export function splitOfPrompt(family: string, prompt: string): Split {
  return mixSeed(hashString(family), hashString(prompt)) % 8 === 0 ? 'test' : 'train';
}

/** Draws with `make` from seeds derived from (family, split, index, attempt) until the prompt is in `split`. */
export function drawInSplit<T extends { prompt: string }>(
  family: string,
  split: Split,
  index: number,
  make: (rng: Rng, seed: number) => T,
): { draw: T; seed: number } {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`task index must be a non-negative integer, got ${index}`);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const seed = mixSeed(family, split, index, attempt);
    const draw = make(new Rng(seed), seed);
    if (splitOfPrompt(family, draw.prompt) === split) return { draw, seed };
  }
  throw new Error(
    `family ${family}: no ${split} prompt found for index ${index} in 1000 draws; the generator's prompt space is too small`,
  );
}

export function taskIdOf(family: string, split: Split, index: number, language: CodeLanguage = 'javascript'): string {
  return `${ENV_OF[language]}/${family}/${split}/${index}`;
}

export function checkIndex(family: string, sizes: Record<Split, number>, split: Split, index: number): void {
  if (index >= sizes[split])
    throw new RangeError(`family ${family}: index ${index} is past the ${split} split size ${sizes[split]}`);
}

/** The text of a tool result, for oracles reading their own run. */
export function resultText(r: ToolResult): string {
  return r.content.map((c) => c.text).join('\n');
}

export function verdictOf(correct: boolean, format: boolean, detail: string): Verdict {
  return { reward: correct ? 1 : 0, components: { correct: correct ? 1 : 0, format: format ? 1 : 0 }, correct, detail };
}

/** Oracle for compute tasks: run the program once, then answer with the last line it printed. */
export function computeOracleFor(language: CodeLanguage): Oracle<ComputeRef> {
  return (task, history): OracleAction => {
    if (history.length === 0) {
      return {
        kind: 'tool_calls',
        calls: [{ name: CODE_TOOL[language], arguments: { code: task.reference.program } }],
        thought: 'Compute it exactly with code.',
      };
    }
    const last = history[history.length - 1];
    const lines = resultText(last.result).trim().split('\n');
    return { kind: 'answer', answer: lines[lines.length - 1].trim(), thought: 'The program printed the answer.' };
  };
}

export const computeOracle: Oracle<ComputeRef> = computeOracleFor('javascript');

// ---------------------------------------------------------------------------------------------
// Factory

/**
 * A compute family. With `language: 'python'` the tasks (prompts, answers, splits) are the same and
 * the oracle runs each draw's `python` program through `run_python`; task ids name the Python env.
 */
export function computeFamily(spec: ComputeSpec, opts: { language?: CodeLanguage } = {}): TaskFamily<ComputeRef> {
  const sizes = spec.splitSizes ?? DEFAULT_SPLIT_SIZES;
  const language = opts.language ?? 'javascript';
  const programOf = (d: ComputeDraw): string => {
    if (language === 'javascript') return d.program;
    if (d.python === undefined) throw new Error(`family ${spec.name}: a draw has no Python program`);
    return d.python;
  };
  return {
    name: spec.name,
    description: spec.description,
    splitSizes: sizes,
    generate(split: Split, index: number): Task<ComputeRef> {
      checkIndex(spec.name, sizes, split, index);
      const difficulty = difficultyOf(index);
      const { draw, seed } = drawInSplit(spec.name, split, index, (rng) => spec.levels[difficulty](rng));
      return {
        id: taskIdOf(spec.name, split, index, language),
        family: spec.name,
        split,
        difficulty,
        prompt: draw.prompt,
        seed,
        reference: { answer: draw.answer, kind: draw.kind ?? spec.kind, program: programOf(draw) },
      };
    },
    async verify(task: Task<ComputeRef>, answer: string): Promise<Verdict> {
      const got = normalizeAnswer(answer, { kind: task.reference.kind });
      const correct = got === task.reference.answer;
      const format = answerWellFormed(got, task.reference.kind);
      const detail = correct
        ? 'Correct.'
        : format
          ? 'Incorrect.'
          : `Incorrect: the answer should be ${shapeHint(task.reference.kind)}.`;
      return verdictOf(correct, format, detail);
    },
    oracle: computeOracleFor(language),
  };
}

function shapeHint(kind: AnswerKind): string {
  switch (kind) {
    case 'integer':
      return 'an integer, digits only';
    case 'word':
      return 'a single word';
    case 'date':
      return 'a date written YYYY-MM-DD';
    case 'text':
      return 'a single line of text';
  }
}
