import { describe, expect, it } from 'vitest';
import { deepEqual, type HiddenTest, runHiddenTests, stripCodeFence } from '../../../tools/sandbox/index.js';

const TESTS: HiddenTest[] = [
  { call: 'sq(2)', expected: 4 },
  { call: 'sq(-3)', expected: 9 },
  {
    call: 'pairs(2)',
    expected: [
      [0, 0],
      [1, 1],
    ],
  },
  { assert: 'sq(0) === 0' },
];
const GOOD = 'function sq(x) { return x * x }\nconst pairs = (n) => Array.from({ length: n }, (_, i) => [i, i]);';

describe('runHiddenTests', () => {
  it('passes every test of a correct program', async () => {
    const r = await runHiddenTests(GOOD, TESTS);
    expect(r).toMatchObject({ passed: 4, total: 4 });
  });

  it('counts the tests a partly wrong program passes', async () => {
    const r = await runHiddenTests('function sq(x) { return x < 0 ? 0 : x * x }\nfunction pairs() { return [] }', TESTS);
    expect(r.passed).toBe(2);
    expect(r.outcomes.filter((o) => !o.passed).map((o) => o.message)).toEqual([
      'returned a different value',
      'returned a different value',
    ]);
  });

  it('fails every test when the code does not load, saying why', async () => {
    const r = await runHiddenTests('function sq(x) { return x *', TESTS);
    expect(r.passed).toBe(0);
    expect(r.loadError).toMatch(/SyntaxError/);
  });

  it('fails a test that loops forever or throws, and still runs the others', async () => {
    const r = await runHiddenTests(
      'function sq(x) { if (x < 0) while (true) {} if (x === 0) throw new Error("zero"); return x * x }\nfunction pairs(n) { return [[0, 0], [1, 1]] }',
      TESTS,
      { timeoutMs: 200 },
    );
    expect(r.passed).toBe(2);
    expect(r.outcomes[1].message).toBe('ran past the time limit');
    expect(r.outcomes[3].message).toMatch(/threw Error: zero/);
  });

  it('cannot be fooled by patching built-ins the checker might use', async () => {
    const forged =
      'function sq() { return 0 }\nfunction pairs() { return 0 }\nJSON.stringify = () => "4"; Object.is = () => true; Array.isArray = () => true; console.log = () => {};';
    const r = await runHiddenTests(forged, TESTS);
    expect(r.passed).toBe(1);
  });

  it('stops a returned value whose getter or proxy trap never returns, instead of hanging the checker', async () => {
    const hostile = [
      'function f() { return { get x() { while (true) {} } } }',
      'function g() { return new Proxy({}, { ownKeys() { while (true) {} } }) }',
      'function h() { return () => 1 }',
    ].join('\n');
    const tests: HiddenTest[] = [
      { call: 'f()', expected: { x: 1 } },
      { call: 'g()', expected: {} },
      { call: 'h()', expected: 1 },
      { call: '[1, { b: "x" }]', expected: [1, { b: 'x' }] },
    ];
    const r = await runHiddenTests(hostile, tests, { timeoutMs: 300 });
    expect(r.outcomes.map((o) => o.passed)).toEqual([false, false, false, true]);
    expect(r.outcomes[0].message).toBe('ran past the time limit');
  }, 20_000);

  it('runs the checks in one batch that prototype setters and patched string methods cannot forge', async () => {
    // Accessors on Array/Object prototypes and patched String methods would rewrite results built as
    // arrays or objects, or parsed with string methods, inside the isolate; the batch result is one
    // primitive string built by concatenation.
    const forged = [
      'function sq() { return 0 }',
      'function pairs() { return 0 }',
      'Object.defineProperty(Array.prototype, "0", { set() {}, get() { return "1d4" }, configurable: true });',
      'Object.defineProperty(Object.prototype, "ok", { get() { return true }, configurable: true });',
      'String.prototype.split = () => ["1d4", "1d9"]; String.prototype.concat = () => "1d4";',
    ].join('\n');
    const r = await runHiddenTests(forged, TESTS);
    expect(r.passed).toBe(1); // only sq(0) === 0 holds
  });

  it('a check whose error message getter never returns fails that check only, within the time limit', async () => {
    const code = [
      'function sq(x) { if (x === 2) { const e = new Error("x"); Object.defineProperty(e, "message", { get() { while (true) {} } }); throw e } return x * x }',
      'function pairs(n) { return [[0, 0], [1, 1]] }',
    ].join('\n');
    const t0 = performance.now();
    const r = await runHiddenTests(code, TESTS, { timeoutMs: 300 });
    expect(r.outcomes.map((o) => o.passed)).toEqual([false, true, true, true]);
    expect(r.outcomes[0].message).toBe('ran past the time limit');
    expect(performance.now() - t0).toBeLessThan(15_000);
  }, 20_000);

  it('reruns the checks one by one in a fresh sandbox when the batch runs out of time, so its side effects do not leak', async () => {
    // Each call bumps a counter; the slow check makes the batch time out. In the fresh sandbox of the
    // one-by-one rerun, the counter starts again from zero.
    const code =
      'var calls = 0; function sq(x) { calls++; if (x < 0) while (true) {} return x * x + (calls > 1 ? 1000 : 0) }\nfunction pairs(n) { return [[0, 0], [1, 1]] }';
    const r = await runHiddenTests(
      code,
      [
        { call: 'sq(2)', expected: 4 },
        { call: 'sq(-1)', expected: 1 },
        {
          call: 'pairs(2)',
          expected: [
            [0, 0],
            [1, 1],
          ],
        },
      ],
      { timeoutMs: 200 },
    );
    expect(r.outcomes.map((o) => o.passed)).toEqual([true, false, true]);
  }, 20_000);

  it('fails only the check that does not parse, naming the syntax error', async () => {
    const r = await runHiddenTests(GOOD, [
      { call: 'sq(2)', expected: 4 },
      { call: 'sq(', expected: 0 },
      { assert: 'sq(3) === 9' },
    ]);
    expect(r.outcomes.map((o) => o.passed)).toEqual([true, false, true]);
    expect(r.outcomes[1].message).toMatch(/SyntaxError/);
  });

  it('compares structured values by content, ignoring key order and treating NaN as equal to NaN', () => {
    expect(deepEqual({ a: [1, { b: 2 }], c: 'x' }, { c: 'x', a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual([NaN], [NaN])).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual('1', 1)).toBe(false);
  });

  it('takes the code out of a Markdown fence', () => {
    expect(stripCodeFence('Here:\n```js\nfunction f() {}\n```\nDone.')).toBe('function f() {}');
    expect(stripCodeFence('  function f() {}  ')).toBe('function f() {}');
  });
});
