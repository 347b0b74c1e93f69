/**
 * Hostile Python: infinite loops, memory bombs, deep recursion, huge output, a crashing runtime and
 * attempts to reach JavaScript, the network or the host. Each case checks that the sandbox says what
 * happened and then serves the next call (the state kept or reset, as stated).
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { formatPyResult, PySandbox, PyWorkerPool } from '../../../tools/sandbox/index.js';

const pool = new PyWorkerPool({ size: 1 });
afterAll(() => pool.close());
/** Cases that replace an interpreter wait for a spare to start: seconds of CPU on a busy machine. */
const REPLACES = 180_000;

/** The sandbox still answers, with its state as stated. */
async function serves(sb: PySandbox, kept: boolean): Promise<void> {
  const r = await sb.run('globals().get("marker", "gone")');
  expect(r.status).toBe('ok');
  expect(r.value).toBe(kept ? "'set'" : "'gone'");
  expect((await sb.run('sum(range(10))')).value).toBe('45');
}

async function sandbox(timeoutMs = 800): Promise<PySandbox> {
  const sb = await PySandbox.create({ pool, timeoutMs, memoryLimitMb: 128 });
  expect((await sb.run('marker = "set"')).status).toBe('ok');
  return sb;
}

describe('hostile Python code', { timeout: REPLACES }, () => {
  it('stops an infinite loop at the time limit with KeyboardInterrupt and keeps the state', async () => {
    const sb = await sandbox();
    const r = await sb.run('n = 0\nwhile True:\n    n += 1');
    expect(r.status).toBe('timeout');
    expect(formatPyResult(r, sb.limits).text).toMatch(/800 ms time limit and was stopped/);
    expect(Number((await sb.run('n')).value)).toBeGreaterThan(0);
    await serves(sb, true);
    sb.dispose();
  });

  it(
    'stops a loop that swallows KeyboardInterrupt by replacing the interpreter, and says the state is gone',
    async () => {
      const sb = await sandbox(500);
      const r = await sb.run(
        'while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass',
      );
      expect(r.status).toBe('killed');
      expect(r.reset).toBe(true);
      expect(formatPyResult(r, sb.limits).text).toMatch(/state was reset/);
      await serves(sb, false);
      sb.dispose();
    },
    REPLACES,
  );

  it(
    'turns a memory bomb into MemoryError at the cap, resets the state and says so',
    async () => {
      const sb = await sandbox(30_000);
      const r = await sb.run('blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 2**20))');
      expect(r.status).toBe('oom');
      expect(r.reset).toBe(true);
      expect(formatPyResult(r, sb.limits).text).toMatch(
        /ran out of memory \(MemoryError at the 128 MB limit\); its state was reset/,
      );
      await serves(sb, false);
      // A single huge allocation fails the same way.
      const one = await sb.run('x = bytearray(10**9)');
      expect(one.status, one.error).toBe('oom');
      await serves(sb, false);
      sb.dispose();
    },
    REPLACES,
  );

  it(
    'reports deep recursion as RecursionError, and survives a recursion limit raised past the stack',
    async () => {
      const sb = await sandbox(5000);
      const r = await sb.run('def f(n):\n    return f(n + 1)\nf(0)');
      expect(r.status).toBe('error');
      expect(r.error).toMatch(/RecursionError: maximum recursion depth exceeded/);
      expect(r.error?.length).toBeLessThan(7000);
      await serves(sb, true);
      const deep = await sb.run('import sys\nsys.setrecursionlimit(10**7)\ndef g(n):\n    return g(n + 1)\ng(0)');
      // CPython 3.14 guards the C stack itself, or the limit stops it; whichever way it ends, the sandbox goes on.
      expect(['error', 'crashed', 'timeout', 'killed']).toContain(deep.status);
      await serves(sb, deep.status === 'error' || deep.status === 'timeout');
      sb.dispose();
    },
    REPLACES,
  );

  it('caps a flood of output and ends it at the time limit', async () => {
    const sb = await sandbox();
    const r = await sb.run('while True:\n    print("spam" * 100)');
    expect(r.status).toBe('timeout');
    expect(r.output.length).toBe(8000);
    expect(r.droppedChars).toBeGreaterThan(0);
    await serves(sb, true);
    sb.dispose();
  });

  it(
    'replaces an interpreter whose runtime aborts, and the episode gets a clear error',
    async () => {
      const sb = await sandbox(30_000);
      const r = await sb.run('import os\nos.abort()');
      expect(r.status).toBe('crashed');
      expect(r.reset).toBe(true);
      expect(formatPyResult(r, sb.limits).text).toMatch(/interpreter crashed .*replaced and its state was reset/);
      await serves(sb, false);
      sb.dispose();
    },
    REPLACES,
  );

  it('has no road to JavaScript, the network, subprocesses or the host file system', async () => {
    const sb = await sandbox(3000);
    for (const mod of [
      'js',
      'pyodide_js',
      'pyodide.ffi',
      'pyodide.code',
      'pyodide.http',
      'micropip',
      'ctypes',
      '_pyodide_core',
    ]) {
      const r = await sb.run(`import ${mod}`);
      expect(r.status, mod).toBe('error');
      expect(r.error, mod).toMatch(/ModuleNotFoundError/);
    }
    // Walking the class graph to pyodide's modules finds emptied namespaces; gc walks are refused.
    const walk = await sb.run(
      "found = []\nfor c in object.__subclasses__():\n    for v in vars(c).values():\n        g = getattr(v, '__globals__', None)\n        if g and any(k in g for k in ('run_js', 'pyodide_js', 'jsfinder', 'to_js')):\n            found.append(c.__name__)\nfound",
    );
    expect(walk.value).toBe('[]');
    expect((await sb.run('import gc\ngc.get_objects()')).error).toMatch(/disabled in the sandbox/);
    const marker = `toolgym-py-escape-${process.pid}`;
    const sys = await sb.run(
      `import os, subprocess\n(os.system("touch ${tmpdir()}/${marker}"), subprocess.run(["ls"]).returncode if False else None)`,
    );
    expect(sys.status).toBe('ok');
    expect(existsSync(`${tmpdir()}/${marker}`)).toBe(false);
    expect((await sb.run('import subprocess\nsubprocess.run(["ls"])')).status).toBe('error');
    expect((await sb.run('import socket\nsocket.create_connection(("127.0.0.1", 80))')).error).toMatch(/PermissionError|OSError/);
    expect((await sb.run('import urllib.request\nurllib.request.urlopen("http://127.0.0.1:9/")')).status).not.toBe('ok');
    // Only the in-memory file system: none of the host's top-level folders, and no writes outside /tmp.
    const ls = await sb.run('import os\nsorted(os.listdir("/"))');
    expect(ls.value).toBe("['dev', 'home', 'lib', 'proc', 'tmp']");
    const hostOnly = readdirSync('/').filter((d) => !['dev', 'home', 'lib', 'proc', 'tmp'].includes(d));
    const probe = await sb.run(`import os\n[p for p in ${JSON.stringify(hostOnly.map((d) => `/${d}`))} if os.path.exists(p)]`);
    expect(probe.value).toBe('[]');
    expect((await sb.run('open("/lib/python3.14/evil.py", "w")')).error).toMatch(/Read-only file system/);
    expect((await sb.run('import os\nos.symlink("/lib", "/tmp/l")')).error).toMatch(/Read-only file system/);
    await serves(sb, true);
    sb.dispose();
  });
});
