/**
 * Serves a corpus as a small HTML web site on 127.0.0.1 (random port), for the browser tools:
 * `/` (home with a search box), `/wiki/<id>` (one article, links as anchors), `/search?q=` (when a
 * search function is given). Hermetic: pages load nothing from elsewhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Corpus, Doc } from './types.js';

export interface SiteHit {
  id: string;
  title: string;
  snippet: string;
}

export interface SiteOptions {
  /** Backs `/search?q=`; without it the route answers 404. */
  search?: (query: string, k: number) => SiteHit[];
  /** Extra routes (path -> handler), e.g. deliberately broken pages in tests. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

export interface SiteHandle {
  /** `http://127.0.0.1:PORT` without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><nav><a href="/">Home</a> <form action="/search" style="display:inline"><input name="q" aria-label="search"><button>Search</button></form></nav><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** An article as HTML: every occurrence of a link's text becomes an anchor to its target. */
export function docToHtml(doc: Doc, byId: Map<string, Doc>): string {
  const usable = doc.links.filter((l) => byId.has(l.target) && l.text.length > 0).sort((a, b) => b.text.length - a.text.length);
  const target = new Map(usable.map((l) => [escapeHtml(l.text), l.target]));
  const re = usable.length > 0 ? new RegExp(usable.map((l) => escapeRe(escapeHtml(l.text))).join('|'), 'g') : undefined;
  const paras = doc.text.split(/\n\n+/).map((p) => {
    const heading = p.startsWith('## ');
    let h = escapeHtml(heading ? p.slice(3) : p);
    if (re) h = h.replace(re, (m) => `<a href="/wiki/${encodeURI(target.get(m) ?? '')}">${m}</a>`);
    return heading ? `<h2>${h}</h2>` : `<p>${h}</p>`;
  });
  return page(doc.title, paras.join('\n'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export async function serveCorpusSite(corpus: Corpus, opts: SiteOptions = {}): Promise<SiteHandle> {
  const home = page(
    'Encyclopedia',
    `<p>${corpus.docs.length} articles.</p><ul>${corpus.docs
      .slice(0, 50)
      .map((d) => `<li><a href="/wiki/${encodeURI(d.id)}">${escapeHtml(d.title)}</a></li>`)
      .join('')}</ul>`,
  );
  const server: Server = createServer((req, res) => {
    try {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      const extra = opts.routes?.[u.pathname];
      if (extra) return extra(req, res);
      if (u.pathname === '/' || u.pathname === '/index.html') return send(res, 200, home);
      if (u.pathname.startsWith('/wiki/')) {
        const doc = corpus.byId.get(decodeURIComponent(u.pathname.slice(6)));
        if (!doc) return send(res, 404, page('Not found', '<p>No article has this address.</p>'));
        return send(res, 200, docToHtml(doc, corpus.byId));
      }
      if (u.pathname === '/search' && opts.search) {
        const q = u.searchParams.get('q') ?? '';
        const hits = q.trim() === '' ? [] : opts.search(q, 10);
        const list = hits
          .map((h) => `<li><a href="/wiki/${encodeURI(h.id)}">${escapeHtml(h.title)}</a><br>${escapeHtml(h.snippet)}</li>`)
          .join('');
        return send(res, 200, page(`Search: ${q}`, hits.length > 0 ? `<ol>${list}</ol>` : '<p>No results.</p>'));
      }
      send(res, 404, page('Not found', '<p>No page has this address.</p>'));
    } catch {
      if (!res.headersSent) send(res, 500, page('Error', '<p>The server could not render this page.</p>'));
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // The site lives as long as its users; it must not keep a finished process alive on its own.
  server.unref();
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
