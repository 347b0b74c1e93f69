import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { EnvClient } from '../../../agent/rollout/env-client.js';

/** A client whose every tools/call fails with `err`. */
function failingClient(err: Error): Client {
  return { callTool: () => Promise.reject(err) } as unknown as Client;
}

describe('EnvClient.call', () => {
  it("answers an unknown tool (InvalidParams) with an isError outcome: the policy's mistake", async () => {
    const env = new EnvClient(failingClient(new McpError(ErrorCode.InvalidParams, 'Unknown tool "nope"')));
    const out = await env.call('nope', {}, 1000, new AbortController().signal);
    expect(out).toMatchObject({ isError: true, meta: { terminated: false, truncated: false } });
    expect(out.text).toMatch(/Unknown tool "nope"/);
  });

  it('throws a server fault whose message merely reads like a caller error', async () => {
    const fault = new McpError(ErrorCode.InternalError, 'Invalid arguments: resource not found');
    const env = new EnvClient(failingClient(fault));
    await expect(env.call('add', {}, 1000, new AbortController().signal)).rejects.toBe(fault);
  });
});
