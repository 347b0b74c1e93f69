/**
 * The paraphrase lexicon of the generated world: for a word the world's articles use (the
 * canonical word), the words a question may use instead. The test embedding model gives each of
 * these words the canonical word's vector, which is where its paraphrase power comes from; the RAG
 * environment and bench/rag phrase paraphrased questions with the same table, so a question can
 * share no relation word with the passage that answers it.
 *
 * Every canonical word occurs in the rendered articles (tools/corpus/render.ts); no synonym does,
 * so BM25 cannot match a synonym to its passage.
 */
export const LEXICON: Readonly<Record<string, readonly string[]>> = {
  born: ['birth', 'birthday', 'birthplace', 'hometown', 'native'],
  founded: ['established', 'establish', 'creator', 'created', 'create', 'formed'],
  headquartered: ['based', 'seated'],
  director: ['chief', 'head', 'heads', 'leader', 'boss'],
  mayor: ['burgomaster', 'municipal'],
  current: ['present', 'presently', 'currently', 'today', 'now', 'incumbent'],
  previous: ['former', 'prior', 'preceding'],
  population: ['inhabitants', 'residents', 'populace'],
  census: ['count', 'tally', 'enumeration'],
  works: ['employer', 'employed', 'job'],
  studied: ['educated', 'graduated', 'attended', 'alumnus'],
  married: ['spouse', 'wife', 'husband', 'wed', 'partner'],
  employs: ['workforce', 'staff', 'personnel', 'employees'],
  country: ['nation', 'state'],
  city: ['town', 'municipality'],
  capital: ['administrative', 'seat'],
  currency: ['money', 'monetary', 'coinage', 'tender'],
  independent: ['independence', 'sovereignty', 'sovereign', 'autonomy'],
  winner: ['champion', 'victor', 'victorious'],
  won: ['triumphed', 'win', 'wins'],
  organised: ['hosted', 'organized', 'organiser', 'organizer', 'host', 'staged', 'sponsored'],
  company: ['firm', 'business', 'corporation', 'enterprise'],
  university: ['college'],
  grew: ['raised', 'childhood'],
};

/** Synonym -> canonical word. */
export function synonymMap(): Map<string, string> {
  const m = new Map<string, string>();
  for (const [canonical, syns] of Object.entries(LEXICON)) for (const s of syns) m.set(s, canonical);
  return m;
}
