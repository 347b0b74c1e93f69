/**
 * SwiGLU gate: h = silu(g) * u, silu(g) = g σ(g).
 *   backward: dg = dh * u * σ(g) * (1 + g (1 - σ(g)));  du = dh * silu(g)
 * g, u, h: same shape. WebGPU: `swiglu.wgsl`, one thread per element, 256 per workgroup.
 */
import { FUSE_MIN, type StableRowsOption, swigluBackwardOrt, swigluOrt } from '../cpu/fused.js';
import type { Device } from '../device.js';
import { expectShape, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, kernel } from './common.js';

// stable: CPU only (1 = the JS reference at any size, see `StableRowsOption`)
const U = [
  ['n', 'u32'],
  ['stable', 'u32'],
] as const;

export function swigluCpu(g: Float32Array, u: Float32Array, h: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    h[i] = (x / (1 + Math.exp(-x))) * u[i];
  }
}

export function swigluBackwardCpu(
  g: Float32Array,
  u: Float32Array,
  dh: Float32Array,
  dg: Float32Array,
  du: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const x = g[i];
    const s = 1 / (1 + Math.exp(-x));
    dg[i] = dh[i] * u[i] * s * (1 + x * (1 - s));
    du[i] = dh[i] * x * s;
  }
}

// CPU path: a fused onnxruntime graph for large tensors (see cpu/fused.ts), the reference above for small ones.
export const swigluKernel = kernel('swiglu', 'forward', ['r', 'r', 'rw'], U, (b, u) =>
  (u.n >= FUSE_MIN && !u.stable ? swigluOrt : swigluCpu)(f32(b[0]), f32(b[1]), f32(b[2]), u.n),
);
export const swigluBackwardKernel = kernel('swiglu', 'backward', ['r', 'r', 'r', 'rw', 'rw'], U, (b, u) =>
  (u.n >= FUSE_MIN ? swigluBackwardOrt : swigluBackwardCpu)(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), u.n),
);

export function swiglu(dev: Device, gate: Tensor, up: Tensor, opts: StableRowsOption = {}): Tensor {
  expectShape(up, gate.shape, 'swiglu up');
  const h = dev.empty(gate.shape);
  dev.dispatch({
    kernel: swigluKernel,
    tensors: [gate, up, h],
    uniforms: { n: gate.size, stable: opts.stableRows ? 1 : 0 },
    workgroups: grid1d(ceilDiv(gate.size, 256)),
  });
  return h;
}

export function swigluBackward(dev: Device, gate: Tensor, up: Tensor, dh: Tensor): { dgate: Tensor; dup: Tensor } {
  expectShape(dh, gate.shape, 'swiglu dh');
  const dgate = dev.empty(gate.shape);
  const dup = dev.empty(gate.shape);
  dev.dispatch({
    kernel: swigluBackwardKernel,
    tensors: [gate, up, dh, dgate, dup],
    uniforms: { n: gate.size, stable: 0 },
    workgroups: grid1d(ceilDiv(gate.size, 256)),
  });
  return { dgate, dup };
}
