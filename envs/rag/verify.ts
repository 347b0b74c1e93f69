/**
 * The RAG verifier: answer correctness as FlashRAG scores it, and citations checked against the
 * gold chunks.
 *
 * Answer format: a short answer followed by inline citations of the chunks that support it,
 * `Vikholm [ilvar-tesk#0]` or `1987 [kravik-works#0] [ilvar-tesk#3]` (several ids may share one
 * bracket, separated by commas). When the corpus does not hold the answer: `unanswerable`, citing
 * nothing. `<answer>` tags and "Answer:" lines are honoured (envs/core extractAnswer).
 *
 * Components (each in [0, 1]):
 *   correct             normalised exact match against the answer or an alias (FlashRAG's
 *                       `normalize_answer`: lower case, ASCII punctuation removed, articles removed,
 *                       white space collapsed), citations removed first; for an unanswerable
 *                       question, whether the agent abstained.
 *   f1                  FlashRAG's token F1, best over the answer and its aliases.
 *   citation_precision  cited chunks that support a gold fact / cited chunks (ALCE's precision,
 *                       with support decided by the gold chunks instead of an NLI model).
 *   citation_recall     gold facts with at least one cited supporting chunk / gold facts.
 *   abstain             1 when the answer says the corpus does not hold it.
 * Reward: answerable, correct * (0.5 + 0.25 * precision + 0.25 * recall); unanswerable, 1 for an
 * abstention citing nothing, 0.5 for one with citations, 0 otherwise. A task is solved at reward 1.
 */
import type { Verdict } from '../core/index.js';
import { extractAnswer } from '../core/index.js';

export interface RagRef {
  answer: string;
  aliases: string[];
  /** Gold facts: each is the list of chunk ids that state it; citing any one supports the fact. */
  gold: string[][];
  unanswerable: boolean;
}

/** The word the answer format names for an abstention. */
export const ABSTAIN = 'unanswerable';

// Python's string.punctuation, which FlashRAG's remove_punc strips.
const PUNCT = new Set([...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~']);

/** FlashRAG's `normalize_answer`: lower, strip punctuation, drop a/an/the, collapse white space. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  let noPunct = '';
  for (const ch of lower) if (!PUNCT.has(ch)) noPunct += ch;
  return noPunct
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');
}

/** FlashRAG's ExactMatch for one prediction: 1 when it equals any golden answer after normalisation. */
export function exactMatch(prediction: string, golden: readonly string[]): number {
  const p = normalizeAnswer(prediction);
  return golden.some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

/**
 * FlashRAG's F1_Score: token F1 of the normalised strings, best over the golden answers; a yes / no /
 * noanswer on either side scores 0 unless both sides are the same.
 */
export function tokenF1(prediction: string, golden: readonly string[]): number {
  let best = 0;
  const np = normalizeAnswer(prediction);
  for (const g of golden) {
    const ng = normalizeAnswer(g);
    const special = ['yes', 'no', 'noanswer'];
    if ((special.includes(np) || special.includes(ng)) && np !== ng) continue;
    const p = np.split(' ').filter(Boolean);
    const r = ng.split(' ').filter(Boolean);
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
    if (common === 0) continue;
    const precision = common / p.length;
    const recall = common / r.length;
    best = Math.max(best, (2 * precision * recall) / (precision + recall));
  }
  return best;
}

/** The answer text without its citations, and the cited chunk ids (each once, in order). */
export function parseCitations(text: string): { answer: string; cited: string[] } {
  const cited: string[] = [];
  const answer = text
    .replace(/\[([^[\]]+)\]/g, (m, inner: string) => {
      const ids = inner
        .split(/[,;]\s*|\s+/)
        .map((s) => s.trim())
        .filter(Boolean);
      if (ids.length === 0 || !ids.every((id) => /^\S+#\d+$/.test(id))) return m;
      for (const id of ids) if (!cited.includes(id)) cited.push(id);
      return ' ';
    })
    .replace(/\s+([.,;:!?])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return { answer, cited };
}

const ABSTAIN_RE =
  /^(unanswerable|not answerable|no answer|(i )?(do not|dont|cannot|can ?not) (know|answer|tell)|(the )?(corpus|documents?|sources?) (does|do) not (say|hold|contain|mention|state)( (it|this|that|answer))?|not (in|found in|stated in) (the )?(corpus|documents?|sources?)|insufficient (information|evidence)|cannot be answered( from (the )?(corpus|documents?))?)$/;

/** Whether an answer (citations removed) says the corpus does not hold the answer. */
export function isAbstention(answer: string): boolean {
  const n = answer
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return ABSTAIN_RE.test(n);
}

const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Scores a raw final message against the reference. */
export function scoreRag(ref: RagRef, raw: string): Verdict {
  const { answer, cited } = parseCitations(extractAnswer(raw));
  const abstained = isAbstention(answer);
  const goldIds = new Set(ref.gold.flat());
  if (ref.unanswerable) {
    const reward = abstained ? (cited.length === 0 ? 1 : 0.5) : 0;
    return {
      reward,
      components: {
        correct: abstained ? 1 : 0,
        f1: abstained ? 1 : 0,
        citation_precision: cited.length === 0 ? 1 : 0,
        citation_recall: 1,
        abstain: abstained ? 1 : 0,
      },
      correct: reward === 1,
      detail: abstained
        ? cited.length === 0
          ? 'Correct: the corpus does not hold the answer.'
          : 'Right to abstain, but an abstention cites nothing.'
        : 'Incorrect: the corpus does not hold the answer to this question.',
    };
  }
  const golden = [ref.answer, ...ref.aliases];
  const correct = abstained ? 0 : exactMatch(answer, golden);
  const f1 = abstained ? 0 : tokenF1(answer, golden);
  const precision = cited.length === 0 ? 0 : cited.filter((c) => goldIds.has(c)).length / cited.length;
  const recall = ref.gold.length === 0 ? 1 : ref.gold.filter((g) => g.some((id) => cited.includes(id))).length / ref.gold.length;
  const reward = correct * (0.5 + 0.25 * precision + 0.25 * recall);
  const detail =
    correct === 0
      ? abstained
        ? 'Incorrect: the corpus does hold the answer.'
        : answer === ''
          ? 'Incorrect: the answer was empty.'
          : 'Incorrect.'
      : cited.length === 0
        ? 'Correct, but uncited: cite the chunks that support the answer, e.g. "answer [doc#2]".'
        : precision === 1 && recall === 1
          ? 'Correct, with supporting citations.'
          : `Correct; citation precision ${round(precision)}, recall ${round(recall)}.`;
  return {
    reward: round(reward),
    components: {
      correct,
      f1: round(f1),
      citation_precision: round(precision),
      citation_recall: round(recall),
      abstain: abstained ? 1 : 0,
    },
    correct: reward === 1,
    detail,
  };
}
