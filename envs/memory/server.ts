/**
 * `gym serve --env memory --db <file>`: the memory tools over one persistent store, for a real agent
 * (Claude Code, an IDE, any MCP client) rather than for episodes. No task, no control tools: the
 * seven tools act on the file's `/memories` directly.
 *
 * The file is SQLite in WAL mode, so it survives restarts, several server processes (one per agent
 * window) can serve the same file at once (each write is one `BEGIN IMMEDIATE` transaction; a writer
 * waits for another's lock up to the busy timeout), and a process killed with SIGKILL loses no write
 * it acknowledged (the transaction is in the WAL before the result is sent).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MemoryStore, type MemoryStoreOptions } from './store.js';
import { MEMORY_TOOLS } from './tools.js';

export interface MemoryServerHandle {
  store: MemoryStore;
  server: McpServer;
  /** Resolves when the client goes away (stdin closes); the store is closed then. */
  closed: Promise<void>;
}

/** An MCP server with the memory tools over `store`. */
export function createMemoryServer(store: MemoryStore, version: string): McpServer {
  const server = new McpServer({ name: 'toolgym-memory', version });
  const ep = { store };
  for (const t of MEMORY_TOOLS) {
    server.registerTool(
      t.name,
      {
        title: t.title,
        description: t.description,
        inputSchema: z.object(t.inputSchema).strict(),
        annotations: t.annotations,
      },
      async (args: Record<string, unknown>, extra: { signal: AbortSignal }): Promise<CallToolResult> =>
        (await t.handler(args as never, ep, { signal: extra.signal, seed: 0 })) as CallToolResult,
    );
  }
  return server;
}

/** Serves the store at `opts.path` on stdio until the client closes it. */
export async function serveMemoryStdio(
  opts: MemoryStoreOptions & { path: string; version: string },
): Promise<MemoryServerHandle> {
  const store = new MemoryStore(opts);
  const server = createMemoryServer(store, opts.version);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => {
      store.close();
      resolve();
    };
  });
  await server.connect(transport);
  // The SDK's transport does not report the end of stdin: a client that goes away ends serving.
  process.stdin.once('end', () => void server.close());
  return { store, server, closed };
}
