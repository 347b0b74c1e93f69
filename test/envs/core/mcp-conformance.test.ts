/**
 * The official MCP conformance suite against `gym serve --http`, on both protocol revisions:
 * @modelcontextprotocol/conformance 0.1.16 for 2025-11-25 (sessions) and the 0.2.0 pre-release
 * (`conformance-next`) for 2026-07-28 (sessionless: `server/discover`, the `_meta` envelope, the
 * `Mcp-Method`/`Mcp-Name`/`Mcp-Param-*` headers, caching). The suite runs as a child process; the
 * server runs here, in this test's process.
 *
 * Node: the suite needs Node >= 22. CI runs the whole test suite twice, on Node 20 and on Node 24;
 * on Node 24 this test runs the suite with the test's own Node, and on Node 20 it skips with a
 * printed reason and does NOT fail under CI=true: the same commit's Node 24 run is where it counts
 * (Node 20 cannot run the suite, and the server code under test is the same on both). Locally,
 * `CONFORMANCE_NODE=/path/to/node22+` runs it under Node 20 as well. Anything else missing (the
 * suite packages) fails under CI=true.
 *
 * Scenarios: those whose subject toolgym serves. The suite's other scenarios call the fixture tools,
 * prompts and completions of its reference server (`test_image_content`, `test_simple_prompt`, ...)
 * that an environment server does not have. Within the scenarios run, a check that reports itself
 * "Not testable: server does not list the diagnostic tool ..." is such a fixture check; every other
 * check must pass (a WARNING for a SHOULD is reported but allowed).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeInterpEnv } from '../../../envs/code-interp/index.js';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import { serveHttp } from '../../../envs/core/index.js';

const require = createRequire(import.meta.url);

/** The CLI of an installed suite package, or undefined. */
function suiteCli(pkg: string): string | undefined {
  try {
    const root = dirname(require.resolve(`${pkg}/package.json`));
    const cli = join(root, 'dist', 'index.js');
    return existsSync(cli) ? cli : undefined;
  } catch {
    return undefined;
  }
}

const SUITES = {
  '2025-11-25': { pkg: '@modelcontextprotocol/conformance', args: [] as string[] },
  '2026-07-28': { pkg: 'conformance-next', args: ['--spec-version', '2026-07-28'] },
};

const SCENARIOS: Record<keyof typeof SUITES, string[]> = {
  '2025-11-25': [
    'server-initialize',
    'ping',
    'tools-list',
    'resources-list',
    'server-sse-multiple-streams',
    'dns-rebinding-protection',
  ],
  '2026-07-28': [
    'server-stateless',
    'tools-list',
    'resources-list',
    'sep-2164-resource-not-found',
    'caching',
    'dns-rebinding-protection',
    'http-header-validation',
    'http-custom-header-server-validation',
    'server-sse-multiple-streams',
  ],
};

/** Checks that fail for a reason outside toolgym's subject, by id, with the reason. */
const NOT_APPLICABLE: Record<string, string> = {
  'sep-2549-prompts-list-caching-hints':
    'toolgym serves no prompts (prompts/list is -32601, as the spec wants for an absent capability)',
};

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

const major = Number(process.versions.node.split('.')[0]);
const node = major >= 22 ? process.execPath : process.env.CONFORMANCE_NODE;
const skipReason =
  node === undefined
    ? `the MCP conformance suite needs Node >= 22 and this is Node ${process.versions.node}; CI's Node 24 run executes it (set CONFORMANCE_NODE to a Node >= 22 binary to run it here)`
    : undefined;
if (skipReason) console.warn(`[mcp conformance] skipping: ${skipReason}`);

function runScenario(cli: string, extra: string[], url: string, scenario: string, out: string): Promise<Check[]> {
  return new Promise((resolve, reject) => {
    const dir = join(out, scenario);
    execFile(
      node!,
      [cli, 'server', '--url', url, '--scenario', scenario, '-o', dir, ...extra],
      { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const runs = existsSync(dir) ? readdirSync(dir) : [];
        const file = runs.length > 0 ? join(dir, runs[0], 'checks.json') : undefined;
        if (!file || !existsSync(file)) {
          reject(new Error(`scenario ${scenario} wrote no checks.json (${err?.message ?? 'no error'}): ${stdout}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(readFileSync(file, 'utf8')) as Check[]);
      },
    );
  });
}

describe.skipIf(skipReason !== undefined)('the official MCP conformance suite', () => {
  let server: HttpServerHandle;
  let out: string;
  beforeAll(async () => {
    server = await serveHttp(codeInterpEnv, { port: 0, log: () => undefined });
    out = mkdtempSync(join(tmpdir(), 'toolgym-conformance-'));
  });
  afterAll(async () => {
    await server?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  for (const [revision, suite] of Object.entries(SUITES) as Array<[keyof typeof SUITES, (typeof SUITES)[keyof typeof SUITES]]>) {
    it(`passes the applicable server scenarios of revision ${revision}`, async () => {
      const cli = suiteCli(suite.pkg);
      if (!cli) {
        const reason = `${suite.pkg} is not installed`;
        if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: the conformance suite must run; npm ci installs it)`);
        console.warn(`[mcp conformance] skipping revision ${revision}: ${reason}`);
        return;
      }
      const failures: string[] = [];
      let passed = 0;
      for (const scenario of SCENARIOS[revision]) {
        const checks = await runScenario(cli, suite.args, server.url, scenario, join(out, revision));
        expect(checks.length, `${scenario} ran no checks`).toBeGreaterThan(0);
        for (const c of checks) {
          if (c.status === 'SUCCESS') passed++;
          if (c.status !== 'FAILURE') continue;
          if (c.errorMessage?.startsWith('Not testable: server does not list the diagnostic tool')) continue;
          if (NOT_APPLICABLE[c.id]) continue;
          failures.push(`${scenario} / ${c.id}: ${c.errorMessage ?? 'failed'}`);
        }
      }
      expect(failures).toEqual([]);
      expect(passed).toBeGreaterThan(SCENARIOS[revision].length);
    }, 600_000);
  }
});
