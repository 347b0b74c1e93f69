/**
 * Host reference of the built-in Qwen3-style decoder, in plain loops (the device model,
 * `DeviceTransformer`, is checked against it), and the holder of the weights checkpoints save:
 * token embedding, N blocks of
 * [RMSNorm -> GQA attention with QK-Norm and RoPE -> residual, RMSNorm -> SwiGLU -> residual],
 * a final RMSNorm and logits tied to the embedding. One sequence at a time (batch of 1): the
 * trainer accumulates gradients over sequences, which keeps only one sequence's activations alive.
 *
 * `forward(ids)` returns logits (T, V) and keeps what `backward(dlogits)` needs; backward sits
 * right below forward and accumulates into `grads`. `KVCache` + `forward(ids, {cache})` is the
 * incremental path the sampler uses.
 */

import { swigluBackwardCpu, swigluCpu } from '../../../gpu/index.js';
import { Rng } from '../../../tools/index.js';
import { headWeightName, type ModelConfig, paramShapes } from '../config.js';
import { checkFits, checkTokenId } from '../limits.js';
import { matmul, matmulABt, matmulAtB, rmsnormBwd, rmsnormFwd, rope, ropeTables } from './host-loops.js';

/** Post-RoPE keys and values of every layer for the positions seen so far. */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  len = 0;
  constructor(
    readonly config: ModelConfig,
    readonly capacity: number,
  ) {
    const w = config.kvHeads * config.headDim;
    this.k = Array.from({ length: config.layers }, () => new Float32Array(capacity * w));
    this.v = Array.from({ length: config.layers }, () => new Float32Array(capacity * w));
  }
  /** A copy that can grow independently (one prefix, several continuations). */
  clone(capacity = this.capacity): KVCache {
    if (capacity < this.len) throw new RangeError(`a clone of ${capacity} rows cannot hold the ${this.len} cached`);
    const c = new KVCache(this.config, capacity);
    const n = this.len * this.config.kvHeads * this.config.headDim; // rows past len are never read
    for (let l = 0; l < this.k.length; l++) {
      c.k[l].set(this.k[l].subarray(0, n));
      c.v[l].set(this.v[l].subarray(0, n));
    }
    c.len = this.len;
    return c;
  }
}

/** Activations of one block kept for the backward pass. Shapes for a sequence of T tokens. */
interface BlockActs {
  x0: Float32Array; // (T, d) block input
  rstd1: Float32Array; // (T)
  h1: Float32Array; // (T, d)
  q: Float32Array; // (T, H*hd) before QK-norm
  k: Float32Array; // (T, KV*hd)
  rq: Float32Array; // (T*H)
  rk: Float32Array; // (T*KV)
  qr: Float32Array; // (T, H*hd) normed and rotated
  P: Float32Array; // (H, T, T) attention probabilities
  attn: Float32Array; // (T, H*hd)
  x1: Float32Array; // (T, d)
  rstd2: Float32Array; // (T)
  h2: Float32Array; // (T, d)
  g: Float32Array; // (T, F)
  u: Float32Array; // (T, F)
  a: Float32Array; // (T, F) silu(g) * u
}

/** What a training forward keeps for its backward (one chunk of positions pos0 .. pos0+T-1). */
export interface SavedChunk {
  ids: number[];
  T: number;
  pos0: number;
  /** Keys/values of positions 0 .. pos0+T-1 (a prefix chunk's copied in front). */
  cache: KVCache;
  blocks: BlockActs[];
  xL: Float32Array; // (T, d)
  rstdF: Float32Array; // (T)
  hF: Float32Array; // (T, d)
}

export interface ForwardOptions {
  /** Continue from (and extend) this cache; positions start at cache.len. */
  cache?: KVCache;
  /** Keep activations for `backward` (training). */
  train?: boolean;
  /** Only compute the last row of logits (sampling). */
  lastOnly?: boolean;
}

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

export class Transformer {
  readonly params = new Map<string, Float32Array>();
  readonly grads = new Map<string, Float32Array>();
  readonly shapes = new Map<string, number[]>();
  private readonly cos: Float32Array;
  private readonly sin: Float32Array;
  private saved?: SavedChunk;

  /**
   * `grads: false` allocates no gradients (a model loaded to sample or to stay frozen: a large
   * checkpoint then takes the memory of its weights alone); its backward throws.
   */
  constructor(
    readonly config: ModelConfig,
    params?: Map<string, Float32Array>,
    seed = 0,
    opts: { grads?: boolean } = {},
  ) {
    const rng = new Rng(seed);
    const residScale = 1 / Math.sqrt(2 * config.layers);
    for (const [name, shape] of paramShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      this.shapes.set(name, shape);
      let w = params?.get(name);
      if (params && !w) throw new RangeError(`parameter ${name} is missing`);
      if (w && w.length !== n) throw new RangeError(`parameter ${name} has ${w.length} values, expected ${n} (shape [${shape}])`);
      if (!w) {
        w = new Float32Array(n);
        if (shape.length === 1) w.fill(1);
        else {
          const std = 0.02 * (name.endsWith('o_proj') || name.endsWith('down_proj') ? residScale : 1);
          for (let i = 0; i < n; i++) w[i] = std * gaussian(rng);
        }
      }
      this.params.set(name, w);
      if (opts.grads !== false) this.grads.set(name, new Float32Array(n));
    }
    const t = ropeTables(config.maxSeqLen, config.headDim, config.ropeTheta);
    this.cos = t.cos;
    this.sin = t.sin;
  }

  get numParams(): number {
    let n = 0;
    for (const w of this.params.values()) n += w.length;
    return n;
  }

  zeroGrad(): void {
    for (const g of this.grads.values()) g.fill(0);
  }

  private p(name: string): Float32Array {
    return this.params.get(name) as Float32Array;
  }
  private gr(name: string): Float32Array {
    const g = this.grads.get(name);
    if (!g) throw new RangeError(`this model was loaded without gradients (frozen): ${name} has none`);
    return g;
  }

  /** ids: (T) -> logits (T, V), or (1, V) with `lastOnly`. With `train`, `backward` may follow. */
  forward(ids: readonly number[], opts: ForwardOptions = {}): Float32Array {
    if (opts.train && opts.cache && opts.cache.len !== 0)
      throw new RangeError('training forward must start from an empty cache (use forwardChunk for prefixes)');
    const { logits, saved } = this.forwardChunk(ids, opts);
    this.saved = saved;
    return logits;
  }

  /** backward of the last `forward(ids, {train: true})`: dlogits (T, V); accumulates into `grads`. */
  backward(dlogits: Float32Array): void {
    const sv = this.saved;
    if (!sv) throw new RangeError('backward needs a preceding forward(ids, {train: true})');
    this.saved = undefined;
    this.backwardChunk(sv, dlogits);
  }

  /**
   * Training forward of a chunk that continues `prefix` (whose keys/values are copied, not
   * changed), so several continuations can share one prefix forward: see `sharedPrefixPass`.
   */
  forwardAfter(prefix: SavedChunk, ids: readonly number[]): { logits: Float32Array; saved: SavedChunk } {
    const c = this.config;
    const cache = new KVCache(c, prefix.pos0 + prefix.T + ids.length);
    const w = c.kvHeads * c.headDim;
    const n = (prefix.pos0 + prefix.T) * w;
    for (let l = 0; l < c.layers; l++) {
      cache.k[l].set(prefix.cache.k[l].subarray(0, n));
      cache.v[l].set(prefix.cache.v[l].subarray(0, n));
    }
    cache.len = prefix.pos0 + prefix.T;
    const r = this.forwardChunk(ids, { cache, train: true });
    return { logits: r.logits, saved: r.saved as SavedChunk };
  }

  forwardChunk(ids: readonly number[], opts: ForwardOptions = {}): { logits: Float32Array; saved?: SavedChunk } {
    const c = this.config;
    const { dim: d, heads: H, kvHeads: KV, headDim: hd, ffnDim: F, vocabSize: V } = c;
    const T = ids.length;
    const cache = opts.cache ?? new KVCache(c, T);
    const pos0 = cache.len;
    checkFits(pos0 + T, cache.capacity, c);
    const Tk = pos0 + T;
    const emb = this.p('embed_tokens');
    let x: Float32Array = new Float32Array(T * d);
    for (let t = 0; t < T; t++) {
      const id = ids[t];
      checkTokenId(id, V);
      x.set(emb.subarray(id * d, id * d + d), t * d);
    }
    const blocks: BlockActs[] = [];
    const scale = 1 / Math.sqrt(hd);
    const group = H / KV;
    for (let l = 0; l < c.layers; l++) {
      const pre = `layers.${l}.`;
      const x0 = x;
      const h1 = new Float32Array(T * d);
      const rstd1 = rmsnormFwd(x0, this.p(`${pre}input_layernorm`), T, d, c.normEps, h1);
      const q = matmul(h1, this.p(`${pre}q_proj`), T, d, H * hd);
      const k = matmul(h1, this.p(`${pre}k_proj`), T, d, KV * hd);
      const v = matmul(h1, this.p(`${pre}v_proj`), T, d, KV * hd);
      const qr = new Float32Array(T * H * hd);
      const kr = new Float32Array(T * KV * hd);
      const rq = rmsnormFwd(q, this.p(`${pre}q_norm`), T * H, hd, c.normEps, qr);
      const rk = rmsnormFwd(k, this.p(`${pre}k_norm`), T * KV, hd, c.normEps, kr);
      rope(qr, T, H, hd, pos0, this.cos, this.sin);
      rope(kr, T, KV, hd, pos0, this.cos, this.sin);
      const K = cache.k[l];
      const Vc = cache.v[l];
      K.set(kr, pos0 * KV * hd);
      Vc.set(v, pos0 * KV * hd);
      // attention: for query t (position pos0+t) over keys 0..pos0+t
      const attn = new Float32Array(T * H * hd);
      const P = opts.train ? new Float32Array(H * T * Tk) : undefined;
      const s = new Float32Array(Tk);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          const qo = (t * H + h) * hd;
          const n = pos0 + t + 1;
          let mx = -Infinity;
          for (let j = 0; j < n; j++) {
            const ko = (j * KV + g) * hd;
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += qr[qo + i] * K[ko + i];
            s[j] = dot * scale;
            if (s[j] > mx) mx = s[j];
          }
          let sum = 0;
          for (let j = 0; j < n; j++) {
            s[j] = Math.exp(s[j] - mx);
            sum += s[j];
          }
          const inv = 1 / sum;
          for (let j = 0; j < n; j++) {
            const pj = s[j] * inv;
            if (P) P[(h * T + t) * Tk + j] = pj;
            const vo = (j * KV + g) * hd;
            for (let i = 0; i < hd; i++) attn[qo + i] += pj * Vc[vo + i];
          }
        }
      }
      const x1 = matmul(attn, this.p(`${pre}o_proj`), T, H * hd, d);
      for (let i = 0; i < x1.length; i++) x1[i] += x0[i];
      const h2 = new Float32Array(T * d);
      const rstd2 = rmsnormFwd(x1, this.p(`${pre}post_attention_layernorm`), T, d, c.normEps, h2);
      const gt = matmul(h2, this.p(`${pre}gate_proj`), T, d, F);
      const u = matmul(h2, this.p(`${pre}up_proj`), T, d, F);
      const a = new Float32Array(T * F);
      swigluCpu(gt, u, a, a.length); // a = silu(g) * u
      const x2 = matmul(a, this.p(`${pre}down_proj`), T, F, d);
      for (let i = 0; i < x2.length; i++) x2[i] += x1[i];
      if (opts.train) blocks.push({ x0, rstd1, h1, q, k, rq, rk, qr, P: P as Float32Array, attn, x1, rstd2, h2, g: gt, u, a });
      x = x2;
    }
    cache.len = Tk;
    const rows = opts.lastOnly ? 1 : T;
    const xs = opts.lastOnly ? x.subarray((T - 1) * d) : x;
    const hF = new Float32Array(rows * d);
    const rstdF = rmsnormFwd(xs, this.p('norm'), rows, d, c.normEps, hF);
    const logits = matmulABt(hF, this.p(headWeightName(c)), rows, V, d); // (rows, V) = hF (rows, d) @ head^T
    return { logits, saved: opts.train ? { ids: [...ids], T, pos0, cache, blocks, xL: x, rstdF, hF } : undefined };
  }

  /**
   * Backward of one chunk: dlogits (T, V) of its own rows. `dPrefixKV` receives the gradients of the
   * post-RoPE keys and values of positions before the chunk (per layer, (pos0, KV*hd)); `dOwnKV`
   * brings gradients for this chunk's own keys/values from chunks that attended to it.
   */
  backwardChunk(
    sv: SavedChunk,
    dlogits: Float32Array,
    dPrefixKV?: { k: Float32Array[]; v: Float32Array[] },
    dOwnKV?: { k: Float32Array[]; v: Float32Array[] },
  ): void {
    const c = this.config;
    const { dim: d, heads: H, kvHeads: KV, headDim: hd, ffnDim: F, vocabSize: V } = c;
    const { T, cache, pos0 } = sv;
    const Tk = pos0 + T;
    const w = KV * hd;
    const dEmb = this.gr('embed_tokens');
    // logits = hF @ head^T (head: the embedding when tied, else lm_head)
    const hw = headWeightName(c);
    matmulAtB(dlogits, sv.hF, T, V, d, this.gr(hw));
    const dhF = matmul(dlogits, this.p(hw), T, V, d);
    let dx: Float32Array = new Float32Array(T * d);
    rmsnormBwd(dhF, sv.xL, this.p('norm'), sv.rstdF, T, d, dx, this.gr('norm'));
    const scale = 1 / Math.sqrt(hd);
    const group = H / KV;
    for (let l = c.layers - 1; l >= 0; l--) {
      const pre = `layers.${l}.`;
      const b = sv.blocks[l];
      // --- MLP: x2 = x1 + (silu(g) * u) @ Wd
      const dx2 = dx;
      matmulAtB(b.a, dx2, T, F, d, this.gr(`${pre}down_proj`));
      const da = matmulABt(dx2, this.p(`${pre}down_proj`), T, F, d);
      const dg = new Float32Array(T * F);
      const du = new Float32Array(T * F);
      swigluBackwardCpu(b.g, b.u, da, dg, du, da.length);
      matmulAtB(b.h2, dg, T, d, F, this.gr(`${pre}gate_proj`));
      matmulAtB(b.h2, du, T, d, F, this.gr(`${pre}up_proj`));
      const dh2 = matmulABt(dg, this.p(`${pre}gate_proj`), T, d, F);
      matmulABt(du, this.p(`${pre}up_proj`), T, d, F, dh2, true);
      const dx1 = Float32Array.from(dx2);
      rmsnormBwd(
        dh2,
        b.x1,
        this.p(`${pre}post_attention_layernorm`),
        b.rstd2,
        T,
        d,
        dx1,
        this.gr(`${pre}post_attention_layernorm`),
        true,
      );
      // --- attention: x1 = x0 + attn @ Wo
      matmulAtB(b.attn, dx1, T, H * hd, d, this.gr(`${pre}o_proj`));
      const dattn = matmulABt(dx1, this.p(`${pre}o_proj`), T, H * hd, d);
      const K = cache.k[l];
      const Vc = cache.v[l];
      const dqr = new Float32Array(T * H * hd);
      // gradients of keys/values at every position the chunk attends to: (Tk, KV*hd)
      const dkAll = new Float32Array(Tk * w);
      const dvAll = new Float32Array(Tk * w);
      const dP = new Float32Array(Tk);
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          const qo = (t * H + h) * hd;
          const po = (h * T + t) * Tk;
          const n = pos0 + t + 1;
          let sum = 0;
          for (let j = 0; j < n; j++) {
            const vo = (j * KV + g) * hd;
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += dattn[qo + i] * Vc[vo + i];
            dP[j] = dot;
            const pj = b.P[po + j];
            sum += pj * dot;
            for (let i = 0; i < hd; i++) dvAll[vo + i] += pj * dattn[qo + i];
          }
          for (let j = 0; j < n; j++) {
            const ds = b.P[po + j] * (dP[j] - sum) * scale;
            if (ds === 0) continue;
            const ko = (j * KV + g) * hd;
            for (let i = 0; i < hd; i++) {
              dqr[qo + i] += ds * K[ko + i];
              dkAll[ko + i] += ds * b.qr[qo + i];
            }
          }
        }
      }
      if (dPrefixKV && pos0 > 0) {
        const pk = dPrefixKV.k[l];
        const pv = dPrefixKV.v[l];
        for (let i = 0; i < pos0 * w; i++) {
          pk[i] += dkAll[i];
          pv[i] += dvAll[i];
        }
      }
      const dkr = dkAll.slice(pos0 * w);
      const dv = dvAll.slice(pos0 * w);
      if (dOwnKV) {
        const ok = dOwnKV.k[l];
        const ov = dOwnKV.v[l];
        for (let i = 0; i < T * w; i++) {
          dkr[i] += ok[i];
          dv[i] += ov[i];
        }
      }
      rope(dqr, T, H, hd, pos0, this.cos, this.sin, true);
      rope(dkr, T, KV, hd, pos0, this.cos, this.sin, true);
      const dq = new Float32Array(T * H * hd);
      const dk = new Float32Array(T * KV * hd);
      rmsnormBwd(dqr, b.q, this.p(`${pre}q_norm`), b.rq, T * H, hd, dq, this.gr(`${pre}q_norm`));
      rmsnormBwd(dkr, b.k, this.p(`${pre}k_norm`), b.rk, T * KV, hd, dk, this.gr(`${pre}k_norm`));
      matmulAtB(b.h1, dq, T, d, H * hd, this.gr(`${pre}q_proj`));
      matmulAtB(b.h1, dk, T, d, KV * hd, this.gr(`${pre}k_proj`));
      matmulAtB(b.h1, dv, T, d, KV * hd, this.gr(`${pre}v_proj`));
      const dh1 = matmulABt(dq, this.p(`${pre}q_proj`), T, d, H * hd);
      matmulABt(dk, this.p(`${pre}k_proj`), T, d, KV * hd, dh1, true);
      matmulABt(dv, this.p(`${pre}v_proj`), T, d, KV * hd, dh1, true);
      const dx0 = dx1;
      rmsnormBwd(dh1, b.x0, this.p(`${pre}input_layernorm`), b.rstd1, T, d, dx0, this.gr(`${pre}input_layernorm`), true);
      dx = dx0;
    }
    for (let t = 0; t < T; t++) {
      const o = sv.ids[t] * d;
      for (let i = 0; i < d; i++) dEmb[o + i] += dx[t * d + i];
    }
  }
}
