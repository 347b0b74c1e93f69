/**
 * The RAG environment's tools: `retrieve` (hybrid BM25 + dense, or BM25 alone without a model) and
 * `read` (a chunk with its neighbours). Failures are `isError` results that say what to do instead.
 */
import { z } from 'zod';
import { type Chunk, parseChunkId } from '../../tools/retrieval/index.js';
import type { ToolResult, ToolSpec } from '../core/index.js';
import { textResult } from '../core/index.js';
import type { RagBackend } from './backend.js';

export interface RagEpisode {
  backend: RagBackend;
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

function header(c: Chunk): string {
  return `[${c.id}] ${c.title}${c.heading ? ` — ${c.heading}` : ''}`;
}

const MODE_TEXT = {
  hybrid: 'hybrid: BM25 and dense embeddings, fused by reciprocal rank fusion',
  bm25: 'BM25 keyword match alone: use the words the documents would use',
  dense: 'dense embeddings alone',
} as const;

export const retrieveTool: ToolSpec<RagEpisode, any> = {
  name: 'retrieve',
  title: 'Retrieve passages',
  description:
    'Finds the corpus passages (chunks) most relevant to a query. Returns each chunk\'s id ("<doc>#<n>"), its document and section, and its text. Cite the chunks that support your answer by id, e.g. "[ilvar-tesk#2]"; read a chunk with its neighbours with `read`.',
  inputSchema: {
    query: z
      .string()
      .min(1)
      .max(500)
      .describe('What to look for: the question itself, or names plus the fact you need ("Ilvar Tesk birthplace").'),
    k: z.number().int().min(1).max(20).optional().describe('How many chunks to return (1-20, default 5).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args: { query: string; k?: number }, ep): Promise<ToolResult> {
    const retriever = await ep.backend.retriever();
    const mode = ep.backend.mode;
    const hits = await retriever.retrieve(args.query, args.k ?? 5, mode);
    if (hits.length === 0)
      return {
        content: [{ type: 'text', text: `No passages match "${args.query}". Try other words: names work best.` }],
        structuredContent: { mode, results: [] },
      };
    const results = hits.map((h) => {
      const c = retriever.chunks[h.index] as Chunk;
      return { id: c.id, doc: c.doc, title: c.title, heading: c.heading, text: c.text, score: round(h.score) };
    });
    const body = results.map((r, i) => `${i + 1}. ${header(retriever.chunks[hits[i]?.index as number] as Chunk)}\n${r.text}`);
    return {
      content: [{ type: 'text', text: `${results.length} passages (${MODE_TEXT[mode]}):\n\n${body.join('\n\n')}` }],
      structuredContent: { mode, results },
    };
  },
};

export const readTool: ToolSpec<RagEpisode, any> = {
  name: 'read',
  title: 'Read a chunk with its neighbours',
  description:
    'Returns a chunk by its id ("<doc>#<n>", as retrieve shows it) together with the chunks just before and after it in the same document, so a fact cut at a chunk boundary can be read whole.',
  inputSchema: {
    chunk_id: z.string().min(1).max(300).describe('The chunk id, "<doc>#<n>", e.g. "ilvar-tesk#2".'),
    neighbours: z
      .number()
      .int()
      .min(0)
      .max(3)
      .optional()
      .describe('Chunks to include before and after the one asked for (0-3, default 1).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args: { chunk_id: string; neighbours?: number }, ep): Promise<ToolResult> {
    const id = args.chunk_id.trim().replace(/^\[|\]$/g, '');
    const chunk = ep.backend.byId.get(id);
    if (!chunk) {
      const parsed = parseChunkId(id);
      const doc = parsed ? ep.backend.chunksOf(parsed.doc) : ep.backend.chunksOf(id);
      if (doc.length > 0)
        return textResult(
          `No chunk '${id}'. Document '${doc[0]?.doc}' has chunks ${doc[0]?.id} to ${doc[doc.length - 1]?.id}.`,
          true,
        );
      return textResult(`No chunk '${id}'. Chunk ids look like "<doc>#<n>", as retrieve returns them: retrieve first.`, true);
    }
    const all = ep.backend.chunksOf(chunk.doc);
    const span = args.neighbours ?? 1;
    const shown = all.slice(Math.max(0, chunk.n - span), chunk.n + span + 1);
    const text = [
      `# ${chunk.title} (document ${chunk.doc}, ${all.length} chunks)`,
      ...shown.map((c) => `${c.id === chunk.id ? '>> ' : ''}${header(c)}\n${c.text}`),
    ].join('\n\n');
    return {
      content: [{ type: 'text', text }],
      structuredContent: {
        id: chunk.id,
        doc: chunk.doc,
        title: chunk.title,
        chunks: shown.map((c) => ({ id: c.id, heading: c.heading, text: c.text, requested: c.id === chunk.id })),
        total: all.length,
      },
    };
  },
};

export const RAG_TOOLS = [retrieveTool, readTool] as const;
