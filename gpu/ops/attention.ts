/**
 * Causal scaled-dot-product attention with grouped-query heads, and a KV-cache write for decoding.
 *   q: (B, T, Hq, hd)   k, v: (B, S, Hkv, hd), Hq = G·Hkv, query head h reads kv head ⌊h/G⌋
 *   Only the first `kvLen` key rows are live (a preallocated cache may be longer). Query t sits
 *   at absolute position past + t, past = kvLen - T, and sees keys j <= past + t.
 *   s_tj = scale · q_t·k_j;  P = softmax_j(s);  o_t = Σ_j P_tj v_j;  lse_t = log Σ_j exp(s_tj)
 * Backward (dO given; D_t = Σ dO_t·o_t): dP_tj = dO_t·v_j;  dS_tj = P_tj (dP_tj - D_t);
 *   dq_t = scale Σ_j dS_tj k_j;  dk_j = scale Σ_{t,h∈group} dS_tj q_t;  dv_j = Σ_{t,h∈group} P_tj dO_t
 * CPU: onnxruntime graphs (see attention-ort.ts) — two batched matmuls, not JS loops.
 * WebGPU: `attention.wgsl`, one thread per query row (online softmax) forward; per query row for
 * dq and per key row for dk/dv backward, so nothing needs atomics.
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, ShapeError, type Tensor } from '../tensor.js';
import { attentionBackwardOrt, attentionForwardOrt } from './attention-ort.js';
import { ceilDiv, f32, grid1d, kernel } from './common.js';
import { copyRange } from './elementwise.js';

const U = [
  ['B', 'u32'],
  ['T', 'u32'],
  ['S', 'u32'],
  ['Hq', 'u32'],
  ['Hkv', 'u32'],
  ['hd', 'u32'],
  ['kvLen', 'u32'],
  ['scale', 'f32'],
] as const;

export type AttnDims = Record<(typeof U)[number][0], number>;
/** Longest head_dim the WGSL kernels hold in registers. */
export const MAX_HEAD_DIM = 128;

/** Plain-loop reference: o (B,T,Hq,hd), lse (B,Hq,T). */
export function attentionRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  lse: Float32Array,
  u: AttnDims,
): void {
  const { B, T, S, Hq, Hkv, hd, kvLen, scale } = u;
  const G = Hq / Hkv;
  const past = kvLen - T;
  const s = new Float64Array(kvLen);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / G);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * Hq + h) * hd;
        const last = Math.min(past + t, kvLen - 1);
        let mx = -Infinity;
        for (let j = 0; j <= last; j++) {
          const ko = ((b * S + j) * Hkv + kh) * hd;
          let d = 0;
          for (let i = 0; i < hd; i++) d += q[qo + i] * k[ko + i];
          s[j] = d * scale;
          if (s[j] > mx) mx = s[j];
        }
        let sum = 0;
        for (let j = 0; j <= last; j++) {
          s[j] = Math.exp(s[j] - mx);
          sum += s[j];
        }
        for (let i = 0; i < hd; i++) o[qo + i] = 0;
        for (let j = 0; j <= last; j++) {
          const p = s[j] / sum;
          const vo = ((b * S + j) * Hkv + kh) * hd;
          for (let i = 0; i < hd; i++) o[qo + i] += p * v[vo + i];
        }
        lse[(b * Hq + h) * T + t] = last < 0 ? 0 : mx + Math.log(sum);
      }
    }
}

/** Plain-loop reference of the backward pass; dq, dk, dv are overwritten. */
export function attentionBackwardRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  lse: Float32Array,
  dO: Float32Array,
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  u: AttnDims,
): void {
  const { B, T, S, Hq, Hkv, hd, kvLen, scale } = u;
  const G = Hq / Hkv;
  const past = kvLen - T;
  dq.fill(0);
  dk.fill(0);
  dv.fill(0);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const kh = Math.floor(h / G);
      for (let t = 0; t < T; t++) {
        const qo = ((b * T + t) * Hq + h) * hd;
        let D = 0;
        for (let i = 0; i < hd; i++) D += dO[qo + i] * o[qo + i];
        const L = lse[(b * Hq + h) * T + t];
        const last = Math.min(past + t, kvLen - 1);
        for (let j = 0; j <= last; j++) {
          const ko = ((b * S + j) * Hkv + kh) * hd;
          let sc = 0;
          let dp = 0;
          for (let i = 0; i < hd; i++) {
            sc += q[qo + i] * k[ko + i];
            dp += dO[qo + i] * v[ko + i];
          }
          const p = Math.exp(sc * scale - L);
          const ds = p * (dp - D);
          for (let i = 0; i < hd; i++) {
            dq[qo + i] += scale * ds * k[ko + i];
            dk[ko + i] += scale * ds * q[qo + i];
            dv[ko + i] += p * dO[qo + i];
          }
        }
      }
    }
}

export const attentionKernel = kernel('attention', 'forward', ['r', 'r', 'r', 'rw', 'rw'], U, (b, u) =>
  attentionForwardOrt(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), u as AttnDims),
);
/** D_t = Σ dO_t·o_t, (B, Hq, T): the row term shared by both backward kernels. */
export const attentionRowDotKernel = kernel('attention', 'backward_rowdot', ['r', 'r', 'rw'], U, (b, u) => {
  const [o, dO, D] = [f32(b[0]), f32(b[1]), f32(b[2])];
  const { B, T, Hq, hd } = u;
  for (let bb = 0; bb < B; bb++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < Hq; h++) {
        const base = ((bb * T + t) * Hq + h) * hd;
        let s = 0;
        for (let i = 0; i < hd; i++) s += o[base + i] * dO[base + i];
        D[(bb * Hq + h) * T + t] = s;
      }
});
export const attentionDqKernel = kernel('attention', 'backward_dq', ['r', 'r', 'r', 'r', 'r', 'r', 'rw'], U, () => {
  throw new Error('attention.backward_dq has no separate CPU path: use attentionBackward');
});
export const attentionDkvKernel = kernel('attention', 'backward_dkv', ['r', 'r', 'r', 'r', 'r', 'r', 'rw', 'rw'], U, () => {
  throw new Error('attention.backward_dkv has no separate CPU path: use attentionBackward');
});
/** CPU path of the whole backward (one fused onnxruntime graph). */
const attentionBackwardCpuKernel = kernel(
  'attention',
  'backward_cpu',
  ['r', 'r', 'r', 'r', 'r', 'r', 'rw', 'rw', 'rw'],
  U,
  (b, u) =>
    attentionBackwardOrt(
      f32(b[0]),
      f32(b[1]),
      f32(b[2]),
      f32(b[3]),
      f32(b[4]),
      f32(b[5]),
      f32(b[6]),
      f32(b[7]),
      f32(b[8]),
      u as AttnDims,
    ),
);

export interface AttentionOptions {
  /** Live key rows (default: all S rows of k). */
  kvLen?: number;
  /** Default 1/sqrt(hd). */
  scale?: number;
}

function dims(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttnDims {
  expectDtype(q, 'f32', 'attention q');
  if (q.rank !== 4 || k.rank !== 4) throw new ShapeError(`attention wants (B,T,H,hd) tensors, got q [${q.shape}] k [${k.shape}]`);
  const [B, T, Hq, hd] = q.shape as [number, number, number, number];
  const [Bk, S, Hkv, hdk] = k.shape as [number, number, number, number];
  expectShape(v, k.shape, 'attention v');
  if (Bk !== B || hdk !== hd || Hq % Hkv !== 0)
    throw new ShapeError(`attention: q [${q.shape}] and k [${k.shape}] do not fit (Hq must be a multiple of Hkv)`);
  if (hd > MAX_HEAD_DIM) throw new ShapeError(`attention head_dim ${hd} > ${MAX_HEAD_DIM}`);
  const kvLen = opts.kvLen ?? S;
  if (kvLen < T || kvLen > S) throw new ShapeError(`attention kvLen ${kvLen} must lie in [T=${T}, S=${S}]`);
  return { B, T, S, Hq, Hkv, hd, kvLen, scale: opts.scale ?? 1 / Math.sqrt(hd) };
}

export interface AttentionResult {
  o: Tensor;
  /** (B, Hq, T) log-sum-exp of the scores, saved for the backward pass. */
  lse: Tensor;
}

export function attention(dev: Device, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): AttentionResult {
  const u = dims(q, k, v, opts);
  const o = dev.empty(q.shape);
  const lse = dev.empty([u.B, u.Hq, u.T]);
  dev.dispatch({
    kernel: attentionKernel,
    tensors: [q, k, v, o, lse],
    uniforms: u,
    workgroups: grid1d(ceilDiv(u.B * u.Hq * u.T, 64)),
  });
  return { o, lse };
}

export function attentionBackward(
  dev: Device,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  fwd: AttentionResult,
  dO: Tensor,
  opts: AttentionOptions = {},
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const u = dims(q, k, v, opts);
  expectShape(dO, q.shape, 'attention dO');
  const dq = dev.empty(q.shape);
  const dk = dev.alloc(k.shape);
  const dv = dev.alloc(v.shape);
  if (dev.kind === 'cpu') {
    dev.dispatch({
      kernel: attentionBackwardCpuKernel,
      tensors: [q, k, v, fwd.o, fwd.lse, dO, dq, dk, dv],
      uniforms: u,
      workgroups: [1],
    });
    return { dq, dk, dv };
  }
  const D = dev.empty([u.B, u.Hq, u.T]);
  dev.dispatch({
    kernel: attentionRowDotKernel,
    tensors: [fwd.o, dO, D],
    uniforms: u,
    workgroups: grid1d(ceilDiv(u.B * u.Hq * u.T, 64)),
  });
  dev.dispatch({
    kernel: attentionDqKernel,
    tensors: [q, k, v, fwd.lse, D, dO, dq],
    uniforms: u,
    workgroups: grid1d(ceilDiv(u.B * u.Hq * u.T, 64)),
  });
  dev.dispatch({
    kernel: attentionDkvKernel,
    tensors: [q, k, v, fwd.lse, D, dO, dk, dv],
    uniforms: u,
    workgroups: grid1d(ceilDiv(u.B * u.Hkv * u.kvLen, 64)),
  });
  dev.free(D);
  return { dq, dk, dv };
}

/** Copy new keys or values (B, Tn, Hkv, hd) into a cache (B, S, Hkv, hd) at rows [pos, pos+Tn). */
export function kvCacheWrite(dev: Device, cache: Tensor, fresh: Tensor, pos: number): void {
  const [B, S, H, hd] = cache.shape as [number, number, number, number];
  const Tn = fresh.dim(1);
  expectShape(fresh, [B, Tn, H, hd], 'kv cache rows');
  if (pos < 0 || pos + Tn > S) throw new ShapeError(`kv cache write of ${Tn} rows at ${pos} overflows ${S}`);
  const row = H * hd;
  for (let b = 0; b < B; b++)
    copyRange(dev, fresh, cache, { srcOffset: b * Tn * row, dstOffset: (b * S + pos) * row, n: Tn * row });
}
