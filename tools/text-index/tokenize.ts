/**
 * Tokenizer shared by indexing, querying and snippets: lower-cased runs of letters and digits,
 * English stop words dropped. No stemming: generated names differ by a single letter on purpose
 * (near-namesakes), and a stemmer would fold some of them together.
 */

export const STOP_WORDS = new Set(
  'a an and are as at be but by for from has have he her his in into is it its of on or she that the their them they this to was were which who whom with what when where why how did does do'.split(
    ' ',
  ),
);

const TOKEN_RE = /[\p{L}\p{N}]+/gu;

export interface TokenSpan {
  term: string;
  start: number;
  end: number;
}

/** Terms of a text, in order, stop words dropped. Numbers with separators ("80,146") stay whole. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const lower = joinDigitGroups(text.toLowerCase());
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(lower); m !== null; m = TOKEN_RE.exec(lower)) {
    if (!STOP_WORDS.has(m[0])) out.push(m[0]);
  }
  return out;
}

/** Terms with their character offsets in `text` (for snippets and highlighting). */
export function tokenSpans(text: string): TokenSpan[] {
  const out: TokenSpan[] = [];
  const lower = text.toLowerCase();
  const re = /[\p{L}\p{N}]+(?:,\d{3})*/gu;
  for (let m = re.exec(lower); m !== null; m = re.exec(lower)) {
    const term = m[0].includes(',') ? m[0].replace(/,/g, '') : m[0];
    if (!STOP_WORDS.has(term)) out.push({ term, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** "80,146" -> "80146" so a figure is one term however it is written. */
function joinDigitGroups(s: string): string {
  return s.includes(',') ? s.replace(/(\d),(?=\d{3}(?!\d))/g, '$1') : s;
}
