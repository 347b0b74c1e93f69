import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const gym = join(root, 'dist', 'bin', 'gym.js');
const fixture = join(root, 'test', 'fixtures', 'arith-env.ts');
// The fixture is TypeScript: the built CLI loads it through tsx's loader, as a user's own env module would be.
const serveArgs = ['--import', 'tsx', gym, 'serve', '--env-module', fixture];

async function connect(args: string[]): Promise<Client> {
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args, cwd: root, stderr: 'pipe' }));
  return client;
}

function sumOf(structured: unknown): number {
  const [a, b, c] = (structured as { task: { prompt: string } }).task.prompt.match(/\d+/g)!.map(Number);
  return a + b + c;
}

describe('gym serve over stdio', { timeout: 120_000 }, () => {
  it('plays a task to a correct and to a wrong submission with a real MCP client', async () => {
    expect(existsSync(gym), 'dist/bin/gym.js is built by the global setup').toBe(true);
    const client = await connect(serveArgs);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['add', 'gym_list_tasks', 'gym_start', 'gym_submit']);
      const start = await client.callTool({ name: 'gym_start', arguments: { seed: 11, split: 'test' } });
      const sum = sumOf(start.structuredContent);
      const add = await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } });
      expect((add.content as Array<{ text: string }>)[0].text).toBe('40 + 2 = 42');
      const right = await client.callTool({ name: 'gym_submit', arguments: { answer: String(sum) } });
      expect(right._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true, 'toolgym/step': 2 });
      await client.callTool({ name: 'gym_start', arguments: { seed: 12 } });
      const wrong = await client.callTool({ name: 'gym_submit', arguments: { answer: 'forty-two' } });
      expect(wrong._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/correct': false });
      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/Unknown tool/);
    } finally {
      await client.close();
    }
  });

  it('answers a malformed line with a JSON-RPC error and keeps serving', async () => {
    const server = rawServer(serveArgs);
    server.write('this is not json');
    server.write('{"jsonrpc":"2.0","id":5,"method":"tools/list"');
    await server.waitFor(2);
    server.write({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await server.waitFor(3);
    const lines = await server.end();
    expect(lines.length, server.stderr()).toBe(3);
    expect(lines[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(lines[1]).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    expect(lines[2]).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'toolgym-arith' } } });
  });
});

/** A spawned `gym serve` spoken to line by line: what it answered, in order. */
function rawServer(args: string[]) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const lines: any[] = [];
  let buf = '';
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
  });
  return {
    lines,
    stderr: () => stderr,
    write: (message: string | object) =>
      child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`),
    /** Waits until `n` lines have come back (or 30 s have passed), and returns the last. */
    waitFor: async (n: number): Promise<any> => {
      for (let i = 0; i < 600 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 50));
      return lines[n - 1];
    },
    end: async (): Promise<any[]> => {
      child.stdin.end();
      await exited;
      return lines;
    },
  };
}

/** The per-request `_meta` envelope a 2026-07-28 client sends with every request. */
const envelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

describe('gym serve over stdio, protocol revision 2026-07-28', { timeout: 120_000 }, () => {
  it('a v2 client pinned to 2026-07-28 discovers, lists tools and plays two episodes by handle', async () => {
    const client = new ModernClient(
      { name: 'stdio-modern-test', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    // The SDK's own stdio transport: `server/discover` on a throwaway sibling process, then the
    // session's process opens with an enveloped request (no initialize).
    await client.connect(
      new ModernStdioClientTransport({
        command: process.execPath,
        args: [...serveArgs, '--replica-id', 's1'],
        cwd: root,
        stderr: 'pipe',
      }),
    );
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(client.getServerVersion()?.name).toBe('toolgym-arith');
      // The same connection answers a discover of its own.
      const discovered = await client.discover();
      expect(discovered.supportedVersions).toContain('2026-07-28');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['gym_list_tasks', 'gym_start', 'gym_submit', 'add']);
      const a = (await client.callTool({ name: 'gym_start', arguments: { seed: 1 } })) as any;
      const b = (await client.callTool({ name: 'gym_start', arguments: { seed: 2 } })) as any;
      const [ha, hb]: string[] = [a.structuredContent.episode, b.structuredContent.episode];
      expect(ha).toMatch(/^s1\.[A-Za-z0-9_-]{22}$/);
      expect(hb).toMatch(/^s1\./);
      expect(hb).not.toBe(ha);
      const stepB = (await client.callTool({ name: 'add', arguments: { a: 2, b: 5, episode: hb } })) as any;
      expect(stepB.content[0].text).toBe('2 + 5 = 7');
      expect(stepB._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/handle': hb });
      const stepA = (await client.callTool({ name: 'add', arguments: { a: 1, b: 1, episode: ha } })) as any;
      expect(stepA._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/handle': ha });
      // No session: a call must name its episode.
      const bare = (await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } })) as any;
      expect(bare.isError).toBe(true);
      expect(bare.content[0].text).toMatch(/Pass "episode"/);
      const right = (await client.callTool({
        name: 'gym_submit',
        arguments: { answer: String(sumOf(a.structuredContent)), episode: ha },
      })) as any;
      expect(right._meta).toMatchObject({
        'toolgym/reward': 1,
        'toolgym/correct': true,
        'toolgym/step': 2,
        'toolgym/handle': ha,
      });
      const wrong = (await client.callTool({ name: 'gym_submit', arguments: { answer: 'forty-two', episode: hb } })) as any;
      expect(wrong._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/correct': false, 'toolgym/handle': hb });
      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/Unknown tool/);
    } finally {
      await client.close();
    }
  });

  it('answers malformed lines with JSON-RPC errors and keeps serving 2026-07-28 requests', async () => {
    const server = rawServer(serveArgs);
    server.write('this is not json');
    expect(await server.waitFor(1)).toMatchObject({ id: null, error: { code: -32700 } });
    // A `server/discover` opens the connection in 2026-07-28 (the SDK's probe instance, pinned by the next request).
    server.write({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: envelope } });
    expect((await server.waitFor(2)).result.supportedVersions).toContain('2026-07-28');
    server.write({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'gym_start', arguments: { seed: 4 }, _meta: envelope },
    });
    const started = await server.waitFor(3);
    const handle: string = started.result.structuredContent.episode;
    expect(started).toMatchObject({ id: 2, result: { _meta: { 'toolgym/handle': handle } } });
    server.write('{"jsonrpc":"2.0","id":3,"method":"tools/call"');
    expect(await server.waitFor(4)).toMatchObject({ id: null, error: { code: -32700 } });
    // Valid JSON-RPC, but a tools/call without a tool name: one line that says what to send.
    server.write({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { arguments: {}, _meta: envelope } });
    expect(await server.waitFor(5)).toMatchObject({
      id: 4,
      error: { code: -32602, message: expect.stringMatching(/needs "name"/) },
    });
    server.write({
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: { name: 'add', arguments: { a: 40, b: 2, episode: handle }, _meta: envelope },
    });
    expect(await server.waitFor(6)).toMatchObject({
      id: 5,
      result: { content: [{ text: '40 + 2 = 42' }], _meta: { 'toolgym/step': 1, 'toolgym/handle': handle } },
    });
    // A 2025-11-25 initialize on a connection pinned to 2026-07-28 is refused; the connection stays up.
    server.write({
      jsonrpc: '2.0',
      id: 6,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(await server.waitFor(7)).toMatchObject({ id: 6, error: {} });
    server.write({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'gym_submit', arguments: { answer: 'no', episode: handle }, _meta: envelope },
    });
    expect(await server.waitFor(8)).toMatchObject({
      id: 7,
      result: { _meta: { 'toolgym/reward': 0, 'toolgym/handle': handle } },
    });
    const lines = await server.end();
    expect(lines.length, server.stderr()).toBe(8);
  });
});

describe('gym serve --env code-interp over stdio', { timeout: 120_000 }, () => {
  it('plays a code-interp task with the oracle to reward 1, and a wrong answer to reward 0', async () => {
    const { codeInterpEnv } = await import('../../../envs/code-interp/index.js');
    const client = await connect([gym, 'serve', '--env', 'code-interp']);
    try {
      const taskId = 'code-interp/compute.bigint/test/0';
      const task = codeInterpEnv.getTask(taskId);
      const family = codeInterpEnv.families.find((f) => f.name === task.family)!;
      await client.callTool({ name: 'gym_start', arguments: { taskId } });
      const history: Array<{ call: { name: string; arguments: Record<string, unknown> }; result: any }> = [];
      let final: Awaited<ReturnType<Client['callTool']>> | undefined;
      for (let i = 0; i < 8 && !final; i++) {
        const act = family.oracle(task, history);
        if (act.kind === 'answer') final = await client.callTool({ name: 'gym_submit', arguments: { answer: act.answer } });
        else
          for (const call of act.calls) {
            const result = await client.callTool({ name: call.name, arguments: call.arguments });
            expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
            history.push({ call, result });
          }
      }
      expect(history.length).toBeGreaterThan(0);
      expect(final?._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true, 'toolgym/terminated': true });
      await client.callTool({ name: 'gym_start', arguments: { taskId } });
      const wrong = await client.callTool({ name: 'gym_submit', arguments: { answer: 'not the answer' } });
      expect(wrong._meta).toMatchObject({ 'toolgym/reward': 0, 'toolgym/correct': false });
    } finally {
      await client.close();
    }
  });
});

describe('gym envs', { timeout: 120_000 }, () => {
  it('prints each environment with its tools, families and split sizes, as JSON too', async () => {
    const run = (args: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', gym, 'envs', '--env-module', fixture, ...args], { cwd: root });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('exit', (code) =>
          code === 0 && out ? resolve(out) : reject(new Error(`gym envs exited ${code} with no output: ${err}`)),
        );
      });
    const table = await run([]);
    expect(table).toMatch(/arith\s+v1\.0\.0/);
    expect(table).toMatch(/tools:\s+add/);
    expect(table).toMatch(/sum3\s+train\s+1000\s+test\s+200/);
    const json = JSON.parse(await run(['--json']));
    const arith = json.find((e: { id: string }) => e.id === 'arith');
    expect(arith).toMatchObject({ version: '1.0.0', splitSizes: { train: 1000, test: 200 }, tools: [{ name: 'add' }] });
  });
});
