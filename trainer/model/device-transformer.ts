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
  attention,
  attentionBackward,
  CpuDevice,
  copyRange,
  type Device,
  embedding,
  embeddingBackward,
  fill,
  kvCacheWrite,
  matmulBackward,
  rmsnormBackward,
  ropeTable,
  Tensor,
} from '../../gpu/index.js';
import { headWeightName, type ModelConfig, paramShapes } from './config.js';
import { attentionInputs, type Block, type BlockWeights, blockBackward, blockOutput, head, type Keep } from './device-block.js';
import { DeviceKVCache, prefixKeyValueGrads, type SharedPrefix } from './device-cache.js';
import type { LoraAdapter } from './hf/index.js';
import { checkFits, checkTokenId } from './limits.js';
import { DeviceLora, type LoraOptions } from './lora.js';

export { DeviceKVCache, type SharedPrefix } from './device-cache.js';

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

export class DeviceTransformer implements BlockWeights {
  readonly params = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  /** RoPE cos/sin table. */
  readonly table: Tensor;
  private saved?: Saved;

  /**
   * `shareHost` (CPU backend only): the device weights ARE the host arrays (no copy), so an update
   * on the device is at once what checkpoints read. Elsewhere the weights are uploaded copies.
   */
  readonly sharesHost: boolean;
  /** Low-rank adapters (`attachLora`): then only they train and the base stays frozen. */
  lora?: DeviceLora;
  /** The base weights get no gradient (loaded without them, or an adapter trains instead). */
  get frozenBase(): boolean {
    return this.grads.size === 0 || this.lora !== undefined;
  }

  constructor(
    readonly dev: Device,
    readonly config: ModelConfig,
    host: ReadonlyMap<string, Float32Array>,
    opts: { shareHost?: boolean; grads?: boolean } = {},
  ) {
    this.sharesHost = opts.shareHost === true && dev instanceof CpuDevice;
    for (const [name, shape] of paramShapes(config)) {
      const w = host.get(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (!w || w.length !== n) throw new RangeError(`parameter ${name} is missing or has the wrong size (shape [${shape}])`);
      this.params.set(name, this.sharesHost ? (dev as CpuDevice).wrap(w, shape) : dev.upload(w, shape));
      if (opts.grads !== false) this.grads.set(name, dev.alloc(shape));
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
    for (const g of this.trainable().grads) fill(this.dev, g, 0);
  }

  /**
   * Adds low-rank adapters (new ones, or a PEFT adapter's) to the projections `opts.targets`; from
   * then on training updates only them. The base gradients, if any, are released.
   */
  attachLora(opts: LoraOptions, init: { seed?: number; adapter?: LoraAdapter } = {}): DeviceLora {
    if (this.lora) throw new RangeError('the model already has an adapter');
    this.dropSaved();
    this.dev.free(...this.grads.values());
    this.grads.clear();
    this.lora = new DeviceLora(this.dev, this.config, opts, init);
    return this.lora;
  }

  /** What an optimizer step updates: the adapter's tensors when one is attached, else every weight. */
  trainable(): { names: string[]; params: Tensor[]; grads: Tensor[]; shapes: number[][] } {
    if (this.lora) {
      const names = [...this.lora.params.keys()];
      return {
        names,
        params: names.map((n) => this.lora?.params.get(n) as Tensor),
        grads: names.map((n) => this.lora?.grads.get(n) as Tensor),
        shapes: names.map((n) => this.lora?.shapes.get(n) as number[]),
      };
    }
    if (this.grads.size === 0) throw new RangeError('this model was loaded without gradients: nothing to train');
    const names = [...this.params.keys()];
    return {
      names,
      params: names.map((n) => this.p(n)),
      grads: names.map((n) => this.gr(n)),
      shapes: names.map((n) => [...this.p(n).shape]),
    };
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

  /** Weight `name` (what a block reads). */
  p(name: string): Tensor {
    return this.params.get(name) as Tensor;
  }
  /** Gradient of weight `name`. */
  gr(name: string): Tensor {
    const g = this.grads.get(name);
    if (!g) throw new RangeError(`this model was loaded without gradients (frozen): ${name} has none`);
    return g;
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
   * loss: no head (final norm, logits). Each sequence then runs `prefix.cache.clone(capacity)`
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
      // A pass without backward frees each layer's activations as soon as the layer is done, so a
      // long prompt holds one layer's worth, not all of them (1k tokens of Qwen3-0.6B: ~3 GB).
      const layer: Tensor[] = [];
      const lkeep: Keep = opts.train
        ? keep
        : (t) => {
            layer.push(t);
            return t;
          };
      const a = attentionInputs(this, l, x, posT, T, rows, lkeep);
      kvCacheWrite(dev, cache.k[l], a.kr.reshape([1, T, KV, hd]), pos0);
      kvCacheWrite(dev, cache.v[l], a.v.reshape([1, T, KV, hd]), pos0);
      const att = attention(dev, a.qr.reshape([1, T, H, hd]), cache.k[l], cache.v[l], { kvLen: pos0 + T });
      lkeep(att.o);
      lkeep(att.lse);
      const m = blockOutput(this, l, x, att.o.reshape([T, H * hd]), rows, lkeep);
      if (opts.train) blocks.push({ ...a, qr: a.qr.reshape([1, T, H, hd]), att, ...m });
      else {
        dev.free(...layer.filter((t) => t !== m.x));
        keep(m.x);
      }
      x = m.x;
    }
    cache.len = pos0 + T;
    const saved: Saved = { T, pos0, ids: idsT, pos: posT, cache, blocks, xL: x, temps, ownCache: !opts.cache };
    if (!withHead) return { logits: x, saved }; // x is kept: the caller frees nothing
    // Sampling wants the last row: the head runs on the last two rows, not one, since onnxruntime's
    // one-row products differ in the last bits from a row of a larger product (any two or more rows
    // agree). A (T, V) block of logits is 0.6 GB for a 1k-token prompt at Qwen3's 151k vocabulary.
    let hx = x;
    if (opts.lastOnly && !opts.train && T > 2) {
      const D = c.dim;
      hx = keep(dev.empty([2, D]));
      copyRange(dev, x, hx, { srcOffset: (T - 2) * D, dstOffset: 0, n: 2 * D });
    }
    const { hF, rF, logits } = head(this, hx, rows, keep);
    return { logits, saved: { ...saved, hF, rF } };
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
   *
   * `padRows: false` runs a batch of one as one row: onnxruntime then takes its matrix-vector path,
   * which streams each weight matrix once instead of packing it for a product (about 3x faster on a
   * model whose weights do not fit in cache, where decoding is bound by memory bandwidth). Its bits
   * differ from the padded path's, so a caller uses one or the other for a whole run (see
   * `ModelRunner.decodeRows`).
   */
  async decodeBatch(
    ids: readonly number[],
    caches: readonly DeviceKVCache[],
    opts: { padRows?: boolean } = {},
  ): Promise<Float32Array> {
    const dev = this.dev;
    const c = this.config;
    const { heads: H, kvHeads: KV, headDim: hd, vocabSize: V } = c;
    const B = ids.length;
    if (B === 0 || caches.length !== B)
      throw new RangeError(`decodeBatch needs one cache per token, got ${B} tokens and ${caches.length} caches`);
    if (new Set(caches).size !== B)
      throw new RangeError('decodeBatch got the same cache twice: each row extends its own sequence');
    const R = opts.padRows === false ? B : Math.max(B, 2);
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
        const a = attentionInputs(this, l, x, posT, R, rows, keep);
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
        x = blockOutput(this, l, x, o, rows, keep).x;
      }
      for (const cache of caches) cache.len++;
      logits = head(this, x, rows, keep).logits;
      const all = (await dev.download(logits)) as Float32Array;
      return all.slice(0, B * V);
    } finally {
      dev.free(...temps);
      if (logits) dev.free(logits);
    }
  }

  /**
   * dlogits null: a shared prefix without head, whose gradient enters only through `prefix.dk/dv`.
   * A continuation (pos0 > 0) adds the gradients of the prefix's keys/values into `prefix.dk/dv`.
   */
  private backwardTensors(sv: Saved, dlogits: Float32Array | Tensor | null, prefix?: SharedPrefix): void {
    const dev = this.dev;
    const c = this.config;
    const V = c.vocabSize;
    const { T, pos0 } = sv;
    const n = dlogits === null ? T * V : dlogits instanceof Tensor ? dlogits.size : dlogits.length;
    if (n !== T * V) throw new RangeError(`dlogits has ${n} values, expected ${T} x ${V}`);
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
        // logits = hF head^T (head: the embedding when tied, else lm_head)
        const hw = headWeightName(c);
        const frozen = this.frozenBase;
        const g = matmulBackward(
          dev,
          sv.hF,
          this.p(hw),
          dL,
          { transB: true },
          { a: true, b: !frozen },
          {
            db: frozen ? undefined : this.gr(hw),
          },
        );
        const dhF = keep(g.da as Tensor);
        const n = rmsnormBackward(dev, sv.xL, this.p('norm'), sv.rF, dhF, frozen ? undefined : this.gr('norm'));
        if (frozen) keep(n.dw);
        dx = keep(n.dx);
      }
      for (let l = c.layers - 1; l >= 0; l--) {
        const b = sv.blocks[l];
        dx = blockBackward(this, l, b, dx, sv.pos, keep, (dO) => {
          const att = attentionBackward(dev, b.qr, sv.cache.k[l], sv.cache.v[l], b.att, dO, { kvLen: pos0 + T });
          keep(att.dq);
          const { dk, dv } = prefixKeyValueGrads(dev, keep(att.dk), keep(att.dv), l, pos0, T, prefix, dlogits === null, keep);
          return { dq: att.dq, dk, dv };
        });
      }
      if (!this.frozenBase) embeddingBackward(dev, sv.ids, dx, V, this.gr('embed_tokens'));
    } finally {
      dev.free(...tmp);
    }
  }

  /** Release every device tensor the model holds. */
  dispose(): void {
    this.dropSaved();
    this.lora?.dispose();
    this.dev.free(...this.params.values(), ...this.grads.values(), this.table);
  }
}
