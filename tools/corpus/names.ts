/**
 * Fictional names from syllables, so that no fact in a generated world can have been memorised by a
 * model: every answer must come from the corpus.
 */
import type { Rng } from '../rng.js';

export const ONSETS = [
  'b',
  'br',
  'c',
  'd',
  'dr',
  'f',
  'g',
  'h',
  'k',
  'kr',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  'sk',
  't',
  'th',
  'tr',
  'v',
  'vr',
  'z',
  'j',
  'w',
  'st',
];
export const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ei', 'ou', 'ae', 'y'];
export const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'm', 'k', 't', 'nd', 'rt', 'sk', 'x'];

export const CITY_SUFFIXES = ['holm', 'vik', 'ra', 'berg', 'mouth', 'ford', 'ova', 'stad', 'grad', 'haven', 'polis', 'mere'];
export const COUNTRY_SUFFIXES = ['ia', 'land', 'ora', 'istan', 'avia', 'eria'];

export const OCCUPATIONS = [
  'physicist',
  'architect',
  'novelist',
  'cartographer',
  'chemist',
  'composer',
  'economist',
  'engineer',
  'historian',
  'painter',
  'botanist',
  'diplomat',
  'linguist',
  'mathematician',
  'sculptor',
  'astronomer',
  'journalist',
  'geologist',
  'surgeon',
  'film director',
];

export const ORG_TYPES = [
  'company',
  'university',
  'institute',
  'orchestra',
  'publishing house',
  'shipping line',
  'observatory',
  'bank',
];

export const ORG_WORDS: Record<string, string[]> = {
  company: ['Works', 'Industries', 'Dynamics', 'Foundry', 'Systems'],
  university: ['University'],
  institute: ['Institute', 'Academy', 'Laboratory'],
  orchestra: ['Philharmonic', 'Symphony Orchestra', 'Ensemble'],
  'publishing house': ['Press', 'Publishing', 'Editions'],
  'shipping line': ['Shipping Line', 'Maritime', 'Navigation Company'],
  observatory: ['Observatory'],
  bank: ['Bank', 'Savings Bank', 'Credit Union'],
};

export const EVENT_KINDS = [
  'Chess Open',
  'Marathon',
  'Film Festival',
  'Science Fair',
  'Regatta',
  'Poetry Prize',
  'Architecture Biennale',
  'Piano Competition',
];

export const CURRENCY_WORDS = ['crown', 'mark', 'florin', 'dinar', 'thaler', 'lira', 'shell', 'talent'];

export const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A pronounceable word of `n` syllables. */
export function word(rng: Rng, syllables: number): string {
  let out = '';
  for (let i = 0; i < syllables; i++) out += rng.pick(ONSETS) + rng.pick(VOWELS) + (i === syllables - 1 ? rng.pick(CODAS) : '');
  return out;
}

export function personName(rng: Rng): string {
  return `${capitalise(word(rng, rng.int(1, 2)))} ${capitalise(word(rng, rng.int(2, 3)))}`;
}

export function cityName(rng: Rng): string {
  return capitalise(word(rng, rng.int(1, 2)) + rng.pick(CITY_SUFFIXES));
}

export function countryName(rng: Rng): string {
  return capitalise(word(rng, rng.int(1, 2)) + rng.pick(COUNTRY_SUFFIXES));
}

export function orgName(rng: Rng, type: string, place: string): string {
  const words = ORG_WORDS[type] ?? ['Society'];
  const w = rng.pick(words);
  if (type === 'university' && rng.bool(0.5)) return `University of ${place}`;
  return `${capitalise(word(rng, rng.int(2, 3)))} ${w}`;
}

/**
 * A near-namesake: the same name with one letter of the last word changed, added or dropped
 * ("Ilvar Tesk" -> "Ilvar Teske"), the kind of distractor a careless reader confuses.
 */
export function nearName(rng: Rng, name: string): string {
  const parts = name.split(' ');
  const last = parts[parts.length - 1] as string;
  const pos = rng.int(1, Math.max(1, last.length - 1));
  const letter = rng.pick(['a', 'e', 'i', 'o', 'n', 'r', 's', 'l']);
  const op = rng.int(0, 2);
  let changed: string;
  if (op === 0) changed = last.slice(0, pos) + letter + last.slice(pos + 1);
  else if (op === 1) changed = last.slice(0, pos) + letter + last.slice(pos);
  else changed = last.length > 4 ? last.slice(0, pos) + last.slice(pos + 1) : last + letter;
  parts[parts.length - 1] = changed;
  return parts.join(' ');
}

/** `Ilvar Tesk` -> `ilvar-tesk`. */
export function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export function formatDate(d: { year: number; month: number; day: number }): string {
  return `${d.day} ${MONTHS[d.month - 1]} ${d.year}`;
}

/** Thousands separators, written the same on every machine (no locale). */
export function formatNumber(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
