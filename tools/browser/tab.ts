/**
 * One episode's browser tab: navigate, click a link (by its text or its number), find text, each
 * under a per-call timeout. A page that hangs or crashes is thrown away and replaced by a fresh one
 * (and a dead browser by a fresh context), so a bad page costs the episode one failed call, never
 * the server.
 *
 * Navigation is confined to one origin (the corpus site): the environment stays hermetic.
 */
import type { Page } from 'playwright-core';
import type { BrowserPool, PooledContext } from './pool.js';

export interface PageLink {
  /** 1-based, in document order. */
  index: number;
  text: string;
  href: string;
}

export interface PageView {
  url: string;
  title: string;
  text: string;
  links: PageLink[];
}

export interface FindResult {
  url: string;
  count: number;
  matches: string[];
}

export interface TabOptions {
  /** The only origin pages may be loaded from, e.g. `http://127.0.0.1:PORT`. */
  origin: string;
  /** Milliseconds one call may take before the page is reset. Default 5000. */
  timeoutMs?: number;
  /**
   * Milliseconds allowed to open the tab's context and page (a renderer process start). Kept apart
   * from `timeoutMs`: it is the harness's cost, which no page can make hang, and on a loaded small
   * machine it can take seconds. Default 30000.
   */
  openTimeoutMs?: number;
}

/** A call failed in a way the policy can act on (bad URL, unknown link, timeout, crash). */
export class TabError extends Error {
  override name = 'TabError';
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new TimeoutError()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// The page functions below run inside Chromium: they see a DOM that this Node project's `lib` does
// not declare, hence the loose types. They read `innerText` on purpose: the text as rendered (hidden
// elements left out, block elements on their own lines), which is what a reader of the page sees.
declare const document: any;

// Runs inside the page: main text and every link, in document order.
function readPage(): { title: string; text: string; links: Array<{ text: string; href: string }> } {
  const root = document.querySelector('main') ?? document.body;
  const anchors: Array<{ innerText?: string; textContent?: string; href: string }> = Array.from(
    document.querySelectorAll('a[href]'),
  );
  // innerText, not textContent: the rendered text a reader sees (hidden elements and script excluded).
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is wanted
  const links = anchors.map((a) => ({ text: (a.innerText || a.textContent || '').trim(), href: a.href }));
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is wanted
  return { title: String(document.title), text: root ? String(root.innerText) : '', links };
}

export class BrowserTab {
  private ctx?: PooledContext;
  private page?: Page;
  private crashed = false;
  private last?: PageView;
  private closed = false;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly openTimeoutMs: number;

  constructor(
    private readonly pool: BrowserPool,
    opts: TabOptions,
  ) {
    this.origin = new URL(opts.origin).origin;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.openTimeoutMs = opts.openTimeoutMs ?? Math.max(30_000, this.timeoutMs);
  }

  /** Opens `url` (absolute on the site's origin, or a path like `/wiki/x`). */
  async browse(url: string): Promise<PageView> {
    let target: URL;
    try {
      target = new URL(url, this.origin);
    } catch {
      throw new TabError(`'${url}' is not a URL: give a path such as /wiki/some-article or ${this.origin}/`);
    }
    if (target.origin !== this.origin)
      throw new TabError(
        `only pages on ${this.origin} can be opened (got ${target.origin}); use a path such as /wiki/some-article`,
      );
    return this.run('browse', async (page) => {
      const res = await page.goto(target.href, { waitUntil: 'domcontentloaded', timeout: this.timeoutMs });
      const view = await this.view(page);
      if (res && res.status() >= 400) view.title = `${view.title} (HTTP ${res.status()})`;
      return view;
    });
  }

  /** Clicks a link of the current page by its 1-based number or its text (exact, then contained). */
  async click(target: string | number): Promise<PageView> {
    const view = this.last;
    if (!view || this.crashed) throw new TabError('no page is open: call browse with a URL first');
    const link = resolveLink(view.links, target);
    if (!link) {
      const sample = view.links
        .slice(0, 12)
        .map((l) => `[${l.index}] ${l.text}`)
        .join(', ');
      throw new TabError(`no link matches '${target}' on this page; links: ${sample}${view.links.length > 12 ? ', ...' : ''}`);
    }
    if (new URL(link.href).origin !== this.origin)
      throw new TabError(`link [${link.index}] leaves the site (${link.href}) and cannot be followed`);
    return this.run('click', async (page) => {
      // The click is a DOM click event on the anchor (its activation behaviour navigates), not a
      // synthesized mouse press: Chromium stops producing frames for windows it considers occluded,
      // and with dozens of headless windows a mouse click then waits forever for a frame.
      const navigated = page.waitForEvent('framenavigated', {
        predicate: (f) => f === page.mainFrame(),
        timeout: this.timeoutMs,
      });
      await page
        .locator('a[href]')
        .nth(link.index - 1)
        .dispatchEvent('click', undefined, { timeout: this.timeoutMs });
      await navigated;
      await page.waitForLoadState('domcontentloaded', { timeout: this.timeoutMs });
      return this.view(page);
    });
  }

  /** Case-insensitive occurrences of `text` in the current page, each with some context. */
  async find(text: string, max = 10): Promise<FindResult> {
    if (!this.last || this.crashed) throw new TabError('no page is open: call browse with a URL first');
    if (text.trim() === '') throw new TabError('find needs some text to look for');
    return this.run('find', async (page) => {
      const found = await page.evaluate(
        ({ needle, max }) => {
          const body = document.querySelector('main') ?? document.body;
          // biome-ignore lint/performance/useDomNodeTextContent: find searches the rendered text
          const hay = String(body.innerText);
          const lower = hay.toLowerCase();
          const n = needle.toLowerCase();
          const matches: string[] = [];
          let count = 0;
          for (let i = lower.indexOf(n); i >= 0; i = lower.indexOf(n, i + n.length)) {
            count++;
            if (matches.length < max) matches.push(hay.slice(Math.max(0, i - 80), i + n.length + 80).replace(/\s+/g, ' '));
          }
          return { count, matches };
        },
        { needle: text, max },
      );
      return { url: page.url(), ...found };
    });
  }

  /** The page of the last successful call, if any. */
  current(): PageView | undefined {
    return this.last;
  }

  /** Test hook: the live page (e.g. to crash it on purpose). */
  async livePage(): Promise<Page> {
    return this.ensurePage();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ctx = this.ctx;
    this.ctx = undefined;
    this.page = undefined;
    await ctx?.release();
  }

  private run<T>(what: string, op: (page: Page) => Promise<T>): Promise<T> {
    return this.pool.schedule(() => this.runNow(what, op));
  }

  private async runNow<T>(what: string, op: (page: Page) => Promise<T>): Promise<T> {
    const page = await withTimeout(this.ensurePage(), this.openTimeoutMs).catch((err: unknown) => {
      if (err instanceof TimeoutError)
        throw new TabError(`the browser did not open a page within ${this.openTimeoutMs} ms; try again`);
      throw err;
    });
    try {
      const out = await withTimeout(op(page), this.timeoutMs + 500);
      if (this.crashed) throw new TabError(`the page crashed during ${what}; the tab was reset: browse again`);
      if (isView(out)) this.last = out;
      return out;
    } catch (err) {
      if (err instanceof TabError) {
        await this.resetPage();
        throw err;
      }
      const message =
        err instanceof TimeoutError || /timeout/i.test(String((err as Error).message))
          ? `${what} timed out after ${this.timeoutMs} ms; the tab was reset: browse to another page`
          : this.crashed
            ? `the page crashed during ${what}; the tab was reset: browse again`
            : `${what} failed: ${String((err as Error).message).split('\n')[0]}`;
      await this.resetPage();
      throw new TabError(message);
    }
  }

  private async ensurePage(): Promise<Page> {
    if (this.closed) throw new TabError('this tab is closed');
    if (this.page && !this.page.isClosed() && !this.crashed && this.ctx?.alive()) return this.page;
    if (this.page) await this.resetPage();
    if (!this.ctx?.alive()) {
      await this.ctx?.release();
      this.ctx = undefined;
      const fresh = await this.pool.newContext();
      // The tab may have been closed (or the call abandoned) while the context was opening.
      if (this.closed) {
        await fresh.release();
        throw new TabError('this tab is closed');
      }
      this.ctx = fresh;
    }
    const page = await this.ctx.context.newPage();
    page.setDefaultTimeout(this.timeoutMs);
    page.on('crash', () => {
      if (this.page === page) this.crashed = true;
    });
    // A page that opens dialogs would otherwise block every later call.
    page.on('dialog', (d) => void d.dismiss().catch(() => undefined));
    this.page = page;
    this.crashed = false;
    return page;
  }

  /** Drops the current page without waiting on it (a hung renderer may never answer). */
  private async resetPage(): Promise<void> {
    const page = this.page;
    this.page = undefined;
    this.last = undefined;
    this.crashed = false;
    if (page) await withTimeout(page.close({ runBeforeUnload: false }), 2000).catch(() => undefined);
  }

  private async view(page: Page): Promise<PageView> {
    const raw = await page.evaluate(readPage);
    return {
      url: page.url(),
      title: raw.title,
      text: raw.text.replace(/\n{3,}/g, '\n\n').trim(),
      links: raw.links.map((l, i) => ({ index: i + 1, text: l.text, href: l.href })),
    };
  }
}

function isView(x: unknown): x is PageView {
  return typeof x === 'object' && x !== null && 'links' in x && 'text' in x;
}

/** A link by number, exact text, or contained text (case-insensitive), in that order. */
export function resolveLink(links: readonly PageLink[], target: string | number): PageLink | undefined {
  const asNumber =
    typeof target === 'number' ? target : /^\s*\[?\d+\]?\s*$/.test(target) ? Number(target.replace(/[[\]\s]/g, '')) : undefined;
  if (asNumber !== undefined) return links.find((l) => l.index === asNumber);
  const t = String(target).trim().toLowerCase();
  return links.find((l) => l.text.toLowerCase() === t) ?? links.find((l) => t.length > 0 && l.text.toLowerCase().includes(t));
}
