import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { JsSandbox } from '../../../tools/sandbox/index.js';

// Each case is evaluated in the sandbox and on the host; the sandbox's console must print what
// Node's util.inspect prints for the same value.
const CASES = [
  '1',
  '-0',
  '10n',
  '"it\'s"',
  'null',
  'undefined',
  'true',
  'Symbol("x")',
  '[1, 2, 3]',
  '[]',
  '({})',
  '({ a: 1, b: "x" })',
  '({ a: { b: { c: {} } } })',
  '({ a: { b: { c: { d: 1 } } } })',
  'Array.from({ length: 30 }, (_, i) => i * i)',
  'Array.from({ length: 120 }, (_, i) => i)',
  '["apple", "banana", "cherry", "date", "elderberry", "fig", "grape", "honeydew"]',
  '[[1, 2], [3, 4]]',
  'new Map([["a", 1], ["b", { x: 2 }]])',
  'new Set([1, 2, 3])',
  '(function foo() {})',
  '(() => 1)',
  '(class A {})',
  '(async function q() {})',
  'new Uint8Array([1, 2, 3])',
  '[, 1, , 2]',
  '({ "a-b": 1, 2: 3 })',
  '(() => { const o = { a: 1 }; o.self = o; return o })()',
  'new Date(0)',
  '/ab+c/g',
  '({ s: "line\\nbreak" })',
  '({ longkeyname1: "some long value here", longkeyname2: "another long value here", k3: 12345 })',
  'Object.create(null)',
  '(() => { class P { constructor() { this.x = 1 } }; return new P() })()',
  '[1.5, -2, 3e21]',
  'new Number(3)',
  '({ get g() { return 1 } })',
  'Array(5)',
  '[{ a: 1, b: 2 }, { a: 3, b: 4 }]',
  '[[[[1]]]]',
  '({ a: [1, 2, { b: [3, { c: 4 }] }] })',
  '"x".repeat(100)',
];

describe('sandbox console formatting', () => {
  const sb = new JsSandbox();
  afterAll(() => sb.dispose());

  it('prints common values exactly as Node util.inspect does', async () => {
    const mismatches: string[] = [];
    for (const expr of CASES) {
      const r = await sb.run(`console.log([${expr}][0])`);
      // The host side evaluates the same source with the Function constructor (trusted test input).
      const v = new Function(`return (${expr})`)();
      const want = typeof v === 'string' ? `${v}\n` : `${inspect(v)}\n`;
      if (r.output !== want)
        mismatches.push(`${expr}\n  sandbox: ${JSON.stringify(r.output)}\n  node:    ${JSON.stringify(want)}`);
    }
    expect(mismatches, mismatches.join('\n')).toEqual([]);
  });

  it('formats an Error with its message and the user frame', async () => {
    const r = await sb.run('console.log(new Error("boom"))');
    expect(r.output).toMatch(/^Error: boom\n\s+at cell\d+:1:13/);
  });
});
