/**
 * Batched decoding: the one-token steps that concurrent sequences (the episodes of a batch) ask for
 * within one turn of the event loop run as one `DeviceTransformer.decodeBatch`. Decoding one token is
 * bound by per-op overhead, so B rows cost little more than one; a row's logits have the same bits
 * whatever the batch holds, so timing never changes what is sampled.
 */
import type { DeviceKVCache, DeviceTransformer } from './device-transformer.js';

/** Most rows one batched decoding step takes (the rest wait for the next step). */
const MAX_BATCH_ROWS = 64;

interface PendingStep {
  id: number;
  cache: DeviceKVCache;
  resolve: (logits: Float32Array) => void;
  reject: (err: unknown) => void;
}

export class DecodeBatcher {
  private pending: PendingStep[] = [];
  private flushQueued = false;

  constructor(
    private readonly device: DeviceTransformer,
    private readonly vocabSize: number,
    /** Steps run and rows they held (rows / steps = mean batch), counted into the caller's record. */
    private readonly stats: { steps: number; rows: number },
  ) {}

  /** Extends `cache` by `id`; resolves with the next logits (V) once the batch it joined has run. */
  step(id: number, cache: DeviceKVCache): Promise<Float32Array> {
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
    const V = this.vocabSize;
    try {
      const logits = await this.device.decodeBatch(
        batch.map((p) => p.id),
        batch.map((p) => p.cache),
      );
      this.stats.steps++;
      this.stats.rows += batch.length;
      batch.forEach((p, b) => {
        p.resolve(logits.subarray(b * V, (b + 1) * V));
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
