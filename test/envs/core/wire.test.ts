import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { connectInMemory } from '../../../envs/core/index.js';
import { EpisodeMetaSchema, hasControlMarker, isCallerError, META, readEpisodeMeta } from '../../../envs/core/wire.js';
import { arithEnv } from '../../fixtures/arith-env.js';

describe('the wire contract', () => {
  it('keeps the fields of _meta that parse and drops those of the wrong type', () => {
    const read = readEpisodeMeta({ [META.step]: 2, [META.terminated]: 'yes', [META.reward]: 1, other: 1 });
    expect(read).toEqual({ [META.step]: 2, [META.reward]: 1 });
    expect(readEpisodeMeta(undefined)).toEqual({});
  });

  it('blames the caller for invalid params and unknown methods only, by code', () => {
    expect(isCallerError(new McpError(ErrorCode.InvalidParams, 'x'))).toBe(true);
    expect(isCallerError(new McpError(ErrorCode.MethodNotFound, 'x'))).toBe(true);
    expect(isCallerError(new McpError(ErrorCode.InternalError, 'Unknown tool: not found'))).toBe(false);
    expect(isCallerError(new Error('MCP error -32602: Invalid arguments'))).toBe(false);
  });

  it('is what the server sends: every result _meta parses and the control tools carry the marker', async () => {
    const client = await connectInMemory(arithEnv);
    try {
      const { tools } = await client.listTools();
      expect(tools.filter(hasControlMarker).map((t) => t.name)).toEqual(['gym_list_tasks', 'gym_start', 'gym_submit']);
      const start = await client.callTool({ name: 'gym_start', arguments: { seed: 0 } });
      expect(EpisodeMetaSchema.parse(start._meta)[META.step]).toBe(0);
      const bad = await client.callTool({ name: 'add', arguments: { a: 'one', b: 2 } });
      expect(bad.isError).toBe(true);
      expect(EpisodeMetaSchema.parse(bad._meta)[META.step]).toBe(1);
      const done = await client.callTool({ name: 'gym_submit', arguments: { answer: '0' } });
      expect(EpisodeMetaSchema.parse(done._meta)).toMatchObject({ [META.step]: 2, [META.terminated]: true });
    } finally {
      await client.close();
    }
  });
});
