/**
 * Where the built-in model's math runs. A `ModelRunner` pairs the host `Transformer` (the weights
 * checkpoints save) with, when a run has a `gpu/` Device, a `DeviceTransformer` that does every
 * forward, backward, loss link and optimizer step on that device. SFT, GRPO and the `builtin`
 * policy talk only to the runner, so one code path serves the CPU backend, WebGPU and the plain
 * host loops (kept as the reference the device is tested against).
 *
 * The update cycle: `zeroGrad` -> `tokenTrainPass` (per sequence: forward, per-token log-probs and
 * entropy (T) to the caller's loss, its d loss / d logp (T) back, backward) -> `gradNorm` ->
 * `step` (global-norm clip + AdamW). On a device only token ids, per-token values and the norm
 * cross to the host; on the CPU backend the device weights and moments are the host arrays
 * themselves, on WebGPU `step` copies them back for checkpoints.
 */
import {
  type AdamWState,
  adamwStep,
  type CpuDevice,
  createDevice,
  type Device,
  type DeviceRequest,
  gradNormSq,
  type Tensor,
  tokenLogprob,
  tokenLogprobBackward,
} from '../../gpu/index.js';
import { type AdamW, clipGradNorm } from '../optim/index.js';
import type { ModelConfig } from './config.js';
import { DecodeBatcher } from './decode-batcher.js';
import { type DeviceKVCache, DeviceTransformer } from './device-transformer.js';
import { refuseNonFiniteWeights } from './finite.js';
import { checkFits, checkTokenId } from './limits.js';
import { logitsGrad, type TokenStats, tokenStats } from './reference/logprob.js';
import { sharedPrefixPass } from './reference/shared-prefix.js';
import { KVCache, Transformer } from './reference/transformer.js';
import { hostStats, type PrefixRun, rowGrad, sharedPrefixRuns, type TokenGrad, withLeadingZeros } from './token-pass.js';

/** A cache for incremental decoding on whichever side runs the model. */
export type DecodeCache = KVCache | DeviceKVCache;

export class ModelRunner {
  /** Batched decoding so far: steps run and rows they held (rows / steps = mean batch). */
  readonly decodeStats = { steps: 0, rows: 0 };
  /**
   * How one-token steps run on a device. `batched` (the default): the steps concurrent sequences
   * ask for within one turn of the event loop run as one padded batch (`decodeBatch`), so a row's
   * bits never depend on what else the batch held. `single`: each step runs alone as one row,
   * onnxruntime's matrix-vector path, about 3x faster per token where the weights do not fit in
   * cache (a real checkpoint decoding one sequence). Its bits differ from `batched`'s but are the
   * same for every step, so a run is reproducible in either mode; set it before decoding starts.
   */
  decodeRows: 'batched' | 'single' = 'batched';
  private batcher?: DecodeBatcher;
  /** The squared gradient norm `gradNorm` computed on the device, reused by `step`. */
  private normSq?: Tensor;
  /** AdamW moments on the device, per optimizer (on the CPU backend: its own arrays, wrapped). */
  private readonly moments = new Map<AdamW, AdamWState>();
  /** The device weights moved past the host copies (WebGPU, until `syncHost`). */
  private hostStale = false;

  constructor(
    readonly model: Transformer,
    readonly device?: DeviceTransformer,
    /** The runner created the device (from a request string) and destroys it in `dispose`. */
    private readonly ownsDevice = false,
  ) {}

  /**
   * A runner on the device a run asked for: `cpu` (the gpu/ CPU backend), `webgpu` (any adapter,
   * software included), `auto` (a hardware WebGPU adapter, else the CPU backend). An existing
   * `Device` is used as given. (The plain host loops are no runtime option: `ModelRunner.of` wraps a
   * bare reference model for tests.)
   */
  static async create(model: Transformer, req: DeviceRequest | Device, threads?: number): Promise<ModelRunner> {
    const dev = typeof req === 'string' ? await createDevice(req, { threads }) : req;
    const d = new DeviceTransformer(dev, model.config, model.params, { shareHost: true, grads: model.grads.size > 0 });
    return new ModelRunner(model, d, typeof req === 'string');
  }

  /** A host-only runner around a bare reference model: what the device path is tested against. */
  static of(m: Transformer | ModelRunner): ModelRunner {
    return m instanceof ModelRunner ? m : new ModelRunner(m);
  }

  get config(): ModelConfig {
    return this.model.config;
  }
  get params(): Map<string, Float32Array> {
    return this.model.params;
  }
  get grads(): Map<string, Float32Array> {
    return this.model.grads;
  }
  get shapes(): Map<string, number[]> {
    return this.model.shapes;
  }
  get numParams(): number {
    return this.model.numParams;
  }
  /** For logs and summaries: where the math runs. */
  get where(): string {
    const d = this.device?.dev;
    if (!d) return 'host loops';
    return d.kind === 'cpu'
      ? `${d.info.name} (gpu/ CPU backend, onnxruntime GEMM)`
      : `${d.info.name} (WebGPU${d.info.software ? ', software' : ''})`;
  }

  zeroGrad(): void {
    this.dropNorm();
    if (this.device) this.device.zeroGrad();
    else this.model.zeroGrad();
  }

  /**
   * For each input (N_i tokens) with its `targets` (N_i; -1: no target): forward, then the
   * per-token log-prob of the target and the entropy at `temperature` go to `lossGrad(i, stats)`,
   * whose d loss / d logp (and d loss / d entropy) come back and run backward through the
   * log-softmax and the model, accumulating parameter gradients (null: this one adds nothing).
   * On a device the (N_i, V) logits and their gradient never leave it (gpu/ops/logprob).
   */
  async tokenTrainPass(
    inputs: readonly (readonly number[])[],
    targets: readonly Int32Array[],
    temperature: number,
    lossGrad: (i: number, st: TokenStats) => TokenGrad | null,
  ): Promise<void> {
    this.dropNorm();
    const d = this.device;
    const V = this.config.vocabSize;
    if (!d) {
      sharedPrefixPass(this.model, inputs, (i, logits) => {
        const g = lossGrad(i, tokenStats(logits, V, targets[i], temperature));
        return g && logitsGrad(logits, V, targets[i], g.dlogp, g.dEntropy, temperature);
      });
      return;
    }
    for (const c of sharedPrefixRuns(inputs, targets)) await this.deviceRun(d, c, inputs, targets, temperature, lossGrad);
  }

  /**
   * Inputs [c.start, c.end) on the device; with `c.P` > 0 their first P rows (shared, loss-free:
   * the group's prompt) run forward and backward once for all of them.
   */
  private async deviceRun(
    d: DeviceTransformer,
    c: PrefixRun,
    inputs: readonly (readonly number[])[],
    targets: readonly Int32Array[],
    temperature: number,
    lossGrad: (i: number, st: TokenStats) => TokenGrad | null,
  ): Promise<void> {
    const dev = d.dev;
    const prefix = c.P > 0 ? d.forwardPrefix(inputs[c.start].slice(0, c.P)) : undefined;
    const from = c.P;
    let any = false;
    try {
      for (let i = c.start; i < c.end; i++) {
        const tg = targets[i].subarray(from); // (T) rows this pass computes
        const T = tg.length;
        const cache = prefix?.cache.clone(inputs[i].length);
        const logits = d.forwardLogits(inputs[i].slice(from), { train: true, cache }); // (T, V)
        const ids = dev.upload(tg, [T], 'i32');
        const fw = tokenLogprob(dev, logits, ids, { temperature, targetsOnly: true });
        const tmp: (Tensor | undefined)[] = [logits, ids, fw.out, fw.lse, fw.entropy];
        try {
          const st = hostStats(
            (await dev.download(fw.out)) as Float32Array,
            (await dev.download(fw.entropy)) as Float32Array,
            tg,
          );
          const g = lossGrad(i, from ? withLeadingZeros(st, from) : st);
          if (!g) {
            d.discard();
            continue;
          }
          const dlogp = dev.upload(rowGrad(g.dlogp, tg, from), [T]);
          const dEnt = g.dEntropy ? dev.upload(rowGrad(g.dEntropy, tg, from), [T]) : undefined;
          const dz = tokenLogprobBackward(dev, logits, ids, fw, dlogp, dEnt, { temperature, targetsOnly: true }); // (T, V)
          tmp.push(dlogp, dEnt, dz);
          d.backward(dz, prefix);
          any = true;
        } finally {
          dev.free(...tmp);
          cache?.free();
        }
      }
    } finally {
      if (prefix) d.backwardPrefix(prefix, any);
    }
  }

  /**
   * Per-token log-probs and entropy of many sequences (the KL reference over a GRPO batch): the
   * same passes as `tokenTrainPass`, shared prompts run once, without a backward.
   */
  async tokenLogprobsMany(
    inputs: readonly (readonly number[])[],
    targets: readonly Int32Array[],
    temperature = 1,
  ): Promise<TokenStats[]> {
    const out: TokenStats[] = [];
    await this.tokenTrainPass(inputs, targets, temperature, (i, st) => {
      out[i] = st;
      return null;
    });
    return out;
  }

  /** Per-token log-probs of `targets` (T; -1: none) and entropy at `temperature`, no training state kept. */
  async tokenLogprobs(ids: readonly number[], targets: Int32Array, temperature = 1): Promise<TokenStats> {
    const d = this.device;
    if (!d) return tokenStats(this.model.forward(ids), this.config.vocabSize, targets, temperature);
    const dev = d.dev;
    const logits = d.forwardLogits(ids);
    const tg = dev.upload(targets, [targets.length], 'i32');
    const fw = tokenLogprob(dev, logits, tg, { temperature, targetsOnly: true });
    try {
      return hostStats((await dev.download(fw.out)) as Float32Array, (await dev.download(fw.entropy)) as Float32Array, targets);
    } finally {
      dev.free(logits, tg, fw.out, fw.lse, fw.entropy);
    }
  }

  /** The global L2 norm of the accumulated gradients (before clipping); one scalar crosses. */
  async gradNorm(): Promise<number> {
    const d = this.device;
    if (!d) return clipGradNorm([...this.model.grads.values()], 0);
    this.dropNorm();
    this.normSq = gradNormSq(d.dev, d.trainable().grads);
    return Math.sqrt(((await d.dev.download(this.normSq)) as Float32Array)[0]);
  }

  /**
   * One optimizer step from the accumulated gradients: clip them to a global norm of `maxGradNorm`
   * (0: no clipping), then AdamW at `lr`. On a device this is gpu/ops/adamw over the device
   * weights; the host arrays (`params`, `opt.m`, `opt.v`) hold the result afterwards either way.
   */
  async step(opt: AdamW, lr: number, maxGradNorm: number): Promise<void> {
    const d = this.device;
    if (!d) {
      const grads = [...this.model.grads.values()];
      clipGradNorm(grads, maxGradNorm);
      opt.update(this.model.grads, lr);
      return;
    }
    const tr = d.trainable();
    const names = tr.names;
    const st = this.momentsOf(opt, names, tr.shapes);
    st.step = opt.step;
    const normSq = this.normSq ?? gradNormSq(d.dev, tr.grads);
    this.normSq = undefined;
    const o = opt.opts;
    adamwStep(d.dev, tr.params, tr.grads, st, {
      lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      weightDecay: o.weightDecay,
      maxGradNorm,
      decay: tr.shapes.map((sh) => sh.length > 1),
      normSq,
    });
    d.dev.free(normSq);
    opt.step = st.step;
    // WebGPU: the host copies (what checkpoints save) are brought up to date by `syncHost`, when a
    // checkpoint or a frozen copy needs them, not after every step.
    if (!d.sharesHost) this.hostStale = true;
  }

  /**
   * Brings the host weights and optimizer moments (what checkpoints save) up to date with the
   * device. A no-op on the CPU backend, whose device tensors are the host arrays.
   */
  async syncHost(): Promise<void> {
    const d = this.device;
    if (!d || !this.hostStale) return;
    if (d.lora) await d.lora.store();
    else await d.store(this.model.params);
    const names = d.trainable().names;
    for (const [opt, st] of this.moments) {
      for (let i = 0; i < names.length; i++) {
        (opt.m.get(names[i]) as Float32Array).set((await d.dev.download(st.m[i])) as Float32Array);
        (opt.v.get(names[i]) as Float32Array).set((await d.dev.download(st.v[i])) as Float32Array);
      }
    }
    this.hostStale = false;
  }

  /**
   * Throws NonFiniteError, naming the tensor, when the weights hold a NaN or an infinity. On a
   * device that does not share the host's memory one scalar (the sum of squared weights) comes
   * down; only when it is not finite are the weights read back to find the tensor.
   */
  async refuseNonFiniteWeights(what: string): Promise<void> {
    const d = this.device;
    if (d?.lora) {
      await d.lora.store();
      refuseNonFiniteWeights(what, d.lora.hostParams());
      return;
    }
    if (d && !d.sharesHost) {
      const sq = gradNormSq(d.dev, [...d.params.values()]);
      const total = ((await d.dev.download(sq)) as Float32Array)[0];
      d.dev.free(sq);
      if (Number.isFinite(total)) return;
      await this.syncHost();
    }
    refuseNonFiniteWeights(what, this.model.params);
  }

  /** The device moments of `opt`: its host arrays wrapped on the CPU backend, uploaded copies elsewhere. */
  private momentsOf(opt: AdamW, names: readonly string[], shapes: readonly number[][]): AdamWState {
    let st = this.moments.get(opt);
    if (st) return st;
    const d = this.device as DeviceTransformer;
    const dev = d.dev;
    const side = (host: Map<string, Float32Array>) =>
      names.map((n, i) => {
        const a = host.get(n);
        const shape = shapes[i];
        if (!a) throw new RangeError(`the optimizer has no moments for parameter ${n}: it belongs to another model`);
        return d.sharesHost ? (dev as CpuDevice).wrap(a, shape) : dev.upload(a, shape);
      });
    st = { m: side(opt.m), v: side(opt.v), step: opt.step };
    this.moments.set(opt, st);
    return st;
  }

  private dropNorm(): void {
    if (this.normSq) this.device?.dev.free(this.normSq);
    this.normSq = undefined;
  }

  /** The host weights changed (a restore): refresh the device copy. */
  paramsUpdated(): void {
    this.device?.load(this.model.params);
  }

  /** Logits (T, V) of a whole sequence, no training state kept. */
  async logits(ids: readonly number[]): Promise<Float32Array> {
    return this.device ? this.device.forward(ids) : this.model.forward(ids);
  }

  /** An empty decoding cache of the model's full length. */
  newCache(): DecodeCache {
    return this.device ? this.device.newCache() : new KVCache(this.config, this.config.maxSeqLen);
  }

  /** Extends `cache` by `ids` and returns the last row of logits (V). */
  async decode(ids: readonly number[], cache: DecodeCache): Promise<Float32Array> {
    if (cache instanceof KVCache) return this.model.forward(ids, { cache, lastOnly: true });
    if (!this.device) throw new RangeError('a device cache needs a device runner');
    return this.device.forward(ids, { cache, lastOnly: true });
  }

  /**
   * One token of one sequence: extends `cache` by `id` and resolves with the next logits (V).
   *
   * On a device, the steps that concurrent sequences (the episodes of a batch) ask for within one
   * turn of the event loop run as one batch (`DeviceTransformer.decodeBatch`): decoding one token is
   * bound by per-op overhead, so B rows cost little more than one. A row's logits have the same bits
   * whatever the batch holds, so timing never changes what is sampled. The host loops decode alone.
   */
  decodeStep(id: number, cache: DecodeCache): Promise<Float32Array> {
    if (cache instanceof KVCache) return Promise.resolve(this.model.forward([id], { cache, lastOnly: true }));
    if (!this.device) return Promise.reject(new RangeError('a device cache needs a device runner'));
    // reject a bad row here, alone, rather than failing the batch it would join
    try {
      checkTokenId(id, this.config.vocabSize);
      checkFits(cache.len + 1, cache.capacity, this.config);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.decodeRows === 'single') {
      this.decodeStats.steps++;
      this.decodeStats.rows++;
      return this.device.decodeBatch([id], [cache], { padRows: false });
    }
    this.batcher ??= new DecodeBatcher(this.device, this.config.vocabSize, this.decodeStats);
    return this.batcher.step(id, cache);
  }

  /** Releases a cache's device memory (host caches are left to the garbage collector). */
  release(cache: DecodeCache): void {
    if (!(cache instanceof KVCache)) cache.free();
  }

  /**
   * A frozen copy of the current weights on the same device (the KL reference); after `syncHost` on
   * WebGPU. With an adapter the copy shares the frozen base's host arrays (on the CPU backend no
   * weight is copied at all; WebGPU uploads the base once more) and freezes a copy of the adapter.
   */
  frozenCopy(): ModelRunner {
    if (this.hostStale)
      throw new RangeError('the host weights are behind the device: await runner.syncHost() before frozenCopy()');
    const lora = this.device?.lora;
    if (this.device && lora) {
      const base = new Transformer(this.model.config, this.model.params, 0, { grads: false });
      const d = new DeviceTransformer(this.device.dev, base.config, base.params, { shareHost: true, grads: false });
      d.attachLora(lora.opts, { adapter: lora.toPeft() });
      return new ModelRunner(base, d);
    }
    const params = new Map<string, Float32Array>();
    for (const [k, v] of this.model.params) params.set(k, Float32Array.from(v));
    const copy = new Transformer(this.model.config, params);
    const d = this.device && new DeviceTransformer(this.device.dev, copy.config, copy.params, { shareHost: true });
    return new ModelRunner(copy, d);
  }

  /** Frees the device mirror, and the device if the runner created it (the host model stays usable). */
  dispose(): void {
    this.dropNorm();
    for (const st of this.moments.values()) this.device?.dev.free(...st.m, ...st.v);
    this.moments.clear();
    this.device?.dispose();
    if (this.ownsDevice) this.device?.dev.destroy();
  }
}
