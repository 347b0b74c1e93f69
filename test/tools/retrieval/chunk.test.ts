import { describe, expect, it } from 'vitest';
import { chunkDoc, chunkDocs, parseChunkId, rrf } from '../../../tools/retrieval/index.js';

const words = (n: number, tag: string): string =>
  Array.from({ length: n }, (_, i) => `${tag}${i}`)
    .join(' ')
    .concat('.');

describe('chunkDoc', () => {
  it('never lets a chunk span two sections, and gives each chunk its heading', () => {
    const text = `Intro sentence one. Intro sentence two.\n\n## History\n\n${words(10, 'h')} ${words(10, 'k')}\n\n## Leadership\n\nThe director is Ilvar Tesk.`;
    const chunks = chunkDoc({ id: 'kravik-works', title: 'Kravik Works', text }, { maxTokens: 16, overlap: 4 });
    expect(chunks.map((c) => c.heading)).toEqual(['', 'History', 'History', 'Leadership']);
    expect(chunks.map((c) => c.id)).toEqual(['kravik-works#0', 'kravik-works#1', 'kravik-works#2', 'kravik-works#3']);
    expect(chunks[3]?.text).toBe('The director is Ilvar Tesk.');
    for (const c of chunks) expect(c.text).not.toMatch(/##/);
  });

  it('keeps chunks within maxTokens and repeats whole sentences of the previous chunk as overlap', () => {
    const sentences = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} ends here.`); // 5 words each
    const chunks = chunkDoc({ id: 'd', title: 'D', text: sentences.join(' ') }, { maxTokens: 20, overlap: 5 });
    for (const c of chunks) expect(c.text.split(/\s+/).length).toBeLessThanOrEqual(20);
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const prevLast = (chunks[i - 1]?.text.match(/Sentence number \d+ ends here\./g) ?? []).at(-1);
      expect(chunks[i]?.text.startsWith(prevLast as string)).toBe(true);
    }
    // Every sentence is whole in some chunk.
    for (const s of sentences) expect(chunks.some((c) => c.text.includes(s))).toBe(true);
  });

  it('cuts a sentence longer than a chunk into overlapping windows', () => {
    const chunks = chunkDoc({ id: 'd', title: 'D', text: words(50, 'w') }, { maxTokens: 20, overlap: 5 });
    expect(chunks.length).toBe(3);
    expect(chunks[1]?.text.split(' ')[0]).toBe('w15');
    expect(chunks.every((c) => c.text.split(' ').length <= 20)).toBe(true);
  });

  it('gives the same ids for the same documents, and ids that parse back', () => {
    const docs = [
      { id: 'guides/intro', title: 'Intro', text: `${words(40, 'a')}\n\n# Part\n\n${words(40, 'b')}` },
      { id: 'x', title: 'X', text: 'Short.' },
    ];
    const a = chunkDocs(docs, { maxTokens: 24, overlap: 4 });
    const b = chunkDocs(docs, { maxTokens: 24, overlap: 4 });
    expect(a).toEqual(b);
    expect(parseChunkId(a[0]?.id as string)).toEqual({ doc: 'guides/intro', n: 0 });
    expect(parseChunkId('no-number')).toBeUndefined();
  });
});

describe('reciprocal rank fusion', () => {
  it('ranks an item both lists hold above items only one list holds near the top', () => {
    const fused = rrf([
      [1, 2, 3],
      [4, 3, 5],
    ]);
    expect(fused[0]?.index).toBe(3); // 1/63 + 1/62 beats 1/61
    expect(fused[0]?.score).toBeCloseTo(1 / 63 + 1 / 62, 10);
    expect(fused.map((f) => f.index).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('breaks ties by the best rank, then by index', () => {
    const fused = rrf([[7], [9]]);
    expect(fused.map((f) => f.index)).toEqual([7, 9]);
  });
});
