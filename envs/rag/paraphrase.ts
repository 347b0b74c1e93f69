/**
 * The paraphrase split: questions about a generated world phrased through the lexicon's synonyms
 * (tools/embed/lexicon.ts), so they share the subject's name with their passage but no relation
 * word. Tests and bench/rag measure recall@k of BM25, dense and hybrid retrieval on it.
 */
import type { Entity, World } from '../../tools/corpus/index.js';
import { Rng } from '../../tools/index.js';
import type { Chunk } from '../../tools/retrieval/index.js';
import { factsAbout, supportOf } from './facts.js';

export interface ParaphraseQuery {
  query: string;
  /** The chunks that state the fact: a hit is any of them. */
  gold: string[];
  kind: string;
}

/** `n` paraphrased questions about entities drawn with `seed`, each with its gold chunks. */
export function paraphraseSplit(
  world: World,
  chunksOf: (doc: string) => readonly Chunk[],
  n: number,
  seed = 1,
): ParaphraseQuery[] {
  const rng = new Rng(seed);
  // Balanced over the kinds of entity, so the people (most of a world) do not decide the figure.
  const pools = [world.people, world.organisations, world.cities, world.countries, world.events].filter((p) => p.length > 0);
  const out: ParaphraseQuery[] = [];
  for (let guard = 0; out.length < n && guard < n * 20; guard++) {
    const e = rng.pick(rng.pick(pools) as readonly Entity[]);
    const fact = rng.pick(factsAbout(world, e));
    out.push({ query: fact.paraphrase, gold: supportOf(fact, chunksOf), kind: fact.kind });
  }
  return out;
}

/** Share of queries with a gold chunk among the first `k` ids. */
export function recallAtK(queries: readonly ParaphraseQuery[], ranked: readonly (readonly string[])[], k: number): number {
  let hit = 0;
  queries.forEach((q, i) => {
    if ((ranked[i] ?? []).slice(0, k).some((id) => q.gold.includes(id))) hit++;
  });
  return queries.length === 0 ? 0 : hit / queries.length;
}
