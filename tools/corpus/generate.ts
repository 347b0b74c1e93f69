/**
 * `generateCorpus({seed, docs})`: a world plus its rendered documents. Same seed and size, same bytes
 * (`corpusHash` proves it in the tests).
 */
import { createHash } from 'node:crypto';
import { renderWorld } from './render.js';
import type { Corpus, Doc } from './types.js';
import { generateWorld } from './world.js';

export interface CorpusOptions {
  seed: number;
  /** Target number of documents (articles + archived snapshots). Default 3000. */
  docs?: number;
  /** The world's present year. Default 2024. */
  year?: number;
}

export const DEFAULT_CORPUS_DOCS = 3000;

/** Share of documents that are archived snapshots (outdated facts, marked as such). */
const SNAPSHOT_SHARE = 0.08;

export function corpusFromDocs(docs: Doc[]): Corpus {
  const byId = new Map<string, Doc>();
  for (const d of docs) {
    if (byId.has(d.id)) throw new Error(`duplicate document id '${d.id}': ids must be unique within a corpus`);
    byId.set(d.id, d);
  }
  return { docs, byId };
}

export function generateCorpus(opts: CorpusOptions): Corpus {
  const target = Math.max(40, Math.floor(opts.docs ?? DEFAULT_CORPUS_DOCS));
  const snapshots = Math.round(target * SNAPSHOT_SHARE);
  const world = generateWorld({ seed: opts.seed, entities: target - snapshots, ...(opts.year ? { year: opts.year } : {}) });
  const docs = renderWorld(world, target - world.entities.size);
  return { ...corpusFromDocs(docs), world };
}

/** SHA-256 over every document's id, title, url, kind, text and links, in order. */
export function corpusHash(corpus: Corpus): string {
  const h = createHash('sha256');
  for (const d of corpus.docs) {
    h.update(JSON.stringify([d.id, d.title, d.url, d.kind, d.text, d.links]));
    h.update('\n');
  }
  return h.digest('hex');
}
