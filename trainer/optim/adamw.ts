/**
 * AdamW over named Float32Array parameters (decoupled weight decay; none on 1-D norm weights).
 * Its moments are plain named arrays so a checkpoint can save and restore them exactly.
 */

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.0 };

export class AdamW {
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();
  step = 0;

  constructor(
    readonly params: Map<string, Float32Array>,
    readonly shapes: Map<string, number[]>,
    public opts: AdamWOptions = DEFAULT_ADAMW,
  ) {
    for (const [name, w] of params) {
      this.m.set(name, new Float32Array(w.length));
      this.v.set(name, new Float32Array(w.length));
    }
  }

  /** One update from `grads` (already clipped); `lr` overrides the configured rate (schedules). */
  update(grads: Map<string, Float32Array>, lr = this.opts.lr): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.opts;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    for (const [name, w] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = this.m.get(name) as Float32Array;
      const v = this.v.get(name) as Float32Array;
      const decay = (this.shapes.get(name)?.length ?? 1) > 1 ? weightDecay : 0;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * (m[i] / c1 / (Math.sqrt(v[i] / c2) + eps) + decay * w[i]);
      }
    }
  }
}
