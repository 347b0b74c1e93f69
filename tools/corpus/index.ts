/** The hermetic world-corpus generator, user corpus loading and the corpus web site. */

export type { CorpusOptions } from './generate.js';
export { corpusFromDocs, corpusHash, DEFAULT_CORPUS_DOCS, generateCorpus } from './generate.js';
export { CorpusLoadError, decodeEntities, htmlToText, loadCorpus, markdownToText, pathToId } from './load.js';
export {
  CITY_SUFFIXES,
  CODAS,
  COUNTRY_SUFFIXES,
  CURRENCY_WORDS,
  EVENT_KINDS,
  formatDate,
  formatNumber,
  MONTHS,
  nearName,
  OCCUPATIONS,
  ONSETS,
  ORG_TYPES,
  ORG_WORDS,
  slug,
  VOWELS,
} from './names.js';
export { renderWorld, resolveLinks } from './render.js';
export type { SiteHandle, SiteHit, SiteOptions } from './site.js';
export { docToHtml, escapeHtml, serveCorpusSite } from './site.js';
export type {
  City,
  Corpus,
  Country,
  Dated,
  Doc,
  DocKind,
  DocLink,
  Entity,
  EntityKind,
  Organisation,
  Person,
  World,
  WorldEvent,
} from './types.js';
export type { WorldOptions } from './world.js';
export { current, entity, generateWorld, previous, worldShape } from './world.js';
