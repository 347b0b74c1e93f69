/**
 * Facts of a generated world as the RAG tasks use them: the answer, two phrasings of the question
 * (the articles' own words, and a paraphrase through tools/embed's lexicon that shares no relation
 * word with the passage), and where the corpus states it: (document, sentence fragment) pairs. Any
 * chunk whose text holds one of the fragments supports the fact; those chunks are its gold group.
 *
 * The fragments follow the sentences tools/corpus/render.ts writes; a fragment that no chunk holds
 * is a bug that `supportOf` reports at once.
 */
import {
  type City,
  type Country,
  current,
  type Entity,
  formatDate,
  formatNumber,
  MONTHS,
  type Organisation,
  type Person,
  type World,
  type WorldEvent,
} from '../../tools/corpus/index.js';
import { hashString } from '../../tools/index.js';
import type { Chunk } from '../../tools/retrieval/index.js';
import type { Split } from '../core/index.js';

export interface Support {
  doc: string;
  /** A fragment of one sentence of the document. */
  needle: string;
}

export interface Fact {
  /** e.g. `born`, `founder`, `mayor`. */
  kind: string;
  subject: string;
  answer: string;
  aliases: string[];
  /** The question in the articles' own words. */
  question: string;
  /** The same question through the lexicon's synonyms. */
  paraphrase: string;
  support: Support[];
}

/** Train or test, by a hash of the subject's id (questions of a split only ask about its subjects). */
export function splitOf(id: string): Split {
  return hashString(`rag:${id}`) % 5 === 0 ? 'test' : 'train';
}

const nameOf = (w: World, id: string): string => (w.entities.get(id) as Entity).name;
const an = (word: string): string => (/^[aeiou]/.test(word) ? 'an' : 'a');

function dateAliases(d: { year: number; month: number; day: number }): string[] {
  const mm = String(d.month).padStart(2, '0');
  const dd = String(d.day).padStart(2, '0');
  return [`${MONTHS[d.month - 1]} ${d.day}, ${d.year}`, `${d.year}-${mm}-${dd}`];
}

function personFacts(w: World, p: Person): Fact[] {
  const n = p.name;
  const city = nameOf(w, p.birthplace);
  const employer = nameOf(w, p.employer);
  const born = formatDate(p.born);
  const out: Fact[] = [
    {
      kind: 'born',
      subject: p.id,
      answer: born,
      aliases: dateAliases(p.born),
      question: `On what date was ${n} born?`,
      paraphrase: `What is the birthday of ${n}?`,
      support: [{ doc: p.id, needle: `${n} (born ${born} in` }],
    },
    {
      kind: 'birthplace',
      subject: p.id,
      answer: city,
      aliases: [],
      question: `In which city was ${n} born?`,
      paraphrase: `What is the hometown of ${n}?`,
      support: [{ doc: p.id, needle: `${n} (born ${born} in ${city},` }],
    },
    {
      kind: 'employer',
      subject: p.id,
      answer: employer,
      aliases: [],
      question: `Which organisation does ${n} work for?`,
      paraphrase: `Who is the employer of ${n}?`,
      support: [
        { doc: p.id, needle: `who works for ${employer}.` },
        { doc: p.id, needle: `${n} joined ${employer}.` },
      ],
    },
    {
      kind: 'occupation',
      subject: p.id,
      answer: p.occupation,
      aliases: [],
      question: `What is the occupation of ${n}?`,
      paraphrase: `What job does ${n} have?`,
      support: [{ doc: p.id, needle: `) is ${an(p.occupation)} ${p.occupation} who works for` }],
    },
  ];
  if (p.almaMater) {
    const u = nameOf(w, p.almaMater);
    out.push({
      kind: 'alma-mater',
      subject: p.id,
      answer: u,
      aliases: [],
      question: `Where did ${n} study?`,
      paraphrase: `At which college was ${n} educated?`,
      support: [{ doc: p.id, needle: `${n} studied at ${u}.` }],
    });
  }
  if (p.spouse) {
    const s = nameOf(w, p.spouse);
    out.push({
      kind: 'spouse',
      subject: p.id,
      answer: s,
      aliases: [],
      question: `To whom is ${n} married?`,
      paraphrase: `Who is the spouse of ${n}?`,
      support: [
        { doc: p.id, needle: `${n} is married to ${s}.` },
        { doc: p.spouse, needle: `${s} is married to ${n}.` },
      ],
    });
  }
  return out;
}

function orgFacts(w: World, o: Organisation): Fact[] {
  const n = o.name;
  const founder = nameOf(w, o.founder);
  const hq = nameOf(w, current(o.headquarters));
  const dir = nameOf(w, current(o.director));
  const byFounder = { doc: o.founder, needle: `In ${o.founded} they founded ${n}.` };
  return [
    {
      kind: 'founded',
      subject: o.id,
      answer: String(o.founded),
      aliases: [],
      question: `In what year was ${n} founded?`,
      paraphrase: `When was ${n} established?`,
      support: [{ doc: o.id, needle: `${n} is a ${o.type} founded in ${o.founded} by` }, byFounder],
    },
    {
      kind: 'founder',
      subject: o.id,
      answer: founder,
      aliases: [],
      question: `Who founded ${n}?`,
      paraphrase: `Who is the creator of ${n}?`,
      support: [{ doc: o.id, needle: `founded in ${o.founded} by ${founder}.` }, byFounder],
    },
    {
      kind: 'headquarters',
      subject: o.id,
      answer: hq,
      aliases: [],
      question: `In which city is ${n} headquartered?`,
      paraphrase: `In which town is ${n} based?`,
      support: [{ doc: o.id, needle: `It is headquartered in ${hq}.` }],
    },
    {
      kind: 'director',
      subject: o.id,
      answer: dir,
      aliases: [],
      question: `Who is the current director of ${n}?`,
      paraphrase: `Who is the chief of ${n} today?`,
      support: [{ doc: o.id, needle: o.director.length > 1 ? `The current director is ${dir},` : `The director is ${dir}.` }],
    },
    {
      kind: 'employees',
      subject: o.id,
      answer: formatNumber(o.employees),
      aliases: [String(o.employees)],
      question: `About how many people does ${n} employ?`,
      paraphrase: `How large is the workforce of ${n}?`,
      support: [{ doc: o.id, needle: `It employs about ${formatNumber(o.employees)} people.` }],
    },
  ];
}

function cityFacts(w: World, c: City): Fact[] {
  const n = c.name;
  const country = nameOf(w, c.country);
  const pop = c.population[c.population.length - 1] as { value: number; since: number };
  const mayor = nameOf(w, current(c.mayor));
  return [
    {
      kind: 'country',
      subject: c.id,
      answer: country,
      aliases: [],
      question: `In which country is the city of ${n}?`,
      paraphrase: `Which nation is the town of ${n} part of?`,
      support: [{ doc: c.id, needle: `${n} is a city in ${country}, founded` }],
    },
    {
      kind: 'city-founded',
      subject: c.id,
      answer: String(c.founded),
      aliases: [],
      question: `In what year was the city of ${n} founded?`,
      paraphrase: `When was the town of ${n} established?`,
      support: [{ doc: c.id, needle: `${n} is a city in ${country}, founded in ${c.founded}.` }],
    },
    {
      kind: 'population',
      subject: c.id,
      answer: formatNumber(pop.value),
      aliases: [String(pop.value)],
      question: `What was the population of ${n} at the ${pop.since} census?`,
      paraphrase: `How many inhabitants did ${n} have at the ${pop.since} count?`,
      support: [{ doc: c.id, needle: `Its population was ${formatNumber(pop.value)} at the ${pop.since} census.` }],
    },
    {
      kind: 'mayor',
      subject: c.id,
      answer: mayor,
      aliases: [],
      question: `Who is the current mayor of ${n}?`,
      paraphrase: `Who is the burgomaster of ${n} today?`,
      support: [{ doc: c.id, needle: c.mayor.length > 1 ? `The current mayor is ${mayor},` : `The mayor is ${mayor}.` }],
    },
  ];
}

function countryFacts(w: World, k: Country): Fact[] {
  const n = k.name;
  const cap = nameOf(w, k.capital);
  return [
    {
      kind: 'capital',
      subject: k.id,
      answer: cap,
      aliases: [],
      question: `What is the capital of ${n}?`,
      paraphrase: `Which city is the administrative seat of ${n}?`,
      support: [{ doc: k.id, needle: `${n} is a country whose capital is ${cap}.` }],
    },
    {
      kind: 'currency',
      subject: k.id,
      answer: k.currency,
      aliases: [],
      question: `What is the currency of ${n}?`,
      paraphrase: `What money is used in ${n}?`,
      support: [{ doc: k.id, needle: `its currency is the ${k.currency}.` }],
    },
    {
      kind: 'independence',
      subject: k.id,
      answer: String(k.independence),
      aliases: [],
      question: `In what year did ${n} become independent?`,
      paraphrase: `In what year did ${n} gain sovereignty?`,
      support: [{ doc: k.id, needle: `It became independent in ${k.independence};` }],
    },
  ];
}

function eventFacts(w: World, e: WorldEvent): Fact[] {
  const n = e.name;
  const winner = nameOf(w, e.winner);
  const org = nameOf(w, e.organiser);
  return [
    {
      kind: 'winner',
      subject: e.id,
      answer: winner,
      aliases: [],
      question: `Who won the ${n}?`,
      paraphrase: `Who was the champion of the ${n}?`,
      support: [
        { doc: e.id, needle: `The winner was ${winner}.` },
        { doc: e.winner, needle: `They won the ${n}.` },
      ],
    },
    {
      kind: 'organiser',
      subject: e.id,
      answer: org,
      aliases: [],
      question: `Which organisation organised the ${n}?`,
      paraphrase: `Who hosted the ${n}?`,
      support: [{ doc: e.id, needle: `It was organised by ${org}.` }],
    },
  ];
}

/** Every fact the corpus states about an entity (its current article). */
export function factsAbout(w: World, e: Entity): Fact[] {
  switch (e.kind) {
    case 'person':
      return personFacts(w, e);
    case 'organisation':
      return orgFacts(w, e);
    case 'city':
      return cityFacts(w, e);
    case 'country':
      return countryFacts(w, e);
    case 'event':
      return eventFacts(w, e);
  }
}

/** The fact of `kind` about `e`; throws when the entity has none (a generator bug). */
export function factOf(w: World, e: Entity, kind: string): Fact {
  const f = factsAbout(w, e).find((x) => x.kind === kind);
  if (!f) throw new Error(`${e.id} has no fact '${kind}'`);
  return f;
}

const flat = (s: string): string => s.replace(/\s+/g, ' ');

/** Chunk ids that hold the fact (its gold group); throws when none does, which is a bug in the fragments. */
export function supportOf(fact: Fact, chunksOf: (doc: string) => readonly Chunk[]): string[] {
  const ids: string[] = [];
  for (const s of fact.support) for (const c of chunksOf(s.doc)) if (flat(c.text).includes(s.needle)) ids.push(c.id);
  if (ids.length === 0)
    throw new Error(
      `no chunk holds the ${fact.kind} fact of ${fact.subject} ("${fact.support[0]?.needle}"): the fragments in envs/rag/facts.ts no longer match tools/corpus/render.ts`,
    );
  return [...new Set(ids)];
}
