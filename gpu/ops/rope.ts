/**
 * Rotary position embedding, rotate-half convention (Qwen/Llama): for i < h = hd/2,
 *   y[i]   = x[i] cos(p θ_i) - x[i+h] sin(p θ_i)
 *   y[i+h] = x[i+h] cos(p θ_i) + x[i] sin(p θ_i)          θ_i = base^(-2i/hd), p = positions[n]
 * x: (N, H, hd) (any leading dims flattening to N rows of H heads), positions: (N) i32.
 * Backward is the inverse rotation (same kernel, sign = -1). The cos/sin table (maxPos, hd) is
 * computed once in float64 on the host: large p·θ in f32 `sin` on a GPU drifts.
 * WebGPU: `rope.wgsl`, one thread per rotated pair, 256 per workgroup.
 */
import type { Device } from '../device.js';
import { expectDtype, ShapeError, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, i32, kernel } from './common.js';

const U = [
  ['N', 'u32'],
  ['H', 'u32'],
  ['hd', 'u32'],
  ['maxPos', 'u32'],
  ['sign', 'f32'],
] as const;

/** (maxPos, hd): row p holds cos(p θ_i) for i < hd/2, then sin(p θ_i). */
export function ropeTableHost(maxPos: number, hd: number, base = 1_000_000): Float32Array {
  const h = hd / 2;
  const t = new Float32Array(maxPos * hd);
  for (let p = 0; p < maxPos; p++)
    for (let i = 0; i < h; i++) {
      const a = p * base ** ((-2 * i) / hd);
      t[p * hd + i] = Math.cos(a);
      t[p * hd + h + i] = Math.sin(a);
    }
  return t;
}

export function ropeCpu(
  x: Float32Array,
  pos: Int32Array,
  table: Float32Array,
  y: Float32Array,
  N: number,
  H: number,
  hd: number,
  maxPos: number,
  sign: number,
): void {
  const h = hd >> 1;
  for (let n = 0; n < N; n++) {
    const p = Math.min(Math.max(pos[n], 0), maxPos - 1);
    const to = p * hd;
    for (let hh = 0; hh < H; hh++) {
      const o = (n * H + hh) * hd;
      for (let i = 0; i < h; i++) {
        const c = table[to + i];
        const s = sign * table[to + h + i];
        const a = x[o + i];
        const b = x[o + i + h];
        y[o + i] = a * c - b * s;
        y[o + i + h] = b * c + a * s;
      }
    }
  }
}

export const ropeKernel = kernel('rope', 'main', ['r', 'r', 'r', 'rw'], U, (b, u) =>
  ropeCpu(f32(b[0]), i32(b[1]), f32(b[2]), f32(b[3]), u.N, u.H, u.hd, u.maxPos, u.sign),
);

export function ropeTable(dev: Device, maxPos: number, headDim: number, base = 1_000_000): Tensor {
  if (headDim % 2) throw new ShapeError(`rope head_dim must be even, got ${headDim}`);
  return dev.upload(ropeTableHost(maxPos, headDim, base), [maxPos, headDim]);
}

function launch(dev: Device, x: Tensor, positions: Tensor, table: Tensor, sign: number): Tensor {
  expectDtype(x, 'f32', 'rope x');
  expectDtype(positions, 'i32', 'rope positions');
  const hd = x.dim(-1);
  const H = x.dim(-2);
  const N = x.size / (H * hd);
  if (positions.size !== N) throw new ShapeError(`rope: ${positions.size} positions for ${N} rows of x [${x.shape}]`);
  if (table.dim(-1) !== hd) throw new ShapeError(`rope table [${table.shape}] does not match head_dim ${hd}`);
  const y = dev.empty(x.shape);
  dev.dispatch({
    kernel: ropeKernel,
    tensors: [x, positions, table, y],
    uniforms: { N, H, hd, maxPos: table.dim(0), sign },
    workgroups: grid1d(ceilDiv((N * H * hd) / 2, 256)),
  });
  return y;
}

/** x: (..., N, H, hd) flattened as N·H rows; positions: (N) i32; table from `ropeTable`. */
export function rope(dev: Device, x: Tensor, positions: Tensor, table: Tensor): Tensor {
  return launch(dev, x, positions, table, 1);
}

export function ropeBackward(dev: Device, dy: Tensor, positions: Tensor, table: Tensor): Tensor {
  return launch(dev, dy, positions, table, -1);
}
