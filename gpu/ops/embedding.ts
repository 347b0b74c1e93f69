/**
 * Embedding lookup and its gradient.
 *   forward:  out[n, d] = table[ids[n], d]             table: (V, D)  ids: (N) i32  out: (N, D)
 *   backward: dtable[ids[n], d] += dout[n, d]           (scatter-add; repeated ids accumulate)
 * Ids outside [0, V) read zeros and receive no gradient.
 * WebGPU: `embedding.wgsl`; forward one thread per output element, backward one thread per column d
 * walking the tokens in order, so no two threads touch the same address (no float atomics needed).
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, ShapeError, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, i32, kernel } from './common.js';

const U = [
  ['N', 'u32'],
  ['D', 'u32'],
  ['V', 'u32'],
] as const;

export function embeddingCpu(table: Float32Array, ids: Int32Array, out: Float32Array, N: number, D: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (id < 0 || id >= V) out.fill(0, n * D, (n + 1) * D);
    else out.set(table.subarray(id * D, (id + 1) * D), n * D);
  }
}

export function embeddingBackwardCpu(
  ids: Int32Array,
  dout: Float32Array,
  dtable: Float32Array,
  N: number,
  D: number,
  V: number,
): void {
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    if (id < 0 || id >= V) continue;
    const o = id * D;
    const s = n * D;
    for (let d = 0; d < D; d++) dtable[o + d] += dout[s + d];
  }
}

export const embeddingKernel = kernel('embedding', 'forward', ['r', 'r', 'rw'], U, (b, u) =>
  embeddingCpu(f32(b[0]), i32(b[1]), f32(b[2]), u.N, u.D, u.V),
);
export const embeddingBackwardKernel = kernel('embedding', 'backward', ['r', 'r', 'rw'], U, (b, u) =>
  embeddingBackwardCpu(i32(b[0]), f32(b[1]), f32(b[2]), u.N, u.D, u.V),
);

/** table: (V, D), ids: (...) i32 -> (..., D). */
export function embedding(dev: Device, table: Tensor, ids: Tensor): Tensor {
  expectDtype(table, 'f32', 'embedding table');
  expectDtype(ids, 'i32', 'embedding ids');
  if (table.rank !== 2) throw new ShapeError(`embedding table must be (V, D), got [${table.shape}]`);
  const [V, D] = table.shape as [number, number];
  const N = ids.size;
  const out = dev.empty([...ids.shape, D]);
  dev.dispatch({
    kernel: embeddingKernel,
    tensors: [table, ids, out],
    uniforms: { N, D, V },
    workgroups: grid1d(ceilDiv(N * D, 256)),
  });
  return out;
}

/** Adds the gradient of `embedding` into `dtable` (allocated zeroed when omitted) and returns it. */
export function embeddingBackward(dev: Device, ids: Tensor, dout: Tensor, vocab: number, dtable?: Tensor): Tensor {
  expectDtype(ids, 'i32', 'embedding ids');
  const D = dout.dim(-1);
  const N = ids.size;
  expectShape(dout, [...ids.shape, D], 'embedding dout');
  const grad = dtable ?? dev.alloc([vocab, D]);
  expectShape(grad, [vocab, D], 'embedding dtable');
  dev.dispatch({
    kernel: embeddingBackwardKernel,
    tensors: [ids, dout, grad],
    uniforms: { N, D, V: vocab },
    workgroups: [ceilDiv(D, 64)],
  });
  return grad;
}
