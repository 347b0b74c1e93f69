/**
 * Question generators over a generated world, one per task family. Each returns the prompt, the
 * reference (answer, aliases) and the oracle's reading plan (which documents to find, and how).
 *
 * Splits are disjoint by subject: every entity belongs to train or test by a hash of its id, and a
 * question only uses subjects (all options, for comparisons) of its own split.
 */
import {
  type City,
  current,
  type Entity,
  formatDate,
  formatNumber,
  MONTHS,
  type Organisation,
  type Person,
  previous,
  type World,
} from '../../tools/corpus/index.js';
import { hashString, type Rng } from '../../tools/index.js';
import type { Difficulty, Split } from '../core/index.js';
import type { AnswerRef } from './verify.js';

export type PlanStep = { via: 'search'; query: string; target: string } | { via: 'link'; target: string };

export interface SearchRef extends AnswerRef {
  /** Documents the oracle reads, in order. */
  plan: PlanStep[];
}

export interface Question {
  prompt: string;
  difficulty: Difficulty;
  reference: SearchRef;
}

export function splitOf(id: string): Split {
  return hashString(id) % 5 === 0 ? 'test' : 'train';
}

/** Entities of one split, by kind (computed once per world). */
export interface Pools {
  people: Person[];
  organisations: Organisation[];
  cities: City[];
  countries: World['countries'];
  events: World['events'];
}

export function poolsOf(world: World, split: Split): Pools {
  const mine = <T extends Entity>(xs: T[]): T[] => xs.filter((x) => splitOf(x.id) === split);
  return {
    people: mine(world.people),
    organisations: mine(world.organisations),
    cities: mine(world.cities),
    countries: mine(world.countries),
    events: mine(world.events),
  };
}

const name = (w: World, id: string): string => (w.entities.get(id) as Entity).name;
const find = (e: Entity): PlanStep => ({ via: 'search', query: e.name, target: e.id });
const clampD = (d: number): Difficulty => Math.min(5, Math.max(1, d)) as Difficulty;

function dateAliases(d: { year: number; month: number; day: number }): string[] {
  const mm = String(d.month).padStart(2, '0');
  const dd = String(d.day).padStart(2, '0');
  return [`${MONTHS[d.month - 1]} ${d.day}, ${d.year}`, `${d.year}-${mm}-${dd}`];
}

// ---------------------------------------------------------------------------------------------
// lookup: one fact from one article

export function lookup(w: World, pools: Pools, rng: Rng): Question {
  const kinds = (['person', 'person', 'organisation', 'country', 'event', 'city'] as const).filter(
    (k) =>
      (k === 'person'
        ? pools.people
        : k === 'organisation'
          ? pools.organisations
          : k === 'country'
            ? pools.countries
            : k === 'event'
              ? pools.events
              : pools.cities
      ).length > 0,
  );
  const kind = rng.pick(kinds);
  const q = (prompt: string, e: Entity, answer: string, aliases: string[] = []): Question => ({
    prompt,
    difficulty: w.namesakes.has(e.id) ? 2 : 1,
    reference: { answer, aliases, plan: [find(e)] },
  });
  if (kind === 'person') {
    const p = rng.pick(pools.people);
    const t = rng.int(0, 3);
    if (t === 0) return q(`On what date was ${p.name} born?`, p, formatDate(p.born), dateAliases(p.born));
    if (t === 1) return q(`In which city was ${p.name} born?`, p, name(w, p.birthplace));
    if (t === 2) return q(`Which organisation does ${p.name} work for?`, p, name(w, p.employer));
    return q(`What is the occupation of ${p.name}?`, p, p.occupation);
  }
  if (kind === 'organisation') {
    const o = rng.pick(pools.organisations);
    return rng.bool()
      ? q(`In what year was ${o.name} founded?`, o, String(o.founded))
      : q(`Who founded ${o.name}?`, o, name(w, o.founder));
  }
  if (kind === 'country') {
    const c = rng.pick(pools.countries);
    return rng.bool()
      ? q(`What is the capital of ${c.name}?`, c, name(w, c.capital))
      : q(`What is the currency of ${c.name}?`, c, c.currency);
  }
  if (kind === 'event') {
    const e = rng.pick(pools.events);
    return rng.bool()
      ? q(`Which organisation organised the ${e.name}?`, e, name(w, e.organiser)) // not "where": the name holds the city
      : q(`Who won the ${e.name}?`, e, name(w, e.winner));
  }
  const c = rng.pick(pools.cities);
  return q(`In which country is the city of ${c.name}?`, c, name(w, c.country));
}

// ---------------------------------------------------------------------------------------------
// multihop: follow 2-4 relations from a subject ("the country where the founder of X was born")

interface Hop {
  phrase: (np: string) => string;
  next: (e: Entity) => string | undefined;
}

const HOPS: Record<Entity['kind'], Hop[]> = {
  person: [
    { phrase: (x) => `the city where ${x} was born`, next: (e) => (e as Person).birthplace },
    { phrase: (x) => `the organisation ${x} works for`, next: (e) => (e as Person).employer },
    { phrase: (x) => `the university where ${x} studied`, next: (e) => (e as Person).almaMater },
    { phrase: (x) => `the spouse of ${x}`, next: (e) => (e as Person).spouse },
  ],
  organisation: [
    { phrase: (x) => `the founder of ${x}`, next: (e) => (e as Organisation).founder },
    { phrase: (x) => `the city where ${x} has its headquarters today`, next: (e) => current((e as Organisation).headquarters) },
    { phrase: (x) => `the current director of ${x}`, next: (e) => current((e as Organisation).director) },
  ],
  city: [
    { phrase: (x) => `the country in which ${x} lies`, next: (e) => (e as City).country },
    { phrase: (x) => `the current mayor of ${x}`, next: (e) => current((e as City).mayor) },
  ],
  country: [{ phrase: (x) => `the capital of ${x}`, next: (e) => (e as World['countries'][number]).capital }],
  event: [
    { phrase: (x) => `the organiser of ${x}`, next: (e) => (e as World['events'][number]).organiser },
    { phrase: (x) => `the winner of ${x}`, next: (e) => (e as World['events'][number]).winner },
  ],
};

const ASK: Record<Entity['kind'], string> = {
  person: 'Who is',
  organisation: 'What is',
  city: 'What is',
  country: 'What is',
  event: 'What is',
};

export function multihop(w: World, pools: Pools, rng: Rng): Question {
  const hops = rng.int(2, 4);
  for (let attempt = 0; attempt < 200; attempt++) {
    const starts: Entity[] =
      rng.bool(0.6) && pools.organisations.length > 0
        ? pools.organisations
        : pools.events.length > 0 && rng.bool()
          ? pools.events
          : pools.people;
    const start = rng.pick(starts);
    const path: Entity[] = [start];
    let np = start.kind === 'event' ? `the ${start.name}` : start.name;
    for (let h = 0; h < hops; h++) {
      const at = path[path.length - 1] as Entity;
      const options = rng.shuffle(HOPS[at.kind]);
      let moved = false;
      for (const hop of options) {
        const id = hop.next(at);
        if (!id || path.some((p) => p.id === id)) continue;
        path.push(w.entities.get(id) as Entity);
        np = hop.phrase(np);
        moved = true;
        break;
      }
      if (!moved) break;
    }
    if (path.length !== hops + 1) continue;
    const end = path[path.length - 1] as Entity;
    return {
      prompt: `${ASK[end.kind]} ${np}?`,
      difficulty: clampD(hops + 1),
      reference: {
        answer: end.name,
        aliases: [],
        plan: [find(start), ...path.slice(1).map((e): PlanStep => ({ via: 'link', target: e.id }))],
      },
    };
  }
  return lookup(w, pools, rng);
}

// ---------------------------------------------------------------------------------------------
// compare: which of A, B, C ... comes first / is largest

interface Measure<T extends Entity> {
  pool: (p: Pools) => T[];
  value: (e: T) => number;
  ask: (names: string) => string;
  /** true: the answer is the smallest value. */
  min: boolean;
}

const MEASURES: Measure<any>[] = [
  {
    pool: (p) => p.organisations,
    value: (o: Organisation) => o.founded,
    ask: (n) => `Which of these organisations was founded first: ${n}?`,
    min: true,
  },
  {
    pool: (p) => p.organisations,
    value: (o: Organisation) => o.founded,
    ask: (n) => `Which of these organisations was founded most recently: ${n}?`,
    min: false,
  },
  {
    pool: (p) => p.people,
    value: (x: Person) => x.born.year * 10000 + x.born.month * 100 + x.born.day,
    ask: (n) => `Which of these people was born earliest: ${n}?`,
    min: true,
  },
  {
    pool: (p) => p.cities,
    value: (c: City) => current(c.population),
    ask: (n) => `Which of these cities has the largest population at the most recent census: ${n}?`,
    min: false,
  },
  {
    pool: (p) => p.organisations,
    value: (o: Organisation) => o.employees,
    ask: (n) => `Which of these organisations employs the most people: ${n}?`,
    min: false,
  },
];

function listNames(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

export function compare(w: World, pools: Pools, rng: Rng): Question {
  const n = rng.int(2, 5);
  for (let attempt = 0; attempt < 100; attempt++) {
    const m = rng.pick(MEASURES);
    const pool = m.pool(pools) as Entity[];
    if (pool.length < n) continue;
    const opts = rng.sample(pool, n);
    const values = opts.map((o) => m.value(o));
    if (new Set(values).size !== n) continue; // a tie would have two right answers
    const best = values.indexOf(m.min ? Math.min(...values) : Math.max(...values));
    return {
      prompt: m.ask(listNames(opts.map((o) => o.name))),
      difficulty: clampD(n),
      reference: { answer: (opts[best] as Entity).name, aliases: [], plan: opts.map(find) },
    };
  }
  return lookup(w, pools, rng);
}

// ---------------------------------------------------------------------------------------------
// changed: facts that changed over time; archived snapshots still show the old value

export function changed(w: World, pools: Pools, rng: Rng, snapshots: ReadonlySet<string>): Question {
  const cities = pools.cities.filter((c) => c.mayor.length > 1);
  const orgsHq = pools.organisations.filter((o) => o.headquarters.length > 1);
  const orgsDir = pools.organisations.filter((o) => o.director.length > 1);
  const kinds = [
    cities.length > 0 && 'mayor',
    cities.length > 0 && 'before',
    orgsHq.length > 0 && 'hq',
    orgsDir.length > 0 && 'director',
    pools.cities.length > 0 && 'population',
  ].filter((k): k is string => typeof k === 'string');
  if (kinds.length === 0) return lookup(w, pools, rng);
  const kind = rng.pick(kinds);
  const d = (e: Entity, base: number): Difficulty => clampD(base + (snapshots.has(e.id) ? 1 : 0));
  const q = (prompt: string, e: Entity, base: number, answer: string, aliases: string[] = []): Question => ({
    prompt,
    difficulty: d(e, base),
    reference: { answer, aliases, plan: [{ via: 'search', query: prompt, target: e.id }] },
  });
  if (kind === 'mayor') {
    const c = rng.pick(cities);
    return q(`Who is the current mayor of ${c.name}?`, c, 2, name(w, current(c.mayor)));
  }
  if (kind === 'before') {
    const c = rng.pick(cities);
    const prev = previous(c.mayor) as { value: string };
    return q(`Who was the mayor of ${c.name} before ${name(w, current(c.mayor))}?`, c, 3, name(w, prev.value));
  }
  if (kind === 'hq') {
    const o = rng.pick(orgsHq);
    return q(`In which city is ${o.name} headquartered today?`, o, 2, name(w, current(o.headquarters)));
  }
  if (kind === 'director') {
    const o = rng.pick(orgsDir);
    return q(`Who is the current director of ${o.name}?`, o, 2, name(w, current(o.director)));
  }
  const c = rng.pick(pools.cities);
  const pop = current(c.population);
  return q(`What was the population of ${c.name} at its most recent census?`, c, 3, formatNumber(pop), [String(pop)]);
}
