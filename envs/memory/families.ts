/**
 * The memory task families (LongMemEval's five abilities), their verifier, their oracle and the
 * scripted user that plays a scenario's sessions and questions.
 *
 * Verdict: each question scores 1 or 0 (normalised exact match; a set of items for list questions;
 * for a question whose answer is not known, a reply that says so). `correct` is the share of
 * answerable questions answered right, `abstain` the share of unanswerable ones declined (present
 * when there are any), `hygiene` how clean the store is after the last session (no superseded value
 * left as current, no duplicate lines). Reward = 0.8 * mean question score + 0.2 * hygiene.
 */
import { readFileSync } from 'node:fs';
import { mixSeed } from '../../tools/index.js';
import type { OracleAction, OracleObservation, Split, Task, TaskFamily, UserTurn, Verdict } from '../core/index.js';
import {
  type Ability,
  type Fact,
  firstQuestionTurn,
  generateScenario,
  type Question,
  type Scenario,
  ScenarioSchema,
  scriptOf,
  supersededValues,
} from './scenario.js';
import type { MemoryEpisode } from './tools.js';

export const SPLIT_SIZES = { train: 500, test: 100 } as const;
/** The file the oracle keeps its `key: value` lines in. */
export const ORACLE_FILE = '/memories/facts.md';
const NOTED = 'Noted.';
const QUESTION_WEIGHT = 0.8;

/** A memory episode's state: the store and the replies given so far (one per user turn). */
export interface MemoryState extends MemoryEpisode {
  replies: string[];
}

export class ScenarioFileError extends Error {
  override name = 'ScenarioFileError';
}

// ---------------------------------------------------------------------------------------------
// Answers

const ABSTAIN =
  /\b(i\s*(do not|don't|dont|cannot|can't) (know|tell|recall|remember)|not known|unknown|no (record|information|memory|idea)|(not|never) (mentioned|stated|told|said)|(can't|cannot|could not|couldn't) find)\b/i;

/** Lower case, accents, punctuation, articles and extra spaces removed. */
export function normalize(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, ' ')
    .replace(/\b(the|a|an)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function saysUnknown(reply: string): boolean {
  return ABSTAIN.test(reply);
}

/** Items of a list reply: split on commas, semicolons, new lines and "and". */
export function items(reply: string): string[] {
  return reply
    .split(/,|;|\n|\band\b/i)
    .map(normalize)
    .filter((x) => x !== '');
}

/** 1 when `reply` answers `q`, else 0. */
export function scoreQuestion(q: Question, reply: string): number {
  if (q.answer === null) return saysUnknown(reply) ? 1 : 0;
  if (Array.isArray(q.answer)) {
    const want = new Set(q.answer.map(normalize));
    const got = new Set(items(reply));
    return want.size === got.size && [...want].every((x) => got.has(x)) ? 1 : 0;
  }
  return normalize(reply) === normalize(q.answer) ? 1 : 0;
}

const HISTORICAL = /\b(former|formerly|previous|previously|used to|until|old|no longer|was|were|superseded)\b/i;

/**
 * How clean the store is: half for superseded values not left as current (a line may keep one when
 * it says it is history: "formerly", "until", ...), half for lines that are not duplicates.
 */
export function hygiene(files: ReadonlyArray<{ text: string }>, superseded: readonly string[]): number {
  const lines = files.flatMap((f) => f.text.split('\n')).filter((l) => l.trim() !== '');
  const stale = superseded.filter((v) =>
    lines.some((l) => l.toLowerCase().includes(v.toLowerCase()) && !HISTORICAL.test(l)),
  ).length;
  const seen = new Set<string>();
  let dups = 0;
  for (const l of lines) {
    const n = normalize(l);
    if (seen.has(n)) dups++;
    seen.add(n);
  }
  const fresh = superseded.length === 0 ? 1 : 1 - stale / superseded.length;
  const unique = lines.length === 0 ? 1 : 1 - dups / lines.length;
  return 0.5 * fresh + 0.5 * unique;
}

/** The verdict of an episode: its question replies and its store. */
export function verdictOf(s: Scenario, replies: readonly string[], files: ReadonlyArray<{ text: string }>): Verdict {
  const scores = s.questions.map((q, i) => scoreQuestion(q, replies[i] ?? ''));
  const answerable = s.questions.flatMap((q, i) => (q.answer === null ? [] : [scores[i]]));
  const unanswerable = s.questions.flatMap((q, i) => (q.answer === null ? [scores[i]] : []));
  const mean = (xs: number[]) => (xs.length === 0 ? 1 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const h = hygiene(files, supersededValues(s));
  const components: Record<string, number> = { correct: mean(answerable), hygiene: h };
  if (unanswerable.length > 0) components.abstain = mean(unanswerable);
  const all = mean(scores);
  const right = scores.filter((x) => x === 1).length;
  return {
    reward: QUESTION_WEIGHT * all + (1 - QUESTION_WEIGHT) * h,
    components,
    correct: right === scores.length,
    detail: `${right} of ${scores.length} questions answered right; memory hygiene ${h.toFixed(2)}.`,
  };
}

// ---------------------------------------------------------------------------------------------
// The scripted user

/** The user's answer to the agent's reply: the next session or question, or undefined after the last. */
export function nextUserTurn(s: Scenario, ep: MemoryState, reply: string): UserTurn | undefined {
  ep.replies.push(reply);
  const turn = scriptOf(s)[ep.replies.length];
  return turn ? { content: turn.content, newContext: turn.newContext } : undefined;
}

// ---------------------------------------------------------------------------------------------
// The oracle: plans its calls from the scenario, and answers questions from what `view` shows.

interface Plan {
  /** Calls per user turn (question turns: the view the answer is read from). */
  calls: Array<Array<{ name: string; arguments: Record<string, unknown> }>>;
}

/**
 * The `key: value` lines the oracle keeps, and the calls that keep them, session by session: new
 * lines in one `insert` at the end, each change a `str_replace` of its whole line (a `create` of the
 * whole file for the first session, or when a line to change does not occur exactly once).
 */
export function planOracle(s: Scenario): Plan {
  const lines: string[] = [];
  let created = false;
  const calls: Plan['calls'] = [];
  const text = () => lines.join('\n');
  const once = (needle: string) => {
    const t = text();
    const at = t.indexOf(needle);
    return at >= 0 && at === t.lastIndexOf(needle);
  };
  const has = (key: string) => lines.findIndex((l) => l.startsWith(`${key}: `));
  for (const sess of s.sessions) {
    let out: Plan['calls'][number] = [];
    const start = lines.length;
    const added: string[] = [];
    const changes: Fact[] = [];
    for (const f of sess.facts) {
      const line = `${f.key}: ${f.value}`;
      if (f.op === 'add' || (f.op === 'set' && has(f.key) < 0)) {
        if (!lines.includes(line)) {
          lines.push(line);
          added.push(line);
        }
      } else changes.push(f);
    }
    let whole = !created;
    if (added.length > 0 && created)
      out.push({ name: 'insert', arguments: { path: ORACLE_FILE, insert_line: start, insert_text: added.join('\n') } });
    for (const f of changes) {
      const at = has(f.key);
      if (at < 0) continue;
      const line = `${f.key}: ${f.value}`;
      const old = lines[at];
      const edge = (l: string) => (at > 0 ? `\n${l}` : lines.length > 1 ? `${l}\n` : l);
      const oldStr = edge(old);
      const newStr = f.op === 'retract' ? '' : edge(line);
      if (!once(oldStr)) whole = true;
      if (f.op === 'retract') lines.splice(at, 1);
      else lines[at] = line;
      if (!whole) out.push({ name: 'str_replace', arguments: { path: ORACLE_FILE, old_str: oldStr, new_str: newStr } });
    }
    if (whole) {
      out = lines.length > 0 || created ? [{ name: 'create', arguments: { path: ORACLE_FILE, file_text: text() } }] : [];
      if (out.length > 0) created = true;
    }
    calls.push(out);
  }
  for (let q = 0; q < s.questions.length; q++)
    calls.push([{ name: 'view', arguments: { path: created ? ORACLE_FILE : '/memories' } }]);
  return { calls };
}

/** `key: value` pairs from a `view` result (numbered lines). */
export function readLines(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*\d+\t(.*?): (.*)$/.exec(raw);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/** The reply to a question from the store's lines, as an agent reading its memory would give it. */
export function answerFrom(q: Question, pairs: ReadonlyArray<[string, string]>): string {
  const keys = q.keys ?? [];
  if (keys.length === 0) return q.answer === null ? "I don't know" : Array.isArray(q.answer) ? q.answer.join(', ') : q.answer;
  const valuesOf = (k: string) => pairs.filter(([key]) => key === k).map(([, v]) => v);
  if (q.kind === 'earliest') {
    const dated = keys.flatMap((k) => valuesOf(k).map((d) => [k, d] as const));
    if (dated.length === 0) return "I don't know";
    return [...dated].sort((a, b) => a[1].localeCompare(b[1]))[0][0];
  }
  const vs = valuesOf(keys[0]);
  if (vs.length === 0) return "I don't know";
  return q.kind === 'list' ? vs.join(', ') : (vs.at(-1) as string);
}

export function memoryOracle(
  task: Task<Scenario>,
  history: readonly OracleObservation[],
  user?: readonly string[],
): OracleAction {
  const s = task.reference;
  const plan = planOracle(s);
  const u = Math.min(Math.max(0, (user?.length ?? 1) - 1), plan.calls.length - 1);
  const before = plan.calls.slice(0, u).reduce((n, c) => n + c.length, 0);
  const k = history.length - before;
  const mine = plan.calls[u];
  if (k < mine.length) {
    const c = mine[k];
    return { kind: 'tool_calls', calls: [{ name: c.name, arguments: c.arguments }], thought: thoughtFor(s, u) };
  }
  const q = u - firstQuestionTurn(s);
  if (q < 0) return { kind: 'answer', answer: NOTED, thought: 'My memory is up to date with this session.' };
  const last = history.at(-1);
  const shown = last?.result.content.map((c) => c.text).join('\n') ?? '';
  const question = s.questions[q] as Question;
  return { kind: 'answer', answer: answerFrom(question, readLines(shown)), thought: 'I read the answer from my memory.' };
}

function thoughtFor(s: Scenario, u: number): string {
  return u < firstQuestionTurn(s)
    ? 'The user told me things worth remembering: I keep my memory file current, one line per fact.'
    : 'A question: I look at my memory before answering.';
}

// ---------------------------------------------------------------------------------------------
// Families

function scenarioTask(envId: string, family: string, split: Split, index: number, s: Scenario, seed: number): Task<Scenario> {
  return {
    id: `${envId}/${family}/${split}/${index}`,
    family,
    split,
    difficulty: s.difficulty as Task['difficulty'],
    prompt: scriptOf(s)[0].content,
    seed,
    reference: s,
  };
}

async function verifyEpisode(task: Task<Scenario>, answer: string, ep?: MemoryState): Promise<Verdict> {
  const s = task.reference;
  const first = firstQuestionTurn(s);
  // Without the episode (a caller with only the final answer): it answers the last question.
  const replies = ep ? ep.replies.slice(first) : [...s.questions.slice(1).map(() => ''), answer];
  return verdictOf(s, replies, ep ? ep.store.files() : []);
}

/** The generated family of one ability: difficulty 1-5 by index, train and test drawn from disjoint seeds. */
export function abilityFamily(envId: string, ability: Ability): TaskFamily<Scenario, MemoryState> {
  return {
    name: ability,
    description: DESCRIPTIONS[ability],
    splitSizes: { ...SPLIT_SIZES },
    generate(split, index) {
      const seed = mixSeed('memory', ability, split, index);
      return scenarioTask(envId, ability, split, index, generateScenario(ability, 1 + (index % 5), seed), seed);
    },
    verify: verifyEpisode,
    oracle: memoryOracle,
  };
}

const DESCRIPTIONS: Record<Ability, string> = {
  extraction: 'Recall a fact stated in one earlier session, among facts about other people.',
  'multi-session': 'Gather the items of a list stated across several sessions.',
  temporal: 'Answer when something happened, or which of two events came first, from session dates.',
  update: 'Answer with the current value of a fact that later sessions changed (and keep only it).',
  abstention: 'Say "I don\'t know" when the answer was never stated (a similar fact about someone else was).',
};

/**
 * A user's scenarios from a JSONL file (one `ScenarioSchema` object a line): family `jsonl`, the
 * lines alternating into train and test (even lines train, odd lines test), so the splits are disjoint.
 */
export function jsonlFamily(envId: string, file: string): TaskFamily<Scenario, MemoryState> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioFileError(`cannot read the scenario file ${file}: ${(err as Error).message}`);
  }
  const scenarios = text
    .split('\n')
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l !== '')
    .map(([l, n]) => {
      let raw: unknown;
      try {
        raw = JSON.parse(l);
      } catch {
        throw new ScenarioFileError(`${file}:${n}: not JSON; each line is one scenario object (see the memory env's doc block).`);
      }
      const r = ScenarioSchema.safeParse(raw);
      if (!r.success)
        throw new ScenarioFileError(
          `${file}:${n}: ${r.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ')}`,
        );
      return r.data;
    });
  const bySplit: Record<Split, Scenario[]> = {
    train: scenarios.filter((_, i) => i % 2 === 0),
    test: scenarios.filter((_, i) => i % 2 === 1),
  };
  if (bySplit.test.length === 0) bySplit.test = bySplit.train;
  return {
    name: 'jsonl',
    description: `Scenarios from ${file}.`,
    splitSizes: { train: bySplit.train.length, test: bySplit.test.length },
    generate: (split, index) =>
      scenarioTask(envId, 'jsonl', split, index, bySplit[split][index], mixSeed('memory-jsonl', split, index)),
    verify: verifyEpisode,
    oracle: memoryOracle,
  };
}

export type { Fact };
