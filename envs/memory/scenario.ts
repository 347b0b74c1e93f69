/**
 * A memory scenario: the sessions a scripted user has with the agent, the facts each one states (or
 * changes), and the questions of the last session with their answers. Generated ones and a user's
 * own (JSONL, one scenario a line, `ScenarioSchema`) have the same shape.
 *
 * A fact is `key: value`. `set` gives a key its value (a later `set` supersedes the earlier value),
 * `add` adds one item to a list key (across sessions), `retract` says the key no longer holds. The
 * verifier reads what was superseded from these; the oracle stores them as `key: value` lines.
 */
import { z } from 'zod';
import { Rng } from '../../tools/index.js';

// ---------------------------------------------------------------------------------------------
// Schema (what a JSONL line holds)

export const ABILITIES = ['extraction', 'multi-session', 'temporal', 'update', 'abstention'] as const;
export const AbilitySchema = z.enum(ABILITIES);
export type Ability = z.infer<typeof AbilitySchema>;

export const FactSchema = z.object({
  key: z.string().min(1).describe('What the fact is about, e.g. "home city" or "visited city".'),
  value: z.string().min(1).describe('Its value, e.g. "Porto" (a date as YYYY-MM-DD).'),
  op: z
    .enum(['set', 'add', 'retract'])
    .default('set')
    .describe(
      'set: the key now has this value (superseding an earlier one); add: one more item of a list; retract: no longer true.',
    ),
});
export type Fact = z.infer<typeof FactSchema>;

export const SessionSchema = z.object({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional()
    .describe('The session date, shown to the agent in the session header.'),
  user: z.string().min(1).describe("The user's message that opens the session."),
  facts: z
    .array(FactSchema)
    .default([])
    .describe('The facts the message states (what the oracle stores and the verifier checks).'),
});
export type Session = z.infer<typeof SessionSchema>;

export const QuestionSchema = z.object({
  question: z.string().min(1),
  answer: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1), z.null()])
    .describe('The answer; a list for list questions (compared as a set); null when the right reply is "I don\'t know".'),
  keys: z.array(z.string()).optional().describe('The fact keys the answer comes from (the oracle looks them up).'),
  kind: z
    .enum(['value', 'list', 'earliest'])
    .default('value')
    .describe("value: the key's current value; list: every item of a list key; earliest: which of the keys (dates) came first."),
});
export type Question = z.infer<typeof QuestionSchema>;

export const ScenarioSchema = z.object({
  ability: AbilitySchema.default('extraction'),
  difficulty: z.number().int().min(1).max(5).default(1),
  sessions: z.array(SessionSchema).min(1).describe('Sessions before the questions, in order.'),
  questions: z.array(QuestionSchema).min(1).describe('Asked one by one in a last session of their own.'),
  questionDate: z.string().optional().describe('Date of the question session.'),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

// ---------------------------------------------------------------------------------------------
// The user's turns of a scenario

export interface ScriptTurn {
  content: string;
  /** Opens a new session (context). */
  newContext: boolean;
  /** The question this turn asks (index into `questions`), for turns of the last session. */
  question?: number;
}

function header(i: number, n: number, date?: string): string {
  return `[Session ${i + 1} of ${n}${date ? ` · ${date}` : ''}]`;
}

/** Every user turn of the episode: one per session, then one per question (the first opens the last session). */
export function scriptOf(s: Scenario): ScriptTurn[] {
  const n = s.sessions.length + 1;
  const out: ScriptTurn[] = s.sessions.map((x, i) => ({
    content: `${header(i, n, x.date)}\n${x.user}`,
    newContext: i > 0,
  }));
  s.questions.forEach((q, k) => {
    out.push({
      content: k === 0 ? `${header(n - 1, n, s.questionDate)}\n${q.question}` : q.question,
      newContext: k === 0,
      question: k,
    });
  });
  return out;
}

/** Index of the first question turn. */
export function firstQuestionTurn(s: Scenario): number {
  return s.sessions.length;
}

/** Values that were current once and later superseded (by a new `set`) or retracted. */
export function supersededValues(s: Scenario): string[] {
  const current = new Map<string, string>();
  const out: string[] = [];
  for (const sess of s.sessions)
    for (const f of sess.facts) {
      const old = current.get(f.key);
      if (f.op === 'set') {
        if (old !== undefined && old !== f.value) out.push(old);
        current.set(f.key, f.value);
      } else if (f.op === 'retract') {
        if (old !== undefined) out.push(old);
        current.delete(f.key);
      }
    }
  const live = new Set(current.values());
  return [...new Set(out)].filter((v) => !live.has(v));
}

// ---------------------------------------------------------------------------------------------
// The generator

const ONSETS = ['b', 'br', 'd', 'dr', 'f', 'g', 'k', 'kr', 'l', 'm', 'n', 'p', 'r', 's', 'st', 't', 'tr', 'v', 'z', 'th'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ei', 'ou', 'ae'];
const CODAS = ['', '', 'n', 'r', 's', 'l', 'm', 'k', 'nd', 'rt'];
const FOODS = [
  'ramen',
  'paella',
  'dumplings',
  'lasagne',
  'falafel',
  'pho',
  'risotto',
  'tacos',
  'curry',
  'gnocchi',
  'borscht',
  'ceviche',
];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const CARS = ['hatchback', 'pickup truck', 'station wagon', 'minivan', 'roadster', 'sedan', 'camper van', 'coupe'];
const RELATIONS = ['sister', 'brother', 'cousin', 'neighbour', 'colleague', 'friend'];
const EVENTS = [
  'adopted a cat',
  'ran a half marathon',
  'started piano lessons',
  'bought a bicycle',
  'got a promotion',
  'moved my desk to the attic',
  'planted an apple tree',
  'passed my driving test',
  'joined a choir',
  'painted the kitchen',
];
const CHATTER = [
  'Can you suggest a name for a book club? Nothing too serious.',
  'What is a good way to keep basil alive on a windowsill?',
  'I am bored. Tell me something interesting about octopuses.',
  'How long should I boil an egg for a soft yolk?',
  'Give me a short riddle, please.',
  'What is a polite way to decline a meeting invitation?',
  'Any tips for falling asleep faster?',
  'Which is heavier, a kilo of feathers or a kilo of bricks?',
];

function word(rng: Rng, syllables: number): string {
  let w = '';
  for (let i = 0; i < syllables; i++) w += rng.pick(ONSETS) + rng.pick(VOWELS) + (i === syllables - 1 ? rng.pick(CODAS) : '');
  return w[0].toUpperCase() + w.slice(1);
}

interface KeyKind {
  key: string;
  value(rng: Rng): string;
  say(v: string): string;
  change(v: string): string;
}

const SELF_KEYS: KeyKind[] = [
  {
    key: 'home city',
    value: (r) => `${word(r, 2)}${r.pick(['holm', 'vik', 'berg', 'ford', 'haven', 'stad'])}`,
    say: (v) => `I live in ${v}.`,
    change: (v) => `Big news: I moved. I live in ${v} now.`,
  },
  {
    key: 'employer',
    value: (r) => `${word(r, 2)} ${r.pick(['Labs', 'Works', 'Logistics', 'Bakery', 'Studio', 'Systems'])}`,
    say: (v) => `I work at ${v}.`,
    change: (v) => `I changed jobs: I work at ${v} now.`,
  },
  {
    key: 'favourite food',
    value: (r) => r.pick(FOODS),
    say: (v) => `My favourite food is ${v}.`,
    change: (v) => `My taste changed: my favourite food is ${v} these days.`,
  },
  {
    key: 'gym day',
    value: (r) => r.pick(WEEKDAYS),
    say: (v) => `I go to the gym on ${v}s.`,
    change: (v) => `I switched my gym day to ${v}.`,
  },
  {
    key: 'car',
    value: (r) => `${r.pick(['red', 'blue', 'green', 'silver', 'black', 'yellow'])} ${r.pick(CARS)}`,
    say: (v) => `I drive a ${v}.`,
    change: (v) => `I sold my old car; I drive a ${v} now.`,
  },
  {
    key: "dog's name",
    value: (r) => word(r, 2),
    say: (v) => `My dog is called ${v}.`,
    change: (v) => `We renamed our dog: he answers to ${v} now.`,
  },
  {
    key: "partner's name",
    value: (r) => word(r, 2),
    say: (v) => `My partner's name is ${v}.`,
    change: (v) => `Correction: my partner's name is ${v}, not what I said before.`,
  },
];

const LIST_KEYS = [
  {
    key: 'visited city',
    question: 'Which cities have I visited? List them all.',
    say: (v: string) => `Last weekend I visited ${v}.`,
  },
  {
    key: 'book read',
    question: 'Which books have I finished reading? List them all.',
    say: (v: string) => `I finished reading "${v}".`,
  },
];

/** Self facts have questions; a relation's fact on the same key is the interference. */
function relationFact(rel: string, k: KeyKind, v: string): { fact: Fact; text: string } {
  const text = k
    .say(v)
    .replace(/^I live/, `My ${rel} lives`)
    .replace(/^I work/, `My ${rel} works`)
    .replace(/^I go/, `My ${rel} goes`)
    .replace(/^I drive/, `My ${rel} drives`)
    .replace(/^My /, `My ${rel}'s `)
    .replace(`My ${rel}'s ${rel}`, `My ${rel}`);
  return { fact: { key: `${rel}'s ${k.key}`, value: v, op: 'set' }, text };
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Knobs a difficulty sets. */
export function knobs(difficulty: number): { factSessions: number; interfering: number; distractors: number } {
  return { factSessions: difficulty + 1, interfering: difficulty - 1, distractors: Math.floor(difficulty / 2) };
}

/**
 * A scenario of `ability` at `difficulty`, all drawn from `seed`: fact sessions (their number, the
 * interfering facts about other people and the chit-chat sessions grow with difficulty), then the
 * questions that test the ability.
 */
export function generateScenario(ability: Ability, difficulty: number, seed: number): Scenario {
  const rng = new Rng(seed);
  const k = knobs(difficulty);
  const sessions: Array<{ texts: string[]; facts: Fact[] }> = Array.from({ length: k.factSessions }, () => ({
    texts: [],
    facts: [],
  }));
  const put = (i: number, text: string, fact?: Fact): void => {
    sessions[i].texts.push(text);
    if (fact) sessions[i].facts.push(fact);
  };
  const keys = rng.shuffle(SELF_KEYS);
  const used = new Set<string>();
  const fresh = (kk: KeyKind): string => {
    for (;;) {
      const v = kk.value(rng);
      if (!used.has(v.toLowerCase())) {
        used.add(v.toLowerCase());
        return v;
      }
    }
  };
  // Background facts about the user in every fact session (so each session has something to store).
  const background = keys.slice(0, k.factSessions);
  background.forEach((kk, i) => {
    const value = fresh(kk);
    put(i, kk.say(value), { key: kk.key, value, op: 'set' });
  });
  const questions: Question[] = [];
  const rest = keys.slice(k.factSessions);
  const pickSession = (): number => rng.int(0, k.factSessions - 1);

  switch (ability) {
    case 'extraction': {
      const n = difficulty >= 3 ? 2 : 1;
      for (const kk of rng.sample(background, n)) {
        const f = sessions.flatMap((s) => s.facts).find((x) => x.key === kk.key) as Fact;
        questions.push({ question: questionFor(kk.key), answer: f.value, keys: [kk.key], kind: 'value' });
      }
      break;
    }
    case 'update': {
      const kk = background[0];
      let last = (sessions[0].facts[0] as Fact).value;
      const changes = difficulty >= 4 ? 2 : 1;
      for (let c = 0; c < changes; c++) {
        const at = Math.min(k.factSessions - 1, 1 + c + (difficulty >= 3 ? rng.int(0, 1) : 0));
        last = fresh(kk);
        put(at, kk.change(last), { key: kk.key, value: last, op: 'set' });
      }
      questions.push({ question: questionFor(kk.key), answer: last, keys: [kk.key], kind: 'value' });
      if (difficulty >= 5 && background[1]) {
        const f = sessions[1].facts.find((x) => x.key === background[1].key) as Fact;
        questions.push({ question: questionFor(f.key), answer: f.value, keys: [f.key], kind: 'value' });
      }
      break;
    }
    case 'multi-session': {
      const lk = rng.pick(LIST_KEYS);
      const items = Math.min(k.factSessions, 2 + Math.floor(difficulty / 2));
      const at = rng.sample(
        Array.from({ length: k.factSessions }, (_, i) => i),
        items,
      );
      const values: string[] = [];
      for (const i of at.sort((a, b) => a - b)) {
        const v =
          lk.key === 'visited city' ? `${word(rng, 2)}${rng.pick(['mouth', 'grad', 'mere', 'polis'])}` : `The ${word(rng, 3)}`;
        values.push(v);
        put(i, lk.say(v), { key: lk.key, value: v, op: 'add' });
      }
      questions.push({ question: lk.question, answer: values, keys: [lk.key], kind: 'list' });
      break;
    }
    case 'temporal': {
      const evs = rng.sample(EVENTS, Math.min(k.factSessions, 2 + Math.floor(difficulty / 3)));
      const at = rng.sample(
        Array.from({ length: k.factSessions }, (_, i) => i),
        evs.length,
      );
      evs.forEach((e, j) => {
        put(at[j], `Today I ${e}.`, { key: e, value: '', op: 'set' });
      });
      // Values (dates) are filled in once session dates are known, below.
      questions.push(
        difficulty <= 2
          ? { question: `On what date did I ${verbOf(evs[0])}? Answer as YYYY-MM-DD.`, answer: '', keys: [evs[0]], kind: 'value' }
          : {
              question: `Which did I do first: "${evs[0]}" or "${evs[1]}"? Answer with one of the two, exactly as written.`,
              answer: '',
              keys: [evs[0], evs[1]],
              kind: 'earliest',
            },
      );
      break;
    }
    case 'abstention': {
      const absent = rest[0] ?? SELF_KEYS[0];
      questions.push({ question: questionFor(absent.key), answer: null, keys: [absent.key], kind: 'value' });
      if (difficulty >= 3) {
        const f = sessions[0].facts[0] as Fact;
        questions.push({ question: questionFor(f.key), answer: f.value, keys: [f.key], kind: 'value' });
      }
      // An interfering fact on the missing key, about someone else: the trap that must not be answered.
      const rel = rng.pick(RELATIONS);
      const { fact, text } = relationFact(rel, absent, fresh(absent));
      put(pickSession(), text, fact);
      break;
    }
  }

  // Interference: the same kinds of fact about other people.
  for (let i = 0; i < k.interfering; i++) {
    const rel = rng.pick(RELATIONS);
    const kk = rng.pick(SELF_KEYS);
    if (sessions.some((s) => s.facts.some((f) => f.key === `${rel}'s ${kk.key}`))) continue;
    const { fact, text } = relationFact(rel, kk, fresh(kk));
    put(pickSession(), text, fact);
  }

  // Dates: sessions a few days apart; distractor sessions slotted in between.
  let date = addDays('2024-01-01', rng.int(0, 300));
  const out: Session[] = [];
  const chatter = rng.sample(CHATTER, k.distractors);
  const distractAt = new Set(
    rng.sample(
      Array.from({ length: k.factSessions }, (_, i) => i + 1),
      k.distractors,
    ),
  );
  let c = 0;
  sessions.forEach((s, i) => {
    if (distractAt.has(i) && c < chatter.length) {
      out.push({ date, user: chatter[c++], facts: [] });
      date = addDays(date, rng.int(1, 9));
    }
    const facts = s.facts.map((f) => (f.value === '' ? { ...f, value: date } : f));
    out.push({
      date,
      user: rng
        .shuffle(s.texts.map((t, j) => ({ t, j })))
        .map((x) => x.t)
        .join(' '),
      facts,
    });
    date = addDays(date, rng.int(1, 20));
  });
  const questionDate = addDays(date, rng.int(1, 10));
  const scenario: Scenario = { ability, difficulty, sessions: out, questions, questionDate };
  if (ability === 'temporal') fillTemporal(scenario);
  return scenario;
}

function verbOf(event: string): string {
  const [v, ...rest] = event.split(' ');
  const base: Record<string, string> = {
    adopted: 'adopt',
    ran: 'run',
    started: 'start',
    bought: 'buy',
    got: 'get',
    moved: 'move',
    planted: 'plant',
    passed: 'pass',
    joined: 'join',
    painted: 'paint',
  };
  return [base[v] ?? v, ...rest].join(' ');
}

/** A temporal question's answer from the dates its events were stated on. */
function fillTemporal(s: Scenario): void {
  const dateOf = new Map<string, string>();
  for (const sess of s.sessions) for (const f of sess.facts) dateOf.set(f.key, f.value);
  for (const q of s.questions) {
    const ks = q.keys ?? [];
    if (q.kind === 'value') q.answer = dateOf.get(ks[0]) ?? null;
    else if (q.kind === 'earliest')
      q.answer = [...ks].sort((a, b) => (dateOf.get(a) ?? '').localeCompare(dateOf.get(b) ?? ''))[0];
  }
}

function questionFor(key: string): string {
  const q: Record<string, string> = {
    'home city': 'Which city do I live in?',
    employer: 'Where do I work?',
    'favourite food': 'What is my favourite food?',
    'gym day': 'On which day do I go to the gym?',
    car: 'What car do I drive?',
    "dog's name": "What is my dog's name?",
    "partner's name": "What is my partner's name?",
  };
  return q[key] ?? `What is my ${key}?`;
}
