/**
 * The memory tools, shaped like Anthropic's memory tool and Letta's `memory` tool (the same command
 * names and argument names, one MCP tool per command), plus `memory_search` over the store (SQLite
 * FTS5, BM25). A failure is an `isError` result whose text shows the state needed to recover.
 */
import { z } from 'zod';
import type { ToolResult, ToolSpec } from '../core/index.js';
import { textResult } from '../core/index.js';
import { MemoryError, type MemoryStore } from './store.js';

/** What a memory tool works on: the episode's store (in-memory per episode, or the shared file of `--db`). */
export interface MemoryEpisode {
  store: MemoryStore;
}

const PATH = z
  .string()
  .min(1)
  .max(256)
  .describe('A path under /memories, e.g. "/memories/profile.md" (a directory such as "/memories" for view).');

/** Runs a store operation; a `MemoryError` becomes an `isError` result with its message. */
function guarded(op: () => string | ToolResult): ToolResult {
  try {
    const out = op();
    return typeof out === 'string' ? textResult(out) : out;
  } catch (err) {
    if (err instanceof MemoryError) return textResult(err.message, true);
    throw err;
  }
}

export const viewTool: ToolSpec<MemoryEpisode, any> = {
  name: 'view',
  title: 'View a memory file or directory',
  description:
    'Shows a memory file with numbered lines, or lists a directory (files and sizes, and how much of the capacity is used). Start with view /memories to see what you remember.',
  inputSchema: {
    path: PATH,
    view_range: z
      .tuple([z.number().int(), z.number().int()])
      .optional()
      .describe('Optional [first, last] line numbers to show (1-based, inclusive; last -1 means the end of the file).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (a: { path: string; view_range?: [number, number] }, ep) => guarded(() => ep.store.view(a.path, a.view_range)),
};

export const createTool: ToolSpec<MemoryEpisode, any> = {
  name: 'create',
  title: 'Create or overwrite a memory file',
  description: 'Creates a memory file with the given text, or overwrites the file if it exists.',
  inputSchema: {
    path: PATH,
    file_text: z.string().max(100_000).describe('The whole text of the file.'),
  },
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (a: { path: string; file_text: string }, ep) => guarded(() => ep.store.create(a.path, a.file_text)),
};

export const strReplaceTool: ToolSpec<MemoryEpisode, any> = {
  name: 'str_replace',
  title: 'Replace text in a memory file',
  description:
    'Replaces the one exact occurrence of old_str in a memory file with new_str (an empty new_str deletes it). Fails, showing the file, when old_str occurs zero times or more than once.',
  inputSchema: {
    path: PATH,
    old_str: z
      .string()
      .min(1)
      .max(100_000)
      .describe('The exact text to replace (whitespace included); it must occur exactly once.'),
    new_str: z.string().max(100_000).describe('The text to put in its place ("" to delete it).'),
  },
  annotations: { destructiveHint: true, openWorldHint: false },
  handler: async (a: { path: string; old_str: string; new_str: string }, ep) =>
    guarded(() => ep.store.strReplace(a.path, a.old_str, a.new_str)),
};

export const insertTool: ToolSpec<MemoryEpisode, any> = {
  name: 'insert',
  title: 'Insert lines into a memory file',
  description: 'Inserts text into a memory file after the given line number (0 inserts at the top).',
  inputSchema: {
    path: PATH,
    insert_line: z.number().int().min(0).describe('The line after which to insert (0 = before the first line).'),
    insert_text: z.string().min(1).max(100_000).describe('The text to insert (one or more lines).'),
  },
  annotations: { destructiveHint: false, openWorldHint: false },
  handler: async (a: { path: string; insert_line: number; insert_text: string }, ep) =>
    guarded(() => ep.store.insert(a.path, a.insert_line, a.insert_text)),
};

export const deleteTool: ToolSpec<MemoryEpisode, any> = {
  name: 'delete',
  title: 'Delete a memory file or directory',
  description: 'Deletes a memory file, or a directory with everything under it.',
  inputSchema: { path: PATH },
  annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (a: { path: string }, ep) => guarded(() => ep.store.delete(a.path)),
};

export const renameTool: ToolSpec<MemoryEpisode, any> = {
  name: 'rename',
  title: 'Rename a memory file',
  description: 'Moves a memory file to a new path (the new path must not exist yet).',
  inputSchema: {
    old_path: PATH.describe('The file to move, e.g. "/memories/draft.md".'),
    new_path: PATH.describe('Its new path, e.g. "/memories/profile.md".'),
  },
  annotations: { destructiveHint: false, openWorldHint: false },
  handler: async (a: { old_path: string; new_path: string }, ep) => guarded(() => ep.store.rename(a.old_path, a.new_path)),
};

export const searchTool: ToolSpec<MemoryEpisode, any> = {
  name: 'memory_search',
  title: 'Search the memory store',
  description:
    'Full-text search (BM25) over every memory file: the best matching files with a snippet where the query words are **highlighted**. Use it to find where something is written before viewing or editing it.',
  inputSchema: {
    query: z.string().min(1).max(500).describe('Words to look for, e.g. "sister city".'),
    k: z.number().int().min(1).max(50).optional().describe('How many files to return (1-50, default 5).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (a: { query: string; k?: number }, ep) =>
    guarded(() => {
      const hits = ep.store.search(a.query, a.k ?? 5);
      if (hits.length === 0)
        return {
          content: [{ type: 'text', text: `No memory matches "${a.query}". ${ep.store.existing()}` }],
          structuredContent: { results: [] },
        };
      const results = hits.map((h) => ({ path: h.path, snippet: h.snippet, score: Math.round(h.score * 1000) / 1000 }));
      const text = results.map((r, i) => `${i + 1}. ${r.path}\n   ${r.snippet.replace(/\n/g, ' | ')}`).join('\n');
      return { content: [{ type: 'text', text }], structuredContent: { results } };
    }),
};

export const MEMORY_TOOLS = [viewTool, createTool, strReplaceTool, insertTool, deleteTool, renameTool, searchTool] as const;
