/**
 * RMSNorm over the last dimension (also used as Qwen3's QK-norm over head_dim).
 *   forward:  r = 1 / sqrt(mean_d(x²) + eps);  y = x * r * w          x, y: (R, D)  w: (D)  r: (R)
 *   backward: dx = r * (w*dy - x * r² * mean_d(w*dy*x));  dw += Σ_rows dy * x * r
 * WebGPU: `rmsnorm.wgsl`; one 256-thread workgroup per row (tree reduction in workgroup memory),
 * dw one thread per column looping over rows.
 */
import { FUSE_MIN, rmsnormBackwardOrt, rmsnormOrt, type StableRowsOption } from '../cpu/fused.js';
import type { Device } from '../device.js';
import { expectDtype, expectShape, rowsCols, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, kernel } from './common.js';

const U = [
  ['R', 'u32'],
  ['D', 'u32'],
  ['eps', 'f32'],
  // CPU only: 1 = the JS reference at any size (see `StableRowsOption`)
  ['stable', 'u32'],
] as const;

export function rmsnormCpu(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  r: Float32Array,
  R: number,
  D: number,
  eps: number,
): void {
  for (let i = 0; i < R; i++) {
    const o = i * D;
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[o + d] * x[o + d];
    const rs = 1 / Math.sqrt(ss / D + eps);
    r[i] = rs;
    for (let d = 0; d < D; d++) y[o + d] = x[o + d] * rs * w[d];
  }
}

export function rmsnormBackwardCpu(
  x: Float32Array,
  w: Float32Array,
  r: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  R: number,
  D: number,
): void {
  for (let i = 0; i < R; i++) {
    const o = i * D;
    const rs = r[i];
    let dot = 0;
    for (let d = 0; d < D; d++) dot += w[d] * dy[o + d] * x[o + d];
    const c = (rs * rs * dot) / D;
    for (let d = 0; d < D; d++) dx[o + d] = rs * (w[d] * dy[o + d] - x[o + d] * c);
  }
}

export function rmsnormDwCpu(x: Float32Array, r: Float32Array, dy: Float32Array, dw: Float32Array, R: number, D: number): void {
  for (let i = 0; i < R; i++) {
    const o = i * D;
    const rs = r[i];
    for (let d = 0; d < D; d++) dw[d] += dy[o + d] * x[o + d] * rs;
  }
}

// CPU path: fused onnxruntime graphs for large tensors (see cpu/fused.ts), the references above for small ones.
export const rmsnormKernel = kernel('rmsnorm', 'forward', ['r', 'r', 'rw', 'rw'], U, (b, u) =>
  (u.R * u.D >= FUSE_MIN && !u.stable ? rmsnormOrt : rmsnormCpu)(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), u.R, u.D, u.eps),
);
/** CPU only: dx and dw in one pass. */
const rmsnormBackwardCpuKernel = kernel('rmsnorm', 'backward_cpu', ['r', 'r', 'r', 'r', 'rw', 'rw'], U, (b, u) => {
  const [x, w, r, dy, dx, dw] = b.map(f32) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  if (u.R * u.D >= FUSE_MIN) rmsnormBackwardOrt(x, w, r, dy, dx, dw, u.R, u.D);
  else {
    rmsnormBackwardCpu(x, w, r, dy, dx, u.R, u.D);
    rmsnormDwCpu(x, r, dy, dw, u.R, u.D);
  }
});
export const rmsnormBackwardKernel = kernel('rmsnorm', 'backward', ['r', 'r', 'r', 'r', 'rw'], U, (b, u) =>
  rmsnormBackwardCpu(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), u.R, u.D),
);
export const rmsnormDwKernel = kernel('rmsnorm', 'backward_dw', ['r', 'r', 'r', 'rw'], U, (b, u) =>
  rmsnormDwCpu(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), u.R, u.D),
);

export interface RmsnormResult {
  y: Tensor;
  /** (rows): saved for the backward pass. */
  rstd: Tensor;
}

/** x: (..., D), w: (D). */
export function rmsnorm(dev: Device, x: Tensor, w: Tensor, eps = 1e-6, opts: StableRowsOption = {}): RmsnormResult {
  expectDtype(x, 'f32', 'rmsnorm x');
  const [R, D] = rowsCols(x);
  expectShape(w, [D], 'rmsnorm weight');
  const y = dev.empty(x.shape);
  const rstd = dev.empty([R]);
  dev.dispatch({
    kernel: rmsnormKernel,
    tensors: [x, w, y, rstd],
    uniforms: { R, D, eps, stable: opts.stableRows ? 1 : 0 },
    workgroups: grid1d(R),
  });
  return { y, rstd };
}

/** Returns dx; adds dw into `dw` (allocated zeroed when omitted). */
export function rmsnormBackward(
  dev: Device,
  x: Tensor,
  w: Tensor,
  rstd: Tensor,
  dy: Tensor,
  dw?: Tensor,
): { dx: Tensor; dw: Tensor } {
  const [R, D] = rowsCols(x);
  expectShape(dy, x.shape, 'rmsnorm dy');
  expectShape(rstd, [R], 'rmsnorm rstd');
  const dx = dev.empty(x.shape);
  const gw = dw ?? dev.alloc([D]);
  expectShape(gw, [D], 'rmsnorm dw');
  const u = { R, D, eps: 0, stable: 0 };
  if (dev.kind === 'cpu') {
    dev.dispatch({ kernel: rmsnormBackwardCpuKernel, tensors: [x, w, rstd, dy, dx, gw], uniforms: u, workgroups: [1] });
    return { dx, dw: gw };
  }
  dev.dispatch({ kernel: rmsnormBackwardKernel, tensors: [x, w, rstd, dy, dx], uniforms: u, workgroups: grid1d(R) });
  dev.dispatch({ kernel: rmsnormDwKernel, tensors: [x, rstd, dy, gw], uniforms: u, workgroups: [ceilDiv(D, 64)] });
  return { dx, dw: gw };
}
