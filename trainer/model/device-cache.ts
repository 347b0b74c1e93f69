/** Device-side state that outlives one pass: the KV cache, and a shared prefix awaiting its backward. */
import { axpy, copyRange, type Device, type Tensor } from '../../gpu/index.js';
import type { ModelConfig } from './config.js';

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
  /** A copy that can grow independently, of `capacity` rows (one prefix, several continuations). */
  clone(capacity = this.capacity): DeviceKVCache {
    if (capacity < this.len) throw new RangeError(`a clone of ${capacity} rows cannot hold the ${this.len} cached`);
    const c = new DeviceKVCache(this.dev, this.config, capacity);
    for (let l = 0; l < this.k.length; l++) {
      const n = this.len * this.config.kvHeads * this.config.headDim; // rows past len are never read
      copyRange(this.dev, this.k[l], c.k[l], { srcOffset: 0, dstOffset: 0, n });
      copyRange(this.dev, this.v[l], c.v[l], { srcOffset: 0, dstOffset: 0, n });
    }
    c.len = this.len;
    return c;
  }
  free(): void {
    this.dev.free(...this.k, ...this.v);
  }
}

/**
 * Key/value gradients of layer `l` from attention's backward, dk, dv: (1, capacity, KV, hd), sorted
 * by owner. A continuation (pos0 > 0) adds rows [0, pos0) into the shared prefix's `dk/dv` and
 * keeps its own T rows; the prefix's own pass (`prefixPass`) adds what its continuations sent.
 */
export function prefixKeyValueGrads(
  dev: Device,
  dk: Tensor,
  dv: Tensor,
  l: number,
  pos0: number,
  T: number,
  prefix: SharedPrefix | undefined,
  prefixPass: boolean,
  keep: <X extends Tensor>(t: X) => X,
): { dk: Tensor; dv: Tensor } {
  if (prefix && pos0 > 0) {
    const w = dk.size / dk.dim(1);
    const own = (d: Tensor, acc: Tensor) => {
      const head = keep(dev.empty([pos0 * w]));
      copyRange(dev, d, head, { srcOffset: 0, dstOffset: 0, n: pos0 * w });
      axpy(dev, acc.reshape([pos0 * w]), head);
      const mine = keep(dev.empty([T * w]));
      copyRange(dev, d, mine, { srcOffset: pos0 * w, dstOffset: 0, n: T * w });
      return mine;
    };
    return { dk: own(dk, prefix.dk[l]), dv: own(dv, prefix.dv[l]) };
  }
  if (prefix && prefixPass) {
    axpy(dev, dk, prefix.dk[l]);
    axpy(dev, dv, prefix.dv[l]);
  }
  return { dk, dv };
}
