/** The hermetic world-corpus generator, user corpus loading and the corpus web site. */
export type { City, Corpus, Country, Dated, Doc, DocKind, DocLink, Entity, EntityKind, Organisation, Person, World, WorldEvent } from './types.js';
export { generateWorld, worldShape, current, previous, entity } from './world.js';
export type { WorldOptions } from './world.js';
export { renderWorld, resolveLinks } from './render.js';
export { generateCorpus, corpusFromDocs, corpusHash, DEFAULT_CORPUS_DOCS } from './generate.js';
export type { CorpusOptions } from './generate.js';
export { loadCorpus, CorpusLoadError, htmlToText, markdownToText, pathToId, decodeEntities } from './load.js';
export { serveCorpusSite, docToHtml, escapeHtml } from './site.js';
export type { SiteHandle, SiteHit, SiteOptions } from './site.js';
export { formatDate, formatNumber, MONTHS, slug } from './names.js';
