/**
 * Residual add and the small elementwise helpers a training step needs on the device.
 *   add:      y = a + b                  (residual; its backward passes dy to both inputs)
 *   axpy:     y += alpha * x  in place   (gradient accumulation, residual-gradient merge)
 *   scale:    y = alpha * x
 *   fill:     y = value
 * WebGPU: `elementwise.wgsl`, one thread per element, 256 per workgroup.
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, type Tensor } from '../tensor.js';
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
