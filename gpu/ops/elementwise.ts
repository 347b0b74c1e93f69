/**
 * Residual add and the small elementwise helpers a training step needs on the device.
 *   add:      y = a + b                  (residual; its backward passes dy to both inputs)
 *   axpy:     y += alpha * x  in place   (gradient accumulation, residual-gradient merge)
 *   scale:    y = alpha * x
 *   fill:     y = value
 *   copyRange: dst[dstOffset + i] = src[srcOffset + i], i < n  (rows between tensors: a batch's
 *             rows into each sequence's KV cache, one query row out of a batch)
 * WebGPU: `elementwise.wgsl`, one thread per element, 256 per workgroup.
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, ShapeError, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, kernel } from './common.js';

const U = [
  ['n', 'u32'],
  ['alpha', 'f32'],
] as const;

export const addKernel = kernel('elementwise', 'add', ['r', 'r', 'rw'], U, (b, u) => {
  const [x, y, z] = [f32(b[0]), f32(b[1]), f32(b[2])];
  for (let i = 0; i < u.n; i++) z[i] = x[i] + y[i];
});
export const axpyKernel = kernel('elementwise', 'axpy', ['r', 'rw'], U, (b, u) => {
  const [x, y] = [f32(b[0]), f32(b[1])];
  const a = u.alpha;
  for (let i = 0; i < u.n; i++) y[i] += a * x[i];
});
export const scaleKernel = kernel('elementwise', 'scale', ['r', 'rw'], U, (b, u) => {
  const [x, y] = [f32(b[0]), f32(b[1])];
  for (let i = 0; i < u.n; i++) y[i] = u.alpha * x[i];
});
export const fillKernel = kernel('elementwise', 'fill', ['rw'], U, (b, u) => {
  f32(b[0]).fill(u.alpha, 0, u.n);
});

const CR = [
  ['n', 'u32'],
  ['srcOffset', 'u32'],
  ['dstOffset', 'u32'],
] as const;
export const copyRangeKernel = kernel('elementwise', 'copy_range', ['r', 'rw'], CR, (b, u) => {
  const [x, y] = [f32(b[0]), f32(b[1])];
  y.set(x.subarray(u.srcOffset, u.srcOffset + u.n), u.dstOffset);
});

const grid = (n: number) => grid1d(ceilDiv(n, 256));

export function add(dev: Device, a: Tensor, b: Tensor): Tensor {
  expectDtype(a, 'f32', 'add a');
  expectShape(b, a.shape, 'add b');
  const y = dev.empty(a.shape);
  dev.dispatch({ kernel: addKernel, tensors: [a, b, y], uniforms: { n: a.size, alpha: 1 }, workgroups: grid(a.size) });
  return y;
}

/** y += alpha * x, in place; returns y. */
export function axpy(dev: Device, y: Tensor, x: Tensor, alpha = 1): Tensor {
  expectShape(x, y.shape, 'axpy x');
  dev.dispatch({ kernel: axpyKernel, tensors: [x, y], uniforms: { n: y.size, alpha }, workgroups: grid(y.size) });
  return y;
}

export function scale(dev: Device, x: Tensor, alpha: number): Tensor {
  const y = dev.empty(x.shape);
  dev.dispatch({ kernel: scaleKernel, tensors: [x, y], uniforms: { n: x.size, alpha }, workgroups: grid(x.size) });
  return y;
}

/** Set every element of an f32 tensor (zeroing gradients between steps). */
export function fill(dev: Device, y: Tensor, value: number): Tensor {
  expectDtype(y, 'f32', 'fill target');
  dev.dispatch({ kernel: fillKernel, tensors: [y], uniforms: { n: y.size, alpha: value }, workgroups: grid(y.size) });
  return y;
}

/**
 * Copy `n` elements of `src` from `srcOffset` into `dst` at `dstOffset` (flat, row-major offsets of
 * two f32 tensors of any shapes); returns dst.
 */
export function copyRange(
  dev: Device,
  src: Tensor,
  dst: Tensor,
  at: { srcOffset: number; dstOffset: number; n: number },
): Tensor {
  expectDtype(src, 'f32', 'copyRange source');
  expectDtype(dst, 'f32', 'copyRange destination');
  const { srcOffset, dstOffset, n } = at;
  for (const [name, v] of Object.entries(at))
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`copyRange ${name} must be a non-negative integer, got ${v}`);
  if (srcOffset + n > src.size) throw new ShapeError(`copyRange reads [${srcOffset}, ${srcOffset + n}) of ${src.size} elements`);
  if (dstOffset + n > dst.size) throw new ShapeError(`copyRange writes [${dstOffset}, ${dstOffset + n}) of ${dst.size} elements`);
  if (n === 0) return dst;
  dev.dispatch({ kernel: copyRangeKernel, tensors: [src, dst], uniforms: { n, srcOffset, dstOffset }, workgroups: grid(n) });
  return dst;
}
