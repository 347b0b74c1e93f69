import { afterEach, describe, expect, it } from 'vitest';
import { MemoryError, MemoryStore, normalizePath } from '../../../envs/memory/index.js';

describe('the memory store', () => {
  let store: MemoryStore;
  afterEach(() => store?.close());

  it('keeps paths under /memories and refuses to leave it', () => {
    expect(normalizePath('notes.md')).toBe('/memories/notes.md');
    expect(normalizePath('/memories//a/./b.md')).toBe('/memories/a/b.md');
    expect(() => normalizePath('/memories/../etc/passwd')).toThrow(MemoryError);
    expect(() => normalizePath('/etc/passwd')).toThrow(/outside \/memories/);
  });

  it('creates, views, edits, inserts, renames and deletes files like the memory tool', () => {
    store = new MemoryStore();
    expect(store.create('/memories/facts.md', 'home city: Porto\nemployer: Norveth Labs')).toMatch(/Created/);
    expect(store.view('/memories/facts.md')).toContain('     1\thome city: Porto');
    store.strReplace('/memories/facts.md', 'Porto', 'Lisbon');
    store.insert('/memories/facts.md', 0, 'pet: cat');
    expect(store.read('/memories/facts.md')).toBe('pet: cat\nhome city: Lisbon\nemployer: Norveth Labs');
    expect(store.view('/memories/facts.md', [2, -1])).toContain('lines 2-3 of 3');
    store.rename('/memories/facts.md', '/memories/profile/facts.md');
    expect(store.view('/memories')).toContain('/memories/profile/facts.md');
    store.delete('/memories/profile');
    expect(store.count()).toBe(0);
  });

  it('shows the current text when old_str matches nothing or more than once', () => {
    store = new MemoryStore();
    store.create('/memories/a.md', 'x: 1\nx: 1');
    expect(() => store.strReplace('/memories/a.md', 'y: 2', 'z')).toThrow(/No match[\s\S]*Current text[\s\S]*1\tx: 1/);
    expect(() => store.strReplace('/memories/a.md', 'x: 1', 'z')).toThrow(/on lines 1, 2/);
    expect(() => store.view('/memories/b.md')).toThrow(/Existing files: \/memories\/a.md/);
  });

  it('refuses a write past the capacity and names what takes the room', () => {
    store = new MemoryStore({ capacity: 120 });
    store.create('/memories/a.md', 'a'.repeat(100));
    expect(() => store.create('/memories/b.md', 'b'.repeat(30))).toThrow(
      /holds 100 of its 120[\s\S]*\/memories\/a.md \(100 chars\)/,
    );
    // Shrinking a file is always allowed, and frees the room.
    store.create('/memories/a.md', 'a'.repeat(10));
    expect(store.create('/memories/b.md', 'b'.repeat(30))).toMatch(/Created/);
  });

  it('ranks files by BM25 over their words and highlights the matches', () => {
    store = new MemoryStore();
    store.create('/memories/home.md', 'I live in Porto near the river');
    store.create('/memories/work.md', 'I work at Norveth Labs in Lisbon');
    store.create('/memories/sister.md', 'My sister lives in Lisbon and works in Lisbon');
    const hits = store.search('Lisbon sister');
    expect(hits.map((h) => h.path)).toEqual(['/memories/sister.md', '/memories/work.md']);
    expect(hits[0].snippet).toContain('**Lisbon**');
    // FTS syntax in a query is plain text, not an operator.
    expect(store.search('"Porto" OR (NEAR')).toHaveLength(1);
    store.strReplace('/memories/home.md', 'Porto', 'Braga');
    expect(store.search('Porto')).toHaveLength(0);
  });
});
