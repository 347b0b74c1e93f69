/**
 * LoRA on the device: low-rank adapters beside frozen base weights.
 *
 * For an adapted projection W (in, out) the layer computes
 *   y = x W + s (x A) B          A: (in, r), B: (r, out), s = alpha / r (alpha / sqrt(r) with rsLoRA)
 * which is PEFT's `x W^T + s (x A_peft^T) B_peft^T` in the built-in (in, out) layout
 * (A = A_peft^T, B = B_peft^T). Backward, with xa = x A kept from the forward:
 *   dB = s xa^T dy     d(xa) = s dy B^T     dA = x^T d(xa)     dx += d(xa) A^T
 * Only A and B have gradients; the base weights stay as loaded (the model carries no gradient
 * for them at all), which is what lets a large checkpoint train within memory.
 *
 * The host arrays (`hostA`, `hostB`, PEFT-free layout) are what `toPeft` saves; on the CPU backend
 * the device tensors are those arrays themselves (zero-copy), elsewhere `store` brings them up.
 */
import { add, CpuDevice, type Device, matmul, matmulBackward, type Tensor } from '../../gpu/index.js';
import { Rng } from '../../tools/index.js';
import type { ModelConfig } from './config.js';
import { type LinearModule, type LoraAdapter, loraScale, transpose } from './hf/index.js';

export interface LoraOptions {
  r: number;
  alpha: number;
  targets: readonly LinearModule[];
  rslora?: boolean;
}

/** (in, out) of a linear module. */
export function loraDims(c: ModelConfig, m: LinearModule): [number, number] {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const table: Record<LinearModule, [number, number]> = {
    q_proj: [c.dim, q],
    k_proj: [c.dim, kv],
    v_proj: [c.dim, kv],
    o_proj: [q, c.dim],
    gate_proj: [c.dim, c.ffnDim],
    up_proj: [c.dim, c.ffnDim],
    down_proj: [c.ffnDim, c.dim],
  };
  return table[m];
}

export class DeviceLora {
  readonly scale: number;
  /** Weight name (`layers.0.q_proj`) -> host A (in, r) and B (r, out). */
  readonly host = new Map<string, { A: Float32Array; B: Float32Array; inDim: number; outDim: number }>();
  /** Trainable tensors in a fixed order: `<name>.lora_A`, `<name>.lora_B`. */
  readonly params = new Map<string, Tensor>();
  readonly grads = new Map<string, Tensor>();
  readonly shapes = new Map<string, number[]>();

  constructor(
    readonly dev: Device,
    readonly config: ModelConfig,
    readonly opts: LoraOptions,
    init: { seed?: number; adapter?: LoraAdapter } = {},
  ) {
    this.scale = loraScale({ r: opts.r, alpha: opts.alpha, rslora: opts.rslora ?? false });
    const rng = new Rng(init.seed ?? 0);
    const r = opts.r;
    for (let l = 0; l < config.layers; l++)
      for (const m of opts.targets) {
        const name = `layers.${l}.${m}`;
        const [inDim, outDim] = loraDims(config, m);
        let A: Float32Array;
        let B: Float32Array;
        const given = init.adapter?.layers.get(name);
        if (given) {
          if (given.inDim !== inDim || given.outDim !== outDim)
            throw new RangeError(`adapter ${name} is ${given.inDim} x ${given.outDim}; the model's is ${inDim} x ${outDim}`);
          A = transpose(given.A, r, inDim); // PEFT (r, in) -> (in, r)
          B = transpose(given.B, outDim, r); // PEFT (out, r) -> (r, out)
        } else {
          // PEFT's default: A Kaiming-uniform (a = sqrt(5): bound 1/sqrt(in)), B zero, so training starts at the base model
          A = new Float32Array(inDim * r);
          const bound = 1 / Math.sqrt(inDim);
          for (let i = 0; i < A.length; i++) A[i] = (2 * rng.next() - 1) * bound;
          B = new Float32Array(r * outDim);
        }
        this.host.set(name, { A, B, inDim, outDim });
        for (const [suffix, arr, shape] of [
          ['lora_A', A, [inDim, r]],
          ['lora_B', B, [r, outDim]],
        ] as const) {
          const key = `${name}.${suffix}`;
          this.params.set(key, dev instanceof CpuDevice ? dev.wrap(arr, [...shape]) : dev.upload(arr, [...shape]));
          this.grads.set(key, dev.alloc([...shape]));
          this.shapes.set(key, [...shape]);
        }
      }
  }

  /** Host arrays under the trainable tensors' names (what an `AdamW` for the adapter is built over). */
  hostParams(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, h] of this.host) {
      out.set(`${name}.lora_A`, h.A);
      out.set(`${name}.lora_B`, h.B);
    }
    return out;
  }

  has(name: string): boolean {
    return this.host.has(name);
  }

  /** y (T, out) of the base product plus the adapter's s (x A) B; `xa` (T, r) is kept for backward. */
  forward(x: Tensor, name: string, y: Tensor, keep: <X extends Tensor>(t: X) => X): { y: Tensor; xa: Tensor } {
    const xa = keep(matmul(this.dev, x, this.p(name, 'lora_A')));
    const d = keep(matmul(this.dev, xa, this.p(name, 'lora_B'), { alpha: this.scale }));
    return { y: keep(add(this.dev, y, d)), xa };
  }

  /** Adds dA, dB into the gradients and d x into `dx` (T, in). */
  backward(x: Tensor, xa: Tensor, name: string, dy: Tensor, dx: Tensor, keep: <X extends Tensor>(t: X) => X): void {
    const g = matmulBackward(
      this.dev,
      xa,
      this.p(name, 'lora_B'),
      dy,
      { alpha: this.scale },
      { a: true, b: true },
      {
        db: this.grads.get(`${name}.lora_B`),
      },
    );
    const dxa = keep(g.da as Tensor);
    matmulBackward(
      this.dev,
      x,
      this.p(name, 'lora_A'),
      dxa,
      {},
      { a: true, b: true },
      {
        da: dx,
        db: this.grads.get(`${name}.lora_A`),
      },
    );
  }

  private p(name: string, which: 'lora_A' | 'lora_B'): Tensor {
    return this.params.get(`${name}.${which}`) as Tensor;
  }

  /** Copies the device tensors into the host arrays (nothing to do on the CPU backend). */
  async store(): Promise<void> {
    if (this.dev instanceof CpuDevice) return;
    for (const [name, h] of this.host) {
      h.A.set((await this.dev.download(this.p(name, 'lora_A'))) as Float32Array);
      h.B.set((await this.dev.download(this.p(name, 'lora_B'))) as Float32Array);
    }
  }

  /** The adapter in PEFT's layouts (for `savePeftAdapter`; call `store` first on WebGPU). */
  toPeft(): LoraAdapter {
    const layers: LoraAdapter['layers'] = new Map();
    const r = this.opts.r;
    for (const [name, h] of this.host)
      layers.set(name, { A: transpose(h.A, h.inDim, r), B: transpose(h.B, r, h.outDim), inDim: h.inDim, outDim: h.outDim });
    return { r, alpha: this.opts.alpha, rslora: this.opts.rslora ?? false, targets: [...this.opts.targets], layers };
  }

  dispose(): void {
    this.dev.free(...this.params.values(), ...this.grads.values());
  }
}
