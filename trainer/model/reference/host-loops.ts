/**
 * Host loops of the reference decoder (`transformer.ts` here), forward and backward side by side.
 * Row-major Float32Array buffers; shapes in the comments. RMSNorm and SwiGLU are gpu/ops' own
 * CPU references (one copy of that math); products and RoPE are plain loops here.
 *
 * Matrix products use the i-k-j loop order (contiguous inner loop over the output row) which V8
 * turns into tight scalar code.
 */
import { rmsnormBackwardCpu, rmsnormCpu, rmsnormDwCpu } from '../../../gpu/index.js';

/**
 * A matrix engine for the larger products: `mm` returns op(A) @ op(B) as a new array, with A stored
 * (M, K) or, with transA, (K, M); B stored (K, N) or, with transB, (N, K). The CPU device's
 * onnxruntime GEMM is one (`deviceMatmulEngine`); without an engine the loops below run.
 */
export interface MatmulEngine {
  mm(A: Float32Array, B: Float32Array, M: number, K: number, N: number, transA: boolean, transB: boolean): Float32Array;
}

let engine: MatmulEngine | undefined;
/** Products with fewer multiply-adds stay in the loops (an engine call has a fixed overhead). */
const ENGINE_MIN_MACS = 16_384;

export function setMatmulEngine(e: MatmulEngine | undefined): void {
  engine = e;
}

export function matmulEngine(): MatmulEngine | undefined {
  return engine;
}

function into(C: Float32Array, R: Float32Array, acc: boolean): Float32Array {
  if (acc) for (let i = 0; i < R.length; i++) C[i] += R[i];
  else C.set(R);
  return C;
}

/** C (M,N) = A (M,K) @ B (K,N); C is overwritten, or accumulated into when `acc`. */
export function matmul(
  A: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
  C: Float32Array = new Float32Array(M * N),
  acc = false,
): Float32Array {
  if (engine && M > 1 && M * K * N >= ENGINE_MIN_MACS) return into(C, engine.mm(A, B, M, K, N, false, false), acc);
  if (!acc) C.fill(0);
  for (let i = 0; i < M; i++) {
    const co = i * N;
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      if (a === 0) continue;
      const bo = k * N;
      for (let j = 0; j < N; j++) C[co + j] += a * B[bo + j];
    }
  }
  return C;
}

/** dB (K,N) += A^T (K,M) @ dC (M,N), with A (M,K). Weight gradient of C = A @ B. */
export function matmulAtB(A: Float32Array, dC: Float32Array, M: number, K: number, N: number, dB: Float32Array): void {
  if (engine && M > 1 && M * K * N >= ENGINE_MIN_MACS) {
    into(dB, engine.mm(A, dC, K, M, N, true, false), true);
    return;
  }
  for (let i = 0; i < M; i++) {
    const co = i * N;
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      if (a === 0) continue;
      const bo = k * N;
      for (let j = 0; j < N; j++) dB[bo + j] += a * dC[co + j];
    }
  }
}

/** dA (M,K) (+)= dC (M,N) @ B^T, with B (K,N). Input gradient of C = A @ B. */
export function matmulABt(
  dC: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
  dA: Float32Array = new Float32Array(M * K),
  acc = false,
): Float32Array {
  if (engine && M > 1 && M * K * N >= ENGINE_MIN_MACS) return into(dA, engine.mm(dC, B, M, N, K, false, true), acc);
  if (!acc) dA.fill(0);
  for (let i = 0; i < M; i++) {
    const co = i * N;
    for (let k = 0; k < K; k++) {
      const bo = k * N;
      let s = 0;
      for (let j = 0; j < N; j++) s += dC[co + j] * B[bo + j];
      dA[i * K + k] += s;
    }
  }
  return dA;
}

/** y (R,n) = x * rstd * w per row; returns rstd (R). The math is gpu/ops/rmsnorm's reference. */
export function rmsnormFwd(x: Float32Array, w: Float32Array, R: number, n: number, eps: number, y: Float32Array): Float32Array {
  const rstd = new Float32Array(R);
  rmsnormCpu(x, w, y, rstd, R, n, eps);
  return rstd;
}

/**
 * Backward of rmsnorm (gpu/ops/rmsnorm's reference): dx (R,n), written or, with `acc`, added;
 * dw += sum_r dy * x * rstd.
 */
export function rmsnormBwd(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  rstd: Float32Array,
  R: number,
  n: number,
  dx: Float32Array,
  dw: Float32Array,
  acc = false,
): void {
  rmsnormDwCpu(x, rstd, dy, dw, R, n);
  if (!acc) {
    rmsnormBackwardCpu(x, w, rstd, dy, dx, R, n);
    return;
  }
  const d = new Float32Array(R * n);
  rmsnormBackwardCpu(x, w, rstd, dy, d, R, n);
  for (let i = 0; i < d.length; i++) dx[i] += d[i];
}

/** cos/sin tables (maxPos, hd/2) for rotate-half RoPE. */
export function ropeTables(maxPos: number, hd: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = hd / 2;
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const f = p / theta ** ((2 * i) / hd);
      cos[p * half + i] = Math.cos(f);
      sin[p * half + i] = Math.sin(f);
    }
  }
  return { cos, sin };
}

/**
 * In-place rotate-half RoPE on x (T, nh, hd) at positions pos0 .. pos0+T-1.
 * (a, b) -> (a cos - b sin, b cos + a sin); `inverse` applies the transpose (the backward).
 */
export function rope(
  x: Float32Array,
  T: number,
  nh: number,
  hd: number,
  pos0: number,
  cos: Float32Array,
  sin: Float32Array,
  inverse = false,
): void {
  const half = hd / 2;
  const sgn = inverse ? -1 : 1;
  for (let t = 0; t < T; t++) {
    const to = (pos0 + t) * half;
    for (let h = 0; h < nh; h++) {
      const o = (t * nh + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[to + i];
        const s = sgn * sin[to + i];
        const a = x[o + i];
        const b = x[o + half + i];
        x[o + i] = a * c - b * s;
        x[o + half + i] = b * c + a * s;
      }
    }
  }
}
