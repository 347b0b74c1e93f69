import { describe, expect, it } from 'vitest';
import { Bm25Index, snippet, tokenize } from '../../../tools/text-index/index.js';

const DOCS = [
  { id: 'tides', title: 'Tides', text: 'The tides of the northern harbour rise twice a day.' },
  { id: 'harbour', title: 'Harbour', text: 'The harbour has a lighthouse and a market. The harbour market sells fish.' },
  { id: 'market', title: 'Market', text: 'A market in the old town square.' },
  { id: 'bells', title: 'Bell casting', text: 'Bell casting is an old craft.' },
];

/** Textbook BM25 of one doc for a query, written independently of the index (titleWeight = 1). */
function reference(docs: typeof DOCS, query: string, id: string, k1 = 1.2, b = 0.75): number {
  const toks = docs.map((d) => [...tokenize(d.title), ...tokenize(d.text)]);
  const avg = toks.reduce((s, t) => s + t.length, 0) / docs.length;
  const d = toks[docs.findIndex((x) => x.id === id)];
  let score = 0;
  for (const term of new Set(tokenize(query))) {
    const df = toks.filter((t) => t.includes(term)).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (docs.length - df + 0.5) / (df + 0.5));
    const tf = d.filter((t) => t === term).length;
    score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * d.length) / avg));
  }
  return score;
}

describe('Bm25Index', () => {
  // Per-document length norms are stored as float32: agreement to 1e-6 is exact for ranking purposes.
  it('scores documents as the BM25 formula does', () => {
    const idx = new Bm25Index({ titleWeight: 1 }).addAll(DOCS);
    for (const hit of idx.search('harbour market', 10))
      expect(hit.score).toBeCloseTo(reference(DOCS, 'harbour market', hit.id), 6);
  });

  it('ranks the document with the most query weight first and leaves out non-matching ones', () => {
    const idx = new Bm25Index().addAll(DOCS);
    const hits = idx.search('harbour market', 10);
    expect(hits[0].id).toBe('harbour');
    expect(hits.map((h) => h.id)).not.toContain('bells');
    expect(hits.every((h, i) => i === 0 || hits[i - 1].score >= h.score)).toBe(true);
  });

  it('boosts title matches', () => {
    const idx = new Bm25Index().addAll([
      { id: 'a', title: 'Notes', text: 'bells bells' },
      { id: 'b', title: 'Bells', text: 'notes' },
    ]);
    expect(idx.search('bells', 2)[0].id).toBe('b');
  });

  it('returns nothing for an empty, stop-word-only or unknown query, and at most k hits', () => {
    const idx = new Bm25Index().addAll(DOCS);
    expect(idx.search('', 5)).toEqual([]);
    expect(idx.search('the of and', 5)).toEqual([]);
    expect(idx.search('zeppelin', 5)).toEqual([]);
    expect(idx.search('the old harbour market', 2)).toHaveLength(2);
  });

  it('breaks ties by insertion order and gives the same ranking every time', () => {
    const idx = new Bm25Index().addAll([
      { id: 'x', title: 't', text: 'same words here' },
      { id: 'y', title: 't', text: 'same words here' },
    ]);
    expect(idx.search('words', 2).map((h) => h.id)).toEqual(['x', 'y']);
    expect(idx.search('words', 2)).toEqual(idx.search('words', 2));
  });

  it('keeps working when documents are added after a search', () => {
    const idx = new Bm25Index().addAll(DOCS.slice(0, 2));
    expect(idx.search('bell', 5)).toEqual([]);
    idx.add(DOCS[3]);
    expect(idx.search('bell casting', 5)[0].id).toBe('bells');
    expect(idx.search('harbour', 5)[0].id).toBe('harbour');
  });

  it('reports its size and build time', () => {
    const s = new Bm25Index().addAll(DOCS).stats();
    expect(s.docs).toBe(4);
    expect(s.terms).toBeGreaterThan(10);
    expect(s.sizeBytes).toBeGreaterThan(0);
    expect(s.buildMs).toBeGreaterThanOrEqual(0);
  });

  it('treats grouped digits as one number', () => {
    const idx = new Bm25Index().addAll([{ id: 'p', title: 'Town', text: 'Population 80,146 in 2020.' }]);
    expect(idx.search('80146', 1)[0]?.id).toBe('p');
  });
});

describe('snippet', () => {
  it('highlights the query terms in the best window', () => {
    const text = `${'Filler words without meaning. '.repeat(20)}The lighthouse keeper lives by the harbour. ${'More filler. '.repeat(20)}`;
    const s = snippet(text, 'harbour lighthouse');
    expect(s).toContain('**lighthouse**');
    expect(s).toContain('**harbour**');
    expect(s.startsWith('...')).toBe(true);
    expect(s.length).toBeLessThan(260);
  });

  it('falls back to the opening when nothing matches', () => {
    expect(snippet('Short text here.', 'zeppelin')).toBe('Short text here.');
  });
});
