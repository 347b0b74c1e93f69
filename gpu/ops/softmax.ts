/**
 * Softmax and log-softmax over the last dimension, forward and backward.
 *   softmax:     y = exp(x - max) / Σ exp(x - max)          dx = y * (dy - Σ dy*y)
 *   log-softmax: y = x - max - log Σ exp(x - max)           dx = dy - exp(y) * Σ dy
 * x, y: (R, C). WebGPU: `softmax.wgsl`, one 256-thread workgroup per row.
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, rowsCols, type Tensor } from '../tensor.js';
import { f32, grid1d, kernel } from './common.js';

const U = [
  ['R', 'u32'],
  ['C', 'u32'],
] as const;

export function softmaxCpu(x: Float32Array, y: Float32Array, R: number, C: number, log: boolean): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let mx = -Infinity;
    for (let c = 0; c < C; c++) if (x[o + c] > mx) mx = x[o + c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[o + c] - mx);
    if (log) {
      const l = mx + Math.log(s);
      for (let c = 0; c < C; c++) y[o + c] = x[o + c] - l;
    } else {
      for (let c = 0; c < C; c++) y[o + c] = Math.exp(x[o + c] - mx) / s;
    }
  }
}

export function softmaxBackwardCpu(
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  R: number,
  C: number,
  log: boolean,
): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    let s = 0;
    if (log) {
      for (let c = 0; c < C; c++) s += dy[o + c];
      for (let c = 0; c < C; c++) dx[o + c] = dy[o + c] - Math.exp(y[o + c]) * s;
    } else {
      for (let c = 0; c < C; c++) s += dy[o + c] * y[o + c];
      for (let c = 0; c < C; c++) dx[o + c] = y[o + c] * (dy[o + c] - s);
    }
  }
}

export const softmaxKernel = kernel('softmax', 'softmax', ['r', 'rw'], U, (b, u) =>
  softmaxCpu(f32(b[0]), f32(b[1]), u.R, u.C, false),
);
export const logSoftmaxKernel = kernel('softmax', 'log_softmax', ['r', 'rw'], U, (b, u) =>
  softmaxCpu(f32(b[0]), f32(b[1]), u.R, u.C, true),
);
export const softmaxBackwardKernel = kernel('softmax', 'softmax_backward', ['r', 'r', 'rw'], U, (b, u) =>
  softmaxBackwardCpu(f32(b[0]), f32(b[1]), f32(b[2]), u.R, u.C, false),
);
export const logSoftmaxBackwardKernel = kernel('softmax', 'log_softmax_backward', ['r', 'r', 'rw'], U, (b, u) =>
  softmaxBackwardCpu(f32(b[0]), f32(b[1]), f32(b[2]), u.R, u.C, true),
);

function run(dev: Device, k: typeof softmaxKernel, x: Tensor): Tensor {
  expectDtype(x, 'f32', 'softmax x');
  const [R, C] = rowsCols(x);
  const y = dev.empty(x.shape);
  dev.dispatch({ kernel: k, tensors: [x, y], uniforms: { R, C }, workgroups: grid1d(R) });
  return y;
}

function runBack(dev: Device, k: typeof softmaxKernel, y: Tensor, dy: Tensor): Tensor {
  expectShape(dy, y.shape, 'softmax dy');
  const [R, C] = rowsCols(y);
  const dx = dev.empty(y.shape);
  dev.dispatch({ kernel: k, tensors: [y, dy, dx], uniforms: { R, C }, workgroups: grid1d(R) });
  return dx;
}

export const softmax = (dev: Device, x: Tensor): Tensor => run(dev, softmaxKernel, x);
export const logSoftmax = (dev: Device, x: Tensor): Tensor => run(dev, logSoftmaxKernel, x);
/** y: the forward output. */
export const softmaxBackward = (dev: Device, y: Tensor, dy: Tensor): Tensor => runBack(dev, softmaxBackwardKernel, y, dy);
/** y: the forward output (log-probabilities). */
export const logSoftmaxBackward = (dev: Device, y: Tensor, dy: Tensor): Tensor => runBack(dev, logSoftmaxBackwardKernel, y, dy);
