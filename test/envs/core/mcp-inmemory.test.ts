import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectInMemory } from '../../../envs/core/index.js';
import { undescribedFields } from '../../../envs/core/schema.js';
import { arithEnv } from '../../fixtures/arith-env.js';

type Client = Awaited<ReturnType<typeof connectInMemory>>;

/** A tools/call with params as given (the SDK client would otherwise shape them). */
function rawCall(c: Client, params: Record<string, unknown>) {
  return c.request({ method: 'tools/call', params } as never, CallToolResultSchema);
}

async function rejection(p: Promise<unknown>): Promise<McpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(McpError);
  return err as McpError;
}

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe('the in-memory MCP server', () => {
  it('lists the env tools and the control tools, the latter marked toolgym/control, all fields described', async () => {
    client = await connectInMemory(arithEnv);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['add', 'gym_list_tasks', 'gym_start', 'gym_submit']);
    for (const t of tools) {
      expect(t._meta?.['toolgym/control'] === true).toBe(t.name.startsWith('gym_'));
      expect(undescribedFields(t.inputSchema as Record<string, unknown>)).toEqual([]);
    }
  });

  it('answers an unknown tool with a protocol error, not a result', async () => {
    client = await connectInMemory(arithEnv);
    await expect(client.callTool({ name: 'subtract', arguments: {} })).rejects.toThrow(McpError);
    await expect(client.callTool({ name: 'subtract', arguments: {} })).rejects.toThrow(/Unknown tool "subtract"/);
  });

  it('names the unknown tool in a one-line -32602 error that carries the MCP prefix once', async () => {
    client = await connectInMemory(arithEnv);
    const err = await rejection(client.callTool({ name: 'subtract', arguments: {} }));
    expect(err.code).toBe(-32602);
    expect(err.message).toBe(
      'MCP error -32602: Unknown tool "subtract": call tools/list to see the tools of environment "arith".',
    );
  });

  it('answers arguments that are not a JSON object with a one-line -32602 error, and the session goes on', async () => {
    client = await connectInMemory(arithEnv);
    await client.callTool({ name: 'gym_start', arguments: { seed: 0 } });
    for (const [args, got] of [
      ['{"a": 1, "b": 2}', 'a string'],
      [[1, 2], 'an array'],
      [null, 'null'],
      [3, 'a number'],
    ] as const) {
      const err = await rejection(rawCall(client, { name: 'add', arguments: args }));
      expect(err.code).toBe(-32602);
      expect(err.message).toBe(
        `MCP error -32602: Invalid arguments for tool "add": "arguments" must be a JSON object, got ${got}; send {"a": ..., "b": ...}.`,
      );
    }
    // no step was spent on a malformed request
    const ok = await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
    expect(ok._meta).toMatchObject({ 'toolgym/step': 1 });
  });

  it('answers a call without arguments with -32602 naming what the tool requires, and runs a tool that requires nothing', async () => {
    client = await connectInMemory(arithEnv);
    const started = await rawCall(client, { name: 'gym_start' });
    expect(started.isError).toBeUndefined();
    const err = await rejection(rawCall(client, { name: 'add' }));
    expect(err.code).toBe(-32602);
    expect(err.message).toBe('MCP error -32602: Invalid arguments for tool "add": no "arguments"; send {"a": ..., "b": ...}.');
  });

  it('answers a tools/call without a tool name with a one-line -32602 error', async () => {
    client = await connectInMemory(arithEnv);
    const err = await rejection(rawCall(client, { arguments: {} }));
    expect(err.code).toBe(-32602);
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(/^MCP error -32602: tools\/call needs "name"/);
  });

  it('carries the MCP prefix once on errors the SDK itself raises (an unknown resource)', async () => {
    client = await connectInMemory(arithEnv);
    const err = await rejection(client.readResource({ uri: 'toolgym://nothing/here' }));
    expect(err.code).toBe(-32602);
    expect(err.message.match(/MCP error/g)).toHaveLength(1);
  });

  it('answers invalid arguments with an isError result naming the field, carrying the episode _meta', async () => {
    client = await connectInMemory(arithEnv);
    await client.callTool({ name: 'gym_start', arguments: { seed: 0 } });
    const r = await client.callTool({ name: 'add', arguments: { a: 1, b: 'two' } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/`b`/);
    expect(r._meta).toMatchObject({ 'toolgym/step': 1, 'toolgym/terminated': false });
  });

  it('plays a task end to end and returns the reward in _meta', async () => {
    client = await connectInMemory(arithEnv);
    const start = await client.callTool({ name: 'gym_start', arguments: { taskId: 'arith/sum3/test/7' } });
    const task = (start.structuredContent as { task: { prompt: string } }).task;
    const [a, b, c] = task.prompt.match(/\d+/g)!.map(Number);
    const ab = await client.callTool({ name: 'add', arguments: { a, b } });
    expect((ab.content as Array<{ text: string }>)[0].text).toBe(`${a} + ${b} = ${a + b}`);
    const done = await client.callTool({ name: 'gym_submit', arguments: { answer: `<answer>${a + b + c}</answer>` } });
    expect(done._meta).toMatchObject({ 'toolgym/reward': 1, 'toolgym/correct': true, 'toolgym/terminated': true });
  });

  it('serves task descriptions as resources without the reference', async () => {
    client = await connectInMemory(arithEnv);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('toolgym://tasks/arith/sum3/test/0');
    const read = await client.readResource({ uri: 'toolgym://tasks/arith/sum3/test/4' });
    const task = JSON.parse((read.contents[0] as { text: string }).text);
    expect(task.id).toBe('arith/sum3/test/4');
    expect(task.reference).toBeUndefined();
    await expect(client.readResource({ uri: 'toolgym://tasks/arith/sum3/test/99999' })).rejects.toThrow(/split size/);
  });
});
