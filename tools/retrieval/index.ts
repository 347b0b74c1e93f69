/** Retrieval over chunks: a heading-aware token chunker and hybrid BM25 + dense retrieval fused by RRF. */

export type { Chunk, ChunkOptions, ChunkSource } from './chunk.js';
export { chunkContext, chunkDoc, chunkDocs, chunkId, DEFAULT_CHUNK_OPTIONS, parseChunkId, sentences } from './chunk.js';
export type { BuildOptions, BuildStats, HybridOptions, RetrievalHit, RetrievalMode } from './hybrid.js';
export { HybridRetriever, passageText, rrf } from './hybrid.js';
