/**
 * Chunking by tokens with overlap, respecting headings.
 *
 * A document's text is cut into sections at heading lines (`## Heading`, any markdown level); no
 * chunk spans two sections, and each chunk carries its section's heading. Inside a section,
 * sentences are packed into chunks of at most `maxTokens` tokens; the next chunk starts with the
 * last sentences of the previous one, up to `overlap` tokens, so a fact near a boundary is whole in
 * at least one chunk. A sentence is never cut unless it alone is longer than `maxTokens` (then it
 * is cut into windows of that size with the same overlap).
 *
 * Tokens here are whitespace-separated words: a measure every embedding model's tokenizer
 * is within a small factor of (WordPiece splits a word into 1-3 pieces), and one that does not
 * change when the model does, so chunk ids stay the same across models.
 *
 * Ids are `<doc>#<n>`, n counting from 0 in document order: the same document and options always
 * give the same ids.
 */

export interface ChunkOptions {
  /** Most tokens (words) in a chunk. Default 96. */
  maxTokens?: number;
  /** Tokens repeated from the end of the previous chunk of the same section. Default 16. */
  overlap?: number;
}

export interface ChunkSource {
  id: string;
  title: string;
  text: string;
}

export interface Chunk {
  /** `<doc>#<n>`. */
  id: string;
  doc: string;
  /** Position in the document, from 0. */
  n: number;
  /** The document's title. */
  title: string;
  /** The heading of the section the chunk is in ('' before the first heading). */
  heading: string;
  text: string;
}

export const DEFAULT_CHUNK_OPTIONS: Required<ChunkOptions> = { maxTokens: 96, overlap: 16 };

const HEADING_RE = /^#{1,6}\s+(.+?)\s*#*\s*$/;

/** `<doc>#<n>`. */
export function chunkId(doc: string, n: number): string {
  return `${doc}#${n}`;
}

/** Splits a chunk id into its document and position; undefined when it is not `<doc>#<n>`. */
export function parseChunkId(id: string): { doc: string; n: number } | undefined {
  const m = /^(.+)#(\d+)$/.exec(id.trim());
  return m ? { doc: m[1] as string, n: Number(m[2]) } : undefined;
}

const tokenCount = (s: string): number => s.split(/\s+/).filter(Boolean).length;

/** Sentences of a paragraph: cut after . ! ? followed by white space and an upper-case letter or digit. */
export function sentences(paragraph: string): string[] {
  return paragraph
    .split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}"'(])/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

interface Section {
  heading: string;
  /** Sentences; a paragraph break is kept as a leading "\n\n" on the sentence that starts it. */
  units: string[];
}

function sectionsOf(text: string): Section[] {
  const out: Section[] = [{ heading: '', units: [] }];
  let para: string[] = [];
  const flush = (): void => {
    const body = para.join(' ').trim();
    para = [];
    if (!body) return;
    const sec = out[out.length - 1] as Section;
    sentences(body).forEach((s, i) => {
      sec.units.push(i === 0 && sec.units.length > 0 ? `\n\n${s}` : s);
    });
  };
  for (const line of text.split('\n')) {
    const h = HEADING_RE.exec(line.trim());
    if (h) {
      flush();
      out.push({ heading: (h[1] as string).trim(), units: [] });
    } else if (line.trim() === '') flush();
    else para.push(line.trim());
  }
  flush();
  return out.filter((s) => s.units.length > 0);
}

/** Windows of at most `max` words over a long sentence, each starting `max - overlap` after the last. */
function splitLong(sentence: string, max: number, overlap: number): string[] {
  const words = sentence.trim().split(/\s+/);
  const step = Math.max(1, max - overlap);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += step) {
    out.push(words.slice(i, i + max).join(' '));
    if (i + max >= words.length) break;
  }
  return out;
}

function packSection(units: readonly string[], max: number, overlap: number): string[] {
  // Sentences longer than a chunk are cut first; a cut piece is packed like a sentence.
  const pieces = units.flatMap((u) => (tokenCount(u) > max ? splitLong(u, max, overlap) : [u]));
  const chunks: string[] = [];
  let cur: string[] = [];
  let curTokens = 0;
  let fresh = 0; // pieces in `cur` that no earlier chunk holds
  for (const p of pieces) {
    const t = tokenCount(p);
    if (cur.length > 0 && curTokens + t > max) {
      chunks.push(cur.join(' ').replace(/ \n\n/g, '\n\n').trim());
      // Carry the tail of the chunk just closed, up to `overlap` tokens, whole sentences only.
      const carry: string[] = [];
      let carried = 0;
      for (let i = cur.length - 1; i >= 0; i--) {
        const c = tokenCount(cur[i] as string);
        if (carried + c > overlap || carried + c + t > max) break;
        carry.unshift((cur[i] as string).replace(/^\n\n/, ''));
        carried += c;
      }
      cur = carry;
      curTokens = carried;
      fresh = 0;
    }
    cur.push(cur.length === 0 ? p.replace(/^\n\n/, '') : p);
    curTokens += t;
    fresh++;
  }
  if (fresh > 0) chunks.push(cur.join(' ').replace(/ \n\n/g, '\n\n').trim());
  return chunks;
}

/** The chunks of one document, in order. */
export function chunkDoc(doc: ChunkSource, opts: ChunkOptions = {}): Chunk[] {
  const max = opts.maxTokens ?? DEFAULT_CHUNK_OPTIONS.maxTokens;
  const overlap = Math.min(opts.overlap ?? DEFAULT_CHUNK_OPTIONS.overlap, Math.floor(max / 2));
  if (!Number.isInteger(max) || max < 8) throw new RangeError(`maxTokens must be an integer of at least 8, got ${max}`);
  const out: Chunk[] = [];
  for (const sec of sectionsOf(doc.text))
    for (const text of packSection(sec.units, max, overlap)) {
      const n = out.length;
      out.push({ id: chunkId(doc.id, n), doc: doc.id, n, title: doc.title, heading: sec.heading, text });
    }
  return out;
}

/** The chunks of every document, in document order. */
export function chunkDocs(docs: Iterable<ChunkSource>, opts: ChunkOptions = {}): Chunk[] {
  const out: Chunk[] = [];
  for (const d of docs) for (const c of chunkDoc(d, opts)) out.push(c);
  return out;
}

/** The text a retriever indexes for a chunk: title and heading first, so a chunk is found by its document's name. */
export function chunkContext(c: Chunk): string {
  return c.heading ? `${c.title} — ${c.heading}` : c.title;
}
