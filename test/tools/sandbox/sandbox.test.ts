import { afterEach, describe, expect, it } from 'vitest';
import { formatRunResult, JsSandbox, type SandboxOptions } from '../../../tools/sandbox/index.js';

const open: JsSandbox[] = [];
function sandbox(opts: SandboxOptions = {}): JsSandbox {
  // Generous by default: only the time-limit tests rely on a short limit, and CI machines are busy.
  const sb = new JsSandbox({ timeoutMs: 5000, ...opts });
  open.push(sb);
  return sb;
}
afterEach(() => {
  for (const sb of open.splice(0)) sb.dispose();
});

describe('JsSandbox as a REPL', () => {
  it('keeps top-level var, let, const, function and class declarations across runs', async () => {
    const sb = sandbox();
    await sb.run(
      'var a = 2; let b = 3; const c = 4; function f(x) { return x * 10 } class K { get v() { return 7 } }; globalThis.g = 5',
    );
    const r = await sb.run('a + b + c + f(1) + new K().v + g');
    expect(r.status).toBe('ok');
    expect(r.value).toBe('31');
  });

  it('shows the value of the last expression the way Node does, and nothing for undefined', async () => {
    const sb = sandbox();
    expect((await sb.run('({ a: 1, b: "x", c: [1, 2] })')).value).toBe("{ a: 1, b: 'x', c: [ 1, 2 ] }");
    expect((await sb.run('2n ** 70n')).value).toBe('1180591620717411303424n');
    expect((await sb.run('"text"')).value).toBe("'text'");
    expect((await sb.run('var unused = 1')).value).toBeUndefined();
  });

  it('captures console.log and console.error in call order, formatted like Node', async () => {
    const sb = sandbox();
    const r = await sb.run(
      'console.log("x =", 5, [1, "a"]); console.error("bad", { k: null }); console.log("%s has %d items", "list", 3)',
    );
    expect(r.output).toBe("x = 5 [ 1, 'a' ]\nbad { k: null }\nlist has 3 items\n");
    expect(formatRunResult(r).text).toBe("x = 5 [ 1, 'a' ]\nbad { k: null }\nlist has 3 items");
  });

  it('reports an uncaught error with the frames of the user code and keeps the state', async () => {
    const sb = sandbox();
    await sb.run('var kept = 42');
    const r = await sb.run('console.log("before");\nnull.x');
    expect(r.status).toBe('error');
    expect(r.output).toBe('before\n');
    expect(r.error).toMatch(/^Uncaught TypeError: Cannot read properties of null/);
    expect(r.error).toMatch(/cell\d+:2:/);
    expect(formatRunResult(r).isError).toBe(true);
    expect((await sb.run('kept')).value).toBe('42');
  });

  it('reports a syntax error without running anything', async () => {
    const sb = sandbox();
    const r = await sb.run('console.log("never"); let = = 3');
    expect(r.status).toBe('error');
    expect(r.output).toBe('');
    expect(r.error).toMatch(/SyntaxError/);
  });

  it('runs top-level await and awaits a returned promise', async () => {
    const sb = sandbox();
    const r = await sb.run('const v = await Promise.resolve(6); console.log(v * 7)');
    expect(r.output).toBe('42\n');
    expect((await sb.run('Promise.resolve([1, 2])')).value).toBe('[ 1, 2 ]');
    const rej = await sb.run('Promise.reject(new RangeError("nope"))');
    expect(rej.status).toBe('error');
    expect(rej.error).toMatch(/RangeError: nope/);
  });

  it('refuses code over the size limit with an actionable message', async () => {
    const sb = sandbox({ maxCodeChars: 100 });
    const r = await sb.run(`// ${'x'.repeat(200)}`);
    expect(r.status).toBe('rejected');
    expect(formatRunResult(r).text).toMatch(/limit is 100/);
  });
});

describe('JsSandbox isolation and determinism', () => {
  it('offers no host access: no require, process, import, fetch or timers', async () => {
    const sb = sandbox();
    const r = await sb.run(
      '[typeof require, typeof process, typeof fetch, typeof setTimeout, typeof module, typeof Buffer].join(",")',
    );
    expect(r.value).toBe("'undefined,undefined,undefined,undefined,undefined,undefined'");
    const imp = await sb.run('import("fs")');
    expect(imp.status).toBe('error');
  });

  it('contains a constructor-chain escape: the Function constructor finds no process', async () => {
    const sb = sandbox();
    const r = await sb.run('this.constructor.constructor("return process")()');
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/process is not defined/);
    const r2 = await sb.run('(() => {}).constructor("return this")().process');
    expect(r2.status).toBe('ok');
    expect(r2.value).toBeUndefined();
  });

  it('never leaks state from one sandbox into another', async () => {
    const a = sandbox();
    await a.run('var secret = "a-only"; globalThis.leak = 1; Array.prototype.evil = 1; console.log("unread output")');
    const b = sandbox();
    const r = await b.run('[typeof secret, typeof leak, typeof [].evil].join(",")');
    expect(r.value).toBe("'undefined,undefined,undefined'");
    expect(r.output).toBe('');
  });

  it('gives the same Math.random and Date values for the same seed, and different ones for another seed', async () => {
    const code = 'console.log(Math.random(), Math.random(), Date.now(), new Date().toISOString())';
    const a = await sandbox({ seed: 11 }).run(code);
    const b = await sandbox({ seed: 11 }).run(code);
    const c = await sandbox({ seed: 12 }).run(code);
    expect(a.output).toBe(b.output);
    expect(a.output).not.toBe(c.output);
    expect(a.output).toMatch(/^0\.\d+ 0\.\d+ \d+ 2025-/);
  });

  it('treats local time as UTC so dates never depend on the host time zone', async () => {
    const sb = sandbox();
    const r = await sb.run(
      '[new Date(2024, 2, 10, 12).toISOString(), new Date("2024-03-10T12:00").getHours(), new Date(0).getTimezoneOffset(), new Date(Date.UTC(2024, 1, 29)).toString()]',
    );
    expect(r.value).toBe(
      "[\n  '2024-03-10T12:00:00.000Z',\n  12,\n  0,\n  'Thu Feb 29 2024 00:00:00 GMT+0000 (Coordinated Universal Time)'\n]",
    );
  });
});

describe('JsSandbox containment of hostile code', () => {
  it('stops an infinite loop at the time limit and keeps working', async () => {
    const sb = sandbox({ timeoutMs: 200 });
    await sb.run('var before = 1');
    const r = await sb.run('while (true) {}');
    expect(r.status).toBe('timeout');
    expect(formatRunResult(r, sb.limits).text).toMatch(/ran past the 200 ms time limit/);
    expect((await sb.run('before + 1')).value).toBe('2');
  });

  it('stops a never-ending microtask chain at the time limit', async () => {
    const sb = sandbox({ timeoutMs: 200 });
    const r = await sb.run('function spin() { Promise.resolve().then(spin) } spin(); 1');
    expect(r.status).toBe('timeout');
    expect((await sb.run('3 * 3')).value).toBe('9');
  });

  it('reports a promise that never settles instead of hanging', async () => {
    const sb = sandbox();
    const r = await sb.run('new Promise(() => {})');
    expect(r.status).toBe('pending');
    expect(formatRunResult(r).isError).toBe(true);
    const r2 = await sb.run('await new Promise(() => {}); console.log("unreachable")');
    expect(r2.status).toBe('pending');
    expect((await sb.run('1 + 1')).value).toBe('2');
  });

  it('turns deep recursion into an ordinary RangeError', async () => {
    const sb = sandbox();
    const r = await sb.run('function down(n) { return down(n + 1) + 1 } down(0)');
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/Maximum call stack size exceeded/);
    expect((await sb.run('"still alive"')).value).toBe("'still alive'");
  });

  it('caps huge output and says how much was dropped', async () => {
    const sb = sandbox({ outputLimit: 1000, timeoutMs: 2000 });
    const r = await sb.run('for (let i = 0; i < 100000; i++) console.log("line " + i)');
    expect(r.output.length).toBeLessThanOrEqual(1000);
    expect(r.droppedChars).toBeGreaterThan(500_000);
    const text = formatRunResult(r).text;
    expect(text).toMatch(/\.\.\. \[output truncated: \d+ more characters\]$/);
    expect(text.startsWith('line 0\nline 1\n')).toBe(true);
  });

  it('resets the sandbox after a memory bomb, says so, and runs the next call in a fresh state', async () => {
    const sb = sandbox({ memoryLimitMb: 16, timeoutMs: 5000 });
    await sb.run('var before = "set"');
    const r = await sb.run('const hog = []; while (true) hog.push(new Array(100000).fill(1.5))');
    expect(r.status).toBe('oom');
    expect(r.reset).toBe(true);
    expect(formatRunResult(r, sb.limits).text).toMatch(/the sandbox ran out of memory; its state was reset/);
    expect(sb.resets).toBe(1);
    const after = await sb.run('typeof before');
    expect(after.status).toBe('ok');
    expect(after.value).toBe("'undefined'");
  });

  it('replaces the isolate when a thrown error keeps running past the limit while it is being read', async () => {
    const sb = sandbox({ timeoutMs: 200 });
    await sb.run('var before = 1');
    const r = await sb.run('const e = new Error("x"); Object.defineProperty(e, "stack", { get() { while (true) {} } }); throw e');
    expect(r.status).toBe('killed');
    expect(r.reset).toBe(true);
    expect(formatRunResult(r, sb.limits).text).toMatch(/sandbox was stopped and its state was reset/);
    const after = await sb.run('typeof before');
    expect(after.value).toBe("'undefined'");
  }, 20_000);

  it('refuses oversized buffers and strings as errors, not crashes', async () => {
    const sb = sandbox({ memoryLimitMb: 32 });
    expect((await sb.run('new ArrayBuffer(4e9)')).status).toBe('error');
    expect((await sb.run('let s = "x"; while (true) s += s')).error).toMatch(/Invalid string length|memory/);
    expect((await sb.run('"ok"')).value).toBe("'ok'");
  });

  it('runs queued calls one at a time, in order', async () => {
    const sb = sandbox();
    const rs = await Promise.all([sb.run('var n = 1'), sb.run('n += 1'), sb.run('n *= 10'), sb.run('n')]);
    expect(rs.map((r) => r.value)).toEqual([undefined, '2', '20', '20']);
  });

  it('rejects runs after dispose and tolerates a second dispose', async () => {
    const sb = new JsSandbox();
    sb.dispose();
    sb.dispose();
    const r = await sb.run('1');
    expect(r.status).toBe('rejected');
    expect(sb.disposed).toBe(true);
  });
});

describe('JsSandbox redeclaration', () => {
  it('explains how to fix a repeated top-level let or const', async () => {
    const sb = new JsSandbox();
    await sb.run('const total = 1');
    const r = await sb.run('const total = 2');
    sb.dispose();
    expect(r.status).toBe('error');
    expect(r.error).toMatch(/Identifier 'total' has already been declared \(top-level let, const and class names persist/);
  });
});
