/**
 * AdamW (decoupled weight decay) with global-norm gradient clipping, all on the device.
 *   sumsq:  s += Σ g²  over every gradient tensor            (s: (1), the squared global norm)
 *   c = maxNorm > 0 ? min(1, maxNorm / (sqrt(s) + 1e-6)) : 1;   g' = c g
 *   m = β1 m + (1-β1) g';  v = β2 v + (1-β2) g'²
 *   p = p (1 - lr wd) - lr (m / bc1) / (sqrt(v / bc2) + eps),   bc_i = 1 - β_i^step
 * The clip factor is read from the device buffer inside the kernel: no readback per step.
 * WebGPU: `adamw.wgsl`; sumsq one 256-thread workgroup per tensor, the update one thread per element.
 * (Mixed precision would keep m, v and a f32 master copy here while weights go bf16.)
 */
import type { Device } from '../device.js';
import { expectShape, ShapeError, type Tensor } from '../tensor.js';
import { ceilDiv, f32, grid1d, kernel } from './common.js';

const SU = [['n', 'u32']] as const;
const AU = [
  ['n', 'u32'],
  ['lr', 'f32'],
  ['beta1', 'f32'],
  ['beta2', 'f32'],
  ['eps', 'f32'],
  ['wd', 'f32'],
  ['bc1', 'f32'],
  ['bc2', 'f32'],
  ['maxNorm', 'f32'],
] as const;

export const sumsqKernel = kernel('adamw', 'sumsq', ['r', 'rw'], SU, (b, u) => {
  const [g, s] = [f32(b[0]), f32(b[1])];
  let acc = 0;
  for (let i = 0; i < u.n; i++) acc += g[i] * g[i];
  s[0] += acc;
});

export function adamwCpu(
  s: Float32Array,
  g: Float32Array,
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  u: Readonly<Record<string, number>>,
): void {
  const { n, lr, beta1, beta2, eps, wd, bc1, bc2, maxNorm } = u;
  const c = maxNorm > 0 ? Math.min(1, maxNorm / (Math.sqrt(s[0]) + 1e-6)) : 1;
  const decay = 1 - lr * wd;
  for (let i = 0; i < n; i++) {
    const gi = c * g[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    p[i] = p[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
  }
}

export const adamwKernel = kernel('adamw', 'update', ['r', 'r', 'rw', 'rw', 'rw'], AU, (b, u) =>
  adamwCpu(f32(b[0]), f32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), u),
);

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this (0 or absent: no clipping). */
  maxGradNorm?: number;
  /** Per-parameter weight-decay switch (norm gains and biases usually get none). Default: all on. */
  decay?: readonly boolean[];
  /**
   * The squared global norm already computed by `gradNormSq` (a caller that checks it before
   * updating); it is returned as given and stays the caller's to free.
   */
  normSq?: Tensor;
}

export interface AdamWState {
  m: Tensor[];
  v: Tensor[];
  /** Updates applied so far. */
  step: number;
}

export function createAdamWState(dev: Device, params: readonly Tensor[]): AdamWState {
  return { m: params.map((p) => dev.alloc(p.shape)), v: params.map((p) => dev.alloc(p.shape)), step: 0 };
}

/** Squared global L2 norm of the gradients, as a (1) tensor on the device. */
export function gradNormSq(dev: Device, grads: readonly Tensor[]): Tensor {
  const s = dev.alloc([1]);
  for (const g of grads) dev.dispatch({ kernel: sumsqKernel, tensors: [g, s], uniforms: { n: g.size }, workgroups: [1] });
  return s;
}

/**
 * One AdamW step over every parameter, clipping by the global norm first. Returns the squared
 * global norm (before clipping) as a (1) device tensor: download it only when logging.
 */
export function adamwStep(
  dev: Device,
  params: readonly Tensor[],
  grads: readonly Tensor[],
  state: AdamWState,
  opts: AdamWOptions,
): Tensor {
  if (params.length !== grads.length || params.length !== state.m.length) {
    throw new ShapeError(`adamw: ${params.length} params, ${grads.length} grads, ${state.m.length} moment tensors`);
  }
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  state.step += 1;
  const normSq = opts.normSq ?? gradNormSq(dev, grads);
  params.forEach((p, i) => {
    const g = grads[i] as Tensor;
    expectShape(g, p.shape, `adamw grad ${i}`);
    dev.dispatch({
      kernel: adamwKernel,
      tensors: [normSq, g, p, state.m[i] as Tensor, state.v[i] as Tensor],
      uniforms: {
        n: p.size,
        lr: opts.lr,
        beta1,
        beta2,
        eps: opts.eps ?? 1e-8,
        wd: opts.decay?.[i] === false ? 0 : (opts.weightDecay ?? 0),
        bc1: 1 - beta1 ** state.step,
        bc2: 1 - beta2 ** state.step,
        maxNorm: opts.maxGradNorm ?? 0,
      },
      workgroups: grid1d(ceilDiv(p.size, 256)),
    });
  });
  return normSq;
}
