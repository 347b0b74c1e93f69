/** Shared helpers for the gpu tests: seeded data, tolerant comparison with a readable report, the WebGPU adapter gate. */
import { createDevice, type Device } from '../../gpu/index.js';

/** mulberry32: deterministic test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export function randInts(r: () => number, n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo)));
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Elements where |got - want| > atol + rtol |want|, with the first few listed (index, got, want, diff). */
export function mismatches(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance, max = 8): string | null {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  const bad: string[] = [];
  let count = 0;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    const d = Math.abs(g - w);
    if (!(d <= tol.atol + tol.rtol * Math.abs(w))) {
      count++;
      worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
      if (bad.length < max) bad.push(`  [${i}] got ${g.toPrecision(7)} want ${w.toPrecision(7)} diff ${d.toExponential(2)}`);
    }
  }
  if (count === 0) return null;
  return `${count}/${got.length} elements differ beyond atol=${tol.atol} rtol=${tol.rtol} (worst ${worst.toExponential(2)}); first:\n${bad.join('\n')}`;
}

export function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): void {
  const report = mismatches(got, want, tol);
  if (report) throw new Error(`${what}: ${report}`);
}

/**
 * The WebGPU device for backend tests: the real adapter, software included. Without one, the
 * suite fails under CI=true and otherwise skips with the reason printed.
 */
export async function webgpuOrSkip(what = 'WebGPU comparisons'): Promise<{ dev?: Device; reason?: string }> {
  try {
    return { dev: await createDevice('webgpu') };
  } catch (err) {
    const reason = `no WebGPU adapter: ${(err as Error).message}`;
    if (process.env.CI === 'true')
      throw new Error(`${reason} (CI=true: WebGPU tests must run; install Mesa >= 25 lavapipe via .ci/system-deps.sh)`);
    console.warn(`[gpu tests] skipping ${what}: ${reason}`);
    return { reason };
  }
}
