/**
 * One decoder block on the device, forward and backward side by side:
 *   x1 = x0 + Attn(RoPE(QKNorm(RMSNorm(x0) Wq,k)), RMSNorm(x0) Wv) Wo
 *   x2 = x1 + SwiGLU(RMSNorm(x1) Wg, RMSNorm(x1) Wu) Wd
 * Weights come by name from the model (`BlockWeights`); every tensor a pass allocates goes to its
 * `keep`, which frees them together.
 */
import {
  type AttentionResult,
  add,
  type Device,
  matmul,
  matmulBackward,
  rmsnorm,
  rmsnormBackward,
  rope,
  ropeBackward,
  type StableRowsOption,
  swiglu,
  swigluBackward,
  type Tensor,
} from '../../gpu/index.js';
import { headWeightName, type ModelConfig } from './config.js';
import type { DeviceLora } from './lora.js';

export type Keep = <X extends Tensor>(t: X) => X;

export interface Block {
  x0: Tensor;
  r1: Tensor;
  h1: Tensor;
  q: Tensor; // (T*H, hd) before QK-norm
  k: Tensor; // (T*KV, hd)
  v: Tensor; // (T, KV*hd)
  rq: Tensor;
  rk: Tensor;
  qr: Tensor; // (1, T, H, hd) normed and rotated
  att: AttentionResult;
  x1: Tensor;
  r2: Tensor;
  h2: Tensor;
  g: Tensor;
  u: Tensor;
  a: Tensor;
  /** x A (T, r) of each adapted projection (LoRA), by weight name. */
  loraIn: Map<string, Tensor>;
  loraOut: Map<string, Tensor>;
}

/** The model's weights and gradients by name, as a block reads them. */
export interface BlockWeights {
  readonly dev: Device;
  readonly config: ModelConfig;
  /** RoPE cos/sin table. */
  readonly table: Tensor;
  p(name: string): Tensor;
  gr(name: string): Tensor;
  /** Low-rank adapters added to some projections. */
  readonly lora?: DeviceLora;
  /** The base weights get no gradient (LoRA training, or a model loaded to sample). */
  readonly frozenBase?: boolean;
}

/** y = x W (+ s (x A) B where the weight carries an adapter, whose x A goes into `acts`). */
function linear(w: BlockWeights, x: Tensor, name: string, keep: Keep, acts: Map<string, Tensor>): Tensor {
  const y = keep(matmul(w.dev, x, w.p(name)));
  if (!w.lora?.has(name)) return y;
  const r = w.lora.forward(x, name, y, keep);
  acts.set(name, r.xa);
  return r.y;
}

/** Layer `l` up to attention: RMSNorm, q/k/v projections, QK-Norm and RoPE of T rows. */
export function attentionInputs(
  w: BlockWeights,
  l: number,
  x0: Tensor,
  posT: Tensor,
  T: number,
  rows: StableRowsOption,
  keep: Keep,
) {
  const dev = w.dev;
  const { heads: H, kvHeads: KV, headDim: hd, normEps } = w.config;
  const pre = `layers.${l}.`;
  const n1 = rmsnorm(dev, x0, w.p(`${pre}input_layernorm`), normEps, rows);
  const h1 = keep(n1.y);
  const r1 = keep(n1.rstd);
  const loraIn = new Map<string, Tensor>();
  const q = linear(w, h1, `${pre}q_proj`, keep, loraIn).reshape([T * H, hd]);
  const k = linear(w, h1, `${pre}k_proj`, keep, loraIn).reshape([T * KV, hd]);
  const v = linear(w, h1, `${pre}v_proj`, keep, loraIn);
  const nq = rmsnorm(dev, q, w.p(`${pre}q_norm`), normEps, rows);
  const nk = rmsnorm(dev, k, w.p(`${pre}k_norm`), normEps, rows);
  keep(nq.y);
  keep(nk.y);
  const rq = keep(nq.rstd);
  const rk = keep(nk.rstd);
  const qr = keep(rope(dev, nq.y.reshape([T, H, hd]), posT, w.table)); // (T, H, hd)
  const kr = keep(rope(dev, nk.y.reshape([T, KV, hd]), posT, w.table)); // (T, KV, hd)
  return { x0, r1, h1, q, k, v, rq, rk, qr, kr, loraIn };
}

/** Layer `l` after attention: output projection, residual, RMSNorm, SwiGLU MLP, residual. */
export function blockOutput(w: BlockWeights, l: number, x0: Tensor, attnFlat: Tensor, rows: StableRowsOption, keep: Keep) {
  const dev = w.dev;
  const pre = `layers.${l}.`;
  const loraOut = new Map<string, Tensor>();
  const o = linear(w, attnFlat, `${pre}o_proj`, keep, loraOut);
  const x1 = keep(add(dev, o, x0));
  const n2 = rmsnorm(dev, x1, w.p(`${pre}post_attention_layernorm`), w.config.normEps, rows);
  const h2 = keep(n2.y);
  const r2 = keep(n2.rstd);
  const g = linear(w, h2, `${pre}gate_proj`, keep, loraOut);
  const u = linear(w, h2, `${pre}up_proj`, keep, loraOut);
  const a = keep(swiglu(dev, g, u, rows));
  const down = linear(w, a, `${pre}down_proj`, keep, loraOut);
  return { x1, r2, h2, g, u, a, x: keep(add(dev, down, x1)), loraOut };
}

/** Final RMSNorm and the logits (T, V) (tied to the embedding, or `lm_head`); the caller frees the logits. */
export function head(w: BlockWeights, x: Tensor, rows: StableRowsOption, keep: Keep): { hF: Tensor; rF: Tensor; logits: Tensor } {
  const nF = rmsnorm(w.dev, x, w.p('norm'), w.config.normEps, rows);
  const hF = keep(nF.y);
  const rF = keep(nF.rstd);
  return { hF, rF, logits: matmul(w.dev, hF, w.p(headWeightName(w.config)), { transB: true }) };
}

/**
 * Backward of y = x W (+ its adapter) for the weight `name`: adds dW into its gradient (unless the
 * base is frozen) and the adapter's dA, dB into theirs, and returns dx, or adds dx into `dxInto`
 * (the layers that read the same input) and returns it.
 */
function linearBackward(
  w: BlockWeights,
  x: Tensor,
  name: string,
  dy: Tensor,
  keep: Keep,
  acts: Map<string, Tensor>,
  dxInto?: Tensor,
): Tensor {
  const frozen = w.frozenBase === true;
  const g = matmulBackward(
    w.dev,
    x,
    w.p(name),
    dy,
    {},
    { a: true, b: !frozen },
    { da: dxInto, db: frozen ? undefined : w.gr(name) },
  );
  const dx = g.da as Tensor;
  const xa = acts.get(name);
  if (xa && w.lora) w.lora.backward(x, xa, name, dy, dx, keep);
  return dx;
}

/** Backward of an RMSNorm with weight `name`: adds dw into its gradient (unless frozen) and returns dx. */
function normBackward(w: BlockWeights, x: Tensor, name: string, rstd: Tensor, dy: Tensor, keep: Keep): Tensor {
  if (!w.frozenBase) return rmsnormBackward(w.dev, x, w.p(name), rstd, dy, w.gr(name)).dx;
  const r = rmsnormBackward(w.dev, x, w.p(name), rstd, dy);
  keep(r.dw);
  return r.dx;
}

/**
 * Backward of layer `l` from dx (T, D) at its output: accumulates its weights' gradients and
 * returns dx at its input. `attn(dO)` runs attention's backward (the model knows the cache and
 * where a shared prefix's rows go) and returns dq (1, T, H, hd) and dk, dv of this pass's rows.
 */
export function blockBackward(
  w: BlockWeights,
  l: number,
  b: Block,
  dx: Tensor,
  pos: Tensor,
  keep: Keep,
  attn: (dO: Tensor) => { dq: Tensor; dk: Tensor; dv: Tensor },
): Tensor {
  const dev = w.dev;
  const { heads: H, kvHeads: KV, headDim: hd } = w.config;
  const T = dx.dim(0);
  const pre = `layers.${l}.`;
  // --- MLP: x2 = x1 + swiglu(h2 Wg, h2 Wu) Wd
  const da = keep(linearBackward(w, b.a, `${pre}down_proj`, dx, keep, b.loraOut));
  const { dgate, dup } = swigluBackward(dev, b.g, b.u, da);
  keep(dgate);
  keep(dup);
  const dh2 = keep(linearBackward(w, b.h2, `${pre}gate_proj`, dgate, keep, b.loraOut));
  linearBackward(w, b.h2, `${pre}up_proj`, dup, keep, b.loraOut, dh2);
  const dn2 = keep(normBackward(w, b.x1, `${pre}post_attention_layernorm`, b.r2, dh2, keep));
  const dx1 = keep(add(dev, dx, dn2));
  // --- attention: x1 = x0 + attn Wo
  const dattn = keep(linearBackward(w, b.att.o.reshape([T, H * hd]), `${pre}o_proj`, dx1, keep, b.loraOut));
  const { dq, dk, dv } = attn(dattn.reshape([1, T, H, hd])); // dk, dv: (T, KV, hd) of this pass's rows
  const dqn = keep(ropeBackward(dev, dq.reshape([T, H, hd]), pos, w.table)).reshape([T * H, hd]);
  const dkn = keep(ropeBackward(dev, dk.reshape([T, KV, hd]), pos, w.table)).reshape([T * KV, hd]);
  const dqRaw = keep(normBackward(w, b.q, `${pre}q_norm`, b.rq, dqn, keep));
  const dkRaw = keep(normBackward(w, b.k, `${pre}k_norm`, b.rk, dkn, keep));
  const dh1 = keep(linearBackward(w, b.h1, `${pre}q_proj`, dqRaw.reshape([T, H * hd]), keep, b.loraIn));
  linearBackward(w, b.h1, `${pre}k_proj`, dkRaw.reshape([T, KV * hd]), keep, b.loraIn, dh1);
  linearBackward(w, b.h1, `${pre}v_proj`, dv.reshape([T, KV * hd]), keep, b.loraIn, dh1);
  const dn1 = keep(normBackward(w, b.x0, `${pre}input_layernorm`, b.r1, dh1, keep));
  return keep(add(dev, dx1, dn1));
}
