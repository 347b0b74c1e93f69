/**
 * Hybrid retrieval over chunks: BM25 (tools/text-index) and dense vectors (tools/embed), fused by
 * reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009):
 *
 *   rrf(d) = sum over rankings r that hold d of  1 / (k + rank_r(d)),  rank from 1, k = 60
 *
 * RRF needs no score calibration between the two retrievers (BM25 scores are unbounded, cosines
 * are in [-1, 1]); each contributes its top `depth` candidates. Without an embedder the retriever
 * is BM25 alone, and says so in `mode`.
 */
import { DenseIndex, type Embedder, embedCorpus } from '../embed/index.js';
import { Bm25Index } from '../text-index/index.js';
import { type Chunk, chunkContext } from './chunk.js';

export type RetrievalMode = 'hybrid' | 'bm25' | 'dense';

export interface RetrievalHit {
  /** Position of the chunk in the retriever's list. */
  index: number;
  id: string;
  /** The fused score (RRF), or the single retriever's score in bm25/dense mode. */
  score: number;
  /** 1-based ranks in each ranking that held the chunk. */
  bm25Rank?: number;
  denseRank?: number;
}

export interface HybridOptions {
  /** RRF's k. Default 60, the paper's value. */
  rrfK?: number;
  /** Candidates each retriever contributes to the fusion. Default 50. */
  depth?: number;
}

export interface BuildOptions extends HybridOptions {
  /** A loaded embedding model; without one retrieval is BM25 alone. */
  embedder?: Embedder;
  /** Folder for the corpus-vector cache (tools/embed `embedCorpus`). */
  cacheDir?: string;
}

export interface BuildStats {
  chunks: number;
  bm25Ms: number;
  embedMs: number;
  /** Whether the vectors came from the disk cache. */
  cached: boolean;
}

/** Reciprocal rank fusion of ranked lists of item indices (best first). */
export function rrf(rankings: ReadonlyArray<readonly number[]>, k = 60): Array<{ index: number; score: number }> {
  const score = new Map<number, number>();
  const best = new Map<number, number>();
  for (const ranking of rankings)
    ranking.forEach((item, r) => {
      score.set(item, (score.get(item) ?? 0) + 1 / (k + r + 1));
      best.set(item, Math.min(best.get(item) ?? Number.POSITIVE_INFINITY, r));
    });
  return [...score.entries()]
    .map(([index, s]) => ({ index, score: s }))
    .sort((a, b) => b.score - a.score || (best.get(a.index) as number) - (best.get(b.index) as number) || a.index - b.index);
}

/** The passage text embedded for a chunk: its title and heading, then its text. */
export function passageText(c: Chunk): string {
  return `${chunkContext(c)}\n${c.text}`;
}

export class HybridRetriever {
  readonly bm25: Bm25Index;
  private readonly byId: Map<string, number>;

  constructor(
    readonly chunks: readonly Chunk[],
    bm25: Bm25Index,
    readonly dense?: { embedder: Embedder; index: DenseIndex },
    readonly opts: HybridOptions = {},
  ) {
    this.bm25 = bm25;
    this.byId = new Map(chunks.map((c, i) => [c.id, i]));
  }

  /** BM25 index of the chunks (title = document title and heading). */
  static bm25Of(chunks: readonly Chunk[]): Bm25Index {
    return new Bm25Index().addAll(chunks.map((c) => ({ id: c.id, title: chunkContext(c), text: c.text })));
  }

  /** Indexes `chunks` with BM25 and, given an embedder, their vectors (from the cache when there). */
  static async build(
    chunks: readonly Chunk[],
    opts: BuildOptions = {},
  ): Promise<{ retriever: HybridRetriever; stats: BuildStats }> {
    let t0 = performance.now();
    const bm25 = HybridRetriever.bm25Of(chunks);
    const bm25Ms = performance.now() - t0;
    t0 = performance.now();
    let dense: { embedder: Embedder; index: DenseIndex } | undefined;
    let cached = false;
    if (opts.embedder) {
      const v = await embedCorpus(opts.embedder, chunks.map(passageText), opts.cacheDir);
      cached = v.cached;
      dense = { embedder: opts.embedder, index: new DenseIndex(opts.embedder.dim, v.vectors) };
    }
    const embedMs = dense ? performance.now() - t0 : 0;
    return {
      retriever: new HybridRetriever(chunks, bm25, dense, opts),
      stats: { chunks: chunks.length, bm25Ms, embedMs, cached },
    };
  }

  /** 'hybrid' with an embedder, else 'bm25'. */
  get mode(): RetrievalMode {
    return this.dense ? 'hybrid' : 'bm25';
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  /** BM25 ranking, best first. */
  lexical(query: string, k: number): RetrievalHit[] {
    return this.bm25.search(query, k).map((h, r) => ({ index: h.index, id: h.id, score: h.score, bm25Rank: r + 1 }));
  }

  /** Dense ranking, best first; throws without an embedder. */
  async semantic(query: string, k: number): Promise<RetrievalHit[]> {
    if (!this.dense) throw new Error('no embedding model: dense retrieval needs one (retrieval is BM25 alone)');
    const q = await this.dense.embedder.embed([query], 'query');
    return (await this.dense.index.search(q, k)).map((h, r) => ({
      index: h.index,
      id: (this.chunks[h.index] as Chunk).id,
      score: h.score,
      denseRank: r + 1,
    }));
  }

  /** The top `k` chunks for `query` in `mode` (default: hybrid when there is an embedder). */
  async retrieve(query: string, k: number, mode: RetrievalMode = this.mode): Promise<RetrievalHit[]> {
    if (mode === 'bm25' || !this.dense) return this.lexical(query, k);
    if (mode === 'dense') return this.semantic(query, k);
    const depth = Math.max(k, this.opts.depth ?? 50);
    const [lex, sem] = [this.lexical(query, depth), await this.semantic(query, depth)];
    const lexRank = new Map(lex.map((h) => [h.index, h.bm25Rank as number]));
    const semRank = new Map(sem.map((h) => [h.index, h.denseRank as number]));
    return rrf([lex.map((h) => h.index), sem.map((h) => h.index)], this.opts.rrfK ?? 60)
      .slice(0, k)
      .map(({ index, score }) => ({
        index,
        id: (this.chunks[index] as Chunk).id,
        score,
        ...(lexRank.has(index) ? { bm25Rank: lexRank.get(index) } : {}),
        ...(semRank.has(index) ? { denseRank: semRank.get(index) } : {}),
      }));
  }
}
