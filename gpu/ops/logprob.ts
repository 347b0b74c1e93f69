/**
 * Sampled-token log-probability gather and cross-entropy, with per-token entropy, at a temperature.
 *   z = logits / τ;  lse = log Σ_v exp(z_v);  logp = z[id] - lse;  H = lse - Σ_v p_v z_v
 *   out = sign * logp      (sign = +1: log-prob gather; sign = -1: cross-entropy loss)
 * backward (dout, dH given):  dlogits_v = (sign*dout*(1[v=id] - p_v) - dH * p_v (log p_v + H)) / τ
 * logits: (N, V)  ids: (N) i32, id < 0 means "no target" (out = 0, no gradient from it).
 * `targetsOnly`: rows without a target are not computed at all (lse = H = 0; they must get no dH),
 * which is what a loss over a prompt-plus-completion sequence wants. Backward writes zeros without
 * touching the logits in a row whose dout and dH contributions are both 0.
 * WebGPU: `logprob.wgsl`, one 256-thread workgroup per row.
 */
import type { Device } from '../device.js';
import { expectDtype, expectShape, rowsCols, type Tensor } from '../tensor.js';
import { f32, grid1d, i32, kernel } from './common.js';

const U = [
  ['N', 'u32'],
  ['V', 'u32'],
  ['invTemp', 'f32'],
  ['sign', 'f32'],
  ['hasDH', 'u32'],
  ['targetsOnly', 'u32'],
] as const;

export function logprobCpu(
  z: Float32Array,
  ids: Int32Array,
  out: Float32Array,
  lse: Float32Array,
  ent: Float32Array,
  N: number,
  V: number,
  it: number,
  sign: number,
  targetsOnly = 0,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * V;
    if (targetsOnly && ids[n] < 0) {
      out[n] = lse[n] = ent[n] = 0;
      continue;
    }
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, z[o + v] * it);
    let s = 0;
    let sz = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(z[o + v] * it - mx);
      s += e;
      sz += e * z[o + v] * it;
    }
    const l = mx + Math.log(s);
    lse[n] = l;
    ent[n] = l - sz / s;
    const id = ids[n];
    out[n] = id >= 0 && id < V ? sign * (z[o + id] * it - l) : 0;
  }
}

export function logprobBackwardCpu(
  z: Float32Array,
  ids: Int32Array,
  lse: Float32Array,
  ent: Float32Array,
  dout: Float32Array,
  dH: Float32Array,
  dz: Float32Array,
  u: Readonly<Record<string, number>>,
): void {
  const { N, V, invTemp: it, sign, hasDH } = u;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    const id = ids[n];
    const g = id >= 0 && id < V ? sign * dout[n] : 0;
    const dh = hasDH ? dH[n] : 0;
    if (g === 0 && dh === 0) {
      dz.fill(0, o, o + V);
      continue;
    }
    for (let v = 0; v < V; v++) {
      const lp = z[o + v] * it - lse[n];
      const p = Math.exp(lp);
      dz[o + v] = (g * ((v === id ? 1 : 0) - p) - dh * p * (lp + ent[n])) * it;
    }
  }
}

export const logprobKernel = kernel('logprob', 'forward', ['r', 'r', 'rw', 'rw', 'rw'], U, (b, u) =>
  logprobCpu(f32(b[0]), i32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), u.N, u.V, u.invTemp, u.sign, u.targetsOnly),
);
export const logprobBackwardKernel = kernel('logprob', 'backward', ['r', 'r', 'r', 'r', 'r', 'r', 'rw'], U, (b, u) =>
  logprobBackwardCpu(f32(b[0]), i32(b[1]), f32(b[2]), f32(b[3]), f32(b[4]), f32(b[5]), f32(b[6]), u),
);

export interface LogprobResult {
  /** (N): log p(id) (tokenLogprob) or -log p(id) (crossEntropy); 0 where id < 0. */
  out: Tensor;
  /** (N): saved for backward. */
  lse: Tensor;
  /** (N): entropy of the row's distribution, in nats. */
  entropy: Tensor;
}

export interface LogprobOptions {
  /** Sampling temperature the distribution is taken at (default 1). */
  temperature?: number;
  /** Skip the rows without a target (id < 0): their lse and entropy are 0 and they take no dH. */
  targetsOnly?: boolean;
}

function forward(dev: Device, logits: Tensor, ids: Tensor, sign: number, opts: LogprobOptions): LogprobResult {
  expectDtype(logits, 'f32', 'logits');
  expectDtype(ids, 'i32', 'ids');
  const [N, V] = rowsCols(logits);
  expectShape(ids.reshape([-1]), [N], 'ids');
  const out = dev.empty([N]);
  const lse = dev.empty([N]);
  const entropy = dev.empty([N]);
  dev.dispatch({
    kernel: logprobKernel,
    tensors: [logits, ids, out, lse, entropy],
    uniforms: { N, V, invTemp: 1 / (opts.temperature ?? 1), sign, hasDH: 0, targetsOnly: opts.targetsOnly ? 1 : 0 },
    workgroups: grid1d(N),
  });
  return { out, lse, entropy };
}

function backward(
  dev: Device,
  logits: Tensor,
  ids: Tensor,
  fwd: LogprobResult,
  dout: Tensor,
  dEntropy: Tensor | undefined,
  sign: number,
  opts: LogprobOptions,
): Tensor {
  const [N, V] = rowsCols(logits);
  expectShape(dout, [N], 'dout');
  if (dEntropy) expectShape(dEntropy, [N], 'dEntropy');
  const dz = dev.empty(logits.shape);
  dev.dispatch({
    kernel: logprobBackwardKernel,
    tensors: [logits, ids, fwd.lse, fwd.entropy, dout, dEntropy ?? dout, dz],
    uniforms: {
      N,
      V,
      invTemp: 1 / (opts.temperature ?? 1),
      sign,
      hasDH: dEntropy ? 1 : 0,
      targetsOnly: opts.targetsOnly ? 1 : 0,
    },
    workgroups: grid1d(N),
  });
  return dz;
}

/** log p(ids[n] | logits[n] / τ) per row: the policy log-probs GRPO and distillation use. */
export function tokenLogprob(dev: Device, logits: Tensor, ids: Tensor, opts: LogprobOptions = {}): LogprobResult {
  return forward(dev, logits, ids, 1, opts);
}
/** dlogits from d(logp) (N) and optionally d(entropy) (N). */
export function tokenLogprobBackward(
  dev: Device,
  logits: Tensor,
  ids: Tensor,
  fwd: LogprobResult,
  dlogp: Tensor,
  dEntropy?: Tensor,
  opts: LogprobOptions = {},
): Tensor {
  return backward(dev, logits, ids, fwd, dlogp, dEntropy, 1, opts);
}
/** Per-token cross-entropy -log p(targets[n]); targets < 0 are ignored (loss 0). */
export function crossEntropy(dev: Device, logits: Tensor, targets: Tensor, opts: LogprobOptions = {}): LogprobResult {
  return forward(dev, logits, targets, -1, opts);
}
/** dlogits from d(loss) (N), e.g. mask/count for a mean over live tokens. */
export function crossEntropyBackward(
  dev: Device,
  logits: Tensor,
  targets: Tensor,
  fwd: LogprobResult,
  dloss: Tensor,
  opts: LogprobOptions = {},
): Tensor {
  return backward(dev, logits, targets, fwd, dloss, undefined, -1, opts);
}
