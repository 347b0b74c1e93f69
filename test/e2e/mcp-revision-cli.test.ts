/**
 * `gym rollout --url http://... --mcp-revision`: the command line drives a remote `gym serve --http`
 * in either MCP revision, and the oracle solves the same tasks the same way in both (the 2026-07-28
 * run holds no session: each call names its episode by handle). `gym eval --url` takes the flag too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServerHandle } from '../../envs/core/http.js';
import { serveHttp } from '../../envs/core/index.js';
import { arithEnv } from '../fixtures/arith-env.js';
import { repoRoot, runGym } from '../fixtures/gym-cli.js';

const fixture = join(repoRoot, 'test', 'fixtures', 'arith-env.ts');
const tsx = { env: { NODE_OPTIONS: '--import tsx' } };
let server: HttpServerHandle;
let dir: string;

beforeAll(async () => {
  server = await serveHttp(arithEnv, { port: 0, log: () => undefined });
  dir = mkdtempSync(join(tmpdir(), 'gym-revision-'));
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `gym rollout` of 3 tasks x 2 against the server in `revision` (or the default); its summary and trajectories. */
async function rollout(revision?: string) {
  const out = join(dir, `${revision ?? 'default'}.jsonl`);
  const args = ['rollout', '--url', server.url, '--env-module', fixture, '-n', '3', '-G', '2', '--concurrency', '2'];
  const r = await runGym(
    [...args, ...(revision ? ['--mcp-revision', revision] : []), '--out', out, '--json', '--no-progress'],
    tsx,
  );
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
  const trajectories = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .sort((a, b) => `${a.taskId}/${a.sample}`.localeCompare(`${b.taskId}/${b.sample}`));
  return { summary, trajectories };
}

describe('gym rollout --mcp-revision', () => {
  it('solves the same tasks with the oracle over 2026-07-28 (no session) as over 2025-11-25', { timeout: 180_000 }, async () => {
    const modern = await rollout('2026-07-28');
    // No session was opened: the run could only finish by passing handles.
    expect(server.sessionCount()).toBe(0);
    const legacy = await rollout('2025-11-25');
    expect(server.sessionCount()).toBeGreaterThan(0);
    for (const run of [modern, legacy]) expect(run.summary).toMatchObject({ episodes: 6, successRate: 1 });
    const view = (t: any) => [t.taskId, t.ending, t.reward, t.messages];
    expect(modern.trajectories.map(view)).toEqual(legacy.trajectories.map(view));
    // The default is the revision the loop's client negotiates: 2025-11-25 (a session per episode).
    const before = server.sessionCount();
    const dflt = await rollout();
    expect(dflt.summary).toMatchObject({ episodes: 6, successRate: 1 });
    expect(server.sessionCount()).toBeGreaterThan(before);
  });

  it('refuses a revision it does not speak, and the flag without an http(s) --url, saying what to pass', async () => {
    const bad = await runGym(['rollout', '--url', server.url, '--env-module', fixture, '--mcp-revision', '2024-11-05'], tsx);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--mcp-revision must be 2025-11-25 or 2026-07-28, got "2024-11-05"/);
    const local = await runGym(['rollout', '--env-module', fixture, '--mcp-revision', '2026-07-28'], tsx);
    expect(local.code).not.toBe(0);
    expect(local.stderr).toMatch(/pass --url http/);
    const ws = await runGym(
      ['rollout', '--url', 'ws://127.0.0.1:1/ws', '--env-module', fixture, '--mcp-revision', '2026-07-28'],
      tsx,
    );
    expect(ws.code).not.toBe(0);
    expect(ws.stderr).toMatch(/drop --mcp-revision/);
  });

  it('`gym eval --url --mcp-revision 2026-07-28` evaluates the remote environment', { timeout: 180_000 }, async () => {
    const out = join(dir, 'eval');
    const r = await runGym(
      [
        'eval',
        '--env',
        'arith',
        '--env-module',
        fixture,
        '--url',
        server.url,
        '--mcp-revision',
        '2026-07-28',
        '-k',
        '2',
        '--tasks',
        '3',
        '--bootstrap',
        '0',
        '--out',
        out,
        '--no-progress',
      ],
      tsx,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/evaluated 6 episodes over 3 task units \(0 aborted\)/);
    expect(r.stdout).toMatch(/pass@2 100\.0%/);
  });
});
