import { afterEach, describe, expect, it } from 'vitest';
import { IsolatePool, JsSandbox } from '../../../tools/sandbox/index.js';

const pools: IsolatePool[] = [];
function pool(maxIdle = 4): IsolatePool {
  // size 0: no background pre-warming, so the ready count is only what sandboxes handed back.
  const p = new IsolatePool({ size: 0, maxIdle });
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

const HOSTILE =
  'var secret = 42; globalThis.leak = "x"; Array.prototype.extra = 1; Math.max = () => -1; JSON.stringify = () => "pwned"; Object.freeze(Object.prototype); console.log("set")';
const PROBE =
  '[typeof secret, typeof leak, String([].extra), Math.max(1, 2), JSON.stringify({ a: 1 }), Object.isFrozen(Object.prototype)].join(" ")';

describe('isolate recycling between sandboxes', () => {
  it("hands a finished sandbox's isolate back with a brand-new context: nothing the last episode did is visible", async () => {
    const p = pool();
    const a = await JsSandbox.create({ pool: p, seed: 1, timeoutMs: 5000 });
    expect((await a.run(HOSTILE)).output).toBe('set\n');
    expect((await a.run(PROBE)).value).toBe("'number string 1 -1 pwned true'");
    a.dispose();
    expect(p.readyCount(64)).toBe(1);
    const b = await JsSandbox.create({ pool: p, seed: 7, timeoutMs: 5000 });
    expect(p.readyCount(64)).toBe(0);
    expect((await b.run(PROBE)).value).toBe('\'undefined undefined undefined 2 {"a":1} false\'');
    // Seeded exactly like a sandbox on a never-used isolate.
    const fresh = await JsSandbox.create({ pool: new IsolatePool({ size: 0, maxIdle: 0 }), seed: 7, timeoutMs: 5000 });
    const draw = 'Math.random() + " " + new Date().toISOString()';
    expect((await b.run(draw)).value).toBe((await fresh.run(draw)).value);
    b.dispose();
    fresh.dispose();
  });

  it('never reuses an isolate whose code hit the time limit or left a promise pending', async () => {
    const p = pool();
    const slow = await JsSandbox.create({ pool: p, timeoutMs: 50 });
    expect((await slow.run('while (true) {}')).status).toBe('timeout');
    slow.dispose();
    const pending = await JsSandbox.create({ pool: p, timeoutMs: 5000 });
    expect((await pending.run('new Promise(() => {})')).status).toBe('pending');
    pending.dispose();
    expect(p.readyCount(64)).toBe(0);
    const ok = await JsSandbox.create({ pool: p, timeoutMs: 5000 });
    await ok.run('1 + 1');
    ok.dispose();
    expect(p.readyCount(64)).toBe(1);
  });

  it('keeps at most maxIdle isolates and none once recycling is off', async () => {
    const p = pool(1);
    const a = await JsSandbox.create({ pool: p });
    const b = await JsSandbox.create({ pool: p });
    a.dispose();
    b.dispose();
    expect(p.readyCount(64)).toBe(1);
    const off = pool(0);
    const c = await JsSandbox.create({ pool: off });
    c.dispose();
    expect(off.readyCount(64)).toBe(0);
  });
});
