/**
 * The Python sandbox (Pyodide in worker threads): REPL semantics, episode isolation, seeding, the
 * virtual clock, output capture, and hidden tests in a fresh interpreter. One pool serves the file,
 * so interpreters are started once and reset between sandboxes, as in a server.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clockStartFor,
  encodeValue,
  formatPyResult,
  PySandbox,
  PyWorkerPool,
  runHiddenTests,
  truncationMarker,
} from '../../../tools/sandbox/index.js';

const pool = new PyWorkerPool({ size: 1 });
afterAll(() => pool.close());

async function withSandbox<T>(opts: { seed?: number; outputLimit?: number }, f: (sb: PySandbox) => Promise<T>): Promise<T> {
  const sb = await PySandbox.create({ pool, ...opts });
  try {
    return await f(sb);
  } finally {
    sb.dispose();
  }
}

describe('PySandbox', () => {
  // The first case waits for the file's first interpreter to start (seconds of CPU, more on a busy machine).
  it('keeps names, functions and imports between runs and shows the last value as the REPL does', {
    timeout: 180_000,
  }, async () => {
    await withSandbox({}, async (sb) => {
      const a = await sb.run('import math\nx = 6\ndef sq(n):\n    return n * n\nprint("x is", x)\nsq(x)');
      expect(a).toMatchObject({ status: 'ok', output: 'x is 6\n', value: '36' });
      expect((await sb.run('math.isqrt(sq(x) + 1)')).value).toBe('6');
      expect((await sb.run("{'a': [1, 2.5, None], 'b': 'it\\'s'}")).value).toBe(`{'a': [1, 2.5, None], 'b': "it's"}`);
      // None is not shown, like the REPL; an assignment shows nothing either.
      expect((await sb.run('None')).value).toBeUndefined();
      expect((await sb.run('y = 3')).value).toBeUndefined();
      expect((await sb.run('_')).value).toBe(`{'a': [1, 2.5, None], 'b': "it's"}`);
    });
  });

  it('reports an uncaught exception as a traceback of the cell, without the harness frames', async () => {
    await withSandbox({}, async (sb) => {
      const r = await sb.run('def f(d):\n    return 1 / d\nf(0)');
      expect(r.status).toBe('error');
      expect(r.error).toMatch(/^Traceback \(most recent call last\):\n {2}File "<cell1>", line 3, in <module>/);
      expect(r.error).toMatch(/ZeroDivisionError: division by zero$/);
      expect(r.error).not.toMatch(/_tg_run|<exec>/);
      const s = await sb.run('def g(:');
      expect(s.status).toBe('error');
      expect(s.error).toMatch(/File "<cell2>", line 1[\s\S]*SyntaxError/);
      const text = formatPyResult(r).text;
      expect(text).toContain('ZeroDivisionError');
      expect(formatPyResult(r).isError).toBe(true);
    });
  });

  it('never carries state from one episode to the next, even module patches and files', async () => {
    await withSandbox({}, async (sb) => {
      const r = await sb.run(
        'import math, json, sys\nsecret = 42\nmath.pi = 3\njson.dumps = None\nsys.setrecursionlimit(50)\nopen("/tmp/note.txt", "w").write("left over")\nimport os; os.chdir("/tmp")',
      );
      expect(r.status).toBe('ok');
    });
    // The same pool hands the same interpreter back, reset to its baseline image.
    await withSandbox({}, async (sb) => {
      const r = await sb.run(
        'import math, json, sys, os\n(globals().get("secret"), math.pi, json.dumps([1]), sys.getrecursionlimit() > 50, os.listdir("/tmp"), os.getcwd())',
      );
      expect(r.status).toBe('ok');
      expect(r.value).toMatch(/^\(None, 3\.141592653589793, '\[1\]', True, \[\], '\/home\/pyodide'\)$/);
    });
  });

  it('gives the same random numbers, entropy and clock for the same seed, and others for another seed', async () => {
    const code =
      'import random, os, time, datetime, uuid\n(random.random(), random.randint(1, 10**9), os.urandom(8).hex(), str(uuid.uuid4()), time.time(), str(datetime.datetime.now()))';
    const a = await withSandbox({ seed: 11 }, (sb) => sb.run(code));
    const b = await withSandbox({ seed: 11 }, (sb) => sb.run(code));
    const c = await withSandbox({ seed: 12 }, (sb) => sb.run(code));
    expect(a.status).toBe('ok');
    expect(a.value).toBe(b.value);
    expect(c.value).not.toBe(a.value);
  });

  it('runs a virtual UTC clock that starts at the seed-chosen instant and sleeps without waiting', async () => {
    await withSandbox({ seed: 5 }, async (sb) => {
      const t = await sb.run('import time\nt0 = time.time()\nt0');
      const start = clockStartFor(5) / 1000;
      expect(Number(t.value)).toBeGreaterThanOrEqual(start);
      expect(Number(t.value)).toBeLessThan(start + 1);
      const r = await sb.run(
        'import datetime\nt1 = time.time(); time.sleep(30); t2 = time.time()\n(round(t2 - t1), time.tzname, time.localtime().tm_gmtoff, datetime.datetime.now().astimezone().utcoffset())',
      );
      expect(r.value).toBe("(30, ('UTC', 'UTC'), 0, datetime.timedelta(0))");
      // 30 virtual seconds cost far less than 30 real ones.
      expect(r.durationMs).toBeLessThan(10_000);
    });
  });

  it('caps output with the JavaScript sandbox truncation marker and keeps stdout and stderr in order', async () => {
    await withSandbox({ outputLimit: 100 }, async (sb) => {
      const r = await sb.run('import sys\nprint("out")\nprint("err", file=sys.stderr)\nprint("z" * 500)');
      expect(r.status).toBe('ok');
      expect(r.output.startsWith('out\nerr\n')).toBe(true);
      expect(r.output.length).toBe(100);
      expect(r.droppedChars).toBe(500 + 1 + 8 - 100);
      expect(formatPyResult(r).text).toContain(truncationMarker(r.droppedChars));
      const v = await sb.run('"q" * 1000');
      expect(v.value?.length).toBe(100);
      expect(v.droppedChars).toBe(902);
    });
  });

  it('reads end-of-file from input() instead of waiting for a terminal', async () => {
    await withSandbox({}, async (sb) => {
      const r = await sb.run('input("name? ")');
      expect(r.status).toBe('error');
      expect(r.error).toMatch(/EOFError/);
    });
  });

  it('rejects code past the length limit and runs after dispose', async () => {
    const sb = await PySandbox.create({ pool, maxCodeChars: 10 });
    expect((await sb.run('x = 1 + 2 + 3 + 4')).status).toBe('rejected');
    sb.dispose();
    sb.dispose();
    expect((await sb.run('1')).status).toBe('rejected');
  });
});

describe('Python hidden tests', () => {
  const tests = [
    { call: 'add(2, 3)', expected: 5 },
    { call: 'add(-1, 1)', expected: 0 },
    {
      call: 'pairs(3)',
      expected: [
        [0, 0],
        [1, 1],
        [2, 4],
      ],
    },
    { call: 'table()', expected: { a: 1, '2': [true, null, 1.5] } },
    { assert: 'add(1, 1) == 2' },
  ];
  const good =
    'def add(a, b):\n    return a + b\ndef pairs(n):\n    return [(i, i * i) for i in range(n)]\ndef table():\n    return {"a": 1, 2: [True, None, 1.5]}';

  it('passes every test of a correct solution, loaded into a fresh interpreter', async () => {
    const r = await runHiddenTests(good, tests, { language: 'python', pyPool: pool });
    expect(r.outcomes.filter((o) => !o.passed)).toEqual([]);
    expect(r.passed).toBe(5);
  });

  it('fails a wrong solution test by test, and a solution that does not load as a whole', async () => {
    const wrong = good.replace('return a + b', 'return a - b if a > 0 else a + b');
    const r = await runHiddenTests(wrong, tests, { language: 'python', pyPool: pool });
    expect(r.passed).toBe(3);
    expect(r.outcomes[0]).toMatchObject({ passed: false, message: 'returned a different value' });
    const broken = await runHiddenTests('def add(a, b)\n    return a + b', tests, { language: 'python', pyPool: pool });
    expect(broken.passed).toBe(0);
    expect(broken.loadError).toMatch(/SyntaxError/);
  });

  it('cannot be fooled by patching builtins, json or the value types', async () => {
    const cheat =
      'import builtins, json\nclass Liar(int):\n    def __eq__(self, o):\n        return True\n    def __repr__(self):\n        return "5"\njson.dumps = lambda *a, **k: "5"\nbuiltins.repr = lambda v: "5"\ndef add(a, b):\n    return Liar(7)\ndef pairs(n):\n    return Liar(7)\ndef table():\n    return {}';
    const r = await runHiddenTests(cheat, tests, { language: 'python', pyPool: pool });
    expect(r.outcomes.slice(0, 4).every((o) => !o.passed)).toBe(true);
  });

  it('encodes numbers as the host does, so Python floats and big integers compare with JSON expectations', async () => {
    await withSandbox({}, async (sb) => {
      const values: Array<[string, unknown]> = [
        ['1e21', 1e21],
        ['1e-7', 1e-7],
        ['0.1 + 0.2', 0.1 + 0.2],
        ['-0.0', 0],
        ['2 ** 60', 2 ** 60],
        ['1.5e16', 1.5e16],
        ['123456.789', 123456.789],
        ['"é\\n\\u0001"', 'é\n\u0001'],
      ];
      const r = await sb.evaluateAll(values.map(([e]) => e));
      expect(r?.map((x) => x.encoded)).toEqual(values.map(([, v]) => encodeValue(v)));
    });
  });
});

describe('a wheels folder', () => {
  it('loads every wheel of the folder into each interpreter before its baseline', { timeout: 180_000 }, async (ctx) => {
    // A pure-Python wheel made with the host's python3 (zipfile), as a user would bring one.
    const dir = mkdtempSync(join(tmpdir(), 'toolgym-wheels-'));
    const make = [
      'import sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '    z.writestr("toolgym_probe/__init__.py", "ANSWER = 42\\n")',
      '    z.writestr("toolgym_probe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: toolgym-probe\\nVersion: 1.0\\n")',
      '    z.writestr("toolgym_probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: toolgym-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
      '    z.writestr("toolgym_probe-1.0.dist-info/RECORD", "")',
    ].join('\n');
    const r = spawnSync('python3', ['-c', make, join(dir, 'toolgym_probe-1.0-py3-none-any.whl')], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      if (process.env.CI === 'true')
        throw new Error(`python3 is needed to build the test wheel: ${r.error?.message ?? r.stderr}`);
      console.warn('[python wheels] skipped: no python3 to build the test wheel');
      ctx.skip();
      return;
    }
    const wheels = new PyWorkerPool({ size: 0, wheelsDir: dir });
    try {
      const sb = await PySandbox.create({ pool: wheels });
      expect((await sb.run('import toolgym_probe\ntoolgym_probe.ANSWER')).value).toBe('42');
      sb.dispose();
      // The standard-library pool does not have it.
      const plain = await PySandbox.create({ pool });
      expect((await plain.run('import toolgym_probe')).error).toMatch(/ModuleNotFoundError/);
      plain.dispose();
    } finally {
      wheels.close();
    }
  });
});
