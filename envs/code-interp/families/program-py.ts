/**
 * `program` for the Python environment: "write a Python function `f(...)` that ...". Each template
 * draws its parameters, states the task, carries a reference solution in Python (the oracle's
 * answer) and a host implementation that computes the hidden tests' expected values. The answer is
 * loaded into a fresh interpreter (never the episode's REPL) and checked by hidden tests; the
 * reward is the fraction passed, `correct` only when all pass (as the JavaScript family).
 *
 * Values are JSON data on both sides: lists for Python lists and tuples, objects with string keys
 * for dicts, integers kept below 2^53 so JavaScript's numbers hold them exactly.
 */
import type { HiddenTest } from '../../../tools/sandbox/index.js';
import type { Difficulty, Split, Task, TaskFamily, Verdict } from '../../core/index.js';
import { checkIndex, DEFAULT_SPLIT_SIZES, difficultyOf, drawInSplit, taskIdOf } from '../family.js';
import { type ProgramRef, programOracle, verifyProgram } from './program.js';
import { ints, many, type ProgramDraw, type ProgramTemplate, word } from './program-templates.js';

const FAMILY = 'program';

// ---------------------------------------------------------------------------------------------
// Pure functions

/** A JSON value written as a Python literal (`true` -> `True`, `null` -> `None`, objects -> dicts). */
export function pyLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : JSON.stringify(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .map((k) => `${JSON.stringify(k)}: ${pyLiteral(o[k])}`)
    .join(', ')}}`;
}

export function pyCallText(fn: string, args: readonly unknown[]): string {
  return `${fn}(${args.map(pyLiteral).join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Templates

const linear: ProgramTemplate = (rng) => {
  const k = rng.int(2, 99);
  const c = rng.int(-50, 50);
  const expr = c === 0 ? `${k} * x` : c > 0 ? `${k} * x + ${c}` : `${k} * x - ${-c}`;
  return {
    fn: 'linear',
    prompt: `Write a Python function \`linear(x)\` that returns ${expr}.`,
    solution: `def linear(x):\n    return ${expr}`,
    inputs: [[0], [1], [-1], ...ints(rng, 5, -1000, 1000).map((x) => [x])],
    impl: (x: number) => k * x + c,
  };
};

const isMultiple: ProgramTemplate = (rng) => {
  const k = rng.int(2, 999);
  return {
    fn: 'is_multiple',
    prompt: `Write a Python function \`is_multiple(n)\` that returns True if the integer n is divisible by ${k}, and False otherwise.`,
    solution: `def is_multiple(n):\n    return n % ${k} == 0`,
    inputs: [[0], [k], [k * 7], [k + 1], [-k], ...ints(rng, 3, 1, 100_000).map((x) => [x])],
    impl: (n: number) => n % k === 0,
  };
};

const digitPower: ProgramTemplate = (rng) => {
  const p = rng.int(1, 4);
  const impl = (n: number): number => [...String(n)].reduce((s, d) => s + Number(d) ** p, 0);
  const ex = rng.int(10, 99_999);
  return {
    fn: 'digit_power_sum',
    prompt: `Write a Python function \`digit_power_sum(n)\` that returns the sum of the ${p}${p === 1 ? 'st' : p === 2 ? 'nd' : p === 3 ? 'rd' : 'th'} powers of the decimal digits of the non-negative integer n, e.g. digit_power_sum(${ex}) == ${impl(ex)}.`,
    solution: `def digit_power_sum(n):\n    return sum(int(d) ** ${p} for d in str(n))`,
    inputs: [[0], [7], [10], ...ints(rng, 5, 0, 10_000_000).map((x) => [x])],
    impl,
  };
};

const rotate: ProgramTemplate = (rng) => {
  const k = rng.int(1, 9);
  const ex = ints(rng, rng.int(k + 1, k + 4), 0, 9);
  return {
    fn: 'rotate_left',
    prompt: `Write a Python function \`rotate_left(xs)\` that returns a new list: the list xs rotated left by ${k} positions (the first element moves to the end ${k} times; an empty list stays empty), e.g. rotate_left(${pyLiteral(ex)}) == ${pyLiteral([...ex.slice(k % ex.length), ...ex.slice(0, k % ex.length)])}.`,
    solution: `def rotate_left(xs):\n    if not xs:\n        return []\n    k = ${k} % len(xs)\n    return xs[k:] + xs[:k]`,
    inputs: [[[]], [[1]], [[1, 2, 3]], ...many(4, () => [ints(rng, rng.int(1, 12), -50, 50)])],
    impl: (xs: number[]) => (xs.length === 0 ? [] : [...xs.slice(k % xs.length), ...xs.slice(0, k % xs.length)]),
  };
};

const chunk: ProgramTemplate = (rng) => {
  const size = rng.int(2, 7);
  const ex = ints(rng, rng.int(size + 1, 2 * size + 1), 0, 9);
  return {
    fn: 'chunk',
    prompt: `Write a Python function \`chunk(xs)\` that splits the list xs into consecutive lists of ${size} elements (the last one may be shorter) and returns the list of them, e.g. chunk(${pyLiteral(ex)}) has ${Math.ceil(ex.length / size)} lists.`,
    solution: `def chunk(xs):\n    return [xs[i:i + ${size}] for i in range(0, len(xs), ${size})]`,
    inputs: [[[]], [[1]], ...many(5, () => [ints(rng, rng.int(1, 17), 0, 99)])],
    impl: (xs: number[]) => {
      const out: number[][] = [];
      for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
      return out;
    },
  };
};

const label: ProgramTemplate = (rng) => {
  const a = rng.int(2, 9);
  const b = rng.int(a + 1, 15);
  return {
    fn: 'label',
    prompt: `Write a Python function \`label(n)\` that returns "ab" if n is divisible by both ${a} and ${b}, "a" if only by ${a}, "b" if only by ${b}, and otherwise the string of n.`,
    solution: `def label(n):\n    if n % ${a} == 0 and n % ${b} == 0:\n        return "ab"\n    if n % ${a} == 0:\n        return "a"\n    if n % ${b} == 0:\n        return "b"\n    return str(n)`,
    inputs: [[1], [a], [b], [a * b], ...ints(rng, 4, 1, 1000).map((x) => [x])],
    impl: (n: number) => (n % a === 0 && n % b === 0 ? 'ab' : n % a === 0 ? 'a' : n % b === 0 ? 'b' : String(n)),
  };
};

const runLength: ProgramTemplate = (rng) => ({
  fn: 'run_length',
  prompt: `Write a Python function \`run_length(s)\` that returns the run-length encoding of the string s as a list of [character, count] pairs, e.g. run_length("${word(rng, 4, 9, 'xyz')}") starts with the pair for its first run and run_length("aab") == [["a", 2], ["b", 1]].`,
  solution:
    'def run_length(s):\n    out = []\n    for c in s:\n        if out and out[-1][0] == c:\n            out[-1][1] += 1\n        else:\n            out.append([c, 1])\n    return out',
  inputs: [[''], ['a'], ['aab'], ...many(4, () => [word(rng, 1, 20, 'abc')])],
  impl: (s: string) => {
    const out: [string, number][] = [];
    for (const c of s) {
      const last = out[out.length - 1];
      if (last && last[0] === c) last[1]++;
      else out.push([c, 1]);
    }
    return out;
  },
});

const wordCounts: ProgramTemplate = (rng) => {
  const min = rng.int(1, 3);
  return {
    fn: 'word_counts',
    prompt: `Write a Python function \`word_counts(text)\` that returns a dict from each lowercase word of text (words are separated by spaces; ignore empty ones) to its number of occurrences, keeping only words that occur at least ${min} time${min === 1 ? '' : 's'}; for example "${many(rng.int(2, 5), () => word(rng, 2, 4, 'pqrs')).join(' ')}" is a valid text.`,
    solution: `def word_counts(text):\n    counts = {}\n    for w in text.lower().split(' '):\n        if w:\n            counts[w] = counts.get(w, 0) + 1\n    return {w: c for w, c in counts.items() if c >= ${min}}`,
    inputs: [
      [''],
      ['a A a'],
      ...many(5, () => [many(rng.int(1, 12), () => word(rng, 1, 3, 'abAB')).join(rng.bool() ? ' ' : '  ')]),
    ],
    impl: (text: string) => {
      const counts: Record<string, number> = {};
      for (const w of text.toLowerCase().split(' ')) if (w) counts[w] = (counts[w] ?? 0) + 1;
      return Object.fromEntries(Object.entries(counts).filter(([, c]) => c >= min));
    },
  };
};

const spiral: ProgramTemplate = (rng) => {
  const start = rng.int(0, 99);
  const step = rng.int(1, 9);
  const impl = (n: number): number[][] => {
    const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    let [top, bottom, left, right, v] = [0, n - 1, 0, n - 1, start];
    while (top <= bottom && left <= right) {
      for (let j = left; j <= right; j++, v += step) m[top][j] = v;
      top++;
      for (let i = top; i <= bottom; i++, v += step) m[i][right] = v;
      right--;
      if (top <= bottom) for (let j = right; j >= left; j--, v += step) m[bottom][j] = v;
      bottom--;
      if (left <= right) for (let i = bottom; i >= top; i--, v += step) m[i][left] = v;
      left++;
    }
    return m;
  };
  return {
    fn: 'spiral',
    prompt: `Write a Python function \`spiral(n)\` that returns an n-by-n matrix (a list of n row lists) filled with the numbers ${start}, ${start + step}, ${start + 2 * step}, ... in clockwise spiral order, starting at the top-left corner and moving right first. spiral(0) is [].`,
    solution: `def spiral(n):\n    m = [[0] * n for _ in range(n)]\n    top, bottom, left, right, v = 0, n - 1, 0, n - 1, ${start}\n    while top <= bottom and left <= right:\n        for j in range(left, right + 1):\n            m[top][j] = v\n            v += ${step}\n        top += 1\n        for i in range(top, bottom + 1):\n            m[i][right] = v\n            v += ${step}\n        right -= 1\n        if top <= bottom:\n            for j in range(right, left - 1, -1):\n                m[bottom][j] = v\n                v += ${step}\n        bottom -= 1\n        if left <= right:\n            for i in range(bottom, top - 1, -1):\n                m[i][left] = v\n                v += ${step}\n        left += 1\n    return m`,
    inputs: [[0], [1], [2], [3], [4], [rng.int(5, 9)]],
    impl,
  };
};

const editCost: ProgramTemplate = (rng) => {
  const ins = rng.int(1, 4);
  const del = rng.int(1, 4);
  const sub = rng.int(1, 6);
  const impl = (a: string, b: string): number => {
    const d: number[][] = [];
    for (let i = 0; i <= a.length; i++) {
      d.push([]);
      for (let j = 0; j <= b.length; j++) d[i].push(i === 0 ? j * ins : j === 0 ? i * del : 0);
    }
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + del, d[i][j - 1] + ins, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : sub));
    return d[a.length][b.length];
  };
  return {
    fn: 'cost',
    prompt: `Write a Python function \`cost(a, b)\` that returns the minimum total cost of turning string a into string b, where inserting a character costs ${ins}, deleting a character costs ${del}, and replacing a character with a different one costs ${sub}.`,
    solution: `def cost(a, b):\n    d = [[j * ${ins} if i == 0 else i * ${del} if j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]\n    for i in range(1, len(a) + 1):\n        for j in range(1, len(b) + 1):\n            d[i][j] = min(d[i - 1][j] + ${del}, d[i][j - 1] + ${ins}, d[i - 1][j - 1] + (0 if a[i - 1] == b[j - 1] else ${sub}))\n    return d[len(a)][len(b)]`,
    inputs: [
      ['', ''],
      ['abc', ''],
      ['', 'abc'],
      ['kitten', 'sitting'],
      ...many(3, () => [word(rng, 0, 10, 'abcde'), word(rng, 0, 10, 'abcde')]),
    ],
    impl,
  };
};

export const PY_PROGRAM_TEMPLATES: Record<Difficulty, readonly ProgramTemplate[]> = {
  1: [linear, isMultiple],
  2: [digitPower, rotate],
  3: [chunk, label],
  4: [runLength, wordCounts],
  5: [spiral, editCost],
};

// ---------------------------------------------------------------------------------------------
// The family

export const programPyFamily: TaskFamily<ProgramRef> = {
  name: FAMILY,
  description: 'Write a Python function from a specification; checked by hidden tests in a fresh interpreter.',
  splitSizes: DEFAULT_SPLIT_SIZES,
  generate(split: Split, index: number): Task<ProgramRef> {
    checkIndex(FAMILY, DEFAULT_SPLIT_SIZES, split, index);
    const difficulty = difficultyOf(index);
    const { draw, seed } = drawInSplit(`${FAMILY}.py`, split, index, (rng) => {
      const d: ProgramDraw = rng.pick(PY_PROGRAM_TEMPLATES[difficulty])(rng);
      return { ...d, prompt: `${d.prompt} Answer with the complete function source.` };
    });
    const tests: HiddenTest[] = draw.inputs.map((args) => ({ call: pyCallText(draw.fn, args), expected: draw.impl(...args) }));
    return {
      id: taskIdOf(FAMILY, split, index, 'python'),
      family: FAMILY,
      split,
      difficulty,
      prompt: draw.prompt,
      seed,
      reference: { fn: draw.fn, solution: draw.solution, tests },
    };
  },
  verify(task: Task<ProgramRef>, answer: string): Promise<Verdict> {
    return verifyProgram(answer, task.reference.tests, task.seed, 'python');
  },
  oracle: programOracle<ProgramRef>('python'),
};
