import { afterAll, describe, expect, it } from 'vitest';
import { connectInMemory, type Environment, type ToolResult } from '../../../envs/core/index.js';
import { createSearchEnv } from '../../../envs/search/index.js';
import { chromiumAvailable } from '../../../tools/browser/index.js';
import { describeConformance } from '../conformance.js';

// The browser tools' schemas and bad-argument handling (no page is opened by these checks).
describeConformance(createSearchEnv({ docs: 300, seed: 9, browser: true }));

// Real Chromium only. Missing in CI is a failure; elsewhere the suite skips and says why.
const chromium = chromiumAvailable();
const runBrowser = chromium.ok || process.env.CI === 'true';
if (!runBrowser) console.warn(`[search browser tests] skipped: ${chromium.reason}`);

describe.skipIf(!runBrowser)('search env with browser tools in real Chromium', () => {
  const def = createSearchEnv({ docs: 200, seed: 5, browser: true, browsers: 1, browserTimeoutMs: 6000 });
  // A page whose script never yields, reachable on the env's own site (fault injection for tests).
  def.backend().siteRoutes['/hang'] = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body><script>for(;;){}</script></body></html>');
  };
  afterAll(() => def.shutdown());

  const call = async (env: Environment, name: string, args: Record<string, unknown>): Promise<ToolResult> => {
    const r = await env.step({ kind: 'tool_calls', calls: [{ name, arguments: args }] });
    const res = r.observation.toolResults?.[0];
    if (!res) throw new Error('no result');
    return res;
  };

  it('adds browse, click and find to search and open', () => {
    expect(def.tools.map((t) => t.name)).toEqual(['search', 'open', 'browse', 'click', 'find']);
  });

  it('browses the site search, clicks a result and finds text on the article', async () => {
    const env = def.create();
    try {
      await env.reset({ seed: 2 });
      const person = def.backend().corpus.world?.people[0];
      if (!person) throw new Error('no people');
      const results = await call(env, 'browse', { url: `/search?q=${encodeURIComponent(person.name)}` });
      expect(results.isError, results.content[0].text).not.toBe(true);
      const links = (results.structuredContent as { links: Array<{ index: number; text: string; url: string }> }).links;
      const hit = links.find((l) => l.url === `/wiki/${person.id}`);
      expect(hit).toBeDefined();
      const article = await call(env, 'click', { target: person.name });
      expect(article.isError, article.content[0].text).not.toBe(true);
      expect((article.structuredContent as { url: string }).url).toBe(`/wiki/${person.id}`);
      expect(article.content[0].text).toContain(`# ${person.name}`);
      const byNumber = await call(env, 'click', { target: 1 });
      expect((byNumber.structuredContent as { url: string }).url).toBe('/');
      await call(env, 'browse', { url: `/wiki/${person.id}` });
      const found = await call(env, 'find', { text: 'born' });
      expect((found.structuredContent as { count: number }).count).toBeGreaterThan(0);
      const off = await call(env, 'browse', { url: 'https://example.com/' });
      expect(off.isError).toBe(true);
    } finally {
      await env.close();
    }
  });

  it('survives a hung page and a killed browser: the episode gets an error result and goes on', async () => {
    const env = def.create();
    const other = def.create();
    try {
      await env.reset({ seed: 3 });
      await other.reset({ seed: 4 });
      const [hung, fine] = await Promise.all([call(env, 'browse', { url: '/hang' }), call(other, 'browse', { url: '/' })]);
      expect(hung.isError).toBe(true);
      expect(hung.content[0].text).toMatch(/timed out/);
      expect(fine.isError).not.toBe(true);
      const again = await call(env, 'browse', { url: '/' });
      expect(again.isError, again.content[0].text).not.toBe(true);
      // Kill every browser of the pool under the running episodes.
      await def.backend().browserPool().killAll();
      const afterKill = await call(other, 'browse', { url: '/' });
      expect(afterKill.isError, afterKill.content[0].text).not.toBe(true);
      const searchStillWorks = await call(env, 'search', { query: 'harbour' });
      expect(searchStillWorks.isError).not.toBe(true);
    } finally {
      await Promise.all([env.close(), other.close()]);
    }
  });

  it('serves browser tools to an MCP client, one browser context per session', async () => {
    const clients = await Promise.all([connectInMemory(def), connectInMemory(def), connectInMemory(def)]);
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          await c.callTool({ name: 'gym_start', arguments: { seed: i } });
          const r = (await c.callTool({ name: 'browse', arguments: { url: '/' } })) as ToolResult;
          expect(r.isError, JSON.stringify(r.content)).not.toBe(true);
          expect(r.content[0].text).toContain('# Encyclopedia');
        }),
      );
      expect(def.backend().browserPool().stats().browsers).toBe(1);
      expect(def.backend().browserPool().stats().contexts).toBeGreaterThanOrEqual(3);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
