/**
 * Query-biased snippets: the window of a document holding the most distinct query terms, with the
 * matches wrapped in highlight markers (`**term**` by default, what a model reads as emphasis).
 */
import { tokenize, tokenSpans } from './tokenize.js';

export interface SnippetOptions {
  /** Longest snippet in characters (before markers and ellipses). Default 220. */
  maxChars?: number;
  /** Marker pair around each matched term. Default ['**', '**']. */
  highlight?: [string, string];
}

export function snippet(text: string, query: string | readonly string[], opts: SnippetOptions = {}): string {
  const maxChars = opts.maxChars ?? 220;
  const [open, close] = opts.highlight ?? ['**', '**'];
  const terms = new Set(typeof query === 'string' ? tokenize(query) : query);
  const spans = tokenSpans(text).filter((s) => terms.has(s.term));
  if (spans.length === 0) return clip(text, 0, maxChars);
  // Best window: most distinct terms, then most matches; the earliest wins ties.
  let best = 0;
  let bestDistinct = -1;
  let bestCount = -1;
  for (let i = 0; i < spans.length; i++) {
    const startChar = (spans[i] as (typeof spans)[number]).start;
    const seen = new Set<string>();
    let count = 0;
    for (let j = i; j < spans.length && (spans[j] as (typeof spans)[number]).end - startChar <= maxChars; j++) {
      seen.add((spans[j] as (typeof spans)[number]).term);
      count++;
    }
    if (seen.size > bestDistinct || (seen.size === bestDistinct && count > bestCount)) {
      best = i;
      bestDistinct = seen.size;
      bestCount = count;
    }
  }
  // Start a little before the first match, on a word boundary, so it reads as a phrase.
  const first = (spans[best] as (typeof spans)[number]).start;
  let from = Math.max(0, first - 40);
  if (from > 0) {
    const sp = text.indexOf(' ', from);
    from = sp >= 0 && sp < first ? sp + 1 : first;
  }
  let to = Math.min(text.length, from + maxChars);
  if (to < text.length) {
    const sp = text.lastIndexOf(' ', to);
    if (sp > first) to = sp;
  }
  let out = '';
  let cursor = from;
  for (const s of spans) {
    if (s.start < from || s.end > to) continue;
    out += text.slice(cursor, s.start) + open + text.slice(s.start, s.end) + close;
    cursor = s.end;
  }
  out += text.slice(cursor, to);
  return (from > 0 ? '...' : '') + out.replace(/\s+/g, ' ').trim() + (to < text.length ? '...' : '');
}

function clip(text: string, from: number, maxChars: number): string {
  const flat = text.slice(from, from + maxChars * 2).replace(/\s+/g, ' ');
  if (flat.length <= maxChars) return flat.trim();
  const cut = flat.lastIndexOf(' ', maxChars);
  return `${flat.slice(0, cut > 0 ? cut : maxChars).trim()}...`;
}
