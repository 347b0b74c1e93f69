/** BM25 full-text search with query-biased, highlighted snippets. */

export type { Bm25Options, IndexedDoc, IndexStats, SearchHit } from './bm25.js';
export { Bm25Index } from './bm25.js';
export type { SnippetOptions } from './snippet.js';
export { snippet } from './snippet.js';
export type { TokenSpan } from './tokenize.js';
export { STOP_WORDS, tokenize, tokenSpans } from './tokenize.js';
