/**
 * Answer normalisation for exact-match compute tasks. The comparison is exact after removing the
 * harmless ways an agent may write the same value: surrounding space and quotes, a trailing period,
 * thousands separators in numbers, a BigInt's `n` suffix, and (where the task says so) letter case.
 */
import { extractAnswer } from '../core/index.js';

export type AnswerKind = 'integer' | 'text' | 'word' | 'date';

export interface NormalizeOptions {
  kind: AnswerKind;
}

/** The canonical form of an answer of the given kind (compare canonical forms with ===). */
export function normalizeAnswer(raw: string, opts: NormalizeOptions): string {
  let s = extractAnswer(raw).trim();
  // Quoting and code ticks around the whole answer carry no meaning; nor does a closing period
  // (kept for text answers, where it may be part of the value).
  for (let i = 0; i < 2; i++) {
    if (opts.kind !== 'text') s = s.replace(/\.$/, '').trim();
    const m = /^(["'`])([\s\S]*)\1$/.exec(s);
    if (m) s = m[2].trim();
  }
  if (opts.kind === 'text') return s;
  switch (opts.kind) {
    case 'integer': {
      const t = s.replace(/[\s,_]/g, '').replace(/n$/, '');
      return /^[+-]?\d+$/.test(t)
        ? t
            .replace(/^\+/, '')
            .replace(/^(-?)0+(?=\d)/, '$1')
            .replace(/^-0$/, '0')
        : s;
    }
    case 'word':
      return s.toLowerCase();
    case 'date':
      return s;
  }
}

/** Whether the answer has the expected shape at all (the `format` reward component). */
export function answerWellFormed(normalized: string, kind: AnswerKind): boolean {
  switch (kind) {
    case 'integer':
      return /^-?\d+$/.test(normalized);
    case 'word':
      return /^[a-z]+$/.test(normalized);
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(normalized);
    case 'text':
      return normalized.length > 0 && !normalized.includes('\n');
  }
}
