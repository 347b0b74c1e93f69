/**
 * Loads a user's corpus: a folder of `.md` / `.txt` / `.html` files (searched recursively, in sorted
 * order) or a JSONL file with one `{id?, title?, text, url?}` object per line. Links between files
 * (markdown `[text](other.md)`, HTML `<a href="other.html">`) become document links.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, posix, relative, sep } from 'node:path';
import { corpusFromDocs } from './generate.js';
import type { Corpus, Doc } from './types.js';

export class CorpusLoadError extends Error {
  override name = 'CorpusLoadError';
}

const EXTENSIONS = new Set(['.md', '.markdown', '.txt', '.html', '.htm']);

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** `guides/Intro Page.md` -> `guides/intro-page`. */
export function pathToId(rel: string): string {
  const noExt = rel.slice(0, rel.length - extname(rel).length);
  return noExt
    .split(/[\\/]/)
    .map((p) =>
      p
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, ''),
    )
    .filter((p) => p.length > 0)
    .join('/');
}

interface RawLink {
  text: string;
  href: string;
}

/** Readable text, title and raw links of an HTML page (scripts, styles and tags dropped). */
export function htmlToText(html: string): { title?: string; text: string; links: RawLink[] } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const links: RawLink[] = [];
  const body = html
    .replace(/<(script|style|head|noscript)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<a\s[^>]*href\s*=\s*["']([^"']*)["'][^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, inner: string) => {
      const t = decodeEntities(inner.replace(/<[^>]+>/g, '')).trim();
      links.push({ text: t, href });
      return t;
    })
    .replace(/<h[1-6][^>]*>/gi, '\n\n## ')
    .replace(/<(br|\/p|\/div|\/li|\/h[1-6]|\/tr)[^>]*>/gi, '\n\n')
    .replace(/<[^>]+>/g, ' ');
  const text = decodeEntities(body)
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0 && p !== '##')
    .join('\n\n');
  return { ...(title ? { title: decodeEntities(title.replace(/<[^>]+>/g, '')).trim() } : {}), text, links };
}

/** Markdown to readable text: link syntax reduced to its text, emphasis and code fences dropped. */
export function markdownToText(md: string): { title?: string; text: string; links: RawLink[] } {
  const links: RawLink[] = [];
  const title = /^#\s+(.+)$/m.exec(md)?.[1]?.trim();
  const text = md
    .replace(/```[a-z]*\n?/gi, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\(([^)\s]+)[^)]*\)/g, (_m, t: string, href: string) => {
      links.push({ text: t, href });
      return t;
    })
    .replace(/^#{1,6}\s+/gm, '## ')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\r\n/g, '\n')
    .trim();
  return { ...(title ? { title } : {}), text, links };
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
  }
}

function fromFolder(root: string): Doc[] {
  const files: string[] = [];
  walk(root, files);
  if (files.length === 0)
    throw new CorpusLoadError(
      `no .md, .txt or .html files under '${root}': point --corpus at a folder of documents or a .jsonl file`,
    );
  const parsed = files.map((f) => {
    const rel = relative(root, f).split(sep).join('/');
    const raw = readFileSync(f, 'utf8');
    const ext = extname(f).toLowerCase();
    const body =
      ext === '.html' || ext === '.htm'
        ? htmlToText(raw)
        : ext === '.txt'
          ? { text: raw.trim(), links: [] as RawLink[] }
          : markdownToText(raw);
    return { rel, id: pathToId(rel), title: body.title ?? basename(f, extname(f)), text: body.text, raw: body.links };
  });
  const ids = new Set(parsed.map((p) => p.id));
  return parsed.map((p) => {
    const links: Doc['links'] = [];
    for (const l of p.raw) {
      if (/^[a-z]+:/i.test(l.href) || l.href.startsWith('#')) continue; // external or in-page: not part of the corpus
      const target = pathToId(posix.normalize(posix.join(dirname(p.rel), l.href.split('#')[0] ?? '')));
      if (ids.has(target) && !links.some((x) => x.target === target)) links.push({ text: l.text, target });
    }
    return { id: p.id, title: p.title, url: `/wiki/${p.id}`, kind: 'page', text: p.text, links };
  });
}

function fromJsonl(file: string): Doc[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const docs: Doc[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new CorpusLoadError(
        `${file}:${i + 1} is not valid JSON: each line must be an object like {"title": ..., "text": ...}`,
      );
    }
    const text = o.text ?? o.content ?? o.body;
    if (typeof text !== 'string') throw new CorpusLoadError(`${file}:${i + 1} has no string "text" field`);
    const id =
      typeof o.id === 'string' || typeof o.id === 'number'
        ? pathToId(String(o.id)) || `doc-${docs.length}`
        : `doc-${docs.length}`;
    const title = typeof o.title === 'string' ? o.title : id;
    docs.push({ id, title, url: typeof o.url === 'string' ? o.url : `/wiki/${id}`, kind: 'page', text: text.trim(), links: [] });
  });
  if (docs.length === 0) throw new CorpusLoadError(`${file} holds no documents`);
  return docs;
}

/** Loads a folder or a `.jsonl` file as a corpus. */
export function loadCorpus(path: string): Corpus {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new CorpusLoadError(`corpus path '${path}' does not exist: give a folder of .md/.txt/.html files or a .jsonl file`);
  }
  return corpusFromDocs(st.isDirectory() ? fromFolder(path) : fromJsonl(path));
}
