/**
 * Templates of the `program` family: "write `function f(...)` that ...". Each template draws its
 * parameters, states the task, carries a reference solution (JavaScript source, the oracle's answer)
 * and a host implementation that computes the hidden tests' expected values.
 */
import type { Rng } from '../../../tools/index.js';
import type { Difficulty } from '../../core/index.js';
import { caesar } from './dates-strings.js';

export interface ProgramDraw {
  fn: string;
  prompt: string;
  solution: string;
  /** Argument lists of the hidden tests (JSON values). */
  inputs: unknown[][];
  impl: (...args: any[]) => unknown;
}

export type ProgramTemplate = (rng: Rng) => ProgramDraw;

// ---------------------------------------------------------------------------------------------
// Input helpers

// (shared with the Python templates, program-py.ts: the same draws give the same tasks in both)
export const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
export const ints = (rng: Rng, n: number, lo: number, hi: number): number[] => Array.from({ length: n }, () => rng.int(lo, hi));
export const word = (rng: Rng, lo: number, hi: number, alphabet = LETTERS): string =>
  Array.from({ length: rng.int(lo, hi) }, () => alphabet[rng.int(0, alphabet.length - 1)]).join('');
export const many = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

// ---------------------------------------------------------------------------------------------
// Level 1

const linear: ProgramTemplate = (rng) => {
  const k = rng.int(2, 99);
  const c = rng.int(-50, 50);
  const expr = c === 0 ? `${k} * x` : c > 0 ? `${k} * x + ${c}` : `${k} * x - ${-c}`;
  return {
    fn: 'linear',
    prompt: `Write a JavaScript function \`linear(x)\` that returns ${expr}.`,
    solution: `function linear(x) {\n  return ${expr};\n}`,
    inputs: [[0], [1], [-1], ...ints(rng, 5, -1000, 1000).map((x) => [x])],
    impl: (x: number) => k * x + c,
  };
};

const isMultiple: ProgramTemplate = (rng) => {
  const k = rng.int(2, 999);
  return {
    fn: 'isMultiple',
    prompt: `Write a JavaScript function \`isMultiple(n)\` that returns true if the integer n is divisible by ${k}, and false otherwise.`,
    solution: `function isMultiple(n) {\n  return n % ${k} === 0;\n}`,
    inputs: [[0], [k], [k * 7], [k + 1], [-k], ...ints(rng, 3, 1, 100_000).map((x) => [x])],
    impl: (n: number) => n % k === 0,
  };
};

// ---------------------------------------------------------------------------------------------
// Level 2

const countLetter: ProgramTemplate = (rng) => {
  const l = LETTERS[rng.int(0, 25)];
  return {
    fn: 'countLetter',
    prompt: `Write a JavaScript function \`countLetter(s)\` that returns how many times the letter "${l}" occurs in the string s.`,
    solution: `function countLetter(s) {\n  return s.split(${JSON.stringify(l)}).length - 1;\n}`,
    inputs: [[''], [l], [l.repeat(5)], ...many(5, () => [word(rng, 0, 30, `${LETTERS}${l.repeat(8)}`)])],
    impl: (s: string) => s.split(l).length - 1,
  };
};

const digitSum: ProgramTemplate = (rng) => {
  const b = rng.int(2, 16);
  return {
    fn: 'digitSum',
    prompt: `Write a JavaScript function \`digitSum(n)\` that returns the sum of the digits of the non-negative integer n written in base ${b}.`,
    solution: `function digitSum(n) {\n  let s = 0;\n  while (n > 0) { s += n % ${b}; n = Math.floor(n / ${b}); }\n  return s;\n}`,
    inputs: [[0], [1], [b], [b * b - 1], ...ints(rng, 4, 2, 10_000_000).map((x) => [x])],
    impl: (n: number) => [...n.toString(b)].reduce((s, d) => s + Number.parseInt(d, b), 0),
  };
};

const sumMultiples: ProgramTemplate = (rng) => {
  const a = rng.int(2, 12);
  let b = rng.int(2, 12);
  if (b === a) b = a + 1;
  return {
    fn: 'sumMultiples',
    prompt: `Write a JavaScript function \`sumMultiples(n)\` that returns the sum of all positive integers below n that are multiples of ${a} or ${b}.`,
    solution: `function sumMultiples(n) {\n  let s = 0;\n  for (let i = 1; i < n; i++) if (i % ${a} === 0 || i % ${b} === 0) s += i;\n  return s;\n}`,
    inputs: [[0], [1], [a + 1], ...ints(rng, 5, 2, 100_000).map((x) => [x])],
    impl: (n: number) => {
      let s = 0;
      for (let i = 1; i < n; i++) if (i % a === 0 || i % b === 0) s += i;
      return s;
    },
  };
};

const rotateLeft: ProgramTemplate = (rng) => {
  const k = rng.int(1, 20);
  return {
    fn: 'rotateLeft',
    prompt: `Write a JavaScript function \`rotateLeft(arr)\` that returns a new array with the elements of arr rotated left by ${k} positions, wrapping around (an empty array stays empty).`,
    solution: `function rotateLeft(arr) {\n  if (arr.length === 0) return [];\n  const k = ${k} % arr.length;\n  return arr.slice(k).concat(arr.slice(0, k));\n}`,
    inputs: [[[]], [[1]], ...many(6, () => [ints(rng, rng.int(2, 30), -99, 99)])],
    impl: (arr: number[]) => (arr.length === 0 ? [] : arr.slice(k % arr.length).concat(arr.slice(0, k % arr.length))),
  };
};

// ---------------------------------------------------------------------------------------------
// Level 3

const FIZZ_WORDS = ['Fizz', 'Buzz', 'Bang', 'Pop', 'Zap', 'Boom', 'Ping', 'Pong', 'Tick', 'Tock'];

const fizz: ProgramTemplate = (rng) => {
  const [w1, w2] = rng.sample(FIZZ_WORDS, 2);
  const a = rng.int(2, 9);
  let b = rng.int(2, 13);
  if (b % a === 0 || a % b === 0) b = a + 1;
  return {
    fn: 'fizz',
    prompt: `Write a JavaScript function \`fizz(n)\` that returns "${w1}${w2}" if the positive integer n is divisible by both ${a} and ${b}, "${w1}" if only by ${a}, "${w2}" if only by ${b}, and otherwise n as a string.`,
    solution: `function fizz(n) {\n  if (n % ${a} === 0 && n % ${b} === 0) return ${JSON.stringify(w1 + w2)};\n  if (n % ${a} === 0) return ${JSON.stringify(w1)};\n  if (n % ${b} === 0) return ${JSON.stringify(w2)};\n  return String(n);\n}`,
    inputs: [[a], [b], [a * b], [1], ...ints(rng, 4, 2, 1000).map((x) => [x])],
    impl: (n: number) => (n % a === 0 && n % b === 0 ? w1 + w2 : n % a === 0 ? w1 : n % b === 0 ? w2 : String(n)),
  };
};

const recurrence: ProgramTemplate = (rng) => {
  const x = rng.int(0, 9);
  const y = rng.int(1, 9);
  const p = rng.int(1, 9);
  const q = rng.int(1, 9);
  const m = rng.int(100, 10_000);
  const impl = (n: number): number => {
    let a0 = x % m;
    let a1 = y % m;
    if (n === 0) return a0;
    for (let i = 2; i <= n; i++) [a0, a1] = [a1, (p * a1 + q * a0) % m];
    return a1;
  };
  return {
    fn: 'seq',
    prompt: `Write a JavaScript function \`seq(n)\` that returns a(n), where a(0) = ${x}, a(1) = ${y} and a(n) = (${p} * a(n-1) + ${q} * a(n-2)) mod ${m} for n >= 2.`,
    solution: `function seq(n) {\n  let a = ${x} % ${m}, b = ${y} % ${m};\n  if (n === 0) return a;\n  for (let i = 2; i <= n; i++) [a, b] = [b, (${p} * b + ${q} * a) % ${m}];\n  return b;\n}`,
    inputs: [[0], [1], [2], ...ints(rng, 5, 3, 500).map((v) => [v])],
    impl,
  };
};

const chunk: ProgramTemplate = (rng) => {
  const k = rng.int(2, 9);
  return {
    fn: 'chunk',
    prompt: `Write a JavaScript function \`chunk(arr)\` that splits the array arr into consecutive chunks of ${k} elements (the last chunk may be shorter) and returns the array of chunks.`,
    solution: `function chunk(arr) {\n  const out = [];\n  for (let i = 0; i < arr.length; i += ${k}) out.push(arr.slice(i, i + ${k}));\n  return out;\n}`,
    inputs: [[[]], [ints(rng, k, 0, 9)], ...many(6, () => [ints(rng, rng.int(1, 40), -50, 50)])],
    impl: (arr: number[]) => {
      const out: number[][] = [];
      for (let i = 0; i < arr.length; i += k) out.push(arr.slice(i, i + k));
      return out;
    },
  };
};

const shift: ProgramTemplate = (rng) => {
  const k = rng.int(1, 25);
  return {
    fn: 'shift',
    prompt: `Write a JavaScript function \`shift(s)\` that returns s with every lowercase letter a-z moved ${k} places forward in the alphabet (z wraps around to a); all other characters stay unchanged.`,
    solution: `function shift(s) {\n  return s.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 + ${k}) % 26) + 97));\n}`,
    inputs: [[''], ['xyz'], ['Hello, World!'], ...many(5, () => [word(rng, 1, 30, `${LETTERS} ,.!ABC`)])],
    impl: (s: string) => caesar(s, k),
  };
};

// ---------------------------------------------------------------------------------------------
// Level 4

const runLength: ProgramTemplate = (rng) => {
  const countFirst = rng.bool();
  const sep = rng.pick(['', '-', ':', ',']);
  const encode = (s: string): string => {
    const parts: string[] = [];
    for (let i = 0; i < s.length; ) {
      let j = i;
      while (j < s.length && s[j] === s[i]) j++;
      parts.push(countFirst ? `${j - i}${s[i]}` : `${s[i]}${j - i}`);
      i = j;
    }
    return parts.join(sep);
  };
  // Source text of the template literal the reference solution uses (not a template here).
  const runOf = countFirst ? 'String(j - i) + s[i]' : 's[i] + String(j - i)';
  const example = encode('aaab');
  return {
    fn: 'encode',
    prompt: `Write a JavaScript function \`encode(s)\` that returns the run-length encoding of the string s: each maximal run of one repeated character becomes ${countFirst ? 'the run length followed by the character' : 'the character followed by the run length'}, and the runs are joined with ${sep === '' ? 'nothing between them' : `"${sep}"`}. For example encode("aaab") is "${example}".`,
    solution: `function encode(s) {\n  const parts = [];\n  for (let i = 0; i < s.length; ) {\n    let j = i;\n    while (j < s.length && s[j] === s[i]) j++;\n    parts.push(${runOf});\n    i = j;\n  }\n  return parts.join(${JSON.stringify(sep)});\n}`,
    inputs: [[''], ['a'], ['aaab'], ...many(5, () => [word(rng, 1, 40, 'aaabbbccd')])],
    impl: encode,
  };
};

const wordCounts: ProgramTemplate = (rng) => {
  const k = rng.int(1, 6);
  const vocab = [
    'a',
    'an',
    'the',
    'cat',
    'dog',
    'bird',
    'river',
    'stone',
    'apple',
    'planet',
    'garden',
    'rocket',
    'sun',
    'moon',
    'tree',
  ];
  const impl = (text: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const w of text.split(' ')) if (w.length >= k) out[w] = (out[w] ?? 0) + 1;
    return out;
  };
  return {
    fn: 'wordCounts',
    prompt: `Write a JavaScript function \`wordCounts(text)\` that takes a string of lowercase words separated by single spaces and returns an object mapping each word with at least ${k} letters to the number of times it occurs.`,
    solution: `function wordCounts(text) {\n  const out = {};\n  for (const w of text.split(' ')) if (w.length >= ${k}) out[w] = (out[w] || 0) + 1;\n  return out;\n}`,
    inputs: [['the cat'], ['a a a'], ...many(6, () => [many(rng.int(1, 20), () => rng.pick(vocab)).join(' ')])],
    impl,
  };
};

const PAIRS: Array<[string, string]> = [
  ['(', ')'],
  ['[', ']'],
  ['{', '}'],
  ['<', '>'],
];

const balanced: ProgramTemplate = (rng) => {
  const pairs = rng.sample(PAIRS, rng.int(2, 4));
  const opens = pairs.map((p) => p[0]).join('');
  const closes = pairs.map((p) => p[1]).join('');
  const impl = (s: string): boolean => {
    const stack: string[] = [];
    for (const c of s) {
      const o = opens.indexOf(c);
      if (o >= 0) stack.push(closes[o]);
      else if (closes.includes(c) && stack.pop() !== c) return false;
    }
    return stack.length === 0;
  };
  const alphabet = `${opens}${closes}${opens}${closes}x `;
  const valid = (): string => {
    let s = '';
    const stack: string[] = [];
    for (let i = 0; i < rng.int(2, 16); i++) {
      if (stack.length > 0 && rng.bool()) s += stack.pop();
      else {
        const p = rng.pick(pairs);
        s += p[0];
        stack.push(p[1]);
      }
    }
    return s + stack.reverse().join('');
  };
  return {
    fn: 'balanced',
    prompt: `Write a JavaScript function \`balanced(s)\` that returns true if every bracket in the string s is properly matched and nested, and false otherwise. The brackets are the pairs ${pairs.map((p) => p.join('')).join(', ')}; all other characters are ignored.`,
    solution: `function balanced(s) {\n  const opens = ${JSON.stringify(opens)}, closes = ${JSON.stringify(closes)}, stack = [];\n  for (const c of s) {\n    const o = opens.indexOf(c);\n    if (o >= 0) stack.push(closes[o]);\n    else if (closes.includes(c) && stack.pop() !== c) return false;\n  }\n  return stack.length === 0;\n}`,
    inputs: [
      [''],
      [pairs[0].join('')],
      [pairs[0][1] + pairs[0][0]],
      [valid()],
      [valid()],
      [`${valid()}${pairs[1][0]}`],
      ...many(2, () => [word(rng, 1, 12, alphabet)]),
    ],
    impl,
  };
};

// ---------------------------------------------------------------------------------------------
// Level 5

const editCost: ProgramTemplate = (rng) => {
  const ins = rng.int(1, 9);
  const del = rng.int(1, 9);
  const sub = rng.int(1, 9);
  const impl = (a: string, b: string): number => {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
      Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j * ins : j === 0 ? i * del : 0)),
    );
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + del, d[i][j - 1] + ins, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : sub));
    return d[a.length][b.length];
  };
  return {
    fn: 'cost',
    prompt: `Write a JavaScript function \`cost(a, b)\` that returns the minimum total cost of turning string a into string b, where inserting a character costs ${ins}, deleting a character costs ${del}, and replacing a character with a different one costs ${sub}.`,
    solution: `function cost(a, b) {\n  const d = [];\n  for (let i = 0; i <= a.length; i++) { d.push([]); for (let j = 0; j <= b.length; j++) d[i].push(i === 0 ? j * ${ins} : j === 0 ? i * ${del} : 0); }\n  for (let i = 1; i <= a.length; i++)\n    for (let j = 1; j <= b.length; j++)\n      d[i][j] = Math.min(d[i - 1][j] + ${del}, d[i][j - 1] + ${ins}, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : ${sub}));\n  return d[a.length][b.length];\n}`,
    inputs: [
      ['', ''],
      ['abc', ''],
      ['', 'abc'],
      ['kitten', 'sitting'],
      ...many(4, () => [word(rng, 0, 12, 'abcde'), word(rng, 0, 12, 'abcde')]),
    ],
    impl,
  };
};

const spiral: ProgramTemplate = (rng) => {
  const start = rng.int(0, 99);
  const step = rng.int(1, 9);
  const impl = (n: number): number[][] => {
    const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    let top = 0;
    let bottom = n - 1;
    let left = 0;
    let right = n - 1;
    let v = start;
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
    prompt: `Write a JavaScript function \`spiral(n)\` that returns an n-by-n matrix (an array of n rows) filled with the numbers ${start}, ${start + step}, ${start + 2 * step}, ... in clockwise spiral order, starting at the top-left corner and moving right first. spiral(0) is [].`,
    solution: `function spiral(n) {\n  const m = Array.from({ length: n }, () => new Array(n).fill(0));\n  let top = 0, bottom = n - 1, left = 0, right = n - 1, v = ${start};\n  while (top <= bottom && left <= right) {\n    for (let j = left; j <= right; j++, v += ${step}) m[top][j] = v;\n    top++;\n    for (let i = top; i <= bottom; i++, v += ${step}) m[i][right] = v;\n    right--;\n    if (top <= bottom) for (let j = right; j >= left; j--, v += ${step}) m[bottom][j] = v;\n    bottom--;\n    if (left <= right) for (let i = bottom; i >= top; i--, v += ${step}) m[i][left] = v;\n    left++;\n  }\n  return m;\n}`,
    inputs: [[0], [1], [2], [3], [4], [5], [rng.int(6, 9)]],
    impl,
  };
};

export const PROGRAM_TEMPLATES: Record<Difficulty, readonly ProgramTemplate[]> = {
  1: [linear, isMultiple],
  2: [countLetter, digitSum, sumMultiples, rotateLeft],
  3: [fizz, recurrence, chunk, shift],
  4: [runLength, wordCounts, balanced],
  5: [editCost, spiral],
};
