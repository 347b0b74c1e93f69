/**
 * The world generator: from a seed, a consistent fictional world of countries, cities, people,
 * organisations and events with typed relations. Some facts change over time (mayors, headquarters,
 * directors, census figures): their history is kept, so questions can ask for the current value while
 * outdated values stay in the corpus as distractors.
 *
 * Every draw comes from a forked `Rng` per concern, so the world is a pure function of (seed, size).
 */
import { Rng } from '../rng.js';
import {
  CURRENCY_WORDS,
  cityName,
  countryName,
  EVENT_KINDS,
  nearName,
  OCCUPATIONS,
  ORG_TYPES,
  orgName,
  personName,
  slug,
} from './names.js';
import type { City, Country, Dated, Entity, Organisation, Person, World, WorldEvent } from './types.js';

export interface WorldOptions {
  seed: number;
  /** Approximate number of entities (each becomes one article). */
  entities: number;
  /** The world's present year. */
  year?: number;
}

/** Counts per kind for a world of `n` entities (shares chosen so every relation has targets). */
export function worldShape(n: number): Record<'countries' | 'cities' | 'organisations' | 'events' | 'people', number> {
  const countries = Math.max(3, Math.round(n * 0.012));
  const cities = Math.max(6, Math.round(n * 0.14));
  const organisations = Math.max(6, Math.round(n * 0.2));
  const events = Math.max(3, Math.round(n * 0.1));
  const people = Math.max(12, n - countries - cities - organisations - events);
  return { countries, cities, organisations, events, people };
}

class NamePool {
  private readonly used = new Set<string>();
  private readonly ids = new Set<string>();

  /** Draws names until one is unused. */
  fresh(make: () => string): string {
    for (let i = 0; i < 1000; i++) {
      const n = make();
      if (!this.used.has(n)) {
        this.used.add(n);
        return n;
      }
    }
    throw new Error('name space exhausted: lower the world size or widen the syllable tables in tools/corpus/names.ts');
  }

  has(name: string): boolean {
    return this.used.has(name);
  }

  claim(name: string): void {
    this.used.add(name);
  }

  /** A unique document id from a name (`ilvar-tesk`, `ilvar-tesk-2`). */
  id(name: string): string {
    const base = slug(name) || 'doc';
    let id = base;
    for (let i = 2; this.ids.has(id); i++) id = `${base}-${i}`;
    this.ids.add(id);
    return id;
  }
}

/** A value that changed once: an older value since `first`, the current one since `changedIn`. */
function history<T>(rng: Rng, first: number, now: number, older: T, current: T, changeP: number): Dated<T>[] {
  if (!rng.bool(changeP) || now - first < 4) return [{ value: current, since: first }];
  const changedIn = rng.int(first + 2, now - 1);
  return [
    { value: older, since: first },
    { value: current, since: changedIn },
  ];
}

export function generateWorld(opts: WorldOptions): World {
  const root = new Rng(opts.seed);
  const year = opts.year ?? 2024;
  const shape = worldShape(opts.entities);
  const names = new NamePool();
  const entities = new Map<string, Entity>();
  const namesakes = new Map<string, string[]>();
  const add = <E extends Entity>(e: E): E => {
    entities.set(e.id, e);
    return e;
  };

  // Countries and cities first: everything else lives somewhere.
  const rc = root.fork('countries');
  const countries: Country[] = [];
  for (let i = 0; i < shape.countries; i++) {
    const name = names.fresh(() => countryName(rc));
    countries.push(
      add({
        kind: 'country',
        id: names.id(name),
        name,
        capital: '',
        currency: `${name.replace(/(ia|land|ora|istan|avia|eria)$/, '')} ${rc.pick(CURRENCY_WORDS)}`,
        independence: rc.int(1700, 1990),
      }),
    );
  }
  const rcity = root.fork('cities');
  const cities: City[] = [];
  for (let i = 0; i < shape.cities; i++) {
    const name = names.fresh(() => cityName(rcity));
    const country = i < countries.length ? (countries[i] as Country) : rcity.pick(countries);
    const founded = rcity.int(900, 1900);
    const pop = rcity.int(8, 3000) * 1000 + rcity.int(0, 999);
    const older = Math.round(pop * rcity.float(0.7, 0.97));
    cities.push(
      add({
        kind: 'city',
        id: names.id(name),
        name,
        country: country.id,
        founded,
        population: [
          { value: older, since: 2010 },
          { value: pop, since: 2020 },
        ],
        mayor: [],
      }),
    );
  }
  for (const c of countries) c.capital = (cities.find((x) => x.country === c.id) as City).id;

  // People: some get a near-namesake (a separate person whose name differs by one letter).
  const rp = root.fork('people');
  const people: Person[] = [];
  const makePerson = (name: string): Person => {
    const by = rp.int(1930, 2000);
    return add({
      kind: 'person',
      id: names.id(name),
      name,
      born: { year: by, month: rp.int(1, 12), day: rp.int(1, 28) },
      birthplace: rp.pick(cities).id,
      occupation: rp.pick(OCCUPATIONS),
      employer: '',
    });
  };
  while (people.length < shape.people) {
    const p = makePerson(names.fresh(() => personName(rp)));
    people.push(p);
    if (people.length < shape.people && rp.bool(0.12)) {
      let twin = '';
      for (let t = 0; t < 20 && (twin === '' || names.has(twin)); t++) twin = nearName(rp, p.name);
      if (twin !== '' && !names.has(twin)) {
        names.claim(twin);
        const q = makePerson(twin);
        people.push(q);
        namesakes.set(p.id, [q.id]);
        namesakes.set(q.id, [p.id]);
      }
    }
  }

  // Organisations: founders are people old enough; directors and headquarters may have changed.
  const ro = root.fork('organisations');
  const organisations: Organisation[] = [];
  for (let i = 0; i < shape.organisations; i++) {
    const type = i < 3 ? 'university' : ro.pick(ORG_TYPES);
    const hqNow = ro.pick(cities);
    const name = names.fresh(() => orgName(ro, type, hqNow.name));
    const founder = ro.pick(people);
    const founded = Math.min(year - 5, founder.born.year + ro.int(22, 50));
    const hqOld = ro.pick(cities);
    const dirOld = ro.pick(people);
    let dirNow = ro.pick(people);
    if (dirNow.id === dirOld.id) dirNow = people[(people.indexOf(dirOld) + 1) % people.length] as Person;
    organisations.push(
      add({
        kind: 'organisation',
        id: names.id(name),
        name,
        type,
        founded,
        founder: founder.id,
        headquarters:
          hqOld.id === hqNow.id ? [{ value: hqNow.id, since: founded }] : history(ro, founded, year, hqOld.id, hqNow.id, 0.3),
        director: history(ro, Math.max(founded, 1990), year, dirOld.id, dirNow.id, 0.5),
        employees: ro.int(12, 40000),
      }),
    );
  }
  const universities = organisations.filter((o) => o.type === 'university');
  const rw = root.fork('work');
  for (const p of people) {
    p.employer = rw.pick(organisations).id;
    if (rw.bool(0.6)) p.almaMater = rw.pick(universities).id;
  }
  // Spouses pair up distinct, unpaired people.
  for (let i = 0; i + 1 < people.length; i += 2) {
    const a = people[i] as Person;
    const b = people[i + 1] as Person;
    if (rw.bool(0.3) && !namesakes.get(a.id)?.includes(b.id)) {
      a.spouse = b.id;
      b.spouse = a.id;
    }
  }

  const rm = root.fork('mayors');
  for (const c of cities) {
    const first = rm.int(1994, 2008);
    const old = rm.pick(people);
    let now = rm.pick(people);
    if (now.id === old.id) now = people[(people.indexOf(old) + 1) % people.length] as Person;
    c.mayor = history(rm, first, year, old.id, now.id, 0.6);
  }

  const re = root.fork('events');
  const events: WorldEvent[] = [];
  for (let i = 0; i < shape.events; i++) {
    const location = re.pick(cities);
    const kind = re.pick(EVENT_KINDS);
    let ey = re.int(1950, year - 1);
    let name = `${ey} ${location.name} ${kind}`;
    for (let t = 0; names.has(name) && t < 50; t++) {
      ey = re.int(1950, year - 1);
      name = `${ey} ${location.name} ${kind}`;
    }
    if (names.has(name)) continue;
    names.claim(name);
    events.push(
      add({
        kind: 'event',
        id: names.id(name),
        name,
        year: ey,
        month: re.int(1, 12),
        location: location.id,
        organiser: re.pick(organisations).id,
        winner: re.pick(people).id,
      }),
    );
  }

  return { seed: opts.seed, year, entities, people, organisations, cities, countries, events, namesakes };
}

/** The current (last) value of a dated fact. */
export function current<T>(h: readonly Dated<T>[]): T {
  return (h[h.length - 1] as Dated<T>).value;
}

/** The outdated value of a fact that changed, if it did. */
export function previous<T>(h: readonly Dated<T>[]): Dated<T> | undefined {
  return h.length > 1 ? h[h.length - 2] : undefined;
}

/** Looks an entity up, throwing a clear error on a dangling reference (a generator bug). */
export function entity<K extends Entity['kind']>(world: World, id: string, kind: K): Extract<Entity, { kind: K }> {
  const e = world.entities.get(id);
  if (!e || e.kind !== kind)
    throw new Error(`world ${world.seed} has no ${kind} '${id}': the generator produced a dangling reference`);
  return e as Extract<Entity, { kind: K }>;
}
