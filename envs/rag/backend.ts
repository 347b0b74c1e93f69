/**
 * The RAG environment's shared state: a corpus (a generated world, or a user's folder / JSONL
 * file), its chunks, and the hybrid retriever over them. Chunks are made at once (tasks need them
 * for their gold); the retriever, which may load a model and embed every chunk, is built on the
 * first retrieval and shared by every episode (read-only).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Corpus, generateCorpus, loadCorpus } from '../../tools/corpus/index.js';
import {
  defaultCacheDir,
  Embedder,
  EmbedModelError,
  ensureTestModel,
  modelFileOf,
  type Pooling,
} from '../../tools/embed/index.js';
import { type Chunk, type ChunkOptions, chunkDocs, HybridRetriever, type RetrievalMode } from '../../tools/retrieval/index.js';

export interface RagBackendOptions {
  worldSeed: number;
  docs: number;
  corpus?: string;
  /** 'test' (the project's own model), 'none', or a model folder. */
  model: string;
  cacheDir: string;
  chunk: Required<ChunkOptions>;
  retrieval?: RetrievalMode;
  pooling?: Pooling;
  queryPrefix?: string;
  passagePrefix?: string;
}

export const DEFAULT_RAG_BACKEND = { worldSeed: 20250318, docs: 300 } as const;

export class RagBackend {
  readonly corpus: Corpus;
  readonly chunks: Chunk[];
  readonly byId: Map<string, Chunk>;
  private readonly byDoc = new Map<string, Chunk[]>();
  private built?: Promise<HybridRetriever>;
  private announced = false;
  /** What retrieval runs, in one sentence (logged when the retriever is built). */
  readonly notice: string;

  constructor(readonly options: RagBackendOptions) {
    this.corpus = options.corpus ? loadCorpus(options.corpus) : generateCorpus({ seed: options.worldSeed, docs: options.docs });
    this.chunks = chunkDocs(this.corpus.docs, options.chunk);
    this.byId = new Map(this.chunks.map((c) => [c.id, c]));
    for (const c of this.chunks) {
      const list = this.byDoc.get(c.doc) ?? [];
      list.push(c);
      this.byDoc.set(c.doc, list);
    }
    this.notice =
      options.model === 'none'
        ? 'rag: no embedding model, so retrieval is BM25 alone (give --env-opt model=<folder with model.onnx and tokenizer.json> for hybrid BM25 + dense).'
        : `rag: hybrid retrieval, BM25 + dense embeddings from ${options.model === 'test' ? "the project's test model (tools/embed/test-model.ts)" : options.model}, fused by reciprocal rank fusion.`;
  }

  /** Whether retrieval uses embeddings. */
  get dense(): boolean {
    return this.options.model !== 'none';
  }

  /** The mode `retrieve` runs in. */
  get mode(): RetrievalMode {
    return this.dense ? (this.options.retrieval ?? 'hybrid') : 'bm25';
  }

  chunksOf(doc: string): readonly Chunk[] {
    return this.byDoc.get(doc) ?? [];
  }

  /** The retriever (built on first use: the model loaded, the chunks embedded or read from the cache). */
  retriever(): Promise<HybridRetriever> {
    this.built ??= this.build().catch((err: unknown) => {
      this.built = undefined; // let the next call try again
      throw err;
    });
    return this.built;
  }

  /** Says once, on stderr, what retrieval runs (BM25 alone, or which model): at start, not at the first query. */
  announce(): void {
    if (this.announced) return;
    this.announced = true;
    process.stderr.write(`${this.notice}\n`);
  }

  /** Throws `EmbedModelError` at once when the model folder lacks its files (checked before any episode). */
  checkModel(): void {
    const m = this.options.model;
    if (m === 'none' || m === 'test') return;
    modelFileOf(m);
    if (!existsSync(join(m, 'tokenizer.json')))
      throw new EmbedModelError(`no tokenizer.json in '${m}': export the model with its fast tokenizer (tokenizer.json)`);
  }

  private async build(): Promise<HybridRetriever> {
    this.announce();
    if (!this.dense) return new HybridRetriever(this.chunks, HybridRetriever.bm25Of(this.chunks));
    // The test model knows the generated world's names as words (tools/embed/test-model.ts).
    const dir =
      this.options.model === 'test'
        ? ensureTestModel(
            this.options.cacheDir,
            this.options.corpus ? {} : { world: { seed: this.options.worldSeed, docs: this.options.docs } },
          )
        : this.options.model;
    const embedder = await Embedder.load(dir, {
      ...(this.options.pooling ? { pooling: this.options.pooling } : {}),
      ...(this.options.queryPrefix ? { queryPrefix: this.options.queryPrefix } : {}),
      ...(this.options.passagePrefix ? { passagePrefix: this.options.passagePrefix } : {}),
    });
    const { retriever } = await HybridRetriever.build(this.chunks, { embedder, cacheDir: this.options.cacheDir });
    return retriever;
  }
}

const backends = new Map<string, RagBackend>();

/** One backend per option set, built on first use. */
export function ragBackendFor(opts: RagBackendOptions): RagBackend {
  const key = JSON.stringify(opts);
  let b = backends.get(key);
  if (!b) {
    b = new RagBackend(opts);
    backends.set(key, b);
  }
  return b;
}

export { defaultCacheDir };
