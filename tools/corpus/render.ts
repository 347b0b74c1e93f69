/**
 * Renders a world as encyclopedia-style articles with links, plus archived snapshots whose outdated
 * facts are marked as such (the distractors of the `changed` tasks).
 *
 * Articles are written with inline link markers `[[target-id|link text]]`, then split into plain
 * text and a link list, so every format (open's readable text, the HTML site) comes from one source.
 */
import { Rng } from '../rng.js';
import { formatDate, formatNumber, MONTHS } from './names.js';
import type { City, Country, Doc, DocKind, Entity, Organisation, Person, World, WorldEvent } from './types.js';
import { current, entity, previous } from './world.js';

const ADJ = [
  'quiet',
  'busy',
  'old',
  'restored',
  'narrow',
  'broad',
  'famous',
  'modest',
  'ornate',
  'wooden',
  'stone',
  'coastal',
  'hilly',
  'sunlit',
  'foggy',
];
const NOUN = [
  'harbour',
  'market',
  'library',
  'bridge',
  'garden',
  'archive',
  'square',
  'canal',
  'theatre',
  'workshop',
  'lighthouse',
  'museum',
  'station',
  'vineyard',
  'quarry',
  'monastery',
];
const TOPIC = [
  'optics',
  'tidal energy',
  'folk music',
  'glass making',
  'railway signalling',
  'bookbinding',
  'weather records',
  'river trade',
  'printing',
  'bell casting',
  'salt works',
  'clock making',
];

const LINK_RE = /\[\[([^|\]]+)\|([^\]]+)\]\]/g;

/** Splits `[[id|text]]` markers into plain text and an ordered, de-duplicated link list. */
export function resolveLinks(source: string): { text: string; links: Doc['links'] } {
  const links: Doc['links'] = [];
  const seen = new Set<string>();
  const text = source.replace(LINK_RE, (_m, target: string, label: string) => {
    if (!seen.has(target)) {
      seen.add(target);
      links.push({ text: label, target });
    }
    return label;
  });
  return { text, links };
}

function filler(rng: Rng, subject: string, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = rng.int(0, 5);
    const a = rng.pick(ADJ);
    const b = rng.pick(NOUN);
    const c = rng.pick(NOUN);
    const topic = rng.pick(TOPIC);
    const an = /^[aeiou]/.test(a) ? 'an' : 'a';
    if (t === 0) out.push(`Accounts of ${subject} often mention the ${a} ${b} and the ${c} nearby.`);
    else if (t === 1) out.push(`A long essay on ${topic} discusses ${subject} in some detail.`);
    else if (t === 2) out.push(`Local guides describe ${an} ${a} ${b} associated with ${subject}.`);
    else if (t === 3) out.push(`Letters kept in ${an} ${a} ${c} refer to ${subject} and to ${topic}.`);
    else if (t === 4) out.push(`Several photographs of the ${b} were published alongside notes on ${topic}.`);
    else out.push(`Critics have compared ${subject} with the ${a} ${c} traditions of the region.`);
  }
  return out.join(' ');
}

class Writer {
  private readonly parts: string[] = [];
  constructor(private readonly world: World) {}

  link(id: string): string {
    const e = this.world.entities.get(id);
    return e ? `[[${id}|${e.name}]]` : id;
  }
  heading(h: string): void {
    this.parts.push(`## ${h}`);
  }
  para(p: string): void {
    this.parts.push(p);
  }
  source(): string {
    return this.parts.join('\n\n');
  }
}

function doc(id: string, title: string, kind: DocKind, source: string, entityId?: string): Doc {
  const { text, links } = resolveLinks(source);
  return { id, title, url: `/wiki/${id}`, kind, text, links, ...(entityId ? { entity: entityId } : {}) };
}

function namesakeNote(w: World, out: Writer, id: string): void {
  const twins = w.namesakes.get(id);
  if (twins && twins.length > 0) out.para(`Not to be confused with ${twins.map((t) => out.link(t)).join(', ')}.`);
}

function personDoc(w: World, p: Person, rng: Rng, related: Map<string, string[]>): Doc {
  const out = new Writer(w);
  namesakeNote(w, out, p.id);
  const city = entity(w, p.birthplace, 'city');
  out.para(
    `${p.name} (born ${formatDate(p.born)} in ${out.link(p.birthplace)}, ${out.link(city.country)}) is ${/^[aeiou]/.test(p.occupation) ? 'an' : 'a'} ${p.occupation} who works for ${out.link(p.employer)}.`,
  );
  out.heading('Early life');
  out.para(`${p.name} grew up in ${out.link(p.birthplace)}. ${filler(rng, p.name, 4)}`);
  if (p.almaMater) out.para(`${p.name} studied at ${out.link(p.almaMater)}.`);
  out.heading('Career');
  out.para(`As a ${p.occupation}, ${p.name} joined ${out.link(p.employer)}. ${filler(rng, p.name, 6)}`);
  const roles = related.get(p.id);
  if (roles && roles.length > 0) out.para(roles.join(' '));
  if (p.spouse) {
    out.heading('Personal life');
    out.para(`${p.name} is married to ${out.link(p.spouse)}.`);
  }
  return doc(p.id, p.name, 'person', out.source(), p.id);
}

function orgDoc(w: World, o: Organisation, rng: Rng, asOf?: number): Doc {
  const out = new Writer(w);
  const hq = asOf === undefined ? current(o.headquarters) : (previous(o.headquarters)?.value ?? current(o.headquarters));
  const dir = asOf === undefined ? current(o.director) : (previous(o.director)?.value ?? current(o.director));
  out.para(`${o.name} is a ${o.type} founded in ${o.founded} by ${out.link(o.founder)}. It is headquartered in ${out.link(hq)}.`);
  out.heading('History');
  const oldHq = previous(o.headquarters);
  if (asOf === undefined && oldHq) {
    out.para(
      `The headquarters were in ${out.link(oldHq.value)} until ${o.headquarters[1]?.since}, when they moved to ${out.link(hq)}.`,
    );
  }
  out.para(filler(rng, o.name, 6));
  out.heading('Leadership');
  const oldDir = previous(o.director);
  if (asOf === undefined && oldDir) {
    out.para(
      `The current director is ${out.link(dir)}, since ${o.director[1]?.since}. The previous director was ${out.link(oldDir.value)} (from ${oldDir.since}).`,
    );
  } else out.para(`The director is ${out.link(dir)}.`);
  out.para(`It employs about ${formatNumber(o.employees)} people.`);
  return asOf === undefined ? doc(o.id, o.name, 'organisation', out.source(), o.id) : snapshotDoc(o, asOf, out);
}

function cityDoc(w: World, c: City, rng: Rng, natives: string[], asOf?: number): Doc {
  const out = new Writer(w);
  namesakeNote(w, out, c.id);
  const pop = asOf === undefined ? c.population[c.population.length - 1] : c.population[0];
  const mayor = asOf === undefined ? current(c.mayor) : (previous(c.mayor)?.value ?? current(c.mayor));
  out.para(
    `${c.name} is a city in ${out.link(c.country)}, founded in ${c.founded}. Its population was ${formatNumber(pop?.value ?? 0)} at the ${pop?.since} census.`,
  );
  out.heading('Government');
  const oldMayor = previous(c.mayor);
  if (asOf === undefined && oldMayor)
    out.para(
      `The current mayor is ${out.link(mayor)}, in office since ${c.mayor[1]?.since}. The previous mayor was ${out.link(oldMayor.value)}.`,
    );
  else out.para(`The mayor is ${out.link(mayor)}.`);
  if (asOf === undefined)
    out.para(
      `At the earlier census of ${c.population[0]?.since} the population was ${formatNumber(c.population[0]?.value ?? 0)}.`,
    );
  out.heading('Landmarks');
  out.para(filler(rng, c.name, 6));
  if (asOf === undefined && natives.length > 0) {
    out.heading('Notable people');
    out.para(
      `People born in ${c.name} include ${natives
        .slice(0, 8)
        .map((id) => out.link(id))
        .join(', ')}.`,
    );
  }
  return asOf === undefined ? doc(c.id, c.name, 'city', out.source(), c.id) : snapshotDoc(c, asOf, out);
}

function countryDoc(w: World, c: Country, rng: Rng, cities: string[]): Doc {
  const out = new Writer(w);
  out.para(
    `${c.name} is a country whose capital is ${out.link(c.capital)}. It became independent in ${c.independence}; its currency is the ${c.currency}.`,
  );
  out.heading('Cities');
  out.para(
    `Cities of ${c.name} include ${cities
      .slice(0, 12)
      .map((id) => out.link(id))
      .join(', ')}.`,
  );
  out.heading('Culture');
  out.para(filler(rng, c.name, 6));
  return doc(c.id, c.name, 'country', out.source(), c.id);
}

function eventDoc(w: World, e: WorldEvent, rng: Rng): Doc {
  const out = new Writer(w);
  out.para(
    `The ${e.name} was held in ${out.link(e.location)} in ${MONTHS[e.month - 1]} ${e.year}. It was organised by ${out.link(e.organiser)}.`,
  );
  out.heading('Results');
  out.para(`The winner was ${out.link(e.winner)}. ${filler(rng, `the ${e.name}`, 5)}`);
  return doc(e.id, e.name, 'event', out.source(), e.id);
}

/** An archived copy of an article, dated before a fact changed, with a banner saying so. */
function snapshotDoc(e: Organisation | City, asOf: number, body: Writer): Doc {
  const banner = `Archived snapshot of ${e.name} as of ${asOf}. This page is outdated: some facts below have since changed; see the current article [[${e.id}|${e.name}]].`;
  const id = `${e.id}-archived-${asOf}`;
  return doc(id, `${e.name} (archived ${asOf})`, 'snapshot', `${banner}\n\n${body.source()}`, e.id);
}

/** Role sentences shown on a person's page (founder of, director of, mayor of, winner of). */
function roles(w: World): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const add = (p: string, s: string): void => {
    const l = m.get(p) ?? [];
    if (l.length < 6) l.push(s);
    m.set(p, l);
  };
  for (const o of w.organisations) add(o.founder, `In ${o.founded} they founded [[${o.id}|${o.name}]].`);
  for (const e of w.events) add(e.winner, `They won the [[${e.id}|${e.name}]].`);
  return m;
}

/**
 * All documents of a world: one article per entity, then archived snapshots of changed entities
 * until `snapshots` of them exist. Order is fixed (kind, then generation order).
 */
export function renderWorld(world: World, snapshots: number): Doc[] {
  const rng = new Rng(world.seed).fork('text');
  const natives = new Map<string, string[]>();
  for (const p of world.people) natives.set(p.birthplace, [...(natives.get(p.birthplace) ?? []), p.id]);
  const citiesOf = new Map<string, string[]>();
  for (const c of world.cities) citiesOf.set(c.country, [...(citiesOf.get(c.country) ?? []), c.id]);
  const related = roles(world);
  const docs: Doc[] = [];
  for (const c of world.countries) docs.push(countryDoc(world, c, rng, citiesOf.get(c.id) ?? []));
  for (const c of world.cities) docs.push(cityDoc(world, c, rng, natives.get(c.id) ?? []));
  for (const o of world.organisations) docs.push(orgDoc(world, o, rng));
  for (const p of world.people) docs.push(personDoc(world, p, rng, related));
  for (const e of world.events) docs.push(eventDoc(world, e, rng));
  const changed: Array<City | Organisation> = [
    ...world.cities.filter((c) => c.mayor.length > 1),
    ...world.organisations.filter((o) => o.headquarters.length > 1 || o.director.length > 1),
  ];
  for (const e of changed.slice(0, snapshots)) {
    const asOf =
      e.kind === 'city'
        ? (e.mayor[1]?.since ?? 2015) - 1
        : Math.min(e.headquarters[1]?.since ?? 9999, e.director[1]?.since ?? 9999) - 1;
    docs.push(e.kind === 'city' ? cityDoc(world, e, rng, [], asOf) : orgDoc(world, e, rng, asOf));
  }
  return docs;
}

export type { Entity };
