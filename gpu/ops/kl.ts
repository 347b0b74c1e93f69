/**
 * Per-token KL divergence between two categorical distributions given as logits.
 *   p = softmax(a), q = softmax(b);  kl = Σ_v p_v (log p_v - log q_v) = KL(p || q)
 *   backward (dkl given): da_v = dkl * p_v (log p_v - log q_v - kl);  db_v = dkl * (q_v - p_v)
 * Reverse KL for distillation is kl(student, teacher); forward KL is kl(teacher, student).
 * a, b: (N, V). WebGPU: `kl.wgsl`, one 256-thread workgroup per row.
 */
import type { Device } from '../device.js';
import { expectShape, rowsCols, type Tensor } from '../tensor.js';
import { f32, grid1d, kernel } from './common.js';

const U = [
  ['N', 'u32'],
  ['V', 'u32'],
] as const;

function lse(x: Float32Array, o: number, V: number): number {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) mx = Math.max(mx, x[o + v]);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[o + v] - mx);
  return mx + Math.log(s);
}

export function klCpu(a: Float32Array, b: Float32Array, kl: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const la = lse(a, o, V);
    const lb = lse(b, o, V);
    let s = 0;
    for (let v = 0; v < V; v++) {
      const lp = a[o + v] - la;
      s += Math.exp(lp) * (lp - (b[o + v] - lb));
    }
    kl[n] = s;
  }
}

export function klBackwardCpu(
  a: Float32Array,
  b: Float32Array,
  kl: Float32Array,
  dkl: Float32Array,
  da: Float32Array,
  db: Float32Array,
  N: number,
  V: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const la = lse(a, o, V);
    const lb = lse(b, o, V);
    for (let v = 0; v < V; v++) {
      const lp = a[o + v] - la;
      const lq = b[o + v] - lb;
      const p = Math.exp(lp);
      da[o + v] = dkl[n] * p * (lp - lq - kl[n]);
      db[o + v] = dkl[n] * (Math.exp(lq) - p);
    }
  }
}

export const klKernel = kernel('kl', 'forward', ['r', 'r', 'rw'], U, (b, u) => klCpu(f32(b[0]), f32(b[1]), f32(b[2]), u.N, u.V));
export const klBackwardKernel = kernel('kl', 'backward', ['r', 'r', 'r', 'r', 'rw', 'rw'], U, (b, u) =>
  klBackwardCpu(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), f32(b[5]), u.N, u.V),
);

/** KL(softmax(a) || softmax(b)) per row: (N). */
export function kl(dev: Device, a: Tensor, b: Tensor): Tensor {
  expectShape(b, a.shape, 'kl b');
  const [N, V] = rowsCols(a);
  const out = dev.empty([N]);
  dev.dispatch({ kernel: klKernel, tensors: [a, b, out], uniforms: { N, V }, workgroups: grid1d(N) });
  return out;
}

/** Gradients with respect to both logits; `klOut` is kl's forward result. */
export function klBackward(dev: Device, a: Tensor, b: Tensor, klOut: Tensor, dkl: Tensor): { da: Tensor; db: Tensor } {
  const [N, V] = rowsCols(a);
  expectShape(dkl, [N], 'dkl');
  const da = dev.empty(a.shape);
  const db = dev.empty(a.shape);
  dev.dispatch({ kernel: klBackwardKernel, tensors: [a, b, klOut, dkl, da, db], uniforms: { N, V }, workgroups: grid1d(N) });
  return { da, db };
}
