/**
 * Matrix product, batched, with optional transposes, scale and accumulation:
 *   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
 * A: (...batch, M, K), or (...batch, K, M) with transA.  B: (...batch, K, N) or (K, N) shared by
 * every batch; (N, K) forms with transB.  C: (...batch, M, N).
 * CPU: onnxruntime's FusedMatMul (one graph per transpose/rank signature, dynamic dims).
 * WebGPU: `matmul.wgsl`, 64x64 tiles, 4x4 register blocks per thread.
 */
import { cachedGraph } from '../cpu/ort.js';
import type { Device } from '../device.js';
import { expectDtype, expectShape, ShapeError, type Tensor } from '../tensor.js';
import { ceilDiv, f32, kernel } from './common.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Scale on the product (default 1). */
  alpha?: number;
  /** Accumulate into this tensor instead of allocating: out = alpha*A@B + out. */
  out?: Tensor;
}

export interface MatmulGeometry {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** Elements between consecutive batch matrices of B (0 when B is shared). */
  strideB: number;
  outShape: number[];
}

export function matmulGeometry(a: Tensor, b: Tensor, transA = false, transB = false): MatmulGeometry {
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul needs rank >= 2, got [${a.shape}] and [${b.shape}]`);
  const M = transA ? a.dim(-1) : a.dim(-2);
  const K = transA ? a.dim(-2) : a.dim(-1);
  const Kb = transB ? b.dim(-1) : b.dim(-2);
  const N = transB ? b.dim(-2) : b.dim(-1);
  if (K !== Kb)
    throw new ShapeError(`matmul inner dims differ: A [${a.shape}]${transA ? 'ᵀ' : ''} B [${b.shape}]${transB ? 'ᵀ' : ''}`);
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  let strideB = 0;
  if (b.rank > 2) {
    const bb = b.shape.slice(0, -2);
    if (bb.length !== batchShape.length || bb.some((d, i) => d !== batchShape[i])) {
      throw new ShapeError(`matmul batch dims differ: A [${a.shape}] B [${b.shape}]`);
    }
    strideB = K * N;
  }
  return { batch, M, N, K, strideB, outShape: [...batchShape, M, N] };
}

/** C = alpha * op(A) @ op(B) + beta * C over host arrays, through onnxruntime. */
export function matmulCpu(A: Float32Array, B: Float32Array, C: Float32Array, u: Readonly<Record<string, number>>): void {
  const { batch, M, N, K, transA, transB, strideB, alpha, beta } = u as Record<string, number>;
  const shared = strideB === 0;
  const key = `matmul:${transA}:${transB}:${shared}`;
  // Plain MatMul when nothing is transposed (onnxruntime's own fast path); FusedMatMul otherwise,
  // which folds the transposes into the GEMM call instead of materializing them.
  const g = cachedGraph(key, () => ({
    nodes: [
      transA || transB
        ? {
            op: 'FusedMatMul',
            domain: 'com.microsoft',
            inputs: ['A', 'B'],
            outputs: ['Y'],
            attrs: { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: { f: 1 } },
          }
        : { op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] },
    ],
    inputs: [
      { name: 'A', dims: ['b', 'r', 'c'] },
      { name: 'B', dims: shared ? ['k', 'n'] : ['b', 'k', 'n'] },
    ],
    outputs: [{ name: 'Y', dims: ['b', 'm', 'n2'] }],
  }));
  const aDims = transA ? [batch, K, M] : [batch, M, K];
  const bDims = transB ? [N, K] : [K, N];
  const target = beta === 0 && alpha === 1 ? C : new Float32Array(batch * M * N);
  if (batch * M * N > 0) {
    if (K === 0) target.fill(0);
    else
      g.run(
        { A: { data: A, dims: aDims }, B: { data: B, dims: shared ? bDims : [batch, ...bDims] } },
        { Y: { data: target, dims: [batch, M, N] } },
      );
  }
  if (target !== C) {
    // beta = 0 must not read C: it may be recycled memory (NaN * 0 is NaN).
    if (beta === 0) for (let i = 0; i < C.length; i++) C[i] = alpha * (target[i] as number);
    else for (let i = 0; i < C.length; i++) C[i] = alpha * (target[i] as number) + beta * (C[i] as number);
  }
}

/** Plain-loop reference in float64 (tests: checks the onnxruntime path and, by finite differences, the backward). */
export function matmulNaive(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  g: MatmulGeometry,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const { batch, M, N, K, strideB } = g;
  const C = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * M * K;
    const bo = bi * strideB;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = (transA ? A[ao + k * M + m] : A[ao + m * K + k]) as number;
          const bv = (transB ? B[bo + n * K + k] : B[bo + k * N + n]) as number;
          s += av * bv;
        }
        C[bi * M * N + m * N + n] = s;
      }
  }
  return C;
}

const UNIFORMS = [
  ['batch', 'u32'],
  ['M', 'u32'],
  ['N', 'u32'],
  ['K', 'u32'],
  ['transA', 'u32'],
  ['transB', 'u32'],
  ['strideB', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
] as const;

export const MATMUL_TILE = 64;
export const matmulKernel = kernel('matmul', 'main', ['r', 'r', 'rw'], UNIFORMS, (b, u) =>
  matmulCpu(f32(b[0]), f32(b[1]), f32(b[2]), u),
);

export function matmul(dev: Device, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  expectDtype(a, 'f32', 'matmul A');
  expectDtype(b, 'f32', 'matmul B');
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const g = matmulGeometry(a, b, transA, transB);
  let out = opts.out;
  if (out) expectShape(out, g.outShape, 'matmul out');
  else out = dev.empty(g.outShape);
  dev.dispatch({
    kernel: matmulKernel,
    tensors: [a, b, out],
    uniforms: {
      batch: g.batch,
      M: g.M,
      N: g.N,
      K: g.K,
      transA: transA ? 1 : 0,
      transB: transB ? 1 : 0,
      strideB: g.strideB,
      alpha: opts.alpha ?? 1,
      beta: opts.out ? 1 : 0,
    },
    workgroups: [ceilDiv(g.N, MATMUL_TILE), ceilDiv(g.M, MATMUL_TILE), g.batch],
  });
  return out;
}

export interface MatmulGrads {
  da?: Tensor;
  db?: Tensor;
}

/**
 * Gradients of Y = alpha * op(A) @ op(B) given dY. `need` picks which to compute; tensors in
 * `into` are accumulated into (gradient accumulation across micro-batches), others allocated.
 * A shared B (rank 2) under a batched A sums dB over the batch by folding it into M.
 */
export function matmulBackward(
  dev: Device,
  a: Tensor,
  b: Tensor,
  dy: Tensor,
  opts: Omit<MatmulOptions, 'out'> = {},
  need: { a?: boolean; b?: boolean } = { a: true, b: true },
  into: MatmulGrads = {},
): MatmulGrads {
  const tA = opts.transA ?? false;
  const tB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const g = matmulGeometry(a, b, tA, tB);
  expectShape(dy, g.outShape, 'matmul dY');
  const res: MatmulGrads = {};
  if (need.a !== false) {
    // dA = dY op(B)ᵀ, laid out like A.
    res.da = tA
      ? matmul(dev, b, dy, { transA: tB, transB: true, alpha, out: into.da })
      : matmul(dev, dy, b, { transB: !tB, alpha, out: into.da });
  }
  if (need.b !== false) {
    const shared = g.strideB === 0 && g.batch > 1;
    if (shared && tA) throw new ShapeError('matmulBackward: dB of a shared B under a transposed batched A is not supported');
    const A2 = shared ? a.reshape([g.batch * g.M, g.K]) : a;
    const dY2 = shared ? dy.reshape([g.batch * g.M, g.N]) : dy;
    // dB = op(A)ᵀ dY (K,N), or its transpose (N,K) when B is stored transposed.
    res.db = tB
      ? matmul(dev, dY2, A2, { transA: true, transB: tA, alpha, out: into.db })
      : matmul(dev, A2, dY2, { transA: !tA, alpha, out: into.db });
  }
  return res;
}
