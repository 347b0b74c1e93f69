/**
 * The search environment's shared state: a corpus (generated from a seed, or loaded from a user's
 * folder / JSONL file), its BM25 index, and, in browser mode, the corpus web site and the browser
 * pool. Built once per distinct option set and shared by every episode (read-only), so an episode's
 * reset costs nothing.
 */
import { BrowserPool } from '../../tools/browser/index.js';
import {
  type Corpus,
  DEFAULT_CORPUS_DOCS,
  type Doc,
  generateCorpus,
  loadCorpus,
  type SiteHandle,
  type SiteOptions,
  serveCorpusSite,
} from '../../tools/corpus/index.js';
import { Bm25Index, type IndexStats } from '../../tools/text-index/index.js';

export interface BackendOptions {
  /** World seed (generated corpora). */
  worldSeed: number;
  /** Documents in a generated corpus. */
  docs: number;
  /** A user's corpus: folder of .md/.txt/.html or a .jsonl file; replaces the generated world. */
  corpus?: string;
  /** Browser processes in the pool (browser mode). */
  browsers: number;
}

/** Characters per page of `open`: about a screenful, so long articles take more than one call. */
export const PAGE_CHARS = 1500;

export interface OpenedPage {
  doc: Doc;
  page: number;
  pages: number;
  text: string;
}

/** Splits a text into pages of at most ~`size` characters at paragraph (else sentence) boundaries. */
export function paginate(text: string, size = PAGE_CHARS): string[] {
  const paras = text.split(/\n\n+/);
  const pages: string[] = [];
  let cur = '';
  for (const p of paras) {
    const pieces = p.length > size ? (p.match(/[^.!?]+[.!?]*\s*/g) ?? [p]) : [p];
    for (const piece of pieces) {
      const sep = cur === '' ? '' : p === piece ? '\n\n' : '';
      if (cur !== '' && cur.length + sep.length + piece.length > size) {
        pages.push(cur.trim());
        cur = piece;
      } else cur += sep + piece;
    }
  }
  if (cur.trim() !== '' || pages.length === 0) pages.push(cur.trim());
  return pages;
}

export class SearchBackend {
  readonly corpus: Corpus;
  readonly index: Bm25Index;
  readonly buildMs: number;
  private readonly byTitle = new Map<string, Doc>();
  private readonly pageCache = new Map<string, string[]>();
  /** Extra site routes, looked up per request (tests add deliberately broken pages here). */
  readonly siteRoutes: NonNullable<SiteOptions['routes']> = {};
  private site?: Promise<SiteHandle>;
  private pool?: BrowserPool;

  constructor(readonly options: BackendOptions) {
    const t0 = performance.now();
    this.corpus = options.corpus ? loadCorpus(options.corpus) : generateCorpus({ seed: options.worldSeed, docs: options.docs });
    this.index = new Bm25Index().addAll(this.corpus.docs);
    for (const d of this.corpus.docs) if (!this.byTitle.has(d.title.toLowerCase())) this.byTitle.set(d.title.toLowerCase(), d);
    this.buildMs = performance.now() - t0;
  }

  stats(): IndexStats & { totalMs: number } {
    return { ...this.index.stats(), totalMs: this.buildMs };
  }

  /** A document by id, `/wiki/<id>` path, full URL on any host, or exact title (case-insensitive). */
  resolve(idOrUrl: string): Doc | undefined {
    const s = idOrUrl.trim();
    const direct = this.corpus.byId.get(s);
    if (direct) return direct;
    let path = s;
    if (/^https?:\/\//i.test(s)) {
      try {
        path = new URL(s).pathname;
      } catch {
        return undefined;
      }
    }
    const m = /^\/?wiki\/(.+?)\/?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1] as string);
      return this.corpus.byId.get(id);
    }
    return this.byTitle.get(s.toLowerCase());
  }

  /** Page `page` (1-based) of a document's text. */
  open(doc: Doc, page: number): OpenedPage | { error: string } {
    let pages = this.pageCache.get(doc.id);
    if (!pages) {
      pages = paginate(doc.text);
      if (this.pageCache.size > 20_000) this.pageCache.clear();
      this.pageCache.set(doc.id, pages);
    }
    if (page < 1 || page > pages.length)
      return { error: `'${doc.id}' has ${pages.length} page(s); ask for a page between 1 and ${pages.length}` };
    return { doc, page, pages: pages.length, text: pages[page - 1] as string };
  }

  /** The corpus as a web site on 127.0.0.1 (started on first use, shared by all episodes). */
  siteUrl(): Promise<string> {
    this.site ??= serveCorpusSite(this.corpus, {
      routes: this.siteRoutes,
      search: (q, k) =>
        this.index.search(q, k).map((h) => {
          const d = this.corpus.docs[h.index] as Doc;
          return { id: d.id, title: d.title, snippet: this.index.snippet(d.text, q) };
        }),
    });
    return this.site.then(
      (s) => s.url,
      (err: unknown) => {
        this.site = undefined; // let the next call try again
        throw err;
      },
    );
  }

  browserPool(): BrowserPool {
    this.pool ??= new BrowserPool({ size: this.options.browsers });
    return this.pool;
  }

  /** Stops the site and the browsers (episodes still open lose their tabs). Safe to call twice. */
  async shutdown(): Promise<void> {
    const site = this.site;
    const pool = this.pool;
    this.site = undefined;
    this.pool = undefined;
    await Promise.all([site?.then((s) => s.close()).catch(() => undefined), pool?.close()]);
  }
}

const backends = new Map<string, SearchBackend>();

/** One backend per option set, built on first use. */
export function backendFor(opts: BackendOptions): SearchBackend {
  const key = JSON.stringify([opts.worldSeed, opts.docs, opts.corpus ?? null, opts.browsers]);
  let b = backends.get(key);
  if (!b) {
    b = new SearchBackend(opts);
    backends.set(key, b);
  }
  return b;
}

export const DEFAULT_BACKEND: BackendOptions = { worldSeed: 20240601, docs: DEFAULT_CORPUS_DOCS, browsers: 2 };
