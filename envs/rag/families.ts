/**
 * The RAG task families over a generated world (`single`, `synthesis`, `unanswerable`,
 * `distractor`), the `qa` family of a user's questions file, and the oracle that solves them with
 * real tool calls: it retrieves with the question, reads the gold chunks it will cite (with their
 * neighbours), and answers with inline citations, or `unanswerable`.
 */
import { readFileSync } from 'node:fs';
import { type City, type Entity, nearName, type Organisation, type Person, type World } from '../../tools/corpus/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { type Chunk, parseChunkId } from '../../tools/retrieval/index.js';
import type { Difficulty, Oracle, OracleObservation, Split, Task, TaskFamily } from '../core/index.js';
import { type Fact, factOf, factsAbout, splitOf, supportOf } from './facts.js';
import { ABSTAIN, type RagRef, scoreRag } from './verify.js';

export class TaskFileError extends Error {
  override name = 'TaskFileError';
}

/** Split sizes of every generated family. */
export const SPLIT_SIZES: Record<Split, number> = { train: 5_000, test: 500 };

/** What the families need of the corpus. */
export interface RagSource {
  envId: string;
  world(): World;
  chunksOf(doc: string): readonly Chunk[];
  /** Entity ids with an archived snapshot in the corpus (outdated distractors). */
  snapshots(): ReadonlySet<string>;
}

// ---------------------------------------------------------------------------------------------
// Oracle

/** Independent reads the oracle makes in one turn (the rollout loop's default `maxParallelCalls`). */
const MAX_PARALLEL = 4;

function readIds(history: readonly OracleObservation[]): Set<string> {
  const out = new Set<string>();
  for (const h of history) if (h.call.name === 'read' && !h.result.isError) out.add(String(h.call.arguments.chunk_id ?? ''));
  return out;
}

/** The answer the oracle gives: the reference answer and one chunk of each gold fact, or `unanswerable`. */
export function oracleAnswer(ref: RagRef): string {
  if (ref.unanswerable) return ABSTAIN;
  return `${ref.answer} ${ref.gold.map((g) => `[${g[0]}]`).join(' ')}`.trim();
}

export const ragOracle: Oracle<RagRef> = (task, history) => {
  if (!history.some((h) => h.call.name === 'retrieve' && !h.result.isError))
    return {
      kind: 'tool_calls',
      calls: [{ name: 'retrieve', arguments: { query: task.prompt, k: 5 } }],
      thought: 'Retrieve passages for the question.',
    };
  const read = readIds(history);
  const toRead = task.reference.gold.map((g) => g[0] as string).filter((id) => !read.has(id));
  if (toRead.length > 0)
    return {
      kind: 'tool_calls',
      calls: toRead.slice(0, MAX_PARALLEL).map((id) => ({ name: 'read', arguments: { chunk_id: id } })),
      thought: 'Read the passages that state the facts, with their neighbours.',
    };
  return {
    kind: 'answer',
    answer: oracleAnswer(task.reference),
    thought: task.reference.unanswerable
      ? 'The passages come close, but none states the answer.'
      : 'Every fact the answer needs is in the passages read; cite them.',
  };
};

// ---------------------------------------------------------------------------------------------
// Question generators

interface Question {
  prompt: string;
  difficulty: Difficulty;
  reference: RagRef;
}

interface Pools {
  people: Person[];
  organisations: Organisation[];
  cities: City[];
  countries: World['countries'];
  events: World['events'];
}

function poolsOf(w: World, split: Split): Pools {
  const mine = <T extends Entity>(xs: T[]): T[] => xs.filter((x) => splitOf(x.id) === split);
  return {
    people: mine(w.people),
    organisations: mine(w.organisations),
    cities: mine(w.cities),
    countries: mine(w.countries),
    events: mine(w.events),
  };
}

type Generator = (src: RagSource, pools: Pools, rng: Rng) => Question;

const gold = (src: RagSource, ...facts: Fact[]): string[][] => facts.map((f) => supportOf(f, (d) => src.chunksOf(d)));

function ask(src: RagSource, fact: Fact, paraphrase: boolean, difficulty: Difficulty): Question {
  return {
    prompt: paraphrase ? fact.paraphrase : fact.question,
    difficulty,
    reference: { answer: fact.answer, aliases: fact.aliases, gold: gold(src, fact), unanswerable: false },
  };
}

function nonEmpty<T>(...lists: T[][]): T[] {
  const l = lists.find((x) => x.length > 0);
  if (!l) throw new Error('the world is too small for this family: generate more documents (--docs)');
  return l;
}

/** One fact, stated in one chunk; half the questions are paraphrased. */
const single: Generator = (src, p, rng) => {
  const pools = [p.people, p.organisations, p.cities, p.countries, p.events].filter((x) => x.length > 0) as Entity[][];
  const e = rng.pick(rng.pick(pools));
  const fact = rng.pick(factsAbout(src.world(), e));
  const para = rng.bool();
  return ask(src, fact, para, para ? 2 : 1);
};

/** Two facts in two chunks: a chain through a related entity, or a comparison. */
const synthesis: Generator = (src, p, rng) => {
  const w = src.world();
  const ent = (id: string): Entity => w.entities.get(id) as Entity;
  const two = (prompt: string, answer: string, a: Fact, b: Fact, difficulty: Difficulty = 3): Question => ({
    prompt,
    difficulty,
    reference: { answer, aliases: b.aliases, gold: gold(src, a, b), unanswerable: false },
  });
  for (;;) {
    const t = rng.int(0, 4);
    if (t === 0 && p.people.length > 0) {
      const x = rng.pick(p.people);
      const o = ent(x.employer) as Organisation;
      const f = factOf(w, o, 'founded');
      return two(`In what year was the organisation that ${x.name} works for founded?`, f.answer, factOf(w, x, 'employer'), f);
    }
    if (t === 1 && p.organisations.length > 0) {
      const o = rng.pick(p.organisations);
      const f = factOf(w, ent(o.founder), 'birthplace');
      return two(`In which city was the founder of ${o.name} born?`, f.answer, factOf(w, o, 'founder'), f);
    }
    if (t === 2 && p.events.length > 0) {
      const e = rng.pick(p.events);
      const f = factOf(w, ent(e.winner), 'occupation');
      return two(`What is the occupation of the winner of the ${e.name}?`, f.answer, factOf(w, e, 'winner'), f);
    }
    if (t === 3 && p.cities.length > 0) {
      const c = rng.pick(p.cities);
      const f = factOf(w, ent(c.mayor[c.mayor.length - 1]?.value as string), 'employer');
      return two(`Which organisation does the current mayor of ${c.name} work for?`, f.answer, factOf(w, c, 'mayor'), f);
    }
    if (t === 4 && p.organisations.length > 1) {
      const [a, b] = rng.sample(p.organisations, 2) as [Organisation, Organisation];
      if (a.founded === b.founded) continue;
      const first = a.founded < b.founded ? a : b;
      const fa = factOf(w, a, 'founded');
      const fb = factOf(w, b, 'founded');
      return {
        prompt: `Which was founded earlier, ${a.name} or ${b.name}?`,
        difficulty: 4,
        reference: { answer: first.name, aliases: [], gold: gold(src, fa, fb), unanswerable: false },
      };
    }
  }
};

/** Questions the corpus nearly answers: a near-namesake that does not exist, or a fact it never states. */
const unanswerable: Generator = (src, p, rng) => {
  const w = src.world();
  const names = new Set([...w.entities.values()].map((e) => e.name));
  const none = (prompt: string, difficulty: Difficulty = 3): Question => ({
    prompt,
    difficulty,
    reference: { answer: ABSTAIN, aliases: [], gold: [], unanswerable: true },
  });
  for (;;) {
    const t = rng.int(0, 3);
    if (t === 0 && p.people.length > 0) {
      const x = rng.pick(p.people);
      let fake = '';
      for (let i = 0; i < 20 && (fake === '' || names.has(fake)); i++) fake = nearName(rng, x.name);
      if (names.has(fake)) continue;
      return none(rng.bool() ? `On what date was ${fake} born?` : `In which city was ${fake} born?`, 4);
    }
    if (t === 1 && p.cities.length > 0) return none(`Who founded the city of ${rng.pick(p.cities).name}?`);
    if (t === 2) {
      const single = p.people.filter((x) => !x.spouse);
      if (single.length > 0) return none(`To whom is ${rng.pick(single).name} married?`);
    }
    if (t === 3 && p.countries.length > 0) return none(`What is the population of the country ${rng.pick(p.countries).name}?`);
  }
};

/**
 * Distractor-heavy retrieval: current facts whose archived snapshots still state the outdated value,
 * and people whose near-namesakes have articles of their own.
 */
const distractor: Generator = (src, p, rng) => {
  const w = src.world();
  const snaps = src.snapshots();
  const changedCities = p.cities.filter((c) => snaps.has(c.id) && c.mayor.length > 1);
  const changedOrgs = p.organisations.filter((o) => snaps.has(o.id) && (o.director.length > 1 || o.headquarters.length > 1));
  const twins = p.people.filter((x) => w.namesakes.has(x.id));
  for (;;) {
    const t = rng.int(0, 2);
    const para = rng.bool(0.3);
    if (t === 0 && changedCities.length > 0) return ask(src, factOf(w, rng.pick(changedCities), 'mayor'), para, 4);
    if (t === 1 && changedOrgs.length > 0) {
      const o = rng.pick(changedOrgs);
      return ask(src, factOf(w, o, o.director.length > 1 ? 'director' : 'headquarters'), para, 4);
    }
    if (t === 2 || (changedCities.length === 0 && changedOrgs.length === 0)) {
      const x = rng.pick(nonEmpty(twins, p.people));
      return ask(src, factOf(w, x, rng.pick(['born', 'birthplace', 'employer'])), para, 3);
    }
  }
};

const DESCRIPTIONS: Record<string, string> = {
  single: 'One fact stated in one chunk (a date, a place, a founder); half the questions are paraphrased.',
  synthesis: 'The answer needs two chunks: a chain through a related entity, or a comparison of two.',
  unanswerable: 'The corpus holds a near miss but not the answer (a near-namesake, a fact never stated): abstain.',
  distractor: 'Current facts beside archived snapshots with outdated values, and people with near-namesakes.',
};

function family(src: RagSource, name: string, gen: Generator): TaskFamily<RagRef> {
  const pools = new Map<Split, Pools>();
  return {
    name,
    description: DESCRIPTIONS[name] ?? name,
    splitSizes: { ...SPLIT_SIZES },
    generate(split: Split, index: number): Task<RagRef> {
      const w = src.world();
      let pool = pools.get(split);
      if (!pool) {
        pool = poolsOf(w, split);
        pools.set(split, pool);
      }
      const seed = mixSeed(w.seed, 'rag', name, split, index);
      const q = gen(src, pool, new Rng(seed));
      return {
        id: `${src.envId}/${name}/${split}/${index}`,
        family: name,
        split,
        difficulty: q.difficulty,
        prompt: q.prompt,
        seed,
        reference: q.reference,
      };
    },
    verify: async (task, answer) => scoreRag(task.reference, answer),
    oracle: ragOracle,
  };
}

export function worldFamilies(src: RagSource): TaskFamily<RagRef>[] {
  return [
    family(src, 'single', single),
    family(src, 'synthesis', synthesis),
    family(src, 'unanswerable', unanswerable),
    family(src, 'distractor', distractor),
  ];
}

// ---------------------------------------------------------------------------------------------
// A user's questions

interface QaRow {
  question: string;
  answer: string;
  aliases: string[];
  gold: string[][];
  unanswerable: boolean;
  difficulty: Difficulty;
}

/**
 * Questions over a user's corpus from a JSONL file, one object a line:
 *   {"question": "...", "answer": "...", "aliases": ["..."]?, "gold": ["<doc>#<n>" | "<doc>", ...]}
 *   {"question": "...", "unanswerable": true}
 * A gold entry is a chunk id (as `retrieve` shows it) or a document id (any chunk of it supports
 * the answer); each entry is one fact the citations must cover. `difficulty` (1-5) is optional.
 * Every fifth line is test, the rest train.
 */
export function qaFamily(envId: string, path: string, chunksOf: (doc: string) => readonly Chunk[]): TaskFamily<RagRef> {
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch (err) {
    throw new TaskFileError(`could not read questions from '${path}': ${(err as Error).message}`);
  }
  const rows: QaRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${path}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new TaskFileError(
        `${at} is not valid JSON: each line is {"question", "answer", "gold"} or {"question", "unanswerable": true}`,
      );
    }
    if (typeof o.question !== 'string' || o.question.trim() === '') throw new TaskFileError(`${at} needs a string "question"`);
    const d = Number(o.difficulty ?? 2);
    const difficulty = (d >= 1 && d <= 5 ? Math.round(d) : 2) as Difficulty;
    if (o.unanswerable === true) {
      rows.push({ question: o.question, answer: ABSTAIN, aliases: [], gold: [], unanswerable: true, difficulty });
      return;
    }
    if (typeof o.answer !== 'string' || o.answer.trim() === '')
      throw new TaskFileError(`${at} needs a string "answer" (or "unanswerable": true)`);
    if (!Array.isArray(o.gold) || o.gold.length === 0 || !o.gold.every((g) => typeof g === 'string'))
      throw new TaskFileError(
        `${at} needs "gold": a list of the chunk ids ("<doc>#<n>") or document ids that support the answer`,
      );
    const groups = (o.gold as string[]).map((g) => {
      const c = parseChunkId(g);
      const ids = c
        ? chunksOf(c.doc)
            .filter((x) => x.id === g)
            .map((x) => x.id)
        : chunksOf(g).map((x) => x.id);
      if (ids.length === 0)
        throw new TaskFileError(
          `${at}: gold "${g}" is neither a chunk nor a document of the corpus (chunk ids are "<doc>#<n>", as retrieve and the toolgym://rag/chunks resources show them)`,
        );
      return ids;
    });
    const aliases = Array.isArray(o.aliases) ? o.aliases.map(String) : [];
    rows.push({ question: o.question, answer: o.answer, aliases, gold: groups, unanswerable: false, difficulty });
  });
  if (rows.length === 0) throw new TaskFileError(`${path} holds no questions`);
  const bySplit: Record<Split, QaRow[]> = {
    train: rows.filter((_, i) => i % 5 !== 4),
    test: rows.filter((_, i) => i % 5 === 4),
  };
  return {
    name: 'qa',
    description: `Questions from ${path}, answered from the loaded corpus with citations.`,
    splitSizes: { train: bySplit.train.length, test: bySplit.test.length },
    generate(split, index) {
      const r = bySplit[split][index];
      if (!r) throw new RangeError(`qa/${split}/${index} is past the split size ${bySplit[split].length}`);
      return {
        id: `${envId}/qa/${split}/${index}`,
        family: 'qa',
        split,
        difficulty: r.difficulty,
        prompt: r.question,
        seed: mixSeed('rag-qa', split, index),
        reference: { answer: r.answer, aliases: r.aliases, gold: r.gold, unanswerable: r.unanswerable },
      };
    },
    verify: async (task, answer) => scoreRag(task.reference, answer),
    oracle: ragOracle,
  };
}
