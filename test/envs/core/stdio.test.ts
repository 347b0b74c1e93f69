import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
    const child = spawn(process.execPath, serveArgs, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
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
    const waitFor = async (n: number): Promise<void> => {
      for (let i = 0; i < 600 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    child.stdin.write('this is not json\n');
    child.stdin.write('{"jsonrpc":"2.0","id":5,"method":"tools/list"\n');
    await waitFor(2);
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
    );
    await waitFor(3);
    child.stdin.end();
    await exited;
    expect(lines.length, stderr).toBe(3);
    expect(lines[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    expect(lines[1]).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    expect(lines[2]).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'toolgym-arith' } } });
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
