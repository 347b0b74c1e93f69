/**
 * The built-in model's tokenizer: 256 byte ids, Qwen3's special tokens as single ids, and optionally
 * a few hundred byte-pair merges learned deterministically from template text (the system prompt,
 * tool schemas and chat scaffolding repeat in every episode, so merges shorten sequences a lot).
 *
 * Ids: 0..255 bytes, 256.. specials (in SPECIAL_TOKENS order), then one id per merge in rank order.
 * Lossless: decode(encode(s)) === s for every string (merges only ever join bytes).
 */
import type { Tokenizer } from '../../agent/index.js';

export const SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<think>',
  '</think>',
  '<tool_call>',
  '</tool_call>',
  '<tool_response>',
  '</tool_response>',
] as const;

const BYTE_COUNT = 256;
const FIRST_MERGE = BYTE_COUNT + SPECIAL_TOKENS.length;
/** Encoded parts a tokenizer remembers (oldest dropped first). */
const PART_CACHE_ENTRIES = 4096;

export interface ByteTokenizerJson {
  kind: 'toolgym-byte-bpe';
  version: 1;
  /** Merges in rank order: [left id, right id]; merge k gets id FIRST_MERGE + k. */
  merges: [number, number][];
}

export class TokenizerFormatError extends Error {
  override name = 'TokenizerFormatError';
}

const SPECIAL_RE = new RegExp(SPECIAL_TOKENS.map((s) => s.replace(/[|<>/]/g, (c) => `\\${c}`)).join('|'), 'g');
const pairKey = (a: number, b: number): number => a * 1_048_576 + b;

/** Split text into plain chunks and special-token ids, in order. */
function splitSpecials(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  let last = 0;
  SPECIAL_RE.lastIndex = 0;
  for (let m = SPECIAL_RE.exec(text); m; m = SPECIAL_RE.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(BYTE_COUNT + SPECIAL_TOKENS.indexOf(m[0] as (typeof SPECIAL_TOKENS)[number]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Apply one merge (a, b) -> id everywhere in seq; returns the new sequence. */
function applyMerge(seq: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(seq[i]);
  }
  return out;
}

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/**
 * Learn `numMerges` merges from a corpus, deterministically: the most frequent adjacent pair wins,
 * ties go to the smaller pair key. Merges never cross a special token, and digits are never merged
 * (every digit stays its own id, so a number reads the same wherever it appears and copying it is
 * copying ids one by one).
 */
export function trainMerges(corpus: readonly string[], numMerges: number): [number, number][] {
  const enc = new TextEncoder();
  let seqs: number[][] = [];
  for (const text of corpus)
    for (const part of splitSpecials(text)) if (typeof part === 'string') seqs.push(Array.from(enc.encode(part)));
  const merges: [number, number][] = [];
  for (let k = 0; k < numMerges; k++) {
    const counts = new Map<number, number>();
    for (const s of seqs)
      for (let i = 0; i + 1 < s.length; i++) {
        if (isDigit(s[i]) || isDigit(s[i + 1])) continue; // merged ids are >= 265: never digits
        const key = pairKey(s[i], s[i + 1]);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    let best = -1;
    let bestN = 1; // a pair seen once is not worth an id
    for (const [key, n] of counts)
      if (n > bestN || (n === bestN && best >= 0 && key < best)) {
        best = key;
        bestN = n;
      }
    if (best < 0) break;
    const a = Math.floor(best / 1_048_576);
    const b = best % 1_048_576;
    const id = FIRST_MERGE + merges.length;
    merges.push([a, b]);
    seqs = seqs.map((s) => applyMerge(s, a, b, id));
  }
  return merges;
}

export class ByteTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  private readonly ranks = new Map<number, number>();
  /** id -> its bytes. */
  private readonly bytesOf: Uint8Array[] = [];
  private readonly dec = new TextDecoder('utf-8');
  private readonly enc = new TextEncoder();
  private readonly partCache = new Map<string, number[]>();

  constructor(readonly merges: readonly [number, number][] = []) {
    for (let b = 0; b < BYTE_COUNT; b++) this.bytesOf.push(Uint8Array.of(b));
    for (const s of SPECIAL_TOKENS) this.bytesOf.push(this.enc.encode(s));
    merges.forEach(([a, b], k) => {
      const id = FIRST_MERGE + k;
      if (!(a < id && b < id) || a < 0 || b < 0 || (a >= BYTE_COUNT && a < FIRST_MERGE) || (b >= BYTE_COUNT && b < FIRST_MERGE)) {
        throw new TokenizerFormatError(
          `merge ${k} ([${a}, ${b}]) refers to an id that is not a byte or an earlier merge: the tokenizer file is corrupt; retrain or re-save the checkpoint`,
        );
      }
      this.ranks.set(pairKey(a, b), k);
      const x = this.bytesOf[a];
      const y = this.bytesOf[b];
      const joined = new Uint8Array(x.length + y.length);
      joined.set(x);
      joined.set(y, x.length);
      this.bytesOf.push(joined);
    });
    this.vocabSize = FIRST_MERGE + merges.length;
    this.name = merges.length ? `toolgym-byte-bpe${merges.length}` : 'toolgym-byte';
  }

  static fromJSON(json: unknown): ByteTokenizer {
    const j = json as Partial<ByteTokenizerJson>;
    if (j?.kind !== 'toolgym-byte-bpe' || j.version !== 1 || !Array.isArray(j.merges)) {
      throw new TokenizerFormatError('tokenizer JSON is not a toolgym byte tokenizer (kind "toolgym-byte-bpe", version 1)');
    }
    return new ByteTokenizer(j.merges);
  }

  /** A tokenizer with merges learned from `corpus` (deterministic). */
  static train(corpus: readonly string[], numMerges: number): ByteTokenizer {
    return new ByteTokenizer(trainMerges(corpus, numMerges));
  }

  toJSON(): ByteTokenizerJson {
    return { kind: 'toolgym-byte-bpe', version: 1, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  specialId(token: string): number | undefined {
    const i = SPECIAL_TOKENS.indexOf(token as (typeof SPECIAL_TOKENS)[number]);
    return i < 0 ? undefined : BYTE_COUNT + i;
  }

  isSpecial(id: number): boolean {
    return id >= BYTE_COUNT && id < FIRST_MERGE;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const part of splitSpecials(text)) {
      if (typeof part === 'number') out.push(part);
      else for (const id of this.encodePart(part)) out.push(id);
    }
    return out;
  }

  /**
   * The ids of a text without special tokens, remembered: merges never cross a special token, so a
   * part encodes the same wherever it appears, and episodes repeat most of theirs (the system prompt
   * with the tool schemas, the template's turn headers).
   */
  private encodePart(part: string): readonly number[] {
    const hit = this.partCache.get(part);
    if (hit) return hit;
    const ids = this.mergeBytes(Array.from(this.enc.encode(part)));
    if (this.partCache.size >= PART_CACHE_ENTRIES) this.partCache.delete(this.partCache.keys().next().value as string);
    this.partCache.set(part, ids);
    return ids;
  }

  /** Byte-pair merging: repeatedly join the lowest-ranked adjacent pair. */
  private mergeBytes(seq: number[]): number[] {
    if (this.ranks.size === 0) return seq;
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < seq.length; i++) {
        const r = this.ranks.get(pairKey(seq[i], seq[i + 1]));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) return seq;
      const [a, b] = this.merges[bestRank];
      seq = applyMerge(seq, a, b, FIRST_MERGE + bestRank);
    }
  }

  /** Bytes of a token sequence (a sampled sequence may split a UTF-8 character across ids). */
  bytes(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.bytesOf[id]?.length ?? 0;
    const out = new Uint8Array(n);
    let o = 0;
    for (const id of ids) {
      const b = this.bytesOf[id];
      if (!b) throw new RangeError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return this.dec.decode(this.bytes(ids));
  }
}
