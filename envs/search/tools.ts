/**
 * The search environment's tools. `search` and `open` read the corpus directly (fast, no browser);
 * `browse`, `click` and `find` drive a real headless Chromium over the corpus web site (browser mode).
 * Every failure is an `isError` result whose text says what to do instead.
 */
import { z } from 'zod';
import { BrowserTab, BrowserUnavailableError, type PageView, TabError } from '../../tools/browser/index.js';
import type { Doc } from '../../tools/corpus/index.js';
import type { ToolResult, ToolSpec } from '../core/index.js';
import { textResult } from '../core/index.js';
import type { SearchBackend } from './backend.js';

export interface SearchEpisode {
  backend: SearchBackend;
  /** Browser mode only: opened on the first browser call, closed with the episode. */
  tab?: BrowserTab;
  browser: boolean;
  /** Per-call limit of the browser tools. */
  browserTimeoutMs: number;
}

/** Characters of page text a browser tool returns at most. */
const BROWSER_TEXT_CHARS = 4000;

function linkLines(doc: Doc, backend: SearchBackend): string[] {
  return doc.links.map(
    (l, i) => `[${i + 1}] ${l.text} (id: ${l.target})${backend.corpus.byId.has(l.target) ? '' : ' [missing]'}`,
  );
}

export const searchTool: ToolSpec<SearchEpisode, any> = {
  name: 'search',
  title: 'Search the encyclopedia',
  description:
    'Full-text search (BM25) over the encyclopedia. Returns the best matching articles with their ids, titles and a snippet where query terms are **highlighted**. Open an article with `open`.',
  inputSchema: {
    query: z.string().min(1).max(500).describe('Keywords to search for, e.g. a name plus the fact you need ("Ilvar Tesk born").'),
    k: z.number().int().min(1).max(20).optional().describe('How many results to return (1-20, default 5).'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args: { query: string; k?: number }, ep): Promise<ToolResult> {
    const { index, corpus } = ep.backend;
    const hits = index.search(args.query, args.k ?? 5);
    if (hits.length === 0)
      return {
        content: [{ type: 'text', text: `No results for "${args.query}". Try fewer or different keywords (names work best).` }],
        structuredContent: { results: [] },
      };
    const results = hits.map((h) => {
      const d = corpus.docs[h.index] as Doc;
      return {
        id: d.id,
        title: d.title,
        url: d.url,
        snippet: index.snippet(d.text, args.query),
        score: Math.round(h.score * 1000) / 1000,
      };
    });
    const text = results.map((r, i) => `${i + 1}. ${r.title} (id: ${r.id})\n   ${r.snippet}`).join('\n');
    return { content: [{ type: 'text', text }], structuredContent: { results } };
  },
};

export const openTool: ToolSpec<SearchEpisode, any> = {
  name: 'open',
  title: 'Open an article',
  description:
    'Opens an article by its id (from search results or link lists), its URL (`/wiki/<id>`) or its exact title, and returns its readable text one page at a time, followed by the numbered list of links it contains.',
  inputSchema: {
    id_or_url: z.string().min(1).max(2000).describe('Article id (e.g. "ilvar-tesk"), URL ("/wiki/ilvar-tesk") or exact title.'),
    page: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Page of the article to read, starting at 1 (default 1). Long articles span several pages.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args: { id_or_url: string; page?: number }, ep): Promise<ToolResult> {
    const doc = ep.backend.resolve(args.id_or_url);
    if (!doc)
      return textResult(
        `No article '${args.id_or_url}'. Use an id from search results or a link list, e.g. search for the name first.`,
        true,
      );
    const opened = ep.backend.open(doc, args.page ?? 1);
    if ('error' in opened) return textResult(opened.error, true);
    const links = linkLines(doc, ep.backend);
    const more =
      opened.page < opened.pages
        ? `\n\n(page ${opened.page} of ${opened.pages}: open with page ${opened.page + 1} for more)`
        : '';
    const text = `# ${doc.title}\nid: ${doc.id} | url: ${doc.url} | page ${opened.page} of ${opened.pages}\n\n${opened.text}${more}\n\nLinks:\n${links.length > 0 ? links.join('\n') : '(none)'}`;
    return {
      content: [{ type: 'text', text }],
      structuredContent: {
        id: doc.id,
        title: doc.title,
        url: doc.url,
        page: opened.page,
        pages: opened.pages,
        links: doc.links.map((l, i) => ({ index: i + 1, text: l.text, id: l.target })),
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Browser tools

async function tabOf(ep: SearchEpisode): Promise<BrowserTab> {
  if (!ep.tab) {
    const origin = await ep.backend.siteUrl();
    ep.tab = new BrowserTab(ep.backend.browserPool(), { origin, timeoutMs: ep.browserTimeoutMs });
  }
  return ep.tab;
}

function viewResult(v: PageView): ToolResult {
  const path = new URL(v.url).pathname + new URL(v.url).search;
  const body =
    v.text.length > BROWSER_TEXT_CHARS
      ? `${v.text.slice(0, BROWSER_TEXT_CHARS)}\n[... page text cut at ${BROWSER_TEXT_CHARS} characters; use find to locate text]`
      : v.text;
  const links = v.links.map((l) => `[${l.index}] ${l.text || '(no text)'} -> ${new URL(l.href).pathname}`);
  return {
    content: [{ type: 'text', text: `# ${v.title}\nurl: ${path}\n\n${body}\n\nLinks:\n${links.join('\n') || '(none)'}` }],
    structuredContent: {
      url: path,
      title: v.title,
      links: v.links.map((l) => ({ index: l.index, text: l.text, url: new URL(l.href).pathname })),
    },
  };
}

async function guarded(op: () => Promise<ToolResult>): Promise<ToolResult> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof TabError || err instanceof BrowserUnavailableError) return textResult(err.message, true);
    throw err;
  }
}

export const browseTool: ToolSpec<SearchEpisode, any> = {
  name: 'browse',
  title: 'Open a web page',
  description:
    'Loads a page of the encyclopedia web site in a real browser and returns its visible text and numbered links. Start at "/" (home) or "/search?q=keywords", or open "/wiki/<id>".',
  inputSchema: {
    url: z
      .string()
      .min(1)
      .max(2000)
      .describe('Page to load: a path such as "/", "/search?q=ilvar+tesk" or "/wiki/ilvar-tesk", or a full URL on the site.'),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args: { url: string }, ep) => guarded(async () => viewResult(await (await tabOf(ep)).browse(args.url))),
};

export const clickTool: ToolSpec<SearchEpisode, any> = {
  name: 'click',
  title: 'Click a link',
  description:
    'Clicks a link on the current page, chosen by its number in the last page\'s link list (e.g. "3") or by its text (e.g. "Ilvar Tesk"), and returns the page it leads to.',
  inputSchema: {
    target: z
      .union([z.string().min(1).max(500), z.number().int().min(1)])
      .describe('The link number from the list (e.g. 3) or the link text to click.'),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (args: { target: string | number }, ep) => guarded(async () => viewResult(await (await tabOf(ep)).click(args.target))),
};

export const findTool: ToolSpec<SearchEpisode, any> = {
  name: 'find',
  title: 'Find text on the page',
  description:
    'Finds a word or phrase (case-insensitive) on the current browser page, like Ctrl+F, and returns how often it occurs and the text around each occurrence.',
  inputSchema: {
    text: z.string().min(1).max(500).describe('The word or phrase to look for on the current page.'),
  },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  handler: (args: { text: string }, ep) =>
    guarded(async () => {
      const r = await (await tabOf(ep)).find(args.text);
      const text =
        r.count === 0
          ? `"${args.text}" does not occur on ${new URL(r.url).pathname}.`
          : `${r.count} match(es) of "${args.text}" on ${new URL(r.url).pathname}:\n${r.matches.map((m, i) => `${i + 1}. ...${m}...`).join('\n')}`;
      return {
        content: [{ type: 'text', text }],
        structuredContent: { url: new URL(r.url).pathname, count: r.count, matches: r.matches },
      };
    }),
};

export const TEXT_TOOLS = [searchTool, openTool] as const;
export const BROWSER_TOOLS = [browseTool, clickTool, findTool] as const;
