/**
 * Distillation divergences per row, between the student S = softmax(a) and a frozen teacher
 * T = softmax(b), on full-vocabulary logits (ALGORITHMS.md, on-policy distillation):
 *   reverse KL (kind 0):  D = KL(S || T) = Σ_v S_v (log S_v - log T_v)
 *   forward KL (kind 1):  D = KL(T || S) = Σ_v T_v (log T_v - log S_v)
 *   generalized JSD(β) (kind 2, 0 < β < 1):  M = (1-β) S + β T
 *                         D = β KL(T || M) + (1-β) KL(S || M)
 * Backward, from dD (N), with respect to the student's logits only (the teacher gets no gradient):
 *   reverse: da_v = dD S_v (log S_v - log T_v - D)
 *   forward: da_v = dD (S_v - T_v)
 *   JSD:     da_v = dD (1-β) S_v (log S_v - log M_v - KL(S || M))
 * (for JSD, d D / d S_v = (1-β)(log S_v - log M_v): the M terms cancel.) As TRL does, JSD with
 * β = 0 is the forward KL and β = 1 the reverse KL (the mixture's formula degenerates there).
 * a, b: (N, V); mask: (N), a row with mask 0 is not computed (D = 0, no gradient). `aux` (N) is
 * what the backward needs (reverse: D; JSD: KL(S || M)). WebGPU: `distill.wgsl`, one 256-thread
 * workgroup per row.
 */
import type { Device } from '../device.js';
import { expectShape, rowsCols, type Tensor } from '../tensor.js';
import { f32, grid1d, kernel } from './common.js';

export type DivergenceKind = 'reverse_kl' | 'forward_kl' | 'jsd';
const KIND_IDS: Record<DivergenceKind, number> = { reverse_kl: 0, forward_kl: 1, jsd: 2 };

const U = [
  ['N', 'u32'],
  ['V', 'u32'],
  ['kind', 'u32'],
  ['beta', 'f32'],
] as const;

function lse(x: Float32Array, o: number, V: number): number {
  let mx = -Infinity;
  for (let v = 0; v < V; v++) mx = Math.max(mx, x[o + v]);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[o + v] - mx);
  return mx + Math.log(s);
}

/** log((1-β) e^ls + β e^lt), around the larger term. */
function logMix(ls: number, lt: number, beta: number): number {
  const x = ls + Math.log(1 - beta);
  const y = lt + Math.log(beta);
  const m = Math.max(x, y);
  return m + Math.log(Math.exp(x - m) + Math.exp(y - m));
}

export function divergenceCpu(
  a: Float32Array,
  b: Float32Array,
  mask: Float32Array,
  out: Float32Array,
  aux: Float32Array,
  N: number,
  V: number,
  kind: number,
  beta: number,
): void {
  for (let n = 0; n < N; n++) {
    if (mask[n] === 0) {
      out[n] = aux[n] = 0;
      continue;
    }
    const o = n * V;
    const la = lse(a, o, V);
    const lb = lse(b, o, V);
    let s1 = 0;
    let s2 = 0;
    for (let v = 0; v < V; v++) {
      const ls = a[o + v] - la;
      const lt = b[o + v] - lb;
      if (kind === 0) s1 += Math.exp(ls) * (ls - lt);
      else if (kind === 1) s1 += Math.exp(lt) * (lt - ls);
      else {
        const lm = logMix(ls, lt, beta);
        s1 += Math.exp(lt) * (lt - lm);
        s2 += Math.exp(ls) * (ls - lm);
      }
    }
    out[n] = kind === 2 ? beta * s1 + (1 - beta) * s2 : s1;
    aux[n] = kind === 0 ? s1 : kind === 2 ? s2 : 0;
  }
}

export function divergenceBackwardCpu(
  a: Float32Array,
  b: Float32Array,
  mask: Float32Array,
  aux: Float32Array,
  dout: Float32Array,
  da: Float32Array,
  N: number,
  V: number,
  kind: number,
  beta: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const g = mask[n] === 0 ? 0 : dout[n];
    if (g === 0) {
      da.fill(0, o, o + V);
      continue;
    }
    const la = lse(a, o, V);
    const lb = lse(b, o, V);
    for (let v = 0; v < V; v++) {
      const ls = a[o + v] - la;
      const lt = b[o + v] - lb;
      const s = Math.exp(ls);
      if (kind === 0) da[o + v] = g * s * (ls - lt - aux[n]);
      else if (kind === 1) da[o + v] = g * (s - Math.exp(lt));
      else da[o + v] = g * (1 - beta) * s * (ls - logMix(ls, lt, beta) - aux[n]);
    }
  }
}

export const divergenceKernel = kernel('distill', 'forward', ['r', 'r', 'r', 'rw', 'rw'], U, (bf, u) =>
  divergenceCpu(f32(bf[0]), f32(bf[1]), f32(bf[2]), f32(bf[3]), f32(bf[4]), u.N, u.V, u.kind, u.beta),
);
export const divergenceBackwardKernel = kernel('distill', 'backward', ['r', 'r', 'r', 'r', 'r', 'rw'], U, (bf, u) =>
  divergenceBackwardCpu(f32(bf[0]), f32(bf[1]), f32(bf[2]), f32(bf[3]), f32(bf[4]), f32(bf[5]), u.N, u.V, u.kind, u.beta),
);

export interface DivergenceOptions {
  kind: DivergenceKind;
  /** JSD's mixture weight of the teacher (ignored by the KLs). */
  beta?: number;
}

export interface DivergenceResult {
  /** (N): the divergence per row (0 where mask is 0). */
  out: Tensor;
  /** (N): saved for backward. */
  aux: Tensor;
}

/** JSD at β = 0 or 1 is the forward or reverse KL (TRL's special cases): the kernel's kind and β. */
function resolve(o: DivergenceOptions): { kind: number; beta: number } {
  if (o.kind !== 'jsd') return { kind: KIND_IDS[o.kind], beta: 0 };
  const beta = o.beta ?? 0.5;
  if (!(beta >= 0 && beta <= 1)) throw new RangeError(`jsd beta must be in [0, 1], got ${beta}`);
  if (beta === 0) return { kind: KIND_IDS.forward_kl, beta };
  if (beta === 1) return { kind: KIND_IDS.reverse_kl, beta };
  return { kind: KIND_IDS.jsd, beta };
}

/** Per-row divergence of the student logits `a` from the teacher logits `b`: (N) and the backward's aux. */
export function divergence(dev: Device, a: Tensor, b: Tensor, mask: Tensor, o: DivergenceOptions): DivergenceResult {
  expectShape(b, a.shape, 'divergence teacher logits');
  const [N, V] = rowsCols(a);
  expectShape(mask.reshape([-1]), [N], 'divergence mask');
  const out = dev.empty([N]);
  const aux = dev.empty([N]);
  dev.dispatch({
    kernel: divergenceKernel,
    tensors: [a, b, mask, out, aux],
    uniforms: { N, V, ...resolve(o) },
    workgroups: grid1d(N),
  });
  return { out, aux };
}

/** d loss / d a (N, V) from d loss / d D (N); `fwd` is divergence's result with the same options. */
export function divergenceBackward(
  dev: Device,
  a: Tensor,
  b: Tensor,
  mask: Tensor,
  fwd: DivergenceResult,
  dout: Tensor,
  o: DivergenceOptions,
): Tensor {
  const [N, V] = rowsCols(a);
  expectShape(dout, [N], 'divergence dout');
  const da = dev.empty(a.shape);
  dev.dispatch({
    kernel: divergenceBackwardKernel,
    tensors: [a, b, mask, fwd.aux, dout, da],
    uniforms: { N, V, ...resolve(o) },
    workgroups: grid1d(N),
  });
  return da;
}
