import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CorpusLoadError,
  corpusHash,
  current,
  docToHtml,
  generateCorpus,
  htmlToText,
  loadCorpus,
  serveCorpusSite,
} from '../../../tools/corpus/index.js';

const small = generateCorpus({ seed: 7, docs: 400 });

describe('generateCorpus', () => {
  it('gives the same bytes for the same seed and size', () => {
    const again = generateCorpus({ seed: 7, docs: 400 });
    expect(corpusHash(again)).toBe(corpusHash(small));
  });

  it('gives a different world for a different seed', () => {
    expect(corpusHash(generateCorpus({ seed: 8, docs: 400 }))).not.toBe(corpusHash(small));
  });

  it('produces the requested number of documents with unique ids', () => {
    expect(small.docs.length).toBe(400);
    expect(small.byId.size).toBe(400);
  });

  it('links only to documents that exist', () => {
    for (const d of small.docs) for (const l of d.links) expect(small.byId.has(l.target), `${d.id} -> ${l.target}`).toBe(true);
  });

  it('writes the facts of the world into the articles', () => {
    const w = small.world;
    if (!w) throw new Error('generated corpora keep their world');
    const p = w.people[0];
    const doc = small.byId.get(p.id);
    const city = w.entities.get(p.birthplace);
    expect(doc?.text).toContain(`in ${city?.name}`);
    const o = w.organisations[0];
    expect(small.byId.get(o.id)?.text).toContain(`founded in ${o.founded}`);
  });

  it('includes near-namesakes that point at each other', () => {
    const w = small.world;
    if (!w) throw new Error('generated corpora keep their world');
    expect(w.namesakes.size).toBeGreaterThan(0);
    for (const [a, twins] of w.namesakes) {
      const na = w.entities.get(a)?.name ?? '';
      for (const b of twins) {
        const nb = w.entities.get(b)?.name ?? '';
        expect(nb).not.toBe(na);
        expect(nb.split(' ')[0]).toBe(na.split(' ')[0]);
        expect(small.byId.get(a)?.text).toContain(`Not to be confused with ${nb}`);
      }
    }
  });

  it('marks archived snapshots as outdated and keeps the current value in the article', () => {
    const snap = small.docs.find((d) => d.kind === 'snapshot' && small.world?.entities.get(d.entity ?? '')?.kind === 'city');
    expect(snap).toBeDefined();
    expect(snap?.text).toMatch(/This page is outdated/);
    const city = small.world?.cities.find((c) => c.id === snap?.entity);
    if (!city) throw new Error('snapshot without its city');
    const mayor = small.world?.entities.get(current(city.mayor))?.name ?? '';
    expect(small.byId.get(city.id)?.text).toContain(`The current mayor is ${mayor}`);
    expect(snap?.text).not.toContain(`The current mayor is ${mayor}`);
  });
});

describe('loadCorpus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-corpus-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a folder of markdown, text and html files with links between them', () => {
    const root = join(dir, 'site');
    mkdirSync(join(root, 'guides'), { recursive: true });
    writeFileSync(
      join(root, 'index.md'),
      '# Welcome\n\nSee the [setup guide](guides/setup.md) and [elsewhere](https://example.com).\n',
    );
    writeFileSync(join(root, 'guides', 'setup.md'), '# Setup Guide\n\nInstall **everything** first.\n');
    writeFileSync(join(root, 'notes.txt'), 'Plain notes about tides.\n');
    writeFileSync(
      join(root, 'page.html'),
      '<html><head><title>Harbour &amp; Docks</title><script>x()</script></head><body><h1>Harbour</h1><p>Ships <a href="notes.txt">notes</a></p></body></html>',
    );
    const c = loadCorpus(root);
    expect(c.docs.map((d) => d.id)).toEqual(['guides/setup', 'index', 'notes', 'page']);
    expect(c.byId.get('index')?.links).toEqual([{ text: 'setup guide', target: 'guides/setup' }]);
    expect(c.byId.get('guides/setup')?.title).toBe('Setup Guide');
    expect(c.byId.get('guides/setup')?.text).toContain('Install everything first.');
    expect(c.byId.get('page')?.title).toBe('Harbour & Docks');
    expect(c.byId.get('page')?.text).not.toContain('x()');
    expect(c.byId.get('page')?.links).toEqual([{ text: 'notes', target: 'notes' }]);
  });

  it('loads a JSONL file and names a bad line in its error', () => {
    const f = join(dir, 'docs.jsonl');
    writeFileSync(f, '{"id": "a", "title": "Alpha", "text": "first"}\n{"title": "Beta", "content": "second"}\n');
    const c = loadCorpus(f);
    expect(c.docs.map((d) => [d.id, d.title, d.text])).toEqual([
      ['a', 'Alpha', 'first'],
      ['doc-1', 'Beta', 'second'],
    ]);
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "ok"}\nnot json\n');
    expect(() => loadCorpus(bad)).toThrow(/bad\.jsonl:2/);
    expect(() => loadCorpus(join(dir, 'missing'))).toThrow(CorpusLoadError);
  });

  it('reduces html to readable text', () => {
    const r = htmlToText('<p>a &lt; b</p><style>p{}</style><ul><li>one</li><li>two</li></ul>');
    expect(r.text).toBe('a < b\n\none\n\ntwo');
  });
});

describe('serveCorpusSite', () => {
  it('serves articles as html with links, and 404 for unknown pages', async () => {
    const site = await serveCorpusSite(small);
    try {
      const doc = small.docs.find((d) => d.links.length > 0);
      if (!doc) throw new Error('no linked doc');
      const res = await fetch(`${site.url}${doc.url}`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(`<title>${doc.title}</title>`);
      expect(html).toContain(`href="/wiki/${doc.links[0].target}"`);
      expect(html).toBe(docToHtml(doc, small.byId));
      expect((await fetch(`${site.url}/wiki/no-such-page`)).status).toBe(404);
      expect(site.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await site.close();
      await site.close();
    }
  });
});
