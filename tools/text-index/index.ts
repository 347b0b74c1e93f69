/** BM25 full-text search with query-biased, highlighted snippets. */
export { Bm25Index } from './bm25.js';
export type { Bm25Options, IndexedDoc, IndexStats, SearchHit } from './bm25.js';
export { snippet } from './snippet.js';
export type { SnippetOptions } from './snippet.js';
export { tokenize, tokenSpans, STOP_WORDS } from './tokenize.js';
export type { TokenSpan } from './tokenize.js';
