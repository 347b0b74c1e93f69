/**
 * Compute families over calendars and text: `compute.dates` (weekdays, day counts, date arithmetic,
 * all in the proleptic Gregorian calendar, UTC) and `compute.strings` (counting and transforms).
 */
import type { Rng } from '../../../tools/index.js';
import { type ComputeDraw, computeFamily } from '../family.js';

// ---------------------------------------------------------------------------------------------
// Dates: pure helpers (UTC only, so no answer depends on a time zone)

const DAY_MS = 86_400_000;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const FIRST_DAY = Date.UTC(1900, 0, 1) / DAY_MS;
const LAST_DAY = Date.UTC(2100, 11, 31) / DAY_MS;

export function ymd(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function randomDay(rng: Rng): number {
  return rng.int(FIRST_DAY, LAST_DAY);
}

function weekdayOf(day: number): number {
  return new Date(day * DAY_MS).getUTCDay();
}

export function fridays13(y1: number, y2: number): number {
  let c = 0;
  for (let y = y1; y <= y2; y++) for (let m = 0; m < 12; m++) if (new Date(Date.UTC(y, m, 13)).getUTCDay() === 5) c++;
  return c;
}

function weekdaysBetween(a: number, b: number): number {
  let c = 0;
  for (let d = a; d <= b; d++) {
    const w = weekdayOf(d);
    if (w !== 0 && w !== 6) c++;
  }
  return c;
}

const dateLevels: Record<1 | 2 | 3 | 4 | 5, (rng: Rng) => ComputeDraw> = {
  1: (rng) => {
    const d = ymd(randomDay(rng));
    return {
      prompt: `What day of the week was ${d}?`,
      answer: WEEKDAYS[weekdayOf(Date.parse(d) / DAY_MS)].toLowerCase(),
      kind: 'word',
      program: `console.log(${JSON.stringify(WEEKDAYS)}[new Date("${d}").getUTCDay()])`,
    };
  },
  2: (rng) => {
    const a = randomDay(rng);
    const b = Math.min(LAST_DAY, a + rng.int(1, 20_000));
    return {
      prompt: `How many days are there from ${ymd(a)} to ${ymd(b)}?`,
      answer: String(b - a),
      program: `console.log((new Date("${ymd(b)}") - new Date("${ymd(a)}")) / 864e5)`,
    };
  },
  3: (rng) => {
    const a = randomDay(rng);
    const n = rng.int(100, 50_000);
    return {
      prompt: `What date is ${n} days after ${ymd(a)}? Answer as YYYY-MM-DD.`,
      answer: ymd(a + n),
      kind: 'date',
      program: `console.log(new Date(Date.parse("${ymd(a)}") + ${n} * 864e5).toISOString().slice(0, 10))`,
    };
  },
  4: (rng) => {
    const y1 = rng.int(1900, 2080);
    const y2 = y1 + rng.int(5, 60);
    return {
      prompt: `How many times did the 13th of a month fall on a Friday in the years ${y1} to ${y2} inclusive?`,
      answer: String(fridays13(y1, y2)),
      program: `let c=0;for(let y=${y1};y<=${y2};y++)for(let m=0;m<12;m++)if(new Date(Date.UTC(y,m,13)).getUTCDay()===5)c++;console.log(c)`,
    };
  },
  5: (rng) => {
    const a = randomDay(rng);
    const b = Math.min(LAST_DAY, a + rng.int(30, 5000));
    return {
      prompt: `How many weekdays (Monday to Friday) are there from ${ymd(a)} to ${ymd(b)}, counting both dates?`,
      answer: String(weekdaysBetween(a, b)),
      program: `let c=0;for(let t=Date.parse("${ymd(a)}");t<=Date.parse("${ymd(b)}");t+=864e5){const w=new Date(t).getUTCDay();if(w>0&&w<6)c++}console.log(c)`,
    };
  },
};

export const datesFamily = computeFamily({
  name: 'compute.dates',
  description:
    'Calendar computations: weekday of a date, days between dates, date plus days, Friday-the-13th counts, weekday counts.',
  kind: 'integer',
  levels: dateLevels,
});

// ---------------------------------------------------------------------------------------------
// Strings

const WORDS = (
  'apple river stone cloud garden yellow silver window market forest planet rocket bridge candle ' +
  'orange pencil summer winter valley island castle dragon mirror ocean thunder violet copper ' +
  'meadow harbor lantern puzzle shadow spirit marble velvet breeze canyon falcon glacier jungle ' +
  'kitten lemon mango nectar oyster parrot quartz raven saddle tulip umbrella walnut zebra'
).split(' ');
const ALPHA = 'abcdefghijklmnopqrstuvwxyz';

function randomLetters(rng: Rng, n: number, favour?: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += favour && rng.bool(0.25) ? favour : ALPHA[rng.int(0, 25)];
  return s;
}

function sentence(rng: Rng, lo: number, hi: number): string {
  return Array.from({ length: rng.int(lo, hi) }, () => rng.pick(WORDS)).join(' ');
}

export function caesar(s: string, k: number): string {
  return s.replace(/[a-z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - 97 + k) % 26) + 97));
}

export function mostFrequentLetter(s: string): string {
  const counts = new Map<string, number>();
  for (const c of s.replace(/[^a-z]/g, '')) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
}

const stringLevels: Record<1 | 2 | 3 | 4 | 5, (rng: Rng) => ComputeDraw> = {
  1: (rng) => {
    const c = ALPHA[rng.int(0, 25)];
    const w = randomLetters(rng, rng.int(12, 24), c);
    return {
      prompt: `How many times does the letter "${c}" appear in "${w}"?`,
      answer: String(w.split(c).length - 1),
      program: `console.log("${w}".split("${c}").length - 1)`,
    };
  },
  2: (rng) => {
    const w = randomLetters(rng, rng.int(10, 20));
    return {
      prompt: `Reverse the string "${w}".`,
      answer: [...w].reverse().join(''),
      kind: 'text',
      program: `console.log([..."${w}"].reverse().join(""))`,
    };
  },
  3: (rng) => {
    const s = sentence(rng, 6, 12);
    return {
      prompt: `How many vowels (a, e, i, o, u) are in "${s}"?`,
      answer: String((s.match(/[aeiou]/g) ?? []).length),
      program: `console.log(("${s}".match(/[aeiou]/g) || []).length)`,
    };
  },
  4: (rng) => {
    const s = sentence(rng, 3, 6);
    const k = rng.int(1, 25);
    return {
      prompt: `Shift every letter of "${s}" forward by ${k} places in the alphabet (z wraps around to a), keeping the spaces. What is the result?`,
      answer: caesar(s, k),
      kind: 'text',
      program: `console.log("${s}".replace(/[a-z]/g, c => String.fromCharCode((c.charCodeAt(0) - 97 + ${k}) % 26 + 97)))`,
    };
  },
  5: (rng) => {
    const s = sentence(rng, 8, 16);
    return {
      prompt: `Which letter occurs most often in "${s}"? If several letters tie, give the one that comes first in the alphabet.`,
      answer: mostFrequentLetter(s),
      kind: 'word',
      program: `let c={};for(const ch of "${s}".replace(/[^a-z]/g,""))c[ch]=(c[ch]||0)+1;console.log(Object.keys(c).sort((a,b)=>c[b]-c[a]||(a<b?-1:1))[0])`,
    };
  },
};

export const stringsFamily = computeFamily({
  name: 'compute.strings',
  description:
    'String processing with exact answers: letter counts, reversal, vowel counts, Caesar shifts, most frequent letter.',
  kind: 'integer',
  levels: stringLevels,
});
