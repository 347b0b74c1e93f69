/**
 * Training elsewhere (README "Training at scale elsewhere"), tested as far as this machine allows
 * (no verl, TRL or GPU here): the verl example's files name a real server and real tools; verl's
 * way of calling MCP (a fresh session for every call) plays a whole episode by its handle; the
 * example tool class compiles; and the TRL and verl export rows of a real rollout carry what those
 * trainers read, with no trace of the handle.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import { toTrl, toVerl } from '../../../agent/trajectory/index.js';
import type { ToolSchemaJson } from '../../../agent/types.js';
import { codeInterpEnv } from '../../../envs/code-interp/index.js';
import type { HttpServerHandle } from '../../../envs/core/http.js';
import { serveHttp } from '../../../envs/core/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const example = join(root, 'docs', 'examples', 'verl');

type Result = { content: Array<{ text?: string }>; isError?: boolean; structuredContent?: any; _meta?: Record<string, unknown> };

let server: HttpServerHandle;
beforeAll(async () => {
  server = await serveHttp(codeInterpEnv, { port: 0, log: () => undefined });
});
afterAll(async () => {
  await server?.close();
});

/** One call in its own MCP session, as verl's client manager makes every call (`async with client`). */
async function callInFreshSession(name: string, args: Record<string, unknown>): Promise<Result> {
  const client = new Client({ name: 'verl-like', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  try {
    return (await client.callTool({ name, arguments: args })) as Result;
  } finally {
    await client.close();
  }
}

describe('the verl example', () => {
  it('names a Streamable HTTP endpoint and tools the server lists', async () => {
    const servers = JSON.parse(readFileSync(join(example, 'mcp_server.json'), 'utf8')).mcpServers;
    expect(new URL(servers.toolgym.url).pathname).toBe(new URL(server.url).pathname);
    const yaml = readFileSync(join(example, 'tool_config.yaml'), 'utf8');
    const className = /class_name:\s*(\S+)/.exec(yaml)?.[1] ?? '';
    expect(existsSync(join(example, `${className.split('.')[0]}.py`))).toBe(true);
    expect(/mcp_servers_config_path:\s*(\S+)/.exec(yaml)?.[1]).toBe('docs/examples/verl/mcp_server.json');
    const selected = [...yaml.slice(yaml.indexOf('tool_selected_list:')).matchAll(/^\s+-\s+(\S+)$/gm)].map((m) => m[1]);
    const client = new Client({ name: 'check', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const listed = (await client.listTools()).tools.map((t) => t.name);
    await client.close();
    expect(selected.length).toBeGreaterThan(0);
    for (const name of selected) expect(listed).toContain(name);
  });

  it("plays an episode with verl's one-session-per-call client by passing the handle", async () => {
    const started = await callInFreshSession('gym_start', { taskId: 'code-interp/compute.bigint/test/0' });
    const episode: string = started.structuredContent.episode;
    expect(episode).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    const ran = await callInFreshSession('run_code', { code: '2n ** 10n', episode });
    expect(ran.isError).toBeFalsy();
    expect(ran.content.map((c) => c.text).join('\n')).toContain('1024');
    expect(ran._meta?.['toolgym/step']).toBe(1);
    const done = await callInFreshSession('gym_submit', { answer: '<answer>0</answer>', episode });
    expect(done._meta).toMatchObject({ 'toolgym/step': 2, 'toolgym/terminated': true, 'toolgym/handle': episode });
    expect(typeof done._meta?.['toolgym/reward']).toBe('number');
  });

  it("ships a tool class that compiles (Python's compile())", () => {
    let python: string | undefined;
    try {
      python = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      if (process.env.CI === 'true') throw new Error('python3 is missing (CI=true: the verl example must be compiled)');
      console.warn('[train-elsewhere] skipping the py_compile check: no python3');
      return;
    }
    expect(python).toMatch(/^Python 3/);
    // Python's own compiler (a syntax check that writes no .pyc): verl itself is not installed here.
    const f = join(example, 'toolgym_verl.py');
    execFileSync('python3', ['-c', 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")', f]);
  });
});

describe('the trajectory export feeding TRL and verl', () => {
  it('writes rows with the conversation, the tools as the policy saw them, and verl create_kwargs', async () => {
    const policy = new OraclePolicy(codeInterpEnv);
    const t = await runEpisode({ env: { url: server.url }, policy, taskId: 'code-interp/compute.bigint/test/1' });
    expect(t.correct).toBe(true);
    const client = new Client({ name: 'tools', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const { EnvClient } = await import('../../../agent/rollout/env-client.js');
    const tools: ToolSchemaJson[] = await new EnvClient(client).tools();
    await client.close();
    const trl = toTrl(t, { tools });
    expect(trl.messages[0].role).toBe('system');
    expect(trl.messages.some((m) => m.role === 'tool')).toBe(true);
    const call = trl.messages.find((m) => m.tool_calls)?.tool_calls?.[0];
    expect(call?.function.name).toBe('run_code');
    expect(typeof call?.function.arguments).toBe('object');
    expect(call?.function.arguments).not.toHaveProperty('episode');
    expect(JSON.stringify(trl)).not.toMatch(/"episode"|x-mcp-header/);
    const verl = toVerl(t, 0, { tools });
    expect(verl.data_source).toBe('code-interp');
    expect(verl.extra_info.tools_kwargs).toEqual({ run_code: { create_kwargs: { task_id: t.ids.task } } });
    expect(verl.prompt.map((m) => m.role)).toEqual(['system', 'user']);
  });
});
