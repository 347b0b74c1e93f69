/**
 * Where the built-in model's math runs. A `ModelRunner` pairs the host `Transformer` (the master
 * weights the optimizer updates and checkpoints save) with, when a run has a `gpu/` Device, a
 * `DeviceTransformer` mirror that does every forward, backward and sampling step on that device.
 * SFT, GRPO and the `builtin` policy talk only to the runner, so one code path serves the CPU
 * backend, WebGPU and the plain host loops (kept as the reference the device is tested against).
 *
 * The update cycle: `zeroGrad` -> `trainPass` (forward, caller's loss gradient, backward, per
 * sequence) -> `gradients()` (host arrays) -> clip + optimizer on the host -> `paramsUpdated()`.
 */
import { createDevice, type Device, type DeviceRequest } from '../../gpu/index.js';
import type { ModelConfig } from './config.js';
import { type DeviceKVCache, DeviceTransformer } from './device-transformer.js';
import { sharedPrefixPass } from './shared.js';
import { checkFits, checkTokenId, KVCache, Transformer } from './transformer.js';

/** A cache for incremental decoding on whichever side runs the model. */
export type DecodeCache = KVCache | DeviceKVCache;

/** Most rows one batched decoding step takes (the rest wait for the next step). */
const MAX_BATCH_ROWS = 64;

interface PendingStep {
  id: number;
  cache: DeviceKVCache;
  resolve: (logits: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class ModelRunner {
  /** Batched decoding so far: steps run and rows they held (rows / steps = mean batch). */
  readonly decodeStats = { steps: 0, rows: 0 };
  private pending: PendingStep[] = [];
  private flushQueued = false;

  constructor(
    readonly model: Transformer,
    readonly device?: DeviceTransformer,
    /** The runner created the device (from a request string) and destroys it in `dispose`. */
    private readonly ownsDevice = false,
  ) {}

  /**
   * A runner on the device a run asked for: `cpu` (the gpu/ CPU backend), `webgpu` (any adapter,
   * software included), `auto` (a hardware WebGPU adapter, else the CPU backend), or `host` (no
   * device: the host loops). An existing `Device` is used as given.
   */
  static async create(model: Transformer, req: DeviceRequest | 'host' | Device, threads?: number): Promise<ModelRunner> {
    if (req === 'host') return new ModelRunner(model);
    const dev = typeof req === 'string' ? await createDevice(req, { threads }) : req;
    return new ModelRunner(model, new DeviceTransformer(dev, model.config, model.params), typeof req === 'string');
  }

  /** A host-only runner around a bare model (tests, tools that do not care where it runs). */
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
    this.model.zeroGrad();
    this.device?.zeroGrad();
  }

  /**
   * For each input, forward -> `lossGrad(i, logits (N_i, V))` -> backward of the returned dlogits
   * (or nothing for null), accumulating parameter gradients. The host path shares the common
   * prefix of the inputs (`sharedPrefixPass`); the device path runs them one by one.
   */
  async trainPass(
    inputs: readonly (readonly number[])[],
    lossGrad: (i: number, logits: Float32Array) => Float32Array | null,
  ): Promise<void> {
    const d = this.device;
    if (!d) {
      sharedPrefixPass(this.model, inputs, lossGrad);
      return;
    }
    for (let i = 0; i < inputs.length; i++) {
      const logits = await d.forward(inputs[i], { train: true });
      const dl = lossGrad(i, logits);
      if (dl) d.backward(dl);
      else d.discard();
    }
  }

  /** The accumulated gradients as host arrays (`grads`), ready for clipping and the optimizer. */
  async gradients(): Promise<Map<string, Float32Array>> {
    if (this.device) {
      this.model.zeroGrad();
      await this.device.readGrads(this.model.grads);
    }
    return this.model.grads;
  }

  /** The host weights changed (optimizer step, restore): refresh the device copy. */
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
    return new Promise((resolve, reject) => {
      this.pending.push({ id, cache, resolve, reject });
      this.queueFlush();
    });
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0, MAX_BATCH_ROWS);
    if (this.pending.length > 0) this.queueFlush();
    if (batch.length === 0) return;
    const V = this.config.vocabSize;
    try {
      const logits = await (this.device as DeviceTransformer).decodeBatch(
        batch.map((p) => p.id),
        batch.map((p) => p.cache),
      );
      this.decodeStats.steps++;
      this.decodeStats.rows += batch.length;
      batch.forEach((p, b) => {
        p.resolve(logits.subarray(b * V, (b + 1) * V));
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Releases a cache's device memory (host caches are left to the garbage collector). */
  release(cache: DecodeCache): void {
    if (!(cache instanceof KVCache)) cache.free();
  }

  /** A frozen copy of the current weights on the same device (the KL reference). */
  frozenCopy(): ModelRunner {
    const params = new Map<string, Float32Array>();
    for (const [k, v] of this.model.params) params.set(k, Float32Array.from(v));
    const copy = new Transformer(this.model.config, params);
    return new ModelRunner(copy, this.device ? new DeviceTransformer(this.device.dev, copy.config, copy.params) : undefined);
  }

  /** Frees the device mirror, and the device if the runner created it (the host model stays usable). */
  dispose(): void {
    this.device?.dispose();
    if (this.ownsDevice) this.device?.dev.destroy();
  }
}
