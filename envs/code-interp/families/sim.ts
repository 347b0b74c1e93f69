/**
 * `compute.sim`: small simulations whose answer is easy to get by running them and hard to get by
 * hand: Collatz step counts, linear congruential generators, the Josephus circle, a single-server
 * queue, and elementary cellular automata.
 */
import type { Rng } from '../../../tools/index.js';
import { type ComputeDraw, computeFamily } from '../family.js';
import { ordinal } from './math.js';

// ---------------------------------------------------------------------------------------------
// Pure simulations (the host-side reference of each level)

export function collatzSteps(n: number): number {
  let s = 0;
  while (n !== 1) {
    n = n % 2 ? 3 * n + 1 : n / 2;
    s++;
  }
  return s;
}

export function lcg(seed: number, a: number, c: number, m: number, n: number): number {
  let x = seed;
  for (let i = 0; i < n; i++) x = (a * x + c) % m;
  return x;
}

export function josephus(n: number, k: number): number {
  let r = 0;
  for (let i = 1; i <= n; i++) r = (r + k) % i;
  return r + 1;
}

export function queueFinish(arrivals: readonly number[], durations: readonly number[]): number {
  let t = 0;
  for (let i = 0; i < arrivals.length; i++) t = Math.max(t, arrivals[i]) + durations[i];
  return t;
}

export function automaton(width: number, rule: number, steps: number): number {
  let c = new Array<number>(width).fill(0);
  c[(width - 1) / 2] = 1;
  for (let s = 0; s < steps; s++) c = c.map((_, i) => (rule >> ((c[i - 1] ?? 0) * 4 + c[i] * 2 + (c[i + 1] ?? 0))) & 1);
  return c.reduce((a, b) => a + b, 0);
}

const RULES = [18, 22, 30, 45, 54, 60, 73, 90, 102, 105, 110, 126, 150, 182];

// ---------------------------------------------------------------------------------------------
// Levels

const simLevels: Record<1 | 2 | 3 | 4 | 5, (rng: Rng) => ComputeDraw> = {
  1: (rng) => {
    const n = rng.int(2, 99_999);
    return {
      prompt: `How many Collatz steps does it take for ${n} to reach 1?`,
      answer: String(collatzSteps(n)),
      program: `let n=${n},s=0;while(n!==1){n=n%2?3*n+1:n/2;s++}console.log(s)`,
    };
  },
  2: (rng) => {
    const m = rng.int(1000, 2 ** 31 - 1);
    const a = rng.int(2, 65_535);
    const c = rng.int(0, 10_000);
    const x0 = rng.int(0, m - 1);
    const n = rng.int(10, 10_000);
    return {
      prompt: `Let x(0) = ${x0} and x(k+1) = (${a} * x(k) + ${c}) mod ${m}. What is x(${n})?`,
      answer: String(lcg(x0, a, c, m, n)),
      program: `let x=${x0};for(let i=0;i<${n};i++)x=(${a}*x+${c})%${m};console.log(x)`,
    };
  },
  3: (rng) => {
    const n = rng.int(5, 5000);
    const k = rng.int(2, 20);
    return {
      prompt: `${n} people stand in a circle, numbered 1 to ${n}. Counting starts at person 1 and every ${ordinal(k)} person is removed until one remains. Which number remains?`,
      answer: String(josephus(n, k)),
      program: `let r=0;for(let i=1;i<=${n};i++)r=(r+${k})%i;console.log(r+1)`,
    };
  },
  4: (rng) => {
    const count = rng.int(6, 14);
    let t = 0;
    const arrivals: number[] = [];
    const durations: number[] = [];
    for (let i = 0; i < count; i++) {
      t += rng.int(0, 9);
      arrivals.push(t);
      durations.push(rng.int(1, 12));
    }
    return {
      prompt: `One clerk serves customers one at a time in arrival order. Customers arrive at minutes [${arrivals.join(', ')}] and need [${durations.join(', ')}] minutes of service respectively. At what minute does the last customer leave?`,
      answer: String(queueFinish(arrivals, durations)),
      program: `let t=0,a=[${arrivals.join(',')}],d=[${durations.join(',')}];for(let i=0;i<a.length;i++)t=Math.max(t,a[i])+d[i];console.log(t)`,
    };
  },
  5: (rng) => {
    const width = 2 * rng.int(10, 50) + 1;
    const rule = rng.pick(RULES);
    const steps = rng.int(5, 100);
    const mid = (width - 1) / 2;
    return {
      prompt: `A row of ${width} cells starts with only the middle cell (index ${mid}, counting from 0) on. Each step applies elementary cellular automaton rule ${rule} to every cell at once; cells outside the row count as off. How many cells are on after ${steps} steps?`,
      answer: String(automaton(width, rule, steps)),
      program: `let c=Array(${width}).fill(0);c[${mid}]=1;for(let s=0;s<${steps};s++)c=c.map((_,i)=>(${rule}>>((c[i-1]||0)*4+c[i]*2+(c[i+1]||0)))&1);console.log(c.reduce((a,b)=>a+b))`,
    };
  },
};

export const simFamily = computeFamily({
  name: 'compute.sim',
  description:
    'Small simulations: Collatz steps, linear congruential generators, the Josephus circle, a single-server queue, cellular automata.',
  kind: 'integer',
  levels: simLevels,
});
