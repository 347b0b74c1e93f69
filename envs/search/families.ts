/**
 * The search task families (`lookup`, `multihop`, `compare`, `changed`, and `qa` for a user's JSONL
 * questions) and the oracle that solves them with real tool calls.
 *
 * The oracle walks its reading plan: for `search` steps it calls `search` (several at once when they
 * are independent) and opens the targets it reads from the results; for a `link` step it opens the
 * target it reads from the links of the page it opened last. Only when an id is missing from what it
 * read does it open the target directly.
 */
import { readFileSync } from 'node:fs';
import type { World } from '../../tools/corpus/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import type { Difficulty, Oracle, OracleAction, OracleObservation, Split, Task, TaskFamily } from '../core/index.js';
import {
  changed,
  compare,
  lookup,
  multihop,
  type PlanStep,
  type Pools,
  poolsOf,
  type Question,
  type SearchRef,
} from './questions.js';
import { scoreAnswer } from './verify.js';

export class TaskFileError extends Error {
  override name = 'TaskFileError';
}

/** Split sizes of every generated family (generators are finite so splits have sizes). */
export const SPLIT_SIZES: Record<Split, number> = { train: 10_000, test: 1_000 };

export interface WorldSource {
  envId: string;
  world(): World;
  /** Entity ids that have an archived snapshot (harder `changed` questions). */
  snapshots(): ReadonlySet<string>;
}

// ---------------------------------------------------------------------------------------------
// Oracle

/** Independent calls the oracle makes in one turn (the rollout loop's default `maxParallelCalls`). */
const MAX_PARALLEL = 4;

function idsIn(obs: OracleObservation | undefined, key: 'results' | 'links'): string[] {
  const sc = obs?.result.structuredContent as Record<string, unknown> | undefined;
  const list = sc?.[key];
  if (Array.isArray(list)) return list.map((x) => String((x as { id?: unknown }).id ?? ''));
  // Fall back to the text form: "(id: some-id)".
  const text = obs?.result.content.map((c) => c.text).join('\n') ?? '';
  return [...text.matchAll(/\(id: ([^)\s]+)\)/g)].map((m) => m[1] as string);
}

function openedId(obs: OracleObservation): string | undefined {
  if (obs.call.name !== 'open' || obs.result.isError) return undefined;
  const sc = obs.result.structuredContent as { id?: unknown } | undefined;
  if (typeof sc?.id === 'string') return sc.id;
  // Fall back to the page header, "id: some-id | url: ...", for a client that kept only the text.
  const text = obs.result.content.map((c) => c.text).join('\n');
  return /^id: (\S+) \|/m.exec(text)?.[1];
}

/**
 * Acts on a reading plan given the observations so far. Consecutive `search` steps do not depend on
 * each other (the options of a `compare` question), so they are searched in one turn and opened in the
 * next, as an agent that calls tools in parallel would; a `link` step waits for the page before it.
 */
export function planOracle(plan: readonly PlanStep[], answer: string, history: readonly OracleObservation[]): OracleAction {
  // Steps done = targets opened successfully, in plan order.
  let done = 0;
  for (const h of history) if (done < plan.length && openedId(h) === (plan[done] as PlanStep).target) done++;
  if (done >= plan.length) return { kind: 'answer', answer, thought: 'Every document the question needs has been read.' };
  const step = plan[done] as PlanStep;
  if (step.via === 'search') {
    const batch: Array<Extract<PlanStep, { via: 'search' }>> = [];
    for (let i = done; i < plan.length && batch.length < MAX_PARALLEL; i++) {
      const s = plan[i] as PlanStep;
      if (s.via !== 'search') break;
      batch.push(s);
    }
    const resultsFor = (query: string) =>
      [...history].reverse().find((h) => h.call.name === 'search' && h.call.arguments.query === query && !h.result.isError);
    const unsearched = batch.filter((s) => !resultsFor(s.query));
    if (unsearched.length > 0)
      return {
        kind: 'tool_calls',
        calls: unsearched.map((s) => ({ name: 'search', arguments: { query: s.query, k: 5 } })),
        thought: `Search for ${unsearched.map((s) => s.query).join('; ')}.`,
      };
    const seen = batch.every((s) => idsIn(resultsFor(s.query), 'results').includes(s.target));
    return {
      kind: 'tool_calls',
      calls: batch.map((s) => ({ name: 'open', arguments: { id_or_url: s.target } })),
      thought: seen ? `Open the matching result${batch.length > 1 ? 's' : ''}.` : 'Open the articles directly.',
    };
  }
  // A link step: the id sits in the link list of the page opened last.
  const page = [...history].reverse().find((h) => h.call.name === 'open' && !h.result.isError);
  const linked = idsIn(page, 'links').includes(step.target);
  return {
    kind: 'tool_calls',
    calls: [{ name: 'open', arguments: { id_or_url: step.target } }],
    thought: linked ? 'Follow the link.' : 'Open the linked article.',
  };
}

const searchOracle: Oracle<SearchRef> = (task, history) => planOracle(task.reference.plan, task.reference.answer, history);

/**
 * The `qa` oracle: a question with a `doc` follows its plan (search the question, open the doc); one
 * without searches the question and opens the top result before it answers, as a reader who does not
 * know where the answer lies would. A search that finds nothing is answered from what was read.
 */
const qaOracle: Oracle<SearchRef> = (task, history) => {
  if (task.reference.plan.length > 0) return searchOracle(task, history);
  const query = task.prompt;
  const searched = [...history].reverse().find((h) => h.call.name === 'search' && !h.result.isError);
  if (!searched)
    return { kind: 'tool_calls', calls: [{ name: 'search', arguments: { query, k: 5 } }], thought: `Search for ${query}.` };
  const top = idsIn(searched, 'results')[0];
  if (top !== undefined && !history.some((h) => openedId(h) === top))
    return { kind: 'tool_calls', calls: [{ name: 'open', arguments: { id_or_url: top } }], thought: 'Open the top result.' };
  return { kind: 'answer', answer: task.reference.answer, thought: 'The top result has been read.' };
};

// ---------------------------------------------------------------------------------------------
// Families

type Generator = (w: World, pools: Pools, rng: Rng, snapshots: ReadonlySet<string>) => Question;

const DESCRIPTIONS: Record<string, string> = {
  lookup: 'One fact from one article (a date, a place, a founder); near-namesakes make some harder.',
  multihop: 'Follow 2-4 relations across articles ("the country in which the city where X was born lies").',
  compare: 'Which of 2-5 entities was founded first, born earliest, is largest: one article per option.',
  changed:
    'Facts that changed (mayors, headquarters, directors, census figures): archived snapshots still show the outdated value.',
};

function family(src: WorldSource, name: string, gen: Generator): TaskFamily<SearchRef> {
  const pools = new Map<Split, Pools>();
  const poolFor = (split: Split): Pools => {
    let p = pools.get(split);
    if (!p) {
      p = poolsOf(src.world(), split);
      pools.set(split, p);
    }
    return p;
  };
  return {
    name,
    description: DESCRIPTIONS[name] ?? name,
    splitSizes: { ...SPLIT_SIZES },
    generate(split: Split, index: number): Task<SearchRef> {
      const w = src.world();
      const seed = mixSeed(w.seed, name, split, index);
      const q = gen(w, poolFor(split), new Rng(seed), src.snapshots());
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
    verify: async (task, answer) => scoreAnswer(task.reference, answer),
    oracle: searchOracle,
  };
}

export function worldFamilies(src: WorldSource): TaskFamily<SearchRef>[] {
  return [
    family(src, 'lookup', (w, p, r) => lookup(w, p, r)),
    family(src, 'multihop', (w, p, r) => multihop(w, p, r)),
    family(src, 'compare', (w, p, r) => compare(w, p, r)),
    family(src, 'changed', (w, p, r, s) => changed(w, p, r, s)),
  ];
}

/**
 * User questions over a user corpus: a JSONL file of `{question, answer, aliases?, doc?, difficulty?}`.
 * Every fifth line is test, the rest train. The oracle searches the question and opens `doc` when
 * given (else the top result) before answering.
 */
export function qaFamily(envId: string, path: string): TaskFamily<SearchRef> {
  let rows: Array<{ question: string; answer: string; aliases: string[]; doc?: string; difficulty: Difficulty }>;
  try {
    rows = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        if (typeof o.question !== 'string' || typeof o.answer !== 'string')
          throw new TaskFileError(`${path}:${i + 1} needs string fields "question" and "answer"`);
        const aliases = Array.isArray(o.aliases) ? o.aliases.map(String) : [];
        const d = Number(o.difficulty ?? 2);
        return {
          question: o.question,
          answer: o.answer,
          aliases,
          ...(typeof o.doc === 'string' ? { doc: o.doc } : {}),
          difficulty: (d >= 1 && d <= 5 ? Math.round(d) : 2) as Difficulty,
        };
      });
  } catch (err) {
    if (err instanceof TaskFileError) throw err;
    throw new TaskFileError(
      `could not read tasks from '${path}': ${(err as Error).message}; give a JSONL file of {"question", "answer"} lines`,
    );
  }
  const bySplit: Record<Split, typeof rows> = {
    train: rows.filter((_, i) => i % 5 !== 4),
    test: rows.filter((_, i) => i % 5 === 4),
  };
  return {
    name: 'qa',
    description: `Questions from ${path}, answered from the loaded corpus.`,
    splitSizes: { train: bySplit.train.length, test: bySplit.test.length },
    generate(split, index) {
      const r = bySplit[split][index];
      if (!r) throw new RangeError(`qa/${split}/${index} is past the split size ${bySplit[split].length}`);
      const plan: PlanStep[] = r.doc ? [{ via: 'search', query: r.question, target: r.doc }] : [];
      return {
        id: `${envId}/qa/${split}/${index}`,
        family: 'qa',
        split,
        difficulty: r.difficulty,
        prompt: r.question,
        seed: mixSeed('qa', split, index),
        reference: { answer: r.answer, aliases: r.aliases, plan },
      };
    },
    verify: async (task, answer) => scoreAnswer(task.reference, answer),
    oracle: qaOracle,
  };
}
