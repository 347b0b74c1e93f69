/**
 * bench/rag: the RAG environment's retrieval figures, printed as ONE JSON object.
 *
 *   npx tsx bench/rag.ts [--chunks 10000] [--queries 500]
 *
 * - index: a generated world chunked into 10,000 chunks, indexed with BM25 and embedded with the
 *   project's test model through onnxruntime-node (target: chunk + BM25 + embed <= 10 s), and the
 *   same vectors read back from the disk cache;
 * - retrieve: p50 / p99 of hybrid retrieval (query embedding, BM25, dense search, RRF; target p50
 *   <= 5 ms), and of BM25 and dense alone;
 * - recall@5 of BM25, dense and hybrid on the paraphrase split (target: hybrid above BM25);
 * - peer: the same BM25 queries on minisearch (same chunks, same tokenizer, title boost 3), in the
 *   same run, with the ratios.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { paraphraseSplit, recallAtK } from '../envs/rag/index.js';
import { generateCorpus } from '../tools/corpus/index.js';
import { buildTestModel, DenseIndex, Embedder, embedCorpus } from '../tools/embed/index.js';
import { type Chunk, chunkContext, chunkDocs, HybridRetriever } from '../tools/retrieval/index.js';
import { tokenize } from '../tools/text-index/index.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const CHUNKS = arg('chunks', 10_000);
const QUERIES = arg('queries', 500);
const SEED = 4242;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
}
const r2 = (x: number): number => Math.round(x * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const started = performance.now();
const progress = (what: string): void =>
  void process.stderr.write(`[bench/rag] ${what} (${Math.round(performance.now() - started)} ms)\n`);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-bench-rag-'));
  try {
    // A world big enough for CHUNKS chunks (about 3.2 chunks a document).
    const docs = Math.ceil(CHUNKS / 3.1) + 40;
    const corpus = generateCorpus({ seed: SEED, docs });
    const world = corpus.world;
    if (!world) throw new Error('generated corpus without its world');
    progress(`world of ${corpus.docs.length} documents`);

    let t0 = performance.now();
    const all = chunkDocs(corpus.docs);
    const chunkMs = performance.now() - t0;
    if (all.length < CHUNKS) throw new Error(`only ${all.length} chunks; raise the document count`);
    const chunks = all.slice(0, CHUNKS);
    const byDoc = new Map<string, Chunk[]>();
    for (const c of chunks) byDoc.set(c.doc, [...(byDoc.get(c.doc) ?? []), c]);

    t0 = performance.now();
    const model = buildTestModel(join(dir, 'model'), { world: { seed: SEED, docs } });
    const modelBuildMs = performance.now() - t0;
    t0 = performance.now();
    const embedder = await Embedder.load(model.dir);
    const loadMs = performance.now() - t0;
    progress(`test model built (${model.vocabSize} tokens x ${model.dim}) and loaded`);

    t0 = performance.now();
    const { retriever, stats } = await HybridRetriever.build(chunks, { embedder, cacheDir: join(dir, 'cache') });
    const buildMs = performance.now() - t0;
    progress(`indexed ${chunks.length} chunks: BM25 ${Math.round(stats.bm25Ms)} ms, embeddings ${Math.round(stats.embedMs)} ms`);
    t0 = performance.now();
    const again = await embedCorpus(
      embedder,
      chunks.map((c) => `${chunkContext(c)}\n${c.text}`),
      join(dir, 'cache'),
    );
    const cacheReadMs = performance.now() - t0;
    if (!again.cached) throw new Error('the second embedding of the same corpus missed the cache');
    const check = new DenseIndex(embedder.dim, again.vectors);
    if (check.size !== chunks.length) throw new Error('cached vectors have the wrong size');

    // The paraphrase split, restricted to facts stated in the indexed chunks.
    const split = paraphraseSplit(world, (d) => byDoc.get(d) ?? [], QUERIES * 2, 7)
      .filter((q) => q.gold.length > 0)
      .slice(0, QUERIES);
    const timed = async (mode: 'bm25' | 'dense' | 'hybrid'): Promise<{ ms: number[]; ranked: string[][] }> => {
      const ms: number[] = [];
      const ranked: string[][] = [];
      for (const q of split) {
        const s = performance.now();
        const hits = await retriever.retrieve(q.query, 5, mode);
        ms.push(performance.now() - s);
        ranked.push(hits.map((h) => h.id));
      }
      return { ms, ranked };
    };
    await timed('hybrid'); // warm-up: JIT and onnxruntime's first runs
    const bm25 = await timed('bm25');
    const dense = await timed('dense');
    const hybrid = await timed('hybrid');
    // Where a dense query's time goes: embedding the query (tokenizer + onnxruntime) and the search.
    const embedQueryMs: number[] = [];
    const searchMs: number[] = [];
    for (const q of split) {
      let s = performance.now();
      const v = await embedder.embed([q.query], 'query');
      embedQueryMs.push(performance.now() - s);
      s = performance.now();
      await check.search(v, 50);
      searchMs.push(performance.now() - s);
    }
    // Where the corpus embedding goes: the tokenizer alone, over every passage.
    t0 = performance.now();
    for (const c of chunks) embedder.encode(`${chunkContext(c)}\n${c.text}`);
    const tokenizeMs = performance.now() - t0;
    progress(`retrieved ${split.length} paraphrased questions three ways`);

    // Peer: minisearch over the same chunks with the same tokenizer, the same queries.
    t0 = performance.now();
    const mini = new MiniSearch<{ id: string; title: string; text: string }>({
      fields: ['title', 'text'],
      storeFields: [],
      tokenize: (s) => tokenize(s),
      processTerm: (t) => t,
      searchOptions: { boost: { title: 3 } },
    });
    mini.addAll(chunks.map((c) => ({ id: c.id, title: chunkContext(c), text: c.text })));
    const peerBuildMs = performance.now() - t0;
    for (const q of split.slice(0, 50)) mini.search(q.query); // warm-up
    const peerMs: number[] = [];
    const peerRanked: string[][] = [];
    for (const q of split) {
      const s = performance.now();
      const hits = mini.search(q.query).slice(0, 5);
      peerMs.push(performance.now() - s);
      peerRanked.push(hits.map((h) => String(h.id)));
    }
    progress('minisearch done');

    const version = (
      JSON.parse(readFileSync(new URL('../node_modules/minisearch/package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
    const indexMs = chunkMs * (CHUNKS / all.length) + stats.bm25Ms + stats.embedMs;
    const out = {
      bench: 'rag',
      chunks: chunks.length,
      documents: byDoc.size,
      model: { vocab: model.vocabSize, dim: model.dim, buildMs: Math.round(modelBuildMs), loadMs: Math.round(loadMs) },
      index: {
        chunkMs: Math.round(chunkMs * (CHUNKS / all.length)),
        bm25Ms: Math.round(stats.bm25Ms),
        embedMs: Math.round(stats.embedMs),
        totalMs: Math.round(indexMs),
        buildMs: Math.round(buildMs),
        tokenizeMs: Math.round(tokenizeMs),
        cacheReadMs: Math.round(cacheReadMs),
        targetMs: 10_000,
        met: indexMs <= 10_000,
      },
      retrieve: {
        queries: split.length,
        hybrid: { p50Ms: r3(pct(hybrid.ms, 0.5)), p99Ms: r3(pct(hybrid.ms, 0.99)) },
        bm25: { p50Ms: r3(pct(bm25.ms, 0.5)), p99Ms: r3(pct(bm25.ms, 0.99)) },
        dense: { p50Ms: r3(pct(dense.ms, 0.5)), p99Ms: r3(pct(dense.ms, 0.99)) },
        embedQuery: { p50Ms: r3(pct(embedQueryMs, 0.5)), p99Ms: r3(pct(embedQueryMs, 0.99)) },
        denseSearch50: { p50Ms: r3(pct(searchMs, 0.5)), p99Ms: r3(pct(searchMs, 0.99)) },
        targetP50Ms: 5,
        met: pct(hybrid.ms, 0.5) <= 5,
      },
      recallAt5: {
        split: 'paraphrase',
        bm25: r3(recallAtK(split, bm25.ranked, 5)),
        dense: r3(recallAtK(split, dense.ranked, 5)),
        hybrid: r3(recallAtK(split, hybrid.ranked, 5)),
        met: recallAtK(split, hybrid.ranked, 5) > recallAtK(split, bm25.ranked, 5),
      },
      peer: {
        name: `minisearch ${version}`,
        buildMs: Math.round(peerBuildMs),
        p50Ms: r3(pct(peerMs, 0.5)),
        p99Ms: r3(pct(peerMs, 0.99)),
        recallAt5: r3(recallAtK(split, peerRanked, 5)),
        bm25BuildRatio: r2(stats.bm25Ms / peerBuildMs),
        bm25P50Ratio: r2(pct(bm25.ms, 0.5) / pct(peerMs, 0.5)),
        bm25P99Ratio: r2(pct(bm25.ms, 0.99) / pct(peerMs, 0.99)),
      },
      wallMs: Math.round(performance.now() - started),
      machine: { cpus: cpus().length, loadavg1: r2(loadavg()[0] ?? 0) },
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    await embedder.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
