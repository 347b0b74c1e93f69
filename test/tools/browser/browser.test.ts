import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool, BrowserTab, chromiumAvailable, resolveLink, TabError } from '../../../tools/browser/index.js';
import { generateCorpus, type SiteHandle, serveCorpusSite } from '../../../tools/corpus/index.js';

// Real Chromium only. Missing in CI is a failure; elsewhere the suite skips and says why.
const chromium = chromiumAvailable();
const runBrowser = chromium.ok || process.env.CI === 'true';
if (!runBrowser) console.warn(`[browser tests] skipped: ${chromium.reason}`);

describe('resolveLink', () => {
  const links = [
    { index: 1, text: 'Home', href: 'http://h/' },
    { index: 2, text: 'Ilvar Tesk', href: 'http://h/wiki/ilvar-tesk' },
    { index: 3, text: 'Ilvar Teske', href: 'http://h/wiki/ilvar-teske' },
  ];
  it('picks a link by number, by exact text before contained text, and nothing otherwise', () => {
    expect(resolveLink(links, 3)?.index).toBe(3);
    expect(resolveLink(links, '[2]')?.index).toBe(2);
    expect(resolveLink(links, 'ilvar tesk')?.index).toBe(2);
    expect(resolveLink(links, 'teske')?.index).toBe(3);
    expect(resolveLink(links, 'zeppelin')).toBeUndefined();
    expect(resolveLink(links, 9)).toBeUndefined();
  });
});

describe.skipIf(!runBrowser)('BrowserTab in real Chromium', () => {
  const corpus = generateCorpus({ seed: 3, docs: 120 });
  const start = corpus.docs.find((d) => d.links.length >= 3 && d.text.includes('born'));
  if (!start) throw new Error('fixture corpus has no linked article');
  let site: SiteHandle;
  let pool: BrowserPool;

  beforeAll(async () => {
    site = await serveCorpusSite(corpus, {
      routes: {
        // A page whose script never yields: the renderer hangs.
        '/hang': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html><body><p>spinning</p><script>for(;;){}</script></body></html>');
        },
        // A server that never answers.
        '/stall': () => undefined,
      },
    });
    pool = new BrowserPool({ size: 1 });
    await pool.warm();
  });
  afterAll(async () => {
    await pool?.close();
    await site?.close();
  });

  it('navigates to an article and lists its text and links', async () => {
    const tab = new BrowserTab(pool, { origin: site.url, timeoutMs: 15_000 });
    try {
      const v = await tab.browse(start.url);
      expect(v.title).toBe(start.title);
      expect(v.text).toContain(start.text.split('\n')[0].slice(0, 40));
      const hrefs = v.links.map((l) => new URL(l.href).pathname);
      expect(hrefs).toContain(`/wiki/${start.links[0].target}`);
    } finally {
      await tab.close();
    }
  });

  it('clicks a link by its text and by its number, and finds text on the page', async () => {
    const tab = new BrowserTab(pool, { origin: site.url, timeoutMs: 15_000 });
    try {
      await tab.browse(start.url);
      const first = start.links[0];
      const v = await tab.click(first.text);
      expect(new URL(v.url).pathname).toBe(`/wiki/${first.target}`);
      expect(v.title).toBe(corpus.byId.get(first.target)?.title);
      const home = await tab.click(1);
      expect(new URL(home.url).pathname).toBe('/');
      await tab.browse(start.url);
      const found = await tab.find('born');
      expect(found.count).toBeGreaterThan(0);
      expect(found.matches[0].toLowerCase()).toContain('born');
      expect((await tab.find('zeppelin-not-here')).count).toBe(0);
      await expect(tab.click('no such link text')).rejects.toThrow(/no link matches/);
    } finally {
      await tab.close();
    }
  });

  it('refuses pages outside the site', async () => {
    const tab = new BrowserTab(pool, { origin: site.url, timeoutMs: 15_000 });
    try {
      await expect(tab.browse('https://example.com/')).rejects.toThrow(TabError);
      await expect(tab.browse('chrome://crash')).rejects.toThrow(/only pages on/);
    } finally {
      await tab.close();
    }
  });

  it('times out a hung page and a stalled server, resets the tab, and keeps serving other tabs', async () => {
    const tab = new BrowserTab(pool, { origin: site.url, timeoutMs: 2500 });
    const other = new BrowserTab(pool, { origin: site.url, timeoutMs: 15_000 });
    try {
      const [hung, fine] = await Promise.allSettled([tab.browse('/hang'), other.browse(start.url)]);
      expect(hung.status).toBe('rejected');
      expect(String((hung as PromiseRejectedResult).reason)).toMatch(/timed out/);
      expect(fine.status).toBe('fulfilled');
      await expect(tab.browse('/stall')).rejects.toThrow(/timed out/);
      const v = await tab.browse(start.url);
      expect(v.title).toBe(start.title);
    } finally {
      await Promise.all([tab.close(), other.close()]);
    }
  });

  it('recovers from a crashed renderer (a dead browser is covered by the search env tests)', async () => {
    const tab = new BrowserTab(pool, { origin: site.url, timeoutMs: 15_000 });
    try {
      await tab.browse(start.url);
      const page = await tab.livePage();
      const crashed = page.waitForEvent('crash', { timeout: 10_000 });
      void page.goto('chrome://crash').catch(() => undefined);
      await crashed;
      await expect(tab.find('born')).rejects.toThrow(TabError);
      expect((await tab.browse(start.url)).title).toBe(start.title);
    } finally {
      await tab.close();
      await tab.close();
    }
  });
});
