/**
 * The built-in decoder on a `gpu/` Device: the same architecture, parameter names and numerics as
 * `Transformer`, but every step is a `gpu/` op (embedding, RMSNorm, matmul, QK-Norm, RoPE, GQA
 * attention with a device KV cache, SwiGLU, tied logits) dispatched to the CPU backend or WebGPU.
 * Training crosses to the host with token ids in and per-token values out (`forwardLogits` keeps
 * the logits on the device for gpu/ops/logprob); sampling reads one row of logits per step.
 *
 * Weights live on the device, and so do the gradients (`zeroGrad`, `backward`) and the optimizer
 * (`ModelRunner.step` runs gpu/ops/adamw here). The host arrays of a `Transformer` are what
 * checkpoints save: on the CPU backend they are the device weights themselves (`shareHost`), on
 * WebGPU `store` copies the weights back after an update. `readGrads` is for tests and tools.
 */
import {
  type AttentionResult,
  add,
  attention,
  attentionBackward,
  axpy,
  CpuDevice,
  copyRange,
  type Device,
  embedding,
  embeddingBackward,
  fill,
  kvCacheWrite,
  matmul,
  matmulBackward,
  rmsnorm,
  rmsnormBackward,
  rope,
  ropeBackward,
  ropeTable,
  type StableRowsOption,
  swiglu,
  swigluBackward,
  Tensor,
} from '../../gpu/index.js';
import { type ModelConfig, paramShapes } from './config.js';
import { checkFits, checkTokenId } from './limits.js';

/**
 * A training forward of the prefix that several sequences share (the prompt of a GRPO group): its
 * activations for one backward, the cache its continuations start from, and the gradients they
 * send back into its keys and values, (1, P, kvHeads, headDim) per layer.
 */
export interface SharedPrefix {
  readonly saved: unknown;
  readonly cache: DeviceKVCache;
  readonly dk: Tensor[];
  readonly dv: Tensor[];
}

/** Post-RoPE keys and values of every layer on the device: (1, capacity, kvHeads, headDim) each. */
export class DeviceKVCache {
  readonly k: Tensor[];
  readonly v: Tensor[];
  len = 0;
  constructor(
    readonly dev: Device,
    readonly config: ModelConfig,
    readonly capacity: number,
  ) {
    const shape = [1, capacity, config.kvHeads, config.headDim];
    this.k = Array.from({ length: config.layers }, () => dev.alloc(shape));
    this.v = Array.from({ length: config.layers }, () => dev.alloc(shape));
  }
  /** A copy that can grow independently (one prefix, several continuations). */
  clone(): DeviceKVCache {
    const c = new DeviceKVCache(this.dev, this.config, this.capacity);
    for (let l = 0; l < this.k.length; l++) {
      kvCacheWrite(this.dev, c.k[l], this.k[l], 0);
      kvCacheWrite(this.dev, c.v[l], this.v[l], 0);
    }
    c.len = this.len;
    return c;
  }
  free(): void {
    this.dev.free(...this.k, ...this.v);
  }
}

type Keep = <X extends Tensor>(t: X) => X;

interface Block {
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
}

interface Saved {
  T: number;
  /** Position of the first row (the cache held this many rows before: a continuation). */
  pos0: number;
  ids: Tensor;
  pos: Tensor;
  cache: DeviceKVCache;
  blocks: Block[];
  xL: Tensor;
  /** Absent for a shared prefix run without the head (`forwardPrefix`). */
  rF?: Tensor;
  hF?: Tensor;
  /** Every tensor the forward allocated (freed after backward). */
  temps: Tensor[];
  /** The cache was made for this pass (freed with it). */
  ownCache: boolean;
}

export interface DeviceForwardOptions {
  /**
   * Continue from (and extend) this cache; positions start at cache.len. With `train` the cache
   * is the caller's (a `continuation` of a shared prefix) and is freed by the caller after backward.
   */
  cache?: DeviceKVCache;
  /** Keep activations for `backward` (training). */
  train?: boolean;
  /** Return only the last row of logits (sampling). */
  lastOnly?: boolean;
}

export class DeviceTransformer {
  readonly params = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  private readonly table: Tensor;
  private saved?: Saved;

  /**
   * `shareHost` (CPU backend only): the device weights ARE the host arrays (no copy), so an update
   * on the device is at once what checkpoints read. Elsewhere the weights are uploaded copies.
   */
  readonly sharesHost: boolean;

  constructor(
    readonly dev: Device,
    readonly config: ModelConfig,
    host: ReadonlyMap<string, Float32Array>,
    opts: { shareHost?: boolean } = {},
  ) {
    this.sharesHost = opts.shareHost === true && dev instanceof CpuDevice;
    for (const [name, shape] of paramShapes(config)) {
      const w = host.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!w || w.length !== n) throw new RangeError(`parameter ${name} is missing or has the wrong size (shape [${shape}])`);
      this.params.set(name, this.sharesHost ? (dev as CpuDevice).wrap(w, shape) : dev.upload(w, shape));
      this.grads.set(name, dev.alloc(shape));
    }
    this.table = ropeTable(dev, config.maxSeqLen, config.headDim, config.ropeTheta);
  }

  /** Overwrite the device weights from host arrays (after the host copy changed: a restore). */
  load(host: ReadonlyMap<string, Float32Array>): void {
    for (const [name, t] of this.params) {
      const w = host.get(name);
      if (!w) throw new RangeError(`parameter ${name} is missing`);
      if (this.sharesHost && (this.dev as CpuDevice).view(t) === w) continue;
      this.dev.write(t, w);
    }
  }

  /** Copies the device weights into host arrays of the same names (nothing to do when shared). */
  async store(into: ReadonlyMap<string, Float32Array>): Promise<void> {
    for (const [name, t] of this.params) {
      const h = into.get(name);
      if (!h || (this.sharesHost && (this.dev as CpuDevice).view(t) === h)) continue;
      h.set((await this.dev.download(t)) as Float32Array);
    }
  }

  zeroGrad(): void {
    for (const g of this.grads.values()) fill(this.dev, g, 0);
  }

  /** Adds the device gradients into host arrays of the same names. */
  async readGrads(into: ReadonlyMap<string, Float32Array>): Promise<void> {
    for (const [name, g] of this.grads) {
      const h = into.get(name);
      if (!h) continue;
      const d = (await this.dev.download(g)) as Float32Array;
      for (let i = 0; i < h.length; i++) h[i] += d[i];
    }
  }

  private p(name: string): Tensor {
    return this.params.get(name) as Tensor;
  }
  private gr(name: string): Tensor {
    return this.grads.get(name) as Tensor;
  }

  /** A fresh cache holding up to `capacity` positions (default: the model's limit). */
  newCache(capacity = this.config.maxSeqLen): DeviceKVCache {
    return new DeviceKVCache(this.dev, this.config, capacity);
  }

  /** ids: (T) -> logits (T, V), or (1, V) with `lastOnly`. With `train`, `backward` may follow. */
  async forward(ids: readonly number[], opts: DeviceForwardOptions = {}): Promise<Float32Array> {
    const logits = this.forwardLogits(ids, opts);
    try {
      const all = (await this.dev.download(logits)) as Float32Array;
      const V = this.config.vocabSize;
      return opts.lastOnly ? all.slice(all.length - V) : all;
    } finally {
      this.dev.free(logits);
    }
  }

  /**
   * ids: (T) -> logits (T, V) left on the device (the caller frees them): the losses' path, where
   * only per-token values cross to the host. With `train`, `backward` may follow.
   */
  forwardLogits(ids: readonly number[], opts: DeviceForwardOptions = {}): Tensor {
    if (opts.train) this.dropSaved();
    const { logits, saved } = this.forwardTensors(ids, opts);
    if (opts.train) this.saved = saved;
    else {
      this.dev.free(...saved.temps);
      if (saved.ownCache) saved.cache.free();
    }
    return logits;
  }

  /**
   * backward of the last `forward(ids, {train: true})`: dlogits (T, V) from the host or already on
   * the device; accumulates into `grads`.
   */
  backward(dlogits: Float32Array | Tensor, prefix?: SharedPrefix): void {
    const sv = this.saved;
    if (!sv) throw new RangeError('backward needs a preceding forward(ids, {train: true})');
    if (sv.pos0 > 0 && !prefix) throw new RangeError('the backward of a continuation needs its shared prefix');
    this.saved = undefined;
    try {
      this.backwardTensors(sv, dlogits, prefix);
    } finally {
      this.dev.free(...sv.temps);
      if (sv.ownCache) sv.cache.free();
    }
  }

  /** Drop the activations of a training forward that gets no backward. */
  discard(): void {
    this.dropSaved();
  }

  /**
   * Training forward of a prefix (P tokens) that several sequences share and whose rows carry no
   * loss: no head (final norm, logits). Each sequence then runs `continuation(prefix, capacity)`
   * -> `forwardLogits(rest, {train, cache})` -> `backward(dlogits, prefix)`, which adds its
   * gradients for the prefix's keys and values into `prefix.dk/dv`; `backwardPrefix` runs the
   * prefix's own backward once from them. Exactly the gradient of separate passes (up to the
   * rounding of different product shapes), at the cost of one prefix instead of one per sequence.
   */
  forwardPrefix(ids: readonly number[]): SharedPrefix {
    const { saved } = this.forwardTensors(ids, { train: true }, false);
    const shape = [1, ids.length, this.config.kvHeads, this.config.headDim];
    const layers = this.config.layers;
    return {
      saved,
      cache: saved.cache,
      dk: Array.from({ length: layers }, () => this.dev.alloc(shape)),
      dv: Array.from({ length: layers }, () => this.dev.alloc(shape)),
    };
  }

  /** A cache of `capacity` rows that starts with the prefix's keys and values. */
  continuation(prefix: SharedPrefix, capacity: number): DeviceKVCache {
    const c = new DeviceKVCache(this.dev, this.config, capacity);
    for (let l = 0; l < this.config.layers; l++) {
      kvCacheWrite(this.dev, c.k[l], prefix.cache.k[l], 0);
      kvCacheWrite(this.dev, c.v[l], prefix.cache.v[l], 0);
    }
    c.len = prefix.cache.len;
    return c;
  }

  /** The prefix's backward from its continuations' key/value gradients (`run` false: just free it). */
  backwardPrefix(prefix: SharedPrefix, run = true): void {
    const sv = prefix.saved as Saved;
    try {
      if (run) this.backwardTensors(sv, null, prefix);
    } finally {
      this.dev.free(...sv.temps, ...prefix.dk, ...prefix.dv);
      sv.cache.free();
    }
  }

  private dropSaved(): void {
    if (!this.saved) return;
    this.dev.free(...this.saved.temps);
    if (this.saved.ownCache) this.saved.cache.free();
    this.saved = undefined;
  }

  private forwardTensors(ids: readonly number[], opts: DeviceForwardOptions, withHead = true): { logits: Tensor; saved: Saved } {
    const dev = this.dev;
    const c = this.config;
    const { heads: H, kvHeads: KV, headDim: hd, vocabSize: V } = c;
    const T = ids.length;
    if (T === 0) throw new RangeError('forward needs at least one token');
    const cache = opts.cache ?? new DeviceKVCache(dev, c, T);
    const pos0 = cache.len;
    checkFits(pos0 + T, cache.capacity, c);
    const idArr = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      checkTokenId(ids[t], V);
      idArr[t] = ids[t];
    }
    const posArr = new Int32Array(T);
    for (let t = 0; t < T; t++) posArr[t] = pos0 + t;
    // Cached decoding computes a position in a chunk whose size depends on what the prefix cache
    // held, so its rows must get the same bits in a chunk of any size. Whole-sequence forwards
    // (training, the KL reference, SFT evaluation) keep the faster fused graphs and agree with
    // each other.
    const rows = { stableRows: !opts.train && opts.cache !== undefined };
    const temps: Tensor[] = [];
    const keep = <X extends Tensor>(t: X): X => {
      temps.push(t);
      return t;
    };
    const idsT = keep(dev.upload(idArr, [T], 'i32'));
    const posT = keep(dev.upload(posArr, [T], 'i32'));
    let x = keep(embedding(dev, this.p('embed_tokens'), idsT));
    const blocks: Block[] = [];
    for (let l = 0; l < c.layers; l++) {
      const a = this.attentionInputs(l, x, posT, T, rows, keep);
      kvCacheWrite(dev, cache.k[l], a.kr.reshape([1, T, KV, hd]), pos0);
      kvCacheWrite(dev, cache.v[l], a.v.reshape([1, T, KV, hd]), pos0);
      const att = attention(dev, a.qr.reshape([1, T, H, hd]), cache.k[l], cache.v[l], { kvLen: pos0 + T });
      keep(att.o);
      keep(att.lse);
      const m = this.blockOutput(l, x, att.o.reshape([T, H * hd]), rows, keep);
      blocks.push({ ...a, qr: a.qr.reshape([1, T, H, hd]), att, ...m });
      x = m.x;
    }
    cache.len = pos0 + T;
    // All rows even when sampling wants the last one: onnxruntime's one-row products differ in the
    // last bits from the same row of a larger product, and the recorded runs used the larger one.
    const saved: Saved = { T, pos0, ids: idsT, pos: posT, cache, blocks, xL: x, temps, ownCache: !opts.cache };
    if (!withHead) return { logits: x, saved }; // x is kept: the caller frees nothing
    const { hF, rF, logits } = this.head(x, rows, keep);
    return { logits, saved: { ...saved, hF, rF } };
  }

  /** Layer `l` up to attention: RMSNorm, q/k/v projections, QK-Norm and RoPE of T rows. */
  private attentionInputs(l: number, x0: Tensor, posT: Tensor, T: number, rows: StableRowsOption, keep: Keep) {
    const dev = this.dev;
    const { heads: H, kvHeads: KV, headDim: hd, normEps } = this.config;
    const pre = `layers.${l}.`;
    const n1 = rmsnorm(dev, x0, this.p(`${pre}input_layernorm`), normEps, rows);
    const h1 = keep(n1.y);
    const r1 = keep(n1.rstd);
    const q = keep(matmul(dev, h1, this.p(`${pre}q_proj`))).reshape([T * H, hd]);
    const k = keep(matmul(dev, h1, this.p(`${pre}k_proj`))).reshape([T * KV, hd]);
    const v = keep(matmul(dev, h1, this.p(`${pre}v_proj`)));
    const nq = rmsnorm(dev, q, this.p(`${pre}q_norm`), normEps, rows);
    const nk = rmsnorm(dev, k, this.p(`${pre}k_norm`), normEps, rows);
    keep(nq.y);
    keep(nk.y);
    const rq = keep(nq.rstd);
    const rk = keep(nk.rstd);
    const qr = keep(rope(dev, nq.y.reshape([T, H, hd]), posT, this.table)); // (T, H, hd)
    const kr = keep(rope(dev, nk.y.reshape([T, KV, hd]), posT, this.table)); // (T, KV, hd)
    return { x0, r1, h1, q, k, v, rq, rk, qr, kr };
  }

  /** Layer `l` after attention: output projection, residual, RMSNorm, SwiGLU MLP, residual. */
  private blockOutput(l: number, x0: Tensor, attnFlat: Tensor, rows: StableRowsOption, keep: Keep) {
    const dev = this.dev;
    const pre = `layers.${l}.`;
    const o = keep(matmul(dev, attnFlat, this.p(`${pre}o_proj`)));
    const x1 = keep(add(dev, o, x0));
    const n2 = rmsnorm(dev, x1, this.p(`${pre}post_attention_layernorm`), this.config.normEps, rows);
    const h2 = keep(n2.y);
    const r2 = keep(n2.rstd);
    const g = keep(matmul(dev, h2, this.p(`${pre}gate_proj`)));
    const u = keep(matmul(dev, h2, this.p(`${pre}up_proj`)));
    const a = keep(swiglu(dev, g, u, rows));
    const down = keep(matmul(dev, a, this.p(`${pre}down_proj`)));
    return { x1, r2, h2, g, u, a, x: keep(add(dev, down, x1)) };
  }

  /** Final RMSNorm and the tied logits (T, V); the logits are the caller's to free. */
  private head(x: Tensor, rows: StableRowsOption, keep: Keep): { hF: Tensor; rF: Tensor; logits: Tensor } {
    const nF = rmsnorm(this.dev, x, this.p('norm'), this.config.normEps, rows);
    const hF = keep(nF.y);
    const rF = keep(nF.rstd);
    return { hF, rF, logits: matmul(this.dev, hF, this.p('embed_tokens'), { transB: true }) };
  }

  /**
   * One decoding step of several sequences at once: row b is token `ids[b]` at position
   * `caches[b].len` of its own cache, which it extends by one. Returns the logits (B, V).
   *
   * The projections and the MLP run on all rows together (one product each instead of one per
   * sequence: decoding is bound by per-op overhead); attention runs per row against that row's
   * cache. Every op is row-independent and takes its stable path, and a batch of one is padded to two
   * rows (one-row products differ in the last bits from many-row ones), so a row gets the same bits
   * whatever else is in the batch: the batch's make-up, which depends on timing, never changes a
   * sampled token.
   */
  async decodeBatch(ids: readonly number[], caches: readonly DeviceKVCache[]): Promise<Float32Array> {
    const dev = this.dev;
    const c = this.config;
    const { heads: H, kvHeads: KV, headDim: hd, vocabSize: V } = c;
    const B = ids.length;
    if (B === 0 || caches.length !== B)
      throw new RangeError(`decodeBatch needs one cache per token, got ${B} tokens and ${caches.length} caches`);
    if (new Set(caches).size !== B)
      throw new RangeError('decodeBatch got the same cache twice: each row extends its own sequence');
    const R = Math.max(B, 2);
    const idArr = new Int32Array(R);
    const posArr = new Int32Array(R);
    for (let r = 0; r < R; r++) {
      const b = r < B ? r : 0;
      const cache = caches[b];
      checkTokenId(ids[b], V);
      checkFits(cache.len + 1, cache.capacity, c);
      idArr[r] = ids[b];
      posArr[r] = cache.len;
    }
    const rows = { stableRows: true };
    const temps: Tensor[] = [];
    const keep: Keep = (t) => {
      temps.push(t);
      return t;
    };
    let logits: Tensor | undefined;
    try {
      const posT = keep(dev.upload(posArr, [R], 'i32'));
      let x = keep(embedding(dev, this.p('embed_tokens'), keep(dev.upload(idArr, [R], 'i32'))));
      const qRow = H * hd;
      const kvRow = KV * hd;
      for (let l = 0; l < c.layers; l++) {
        const a = this.attentionInputs(l, x, posT, R, rows, keep);
        const o = keep(dev.alloc([R, qRow])); // the padding row's attention stays zero (it is discarded)
        const q1 = keep(dev.empty([1, 1, H, hd]));
        for (let b = 0; b < B; b++) {
          const cache = caches[b];
          const pos = cache.len;
          copyRange(dev, a.kr, cache.k[l], { srcOffset: b * kvRow, dstOffset: pos * kvRow, n: kvRow });
          copyRange(dev, a.v, cache.v[l], { srcOffset: b * kvRow, dstOffset: pos * kvRow, n: kvRow });
          copyRange(dev, a.qr, q1, { srcOffset: b * qRow, dstOffset: 0, n: qRow });
          const att = attention(dev, q1, cache.k[l], cache.v[l], { kvLen: pos + 1 });
          copyRange(dev, att.o, o, { srcOffset: 0, dstOffset: b * qRow, n: qRow });
          dev.free(att.o, att.lse);
        }
        x = this.blockOutput(l, x, o, rows, keep).x;
      }
      for (const cache of caches) cache.len++;
      logits = this.head(x, rows, keep).logits;
      const all = (await dev.download(logits)) as Float32Array;
      return all.slice(0, B * V);
    } finally {
      dev.free(...temps);
      if (logits) dev.free(logits);
    }
  }

  /**
   * Backward of y = x W for the weight `name`: adds dW into its gradient and returns dx, or adds dx
   * into `dxInto` (the layers that read the same input) and returns it.
   */
  private linearBackward(x: Tensor, name: string, dy: Tensor, dxInto?: Tensor): Tensor {
    const g = matmulBackward(this.dev, x, this.p(name), dy, {}, { a: true, b: true }, { da: dxInto, db: this.gr(name) });
    return g.da as Tensor;
  }

  /** Backward of an RMSNorm with weight `name`: adds dw into its gradient and returns dx. */
  private normBackward(x: Tensor, name: string, rstd: Tensor, dy: Tensor): Tensor {
    return rmsnormBackward(this.dev, x, this.p(name), rstd, dy, this.gr(name)).dx;
  }

  /**
   * dlogits null: a shared prefix without head, whose gradient enters only through `prefix.dk/dv`.
   * A continuation (pos0 > 0) adds the gradients of the prefix's keys/values into `prefix.dk/dv`.
   */
  private backwardTensors(sv: Saved, dlogits: Float32Array | Tensor | null, prefix?: SharedPrefix): void {
    const dev = this.dev;
    const c = this.config;
    const { heads: H, kvHeads: KV, headDim: hd, vocabSize: V } = c;
    const { T, pos0 } = sv;
    const n = dlogits === null ? T * V : dlogits instanceof Tensor ? dlogits.size : dlogits.length;
    if (n !== T * V) throw new RangeError(`dlogits has ${n} values, expected ${T} x ${V}`);
    const w = KV * hd;
    const tmp: Tensor[] = [];
    const keep = <X extends Tensor>(t: X): X => {
      tmp.push(t);
      return t;
    };
    try {
      let dx: Tensor;
      if (dlogits === null || !sv.hF || !sv.rF) dx = keep(dev.alloc([T, c.dim]));
      else {
        const dL = dlogits instanceof Tensor ? dlogits.reshape([T, V]) : keep(dev.upload(dlogits, [T, V]));
        // logits = hF emb^T (tied embedding)
        const emb = this.p('embed_tokens');
        const g = matmulBackward(dev, sv.hF, emb, dL, { transB: true }, { a: true, b: true }, { db: this.gr('embed_tokens') });
        const dhF = keep(g.da as Tensor);
        dx = keep(this.normBackward(sv.xL, 'norm', sv.rF, dhF));
      }
      for (let l = c.layers - 1; l >= 0; l--) {
        const pre = `layers.${l}.`;
        const b = sv.blocks[l];
        // --- MLP: x2 = x1 + swiglu(h2 Wg, h2 Wu) Wd
        const da = keep(this.linearBackward(b.a, `${pre}down_proj`, dx));
        const { dgate, dup } = swigluBackward(dev, b.g, b.u, da);
        keep(dgate);
        keep(dup);
        const dh2 = keep(this.linearBackward(b.h2, `${pre}gate_proj`, dgate));
        this.linearBackward(b.h2, `${pre}up_proj`, dup, dh2);
        const dn2 = keep(this.normBackward(b.x1, `${pre}post_attention_layernorm`, b.r2, dh2));
        const dx1 = keep(add(dev, dx, dn2));
        // --- attention: x1 = x0 + attn Wo
        const dattn = keep(this.linearBackward(b.att.o.reshape([T, H * hd]), `${pre}o_proj`, dx1));
        const att = attentionBackward(dev, b.qr, sv.cache.k[l], sv.cache.v[l], b.att, dattn.reshape([1, T, H, hd]), {
          kvLen: pos0 + T,
        });
        const dq = keep(att.dq);
        let dk = keep(att.dk); // (1, capacity, KV, hd): rows [0, pos0) belong to the shared prefix
        let dv = keep(att.dv);
        if (prefix && pos0 > 0) {
          const own = (d: Tensor, acc: Tensor) => {
            const head = keep(dev.empty([pos0 * w]));
            copyRange(dev, d, head, { srcOffset: 0, dstOffset: 0, n: pos0 * w });
            axpy(dev, acc.reshape([pos0 * w]), head);
            const mine = keep(dev.empty([T * w]));
            copyRange(dev, d, mine, { srcOffset: pos0 * w, dstOffset: 0, n: T * w });
            return mine;
          };
          dk = own(dk, prefix.dk[l]);
          dv = own(dv, prefix.dv[l]);
        } else if (prefix && dlogits === null) {
          axpy(dev, dk, prefix.dk[l]);
          axpy(dev, dv, prefix.dv[l]);
        }
        const dqn = keep(ropeBackward(dev, dq.reshape([T, H, hd]), sv.pos, this.table)).reshape([T * H, hd]);
        const dkn = keep(ropeBackward(dev, dk.reshape([T, KV, hd]), sv.pos, this.table)).reshape([T * KV, hd]);
        const dqRaw = keep(this.normBackward(b.q, `${pre}q_norm`, b.rq, dqn));
        const dkRaw = keep(this.normBackward(b.k, `${pre}k_norm`, b.rk, dkn));
        const dh1 = keep(this.linearBackward(b.h1, `${pre}q_proj`, dqRaw.reshape([T, H * hd])));
        this.linearBackward(b.h1, `${pre}k_proj`, dkRaw.reshape([T, KV * hd]), dh1);
        this.linearBackward(b.h1, `${pre}v_proj`, dv.reshape([T, KV * hd]), dh1);
        const dn1 = keep(this.normBackward(b.x0, `${pre}input_layernorm`, b.r1, dh1));
        dx = keep(add(dev, dx1, dn1));
      }
      embeddingBackward(dev, sv.ids, dx, V, this.gr('embed_tokens'));
    } finally {
      dev.free(...tmp);
    }
  }

  /** Release every device tensor the model holds. */
  dispose(): void {
    this.dropSaved();
    this.dev.free(...this.params.values(), ...this.grads.values(), this.table);
  }
}
