/**
 * The search verifier: normalised exact match and token F1 against the reference and its aliases.
 *
 * Components: `correct` (exact match after normalisation, 0/1), `f1` (best token F1 over aliases),
 * `format` (a short single-line answer). The reward is `correct`: a near miss on a fact is wrong, and
 * `f1` / `format` are logged for shaping by the trainer's reward composition.
 */

import type { Verdict } from '../core/index.js';
import { extractAnswer } from '../core/index.js';

export interface AnswerRef {
  answer: string;
  aliases: string[];
}

const ARTICLES = new Set(['a', 'an', 'the']);

/** Lower case, accents, punctuation and articles dropped, digit groups joined ("80,146" = "80146"). */
export function normalizeAnswer(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/(\d)[,\u00a0 ](?=\d{3}\b)/g, '$1')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0 && !ARTICLES.has(w))
    .join(' ');
}

/** Token-level F1 of two normalised strings (SQuAD style, multiset overlap). */
export function tokenF1(prediction: string, reference: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const r = normalizeAnswer(reference).split(' ').filter(Boolean);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Scores an answer (free text: `<answer>` tags or "Answer:" lines are honoured). */
export function scoreAnswer(ref: AnswerRef, raw: string): Verdict {
  const answer = extractAnswer(raw);
  const candidates = [ref.answer, ...ref.aliases];
  const norm = normalizeAnswer(answer);
  const correct = norm.length > 0 && candidates.some((c) => normalizeAnswer(c) === norm);
  const f1 = Math.max(...candidates.map((c) => tokenF1(answer, c)));
  const format = answer.trim().length > 0 && answer.length <= 120 && !answer.includes('\n') ? 1 : 0;
  const detail = correct
    ? 'Correct.'
    : answer.trim() === ''
      ? 'Incorrect: the answer was empty.'
      : format === 0
        ? 'Incorrect: give only the short answer on one line.'
        : 'Incorrect.';
  return {
    reward: correct ? 1 : 0,
    components: { correct: correct ? 1 : 0, f1: Math.round(f1 * 1e4) / 1e4, format },
    correct,
    detail,
  };
}
