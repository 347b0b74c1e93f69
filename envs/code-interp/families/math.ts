/**
 * Compute families whose exact answers need big integers or number theory: `compute.bigint` and
 * `compute.numtheory`. Each level's generator returns the prompt, the exact answer (computed here on
 * the host with BigInt / a sieve) and the oracle's program, which prints the same value.
 */
import type { Rng } from '../../../tools/index.js';
import { type ComputeDraw, computeFamily } from '../family.js';

// ---------------------------------------------------------------------------------------------
// Pure helpers

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function totient(n: number): number {
  let r = n;
  let m = n;
  for (let p = 2; p * p <= m; p++) {
    if (m % p === 0) {
      while (m % p === 0) m /= p;
      r -= r / p;
    }
  }
  if (m > 1) r -= r / m;
  return r;
}

let sieveCache: Uint8Array | undefined;
/** Composite flags up to 2,000,000 (computed once, ~2 MB). */
function composite(): Uint8Array {
  if (!sieveCache) {
    const n = 2_000_001;
    const s = new Uint8Array(n);
    s[0] = 1;
    s[1] = 1;
    for (let i = 2; i * i < n; i++) if (!s[i]) for (let j = i * i; j < n; j += i) s[j] = 1;
    sieveCache = s;
  }
  return sieveCache;
}

export function primesBelowCount(n: number): number {
  const s = composite();
  let c = 0;
  for (let i = 2; i < n; i++) if (!s[i]) c++;
  return c;
}

export function primesBelowSum(n: number): number {
  const s = composite();
  let t = 0;
  for (let i = 2; i < n; i++) if (!s[i]) t += i;
  return t;
}

export function nthPrime(k: number): number {
  const s = composite();
  let c = 0;
  for (let i = 2; i < s.length; i++) if (!s[i] && ++c === k) return i;
  throw new RangeError(`nthPrime(${k}) is past the sieve`);
}

export function ordinal(n: number): string {
  const t = n % 100;
  if (t >= 11 && t <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

function digitSum(s: string): number {
  let t = 0;
  for (const c of s) t += c.charCodeAt(0) - 48;
  return t;
}

function factorial(n: number): bigint {
  let f = 1n;
  for (let i = 2n; i <= BigInt(n); i++) f *= i;
  return f;
}

function fibonacci(n: number): bigint {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

const GCD_FN = 'let g=(a,b)=>b?g(b,a%b):a;';
/** Python: `s = sieve(n)` leaves s[i] == 1 exactly for the primes below n (slice assignment keeps it fast). */
const PY_SIEVE =
  'def sieve(n):\n    s = bytearray([1]) * n\n    s[0:2] = bytes(min(n, 2))\n    for i in range(2, int(n ** 0.5) + 1):\n        if s[i]:\n            s[i * i::i] = bytes(len(range(i * i, n, i)))\n    return s\ns = sieve';

// ---------------------------------------------------------------------------------------------
// compute.bigint

const bigintLevels: Record<1 | 2 | 3 | 4 | 5, (rng: Rng) => ComputeDraw> = {
  1: (rng) => {
    const a = rng.int(100_000_000, 999_999_999);
    const b = rng.int(100_000_000, 999_999_999);
    return {
      prompt: `Compute ${a} * ${b}.`,
      answer: (BigInt(a) * BigInt(b)).toString(),
      program: `console.log((${a}n * ${b}n).toString())`,
      python: `print(${a} * ${b})`,
    };
  },
  2: (rng) => {
    const b = rng.int(2, 99);
    const e = rng.int(20, 80);
    return {
      prompt: `Compute ${b}^${e}.`,
      answer: (BigInt(b) ** BigInt(e)).toString(),
      program: `console.log((${b}n ** ${e}n).toString())`,
      python: `print(${b} ** ${e})`,
    };
  },
  3: (rng) => {
    const b = rng.int(2, 999);
    const e = rng.int(10, 99);
    const m = rng.int(1000, 10_000_000);
    return {
      prompt: `Compute ${b}^${e} mod ${m}.`,
      answer: (BigInt(b) ** BigInt(e) % BigInt(m)).toString(),
      program: `console.log((${b}n ** ${e}n % ${m}n).toString())`,
      python: `print(${b} ** ${e} % ${m})`,
    };
  },
  4: (rng) => {
    const n = rng.int(30, 400);
    return {
      prompt: `What is the sum of the digits of ${n}! (${n} factorial)?`,
      answer: String(digitSum(factorial(n).toString())),
      program: `let f=1n;for(let i=2n;i<=${n}n;i++)f*=i;console.log([...f.toString()].reduce((s,d)=>s+Number(d),0))`,
      python: `import math\nprint(sum(int(d) for d in str(math.factorial(${n}))))`,
    };
  },
  5: (rng) => {
    if (rng.bool()) {
      const b = rng.int(2, 99_999);
      const e = rng.int(1_000_000, 1_000_000_000_000);
      const m = rng.int(1_000_000, 2_000_000_000);
      return {
        prompt: `Compute ${b}^${e} mod ${m}.`,
        answer: modPow(BigInt(b), BigInt(e), BigInt(m)).toString(),
        program: `let r=1n,b=${b}n%${m}n,e=${e}n;while(e>0n){if(e&1n)r=r*b%${m}n;b=b*b%${m}n;e>>=1n}console.log(r.toString())`,
        python: `print(pow(${b}, ${e}, ${m}))`,
      };
    }
    const n = rng.int(500, 5000);
    return {
      prompt: `How many decimal digits does the Fibonacci number F(${n}) have, where F(1) = F(2) = 1?`,
      answer: String(fibonacci(n).toString().length),
      program: `let a=0n,b=1n;for(let i=0;i<${n};i++)[a,b]=[b,a+b];console.log(a.toString().length)`,
      python: `a, b = 0, 1\nfor _ in range(${n}):\n    a, b = b, a + b\nprint(len(str(a)))`,
    };
  },
};

const bigintSpec = {
  name: 'compute.bigint',
  description: 'Exact big-integer arithmetic: products, powers, modular powers, factorial digit sums, Fibonacci sizes.',
  kind: 'integer',
  levels: bigintLevels,
} as const;

export const bigintFamily = computeFamily(bigintSpec);
/** The same tasks for the Python sandbox (the oracle runs the draws' Python programs). */
export const bigintPyFamily = computeFamily(bigintSpec, { language: 'python' });

// ---------------------------------------------------------------------------------------------
// compute.numtheory

const numtheoryLevels: Record<1 | 2 | 3 | 4 | 5, (rng: Rng) => ComputeDraw> = {
  1: (rng) => {
    const g = rng.int(2, 999);
    const a = g * rng.int(2, 999);
    const b = g * rng.int(2, 999);
    return {
      prompt: `Compute gcd(${a}, ${b}).`,
      answer: String(gcd(a, b)),
      program: `${GCD_FN}console.log(g(${a},${b}))`,
      python: `import math\nprint(math.gcd(${a}, ${b}))`,
    };
  },
  2: (rng) => {
    const a = rng.int(2, 99_999);
    const b = rng.int(2, 99_999);
    return {
      prompt: `Compute lcm(${a}, ${b}).`,
      answer: String((a / gcd(a, b)) * b),
      program: `${GCD_FN}console.log(${a}/g(${a},${b})*${b})`,
      python: `import math\nprint(math.lcm(${a}, ${b}))`,
    };
  },
  3: (rng) => {
    const n = rng.int(1000, 300_000);
    return {
      prompt: `How many prime numbers are less than ${n}?`,
      answer: String(primesBelowCount(n)),
      program: `let n=${n},s=new Uint8Array(n),c=0;for(let i=2;i<n;i++)if(!s[i]){c++;for(let j=i*i;j<n;j+=i)s[j]=1}console.log(c)`,
      python: `${PY_SIEVE}(${n})\nprint(sum(s))`,
    };
  },
  4: (rng) => {
    const n = rng.int(100_000, 1_000_000_000);
    return {
      prompt: `Compute Euler's totient function of ${n}, the count of integers from 1 to ${n} that are coprime to ${n}.`,
      answer: String(totient(n)),
      program: `let n=${n},r=n;for(let p=2;p*p<=n;p++)if(n%p===0){while(n%p===0)n/=p;r-=r/p}if(n>1)r-=r/n;console.log(r)`,
      python: `n = r = ${n}\np = 2\nwhile p * p <= n:\n    if n % p == 0:\n        while n % p == 0:\n            n //= p\n        r -= r // p\n    p += 1\nif n > 1:\n    r -= r // n\nprint(r)`,
    };
  },
  5: (rng) => {
    if (rng.bool()) {
      const k = rng.int(1000, 25_000);
      return {
        prompt: `What is the ${ordinal(k)} prime number?`,
        answer: String(nthPrime(k)),
        program: `let N=300000,s=new Uint8Array(N),c=0;for(let i=2;i<N;i++)if(!s[i]){if(++c===${k}){console.log(i);break}for(let j=i*i;j<N;j+=i)s[j]=1}`,
        python: `import itertools\n${PY_SIEVE}(300000)\nprint(list(itertools.compress(range(300000), s))[${k - 1}])`,
      };
    }
    const n = rng.int(100_000, 2_000_000);
    return {
      prompt: `What is the sum of all prime numbers less than ${n}?`,
      answer: String(primesBelowSum(n)),
      program: `let n=${n},s=new Uint8Array(n),t=0;for(let i=2;i<n;i++)if(!s[i]){t+=i;for(let j=i*i;j<n;j+=i)s[j]=1}console.log(t)`,
      python: `import itertools\n${PY_SIEVE}(${n})\nprint(sum(itertools.compress(range(len(s)), s)))`,
    };
  },
};

const numtheorySpec = {
  name: 'compute.numtheory',
  description: 'Number theory with exact answers: gcd, lcm, prime counts, totients, n-th primes, prime sums.',
  kind: 'integer',
  levels: numtheoryLevels,
} as const;

export const numtheoryFamily = computeFamily(numtheorySpec);
/** The same tasks for the Python sandbox. */
export const numtheoryPyFamily = computeFamily(numtheorySpec, { language: 'python' });
