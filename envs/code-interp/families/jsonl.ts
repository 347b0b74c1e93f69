/**
 * `jsonlFamily(path, {language})`: user tasks from a JSONL file, one task per line:
 *   {"prompt": "...", "answer": "42"}                         exact answer (trimmed, case-sensitive
 *                                                            unless "ignoreCase": true; numbers may use
 *                                                            thousands separators)
 *   {"prompt": "...", "tests": [{"call": "f(2)", "expected": 4} | {"assert": "f(1) === 1"}],
 *    "solution": "function f(x) { return x * x; }"}          hidden tests; `solution` feeds the oracle
 *   {"language": "python", "prompt": "...", "tests": [{"call": "f(2)", "expected": 4} | {"assert": "f(1) == 1"}],
 *    "solution": "def f(x):\n    return x * x"}             a Python task (tests are Python expressions)
 * `language` ("javascript" by default, or "python") says which sandbox the line's code, tests and
 * oracle use: code-interp takes a file's JavaScript lines and code-interp-py its Python lines.
 * Optional fields: "id" (ignored: for your own bookkeeping), "difficulty"
 * (1-5, default 3), "split" ("train" | "test"; default: one line in five goes to test, by prompt hash).
 * A malformed line is an error naming the file and line, raised when the family is built.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { hashString } from '../../../tools/index.js';
import type { CodeLanguage, HiddenTest } from '../../../tools/sandbox/index.js';
import type { Difficulty, Oracle, OracleAction, Split, Task, TaskFamily, Verdict } from '../../core/index.js';
import { normalizeAnswer } from '../answer.js';
import { CODE_TOOL, ENV_OF, resultText, taskIdOf, verdictOf } from '../family.js';
import { programOracle, verifyProgram } from './program.js';

export type JsonlRef =
  | { answer: string; ignoreCase: boolean; tests?: undefined; solution?: undefined }
  | { tests: HiddenTest[]; solution?: string; answer?: undefined };

/** A JSONL task file that cannot be read or has a malformed line. */
export class JsonlTaskError extends Error {
  override name = 'JsonlTaskError';
}

const TestSchema = z.union([
  z.object({ call: z.string().min(1), expected: z.unknown(), name: z.string().optional() }).strict(),
  z.object({ assert: z.string().min(1), name: z.string().optional() }).strict(),
]);

const LineSchema = z
  .object({
    prompt: z.string().min(1),
    answer: z.union([z.string(), z.number()]).optional(),
    tests: z.array(TestSchema).min(1).optional(),
    solution: z.string().optional(),
    ignoreCase: z.boolean().optional(),
    difficulty: z.number().int().min(1).max(5).optional(),
    split: z.enum(['train', 'test']).optional(),
    id: z.string().optional(),
    language: z.enum(['javascript', 'python']).optional(),
  })
  .strict()
  .refine((l) => (l.answer === undefined) !== (l.tests === undefined), { message: 'give exactly one of "answer" or "tests"' });

type Line = z.infer<typeof LineSchema>;

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Parses JSONL text into lines, throwing `JsonlTaskError` naming the first bad line. */
export function parseTaskLines(text: string, source: string): Line[] {
  const out: Line[] = [];
  const rows = text.split(/\r?\n/);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i].trim();
    if (row === '' || row.startsWith('//')) continue;
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch (err) {
      throw new JsonlTaskError(
        `${source}:${i + 1}: not valid JSON (${(err as Error).message}). Each line must be one JSON object such as {"prompt": "...", "answer": "..."}.`,
      );
    }
    const parsed = LineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? ` at "${issue.path.join('.')}"` : '';
      throw new JsonlTaskError(
        `${source}:${i + 1}: ${issue.message}${where}. Expected {"prompt": string, "answer": string} or {"prompt": string, "tests": [{"call": "f(1)", "expected": 2}]}.`,
      );
    }
    out.push(parsed.data);
  }
  if (out.length === 0) throw new JsonlTaskError(`${source}: no tasks (the file is empty). Add one JSON object per line.`);
  return out;
}

function splitOf(line: Line): Split {
  return line.split ?? (hashString(line.prompt) % 5 === 0 ? 'test' : 'train');
}

/** The family name for a file: `jsonl.<file name without extension>`, limited to safe characters. */
export function jsonlFamilyName(path: string): string {
  const base = basename(path)
    .replace(/\.jsonl?$/i, '')
    .replace(/[^a-zA-Z0-9_.-]/g, '_');
  return `jsonl.${base || 'tasks'}`;
}

// ---------------------------------------------------------------------------------------------
// The family

export function jsonlFamily(path: string, opts: { name?: string; language?: CodeLanguage } = {}): TaskFamily<JsonlRef> {
  const language = opts.language ?? 'javascript';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new JsonlTaskError(`cannot read task file ${path}: ${(err as Error).message}. Check the path.`);
  }
  const all = parseTaskLines(text, path);
  const lines = all.filter((l) => (l.language ?? 'javascript') === language);
  if (lines.length === 0) {
    const other: CodeLanguage = language === 'python' ? 'javascript' : 'python';
    throw new JsonlTaskError(
      `${path}: no ${language} tasks (its ${all.length} line${all.length === 1 ? ' is' : 's are'} ${other}; run them with --env ${ENV_OF[other]}, or add "language": "${language}" to a line).`,
    );
  }
  const name = opts.name ?? jsonlFamilyName(path);
  const bySplit: Record<Split, Line[]> = { train: [], test: [] };
  for (const l of lines) bySplit[splitOf(l)].push(l);
  // Every split needs at least one task: with a tiny file, the same lines serve both (said in the description).
  const shared = bySplit.train.length === 0 || bySplit.test.length === 0;
  if (bySplit.train.length === 0) bySplit.train = bySplit.test;
  if (bySplit.test.length === 0) bySplit.test = bySplit.train;

  const programOr = programOracle<{ solution?: string; tests: HiddenTest[] }>(language);
  const oracle: Oracle<JsonlRef> = (task, history): OracleAction => {
    const ref = task.reference;
    if (ref.tests) return programOr(task as Task<{ solution?: string; tests: HiddenTest[] }>, history);
    // Acts through the tool like every oracle: print the known answer, then answer with the output.
    if (history.length === 0)
      return {
        kind: 'tool_calls',
        calls: [
          {
            name: CODE_TOOL[language],
            arguments: { code: `${language === 'python' ? 'print' : 'console.log'}(${JSON.stringify(ref.answer)})` },
          },
        ],
      };
    return { kind: 'answer', answer: resultText(history[history.length - 1].result).trim() };
  };

  return {
    name,
    description: `User tasks from ${basename(path)} (${lines.length} lines${shared ? '; too few to split, so train and test share them' : ''}).`,
    splitSizes: { train: bySplit.train.length, test: bySplit.test.length },
    generate(split: Split, index: number): Task<JsonlRef> {
      const l = bySplit[split][index];
      if (!l) throw new RangeError(`family ${name}: index ${index} is past the ${split} split size ${bySplit[split].length}`);
      const reference: JsonlRef = l.tests
        ? { tests: l.tests as HiddenTest[], solution: l.solution }
        : { answer: String(l.answer), ignoreCase: l.ignoreCase ?? false };
      return {
        id: taskIdOf(name, split, index, language),
        family: name,
        split,
        difficulty: (l.difficulty ?? 3) as Difficulty,
        prompt: l.prompt,
        seed: hashString(`${name}\n${l.prompt}`),
        reference,
      };
    },
    async verify(task: Task<JsonlRef>, answer: string): Promise<Verdict> {
      const ref = task.reference;
      if (ref.tests) return verifyProgram(answer, ref.tests, task.seed, language);
      const exp = /^[+-]?[\d,_ ]+n?$/.test(ref.answer.trim())
        ? normalizeAnswer(ref.answer, { kind: 'integer' })
        : normalizeAnswer(ref.answer, { kind: 'text' });
      const kind = /^-?\d+$/.test(exp) ? 'integer' : 'text';
      let got = normalizeAnswer(answer, { kind });
      let want = exp;
      if (ref.ignoreCase) {
        got = got.toLowerCase();
        want = want.toLowerCase();
      }
      const correct = got === want;
      return verdictOf(correct, got.length > 0, correct ? 'Correct.' : 'Incorrect.');
    },
    oracle,
  };
}
