/**
 * rag: retrieval-augmented question answering over a chunked corpus, with citations that are checked.
 *
 * Observation
 *   reset: a system message (how to work, the answer format with inline citations, when to abstain)
 *   and the user's question. Tool results are text plus `structuredContent`: ranked chunks with
 *   their ids (`<doc>#<n>`), document, section heading and text; a chunk with its neighbours.
 *
 * Tools
 *   retrieve({query, k?})        hybrid retrieval over the chunks: BM25 (tools/text-index) and dense
 *                                embeddings from an ONNX model run by onnxruntime-node, fused by
 *                                reciprocal rank fusion; BM25 alone without a model.
 *   read({chunk_id, neighbours?}) a chunk with the chunks around it in its document.
 *   Resources: every document (`toolgym://rag/docs/<doc>`) and chunk (`toolgym://rag/chunks/<doc>%23<n>`).
 *
 * Reward
 *   Answer format: a short answer, then citations, `Vikholm [ilvar-tesk#0]`; `unanswerable` when
 *   the corpus does not hold the answer. Components (envs/rag/verify.ts): `correct` (normalised
 *   exact match as FlashRAG defines it; for unanswerable questions, the abstention), `f1`
 *   (FlashRAG's token F1), `citation_precision` and `citation_recall` against the gold chunks,
 *   `abstain`. Reward = correct * (0.5 + 0.25 * precision + 0.25 * recall); an unanswerable
 *   question pays 1 for `unanswerable` citing nothing. Solved means reward 1.
 *
 * Episode end
 *   terminated by an answer; truncated by the session's step limit. Tool failures (an unknown chunk
 *   id, bad arguments) are `isError` results and the episode goes on.
 *
 * Options (`createRagEnv`)
 *   docs (300)          documents in the generated world (its own seed, not search's world).
 *   seed                world seed.
 *   corpus              a folder of .md/.txt/.html files or a .jsonl of {id?, title?, text} documents.
 *   tasks               with `corpus`: a questions JSONL (schema in families.ts `qaFamily`, README).
 *   model               'test' (the project's own test model, built into the cache folder; the
 *                       default for the generated world), 'none' (BM25 alone; the default for a
 *                       user corpus), or a model folder (model.onnx + tokenizer.json, e.g. an export
 *                       of all-MiniLM-L6-v2, bge-small or e5-small).
 *   retrieval           'hybrid' (default with a model), 'bm25' or 'dense'.
 *   pooling             'mean' or 'cls' over the folder's 1_Pooling/config.json.
 *   queryPrefix, passagePrefix   texts put before queries and passages (e5: "query: ", "passage: ").
 *   chunkTokens (96), chunkOverlap (16)   chunk size and overlap, in words.
 *   cacheDir            models and corpus embeddings ($TOOLGYM_CACHE, else ~/.cache/toolgym).
 *
 * Families: single (difficulty 1-2), synthesis (3-4), unanswerable (3-4), distractor (3-4); splits
 * disjoint by subject entity. A user's questions file gives the family `qa`.
 *
 * Version history
 *   1.0.0  first release: chunker, hybrid BM25 + onnxruntime-node retrieval, four families, citations.
 */
import { z } from 'zod';
import type { Corpus } from '../../tools/corpus/index.js';
import type { EnvDefinition, EnvResource, TaskFamily } from '../core/index.js';
import { defineToolEnv } from '../core/index.js';
import { DEFAULT_RAG_BACKEND, defaultCacheDir, type RagBackend, type RagBackendOptions, ragBackendFor } from './backend.js';
import { qaFamily, worldFamilies } from './families.js';
import { RAG_TOOLS, type RagEpisode } from './tools.js';

export const RAG_ENV_ID = 'rag';
export const RAG_ENV_VERSION = '1.0.0';

export const RagEnvOptionsSchema = z
  .object({
    docs: z.number().int().min(120).max(200_000).optional().describe('Documents in the generated world.'),
    seed: z.number().int().optional().describe('World seed: a different world, with different facts, for the same task ids.'),
    corpus: z
      .string()
      .optional()
      .describe("A user's corpus (folder of .md/.txt/.html, or .jsonl) instead of the generated world."),
    tasks: z
      .string()
      .optional()
      .describe('With `corpus`: JSONL questions {question, answer, aliases?, gold} or {question, unanswerable: true}.'),
    model: z
      .string()
      .optional()
      .describe("'test' (the project's test model), 'none' (BM25 alone), or a folder with model.onnx and tokenizer.json."),
    retrieval: z.enum(['hybrid', 'bm25', 'dense']).optional().describe('Which ranking retrieve returns (with a model).'),
    pooling: z.enum(['mean', 'cls']).optional().describe("Overrides the model folder's pooling."),
    queryPrefix: z.string().optional().describe('Text put before every query (e5: "query: ").'),
    passagePrefix: z.string().optional().describe('Text put before every passage (e5: "passage: ").'),
    chunkTokens: z.number().int().min(16).max(1024).optional().describe('Most words in a chunk (default 96).'),
    chunkOverlap: z.number().int().min(0).max(256).optional().describe('Words repeated from the previous chunk (default 16).'),
    cacheDir: z.string().optional().describe('Folder for built models and corpus embeddings.'),
  })
  .strict()
  .refine((o) => o.tasks === undefined || o.corpus !== undefined, {
    path: ['tasks'],
    message: 'rag reads a questions file together with its corpus: give `corpus` (--corpus <path>) as well',
  });
export type RagEnvOptions = z.infer<typeof RagEnvOptionsSchema>;

export interface RagEnvDefinition extends EnvDefinition {
  readonly options: RagEnvOptions;
  backend(): RagBackend;
}

const SYSTEM_PROMPT = [
  'You answer questions from a corpus of documents that you reach only through your tools; its facts are not in your memory.',
  'Use `retrieve` to find passages (chunks, with ids like "doc-name#2") and `read` to see a chunk with its neighbours.',
  'Answer with only the short answer (a name, a date or a number) followed by the ids of the chunks that state it, in square brackets: "Vikholm [ilvar-tesk#0]". When the answer needs several facts, cite a chunk for each: "1987 [kravik-works#0] [ilvar-tesk#3]".',
  'Cite only chunks that support the answer. If the corpus does not hold the answer, reply exactly "unanswerable", citing nothing.',
].join(' ');

const BM25_NOTE =
  ' Retrieval here is BM25 keyword matching alone (no embedding model): search with the words the documents would use.';

function resourcesOf(corpus: Corpus, b: RagBackend): EnvResource[] {
  const docs: EnvResource[] = corpus.docs.map((d) => ({
    uri: `toolgym://rag/docs/${encodeURIComponent(d.id)}`,
    name: d.id,
    title: d.title,
    description: `Document with ${b.chunksOf(d.id).length} chunks.`,
    mimeType: 'text/markdown',
    read: () =>
      `# ${d.title}\n\n${d.text}\n\nChunks: ${b
        .chunksOf(d.id)
        .map((c) => c.id)
        .join(', ')}\n`,
  }));
  const chunks: EnvResource[] = b.chunks.map((c) => ({
    uri: `toolgym://rag/chunks/${encodeURIComponent(c.id)}`,
    name: c.id,
    title: c.heading ? `${c.title} — ${c.heading}` : c.title,
    mimeType: 'text/plain',
    read: () => `[${c.id}] ${c.title}${c.heading ? ` — ${c.heading}` : ''}\n\n${c.text}\n`,
  }));
  return [...docs, ...chunks];
}

export function createRagEnv(options: RagEnvOptions = {}): RagEnvDefinition {
  const opts = RagEnvOptionsSchema.parse(options);
  const world = { seed: opts.seed ?? DEFAULT_RAG_BACKEND.worldSeed, docs: opts.docs ?? DEFAULT_RAG_BACKEND.docs };
  const backendOpts: RagBackendOptions = {
    worldSeed: world.seed,
    docs: world.docs,
    ...(opts.corpus ? { corpus: opts.corpus } : {}),
    model: opts.model ?? (opts.corpus ? 'none' : 'test'),
    cacheDir: opts.cacheDir ?? defaultCacheDir(),
    chunk: { maxTokens: opts.chunkTokens ?? 96, overlap: opts.chunkOverlap ?? 16 },
    ...(opts.retrieval ? { retrieval: opts.retrieval } : {}),
    ...(opts.pooling ? { pooling: opts.pooling } : {}),
    ...(opts.queryPrefix ? { queryPrefix: opts.queryPrefix } : {}),
    ...(opts.passagePrefix ? { passagePrefix: opts.passagePrefix } : {}),
  };
  const backend = (): RagBackend => ragBackendFor(backendOpts);
  let snapshots: ReadonlySet<string> | undefined;
  const families: TaskFamily<any>[] = opts.corpus
    ? opts.tasks
      ? [qaFamily(RAG_ENV_ID, opts.tasks, (d) => backend().chunksOf(d))]
      : []
    : worldFamilies({
        envId: RAG_ENV_ID,
        world: () => backend().corpus.world as NonNullable<Corpus['world']>,
        chunksOf: (d) => backend().chunksOf(d),
        snapshots: () => {
          snapshots ??= new Set(backend().corpus.docs.flatMap((d) => (d.kind === 'snapshot' && d.entity ? [d.entity] : [])));
          return snapshots;
        },
      });
  const def = defineToolEnv<RagEpisode>({
    id: RAG_ENV_ID,
    version: RAG_ENV_VERSION,
    description:
      'Retrieval-augmented answers with checked citations: hybrid BM25 + onnxruntime-node embeddings over a chunked corpus.',
    families,
    tools: [...RAG_TOOLS],
    systemPrompt: backendOpts.model === 'none' ? SYSTEM_PROMPT + BM25_NOTE : SYSTEM_PROMPT,
    createEpisode: () => ({ backend: backend() }),
    // Before any episode: a model folder without its files fails now, and the retrieval in use
    // (BM25 alone without a model) is said on stderr.
    preflight: () => {
      backend().checkModel();
      backend().announce();
    },
  });
  return { ...def, options: opts, resources: () => resourcesOf(backend().corpus, backend()), backend };
}

/** The registered default: a generated world of 300 documents, hybrid retrieval with the test model. */
export const ragEnv: RagEnvDefinition = createRagEnv();

export { RagBackend } from './backend.js';
export type { Fact } from './facts.js';
export { factsAbout, splitOf, supportOf } from './facts.js';
export { oracleAnswer, qaFamily, ragOracle, SPLIT_SIZES, TaskFileError, worldFamilies } from './families.js';
export type { ParaphraseQuery } from './paraphrase.js';
export { paraphraseSplit, recallAtK } from './paraphrase.js';
export type { RagEpisode } from './tools.js';
export type { RagRef } from './verify.js';
export { ABSTAIN, exactMatch, isAbstention, normalizeAnswer, parseCitations, scoreRag, tokenF1 } from './verify.js';
