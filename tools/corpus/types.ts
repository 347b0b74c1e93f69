/**
 * Shapes of a generated world and of a corpus of documents.
 *
 * A `World` is the ground truth (entities and typed facts); a `Corpus` is what tools see (documents
 * with text and links). Generated worlds produce both; a user's folder or JSONL file produces only a
 * corpus.
 */

export type EntityKind = 'person' | 'organisation' | 'city' | 'country' | 'event';

/** A dated value: facts that changed keep their history (oldest first, the last one is current). */
export interface Dated<T> {
  value: T;
  /** First year this value held. */
  since: number;
}

export interface Person {
  kind: 'person';
  id: string;
  name: string;
  born: { year: number; month: number; day: number };
  birthplace: string; // city id
  occupation: string;
  employer: string; // organisation id
  almaMater?: string; // organisation id (a university)
  spouse?: string; // person id
}

export interface Organisation {
  kind: 'organisation';
  id: string;
  name: string;
  type: string; // 'company' | 'university' | ...
  founded: number;
  founder: string; // person id
  headquarters: Dated<string>[]; // city ids
  director: Dated<string>[]; // person ids
  employees: number;
}

export interface City {
  kind: 'city';
  id: string;
  name: string;
  country: string; // country id
  founded: number;
  population: Dated<number>[];
  mayor: Dated<string>[]; // person ids
}

export interface Country {
  kind: 'country';
  id: string;
  name: string;
  capital: string; // city id
  currency: string;
  independence: number;
}

export interface WorldEvent {
  kind: 'event';
  id: string;
  name: string;
  year: number;
  month: number;
  location: string; // city id
  organiser: string; // organisation id
  winner: string; // person id
}

export type Entity = Person | Organisation | City | Country | WorldEvent;

export interface World {
  seed: number;
  /** The year "now" is in the world: the current value of a changed fact holds in this year. */
  year: number;
  entities: Map<string, Entity>;
  people: Person[];
  organisations: Organisation[];
  cities: City[];
  countries: Country[];
  events: WorldEvent[];
  /** Entity id -> ids of entities whose names are deliberately close to it (distractors). */
  namesakes: Map<string, string[]>;
}

export interface DocLink {
  /** Text of the link as it reads in the document. */
  text: string;
  /** Target document id. */
  target: string;
}

export type DocKind = EntityKind | 'snapshot' | 'page';

/** One document of a corpus: plain readable text plus its outgoing links. */
export interface Doc {
  id: string;
  title: string;
  /** Site-relative URL, e.g. `/wiki/ilvar-tesk`. */
  url: string;
  kind: DocKind;
  /** Plain text, paragraphs separated by blank lines; link texts appear inline. */
  text: string;
  links: DocLink[];
  /** The entity the document is about (generated corpora only). */
  entity?: string;
}

export interface Corpus {
  docs: Doc[];
  byId: Map<string, Doc>;
  /** Generated corpora keep their world; loaded corpora have none. */
  world?: World;
}
