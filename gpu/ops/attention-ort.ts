/**
 * CPU path of `attention`: whole fused onnxruntime graphs (batched matmuls, softmax, reductions),
 * because a plain JS loop over T²·hd would dominate a training step. Grouped-query heads are folded
 * into the matmul's row dimension: q (B,T,Hkv,G,hd) -> (B,Hkv,G·T,hd) against k (B,Hkv,hd,S), so
 * no kv head is ever copied G times, and dk/dv's sum over the group falls out of the matmul.
 * One graph per (Hkv, G, hd) signature; B, T and kvLen are dynamic. The causal mask is an additive
 * (G·T, kvLen) input cached per shape.
 */
import { cachedGraph, type GraphSpec, type NodeSpec } from '../cpu/ort.js';
import type { AttnDims } from './attention.js';

const masks = new Map<string, Float32Array>();
/** All zeros: a single query row (decoding) sees every live key, whatever the length. */
let open = new Float32Array(0);
function causalMask(G: number, T: number, L: number): Float32Array {
  if (T === 1) {
    if (open.length < G * L) open = new Float32Array(Math.max(G * L, 2 * open.length));
    return open.subarray(0, G * L);
  }
  const key = `${G}:${T}:${L}`;
  let m = masks.get(key);
  if (!m) {
    m = new Float32Array(G * T * L);
    const past = L - T;
    for (let g = 0; g < G; g++)
      for (let t = 0; t < T; t++) m.fill(-Infinity, (g * T + t) * L + past + t + 1, (g * T + t + 1) * L);
    if (masks.size > 64) masks.clear();
    masks.set(key, m);
  }
  return m;
}

/** k/v rows [0, kvLen) of every batch, compact (a view when nothing needs skipping). */
function liveRows(x: Float32Array, u: AttnDims): Float32Array {
  const row = u.Hkv * u.hd;
  if (u.kvLen === u.S) return x;
  if (u.B === 1) return x.subarray(0, u.kvLen * row);
  const out = new Float32Array(u.B * u.kvLen * row);
  for (let b = 0; b < u.B; b++) out.set(x.subarray(b * u.S * row, (b * u.S + u.kvLen) * row), b * u.kvLen * row);
  return out;
}

function scatterRows(compact: Float32Array, dst: Float32Array, u: AttnDims): void {
  const row = u.Hkv * u.hd;
  dst.fill(0);
  for (let b = 0; b < u.B; b++) dst.set(compact.subarray(b * u.kvLen * row, (b + 1) * u.kvLen * row), b * u.S * row);
}

const i64 = (name: string, values: number[]) => ({ name, elem: 7 as const, dims: [values.length], values });

/** Shared head-folding nodes: Q-like (B,T,Hq,hd) -> (B,Hkv,G·T,hd), K -> (B,Hkv,hd,L), V -> (B,Hkv,L,hd). */
function folds(
  Hkv: number,
  G: number,
  hd: number,
): { consts: GraphSpec['consts']; fold: (x: string, y: string) => NodeSpec[]; unfold: (x: string, y: string) => NodeSpec[] } {
  return {
    consts: [
      i64('s5', [0, 0, Hkv, G, hd]),
      i64('s4', [0, 0, -1, hd]),
      i64('u5', [0, Hkv, G, -1, hd]),
      i64('u4', [0, 0, Hkv * G, hd]),
    ],
    fold: (x, y) => [
      { op: 'Reshape', inputs: [x, 's5'], outputs: [`${y}_5`] },
      { op: 'Transpose', inputs: [`${y}_5`], outputs: [`${y}_t`], attrs: { perm: [0, 2, 3, 1, 4] } },
      { op: 'Reshape', inputs: [`${y}_t`, 's4'], outputs: [y] },
    ],
    unfold: (x, y) => [
      { op: 'Reshape', inputs: [x, 'u5'], outputs: [`${y}_5`] },
      { op: 'Transpose', inputs: [`${y}_5`], outputs: [`${y}_t`], attrs: { perm: [0, 3, 1, 2, 4] } },
      { op: 'Reshape', inputs: [`${y}_t`, 'u4'], outputs: [y] },
    ],
  };
}

/**
 * K and V moved to (B, Hkv, L, hd) by whole rows of hd values (`kh`, `vh`), and the raw scores
 * `s0` = q kh^T with K transposed inside the GEMM. An element-wise transpose of K to (B, Hkv, hd, L)
 * cost 3-4x the whole graph when decoding one row against a 1k-token cache.
 */
function rawScores(): NodeSpec[] {
  return [
    { op: 'Transpose', inputs: ['K'], outputs: ['kh'], attrs: { perm: [0, 2, 1, 3] } },
    { op: 'Transpose', inputs: ['V'], outputs: ['vh'], attrs: { perm: [0, 2, 1, 3] } },
    {
      op: 'FusedMatMul',
      domain: 'com.microsoft',
      inputs: ['q', 'kh'],
      outputs: ['s0'],
      attrs: { transA: 0, transB: 1, alpha: { f: 1 } },
    },
  ];
}

function forwardGraph(Hkv: number, G: number, hd: number): GraphSpec {
  const f = folds(Hkv, G, hd);
  return {
    consts: [...(f.consts ?? []), i64('l3', [0, Hkv * G, -1])],
    inputs: [
      { name: 'Q', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'K', dims: ['B', 'L', Hkv, hd] },
      { name: 'V', dims: ['B', 'L', Hkv, hd] },
      { name: 'MASK', dims: ['GT', 'L'] },
      { name: 'SC', dims: [1] },
    ],
    outputs: [
      { name: 'O', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'LSE', dims: ['B', Hkv * G, 'T'] },
    ],
    nodes: [
      ...f.fold('Q', 'q'),
      ...rawScores(),
      { op: 'Mul', inputs: ['s0', 'SC'], outputs: ['s1'] },
      { op: 'Add', inputs: ['s1', 'MASK'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], outputs: ['p'], attrs: { axis: -1 } },
      { op: 'ReduceLogSumExp', inputs: ['s'], outputs: ['lse3'], attrs: { axes: [-1], keepdims: 0 } },
      { op: 'Reshape', inputs: ['lse3', 'l3'], outputs: ['LSE'] },
      { op: 'MatMul', inputs: ['p', 'vh'], outputs: ['o'] },
      ...f.unfold('o', 'O'),
    ],
  };
}

function backwardGraph(Hkv: number, G: number, hd: number): GraphSpec {
  const f = folds(Hkv, G, hd);
  return {
    consts: [...(f.consts ?? []), i64('l4', [0, Hkv, -1, 1]), i64('ax', [-1])],
    inputs: [
      { name: 'Q', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'K', dims: ['B', 'L', Hkv, hd] },
      { name: 'V', dims: ['B', 'L', Hkv, hd] },
      { name: 'O', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'LSE', dims: ['B', Hkv * G, 'T'] },
      { name: 'DO', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'MASK', dims: ['GT', 'L'] },
      { name: 'SC', dims: [1] },
    ],
    outputs: [
      { name: 'DQ', dims: ['B', 'T', Hkv * G, hd] },
      { name: 'DK', dims: ['B', 'L', Hkv, hd] },
      { name: 'DV', dims: ['B', 'L', Hkv, hd] },
    ],
    nodes: [
      ...f.fold('Q', 'q'),
      ...f.fold('O', 'o'),
      ...f.fold('DO', 'do'),
      ...rawScores(),
      { op: 'Mul', inputs: ['s0', 'SC'], outputs: ['s1'] },
      { op: 'Add', inputs: ['s1', 'MASK'], outputs: ['s'] },
      { op: 'Reshape', inputs: ['LSE', 'l4'], outputs: ['lse'] },
      { op: 'Sub', inputs: ['s', 'lse'], outputs: ['sl'] },
      { op: 'Exp', inputs: ['sl'], outputs: ['p'] },
      {
        op: 'FusedMatMul',
        domain: 'com.microsoft',
        inputs: ['do', 'vh'],
        outputs: ['dp'],
        attrs: { transA: 0, transB: 1, alpha: { f: 1 } },
      },
      { op: 'Mul', inputs: ['do', 'o'], outputs: ['doo'] },
      { op: 'ReduceSum', inputs: ['doo', 'ax'], outputs: ['d'], attrs: { keepdims: 1 } },
      { op: 'Sub', inputs: ['dp', 'd'], outputs: ['dpd'] },
      { op: 'Mul', inputs: ['p', 'dpd'], outputs: ['ds0'] },
      { op: 'Mul', inputs: ['ds0', 'SC'], outputs: ['ds'] },
      { op: 'MatMul', inputs: ['ds', 'kh'], outputs: ['dq'] },
      ...f.unfold('dq', 'DQ'),
      {
        op: 'FusedMatMul',
        domain: 'com.microsoft',
        inputs: ['ds', 'q'],
        outputs: ['dk'],
        attrs: { transA: 1, transB: 0, alpha: { f: 1 } },
      },
      {
        op: 'FusedMatMul',
        domain: 'com.microsoft',
        inputs: ['p', 'do'],
        outputs: ['dv'],
        attrs: { transA: 1, transB: 0, alpha: { f: 1 } },
      },
      { op: 'Transpose', inputs: ['dk'], outputs: ['DK'], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Transpose', inputs: ['dv'], outputs: ['DV'], attrs: { perm: [0, 2, 1, 3] } },
    ],
  };
}

export function attentionForwardOrt(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  o: Float32Array,
  lse: Float32Array,
  u: AttnDims,
): void {
  const { B, T, Hq, Hkv, hd, kvLen } = u;
  if (B * T === 0) return;
  const G = Hq / Hkv;
  const g = cachedGraph(`attn-fwd:${Hkv}:${G}:${hd}`, () => forwardGraph(Hkv, G, hd));
  const kvDims = [B, kvLen, Hkv, hd];
  g.run(
    {
      Q: { data: q, dims: [B, T, Hq, hd] },
      K: { data: liveRows(k, u), dims: kvDims },
      V: { data: liveRows(v, u), dims: kvDims },
      MASK: { data: causalMask(G, T, kvLen), dims: [G * T, kvLen] },
      SC: { data: new Float32Array([u.scale]), dims: [1] },
    },
    { O: { data: o, dims: [B, T, Hq, hd] }, LSE: { data: lse, dims: [B, Hq, T] } },
  );
}

export function attentionBackwardOrt(
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
  const { B, T, S, Hq, Hkv, hd, kvLen } = u;
  if (B * T === 0) return;
  const G = Hq / Hkv;
  const g = cachedGraph(`attn-bwd:${Hkv}:${G}:${hd}`, () => backwardGraph(Hkv, G, hd));
  const kvDims = [B, kvLen, Hkv, hd];
  const compact = kvLen !== S;
  const dkc = compact ? new Float32Array(B * kvLen * Hkv * hd) : dk;
  const dvc = compact ? new Float32Array(B * kvLen * Hkv * hd) : dv;
  g.run(
    {
      Q: { data: q, dims: [B, T, Hq, hd] },
      K: { data: liveRows(k, u), dims: kvDims },
      V: { data: liveRows(v, u), dims: kvDims },
      O: { data: o, dims: [B, T, Hq, hd] },
      LSE: { data: lse, dims: [B, Hq, T] },
      DO: { data: dO, dims: [B, T, Hq, hd] },
      MASK: { data: causalMask(G, T, kvLen), dims: [G * T, kvLen] },
      SC: { data: new Float32Array([u.scale]), dims: [1] },
    },
    { DQ: { data: dq, dims: [B, T, Hq, hd] }, DK: { data: dkc, dims: kvDims }, DV: { data: dvc, dims: kvDims } },
  );
  if (compact) {
    scatterRows(dkc, dk, u);
    scatterRows(dvc, dv, u);
  }
}
