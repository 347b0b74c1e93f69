/**
 * Weight names and layouts between transformers' Qwen3 and the built-in model.
 *
 * transformers stores a linear layer as `weight` (out, in) and computes `x W^T`; the built-in
 * model stores (in, out) and computes `x W`, so projections are transposed on the way in and out.
 * The embedding and `lm_head` are (V, dim) on both sides; norms are vectors.
 */
import type { ModelConfig } from '../config.js';

/** transformers' module path of each per-layer built-in weight. */
const LAYER_MODULES: Record<string, string> = {
  input_layernorm: 'input_layernorm',
  post_attention_layernorm: 'post_attention_layernorm',
  q_proj: 'self_attn.q_proj',
  k_proj: 'self_attn.k_proj',
  v_proj: 'self_attn.v_proj',
  o_proj: 'self_attn.o_proj',
  q_norm: 'self_attn.q_norm',
  k_norm: 'self_attn.k_norm',
  gate_proj: 'mlp.gate_proj',
  up_proj: 'mlp.up_proj',
  down_proj: 'mlp.down_proj',
};

/** The linear layers (what LoRA adapts): module name -> built-in weight name suffix. */
export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** A built-in weight's transformers module path (without `.weight`) and whether it is transposed. */
export function hfModuleOf(name: string): { module: string; transpose: boolean } {
  if (name === 'embed_tokens') return { module: 'model.embed_tokens', transpose: false };
  if (name === 'norm') return { module: 'model.norm', transpose: false };
  if (name === 'lm_head') return { module: 'lm_head', transpose: false };
  const m = /^layers\.(\d+)\.(\w+)$/.exec(name);
  const mod = m && LAYER_MODULES[m[2]];
  if (!m || !mod) throw new RangeError(`no transformers name for weight ${name}`);
  return { module: `model.layers.${m[1]}.${mod}`, transpose: (LINEAR_MODULES as readonly string[]).includes(m[2]) };
}

/** (rows, cols) row-major -> (cols, rows). */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  // blocked: both sides stay in cache for large matrices
  const B = 64;
  for (let i0 = 0; i0 < rows; i0 += B)
    for (let j0 = 0; j0 < cols; j0 += B) {
      const i1 = Math.min(rows, i0 + B);
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[j * rows + i] = a[i * cols + j];
    }
  return out;
}

/** Bytes of the weights in float32 (what the engine holds in memory). */
export function weightBytes(c: ModelConfig): number {
  const attn = c.dim * (c.heads + 2 * c.kvHeads) * c.headDim + c.heads * c.headDim * c.dim + 2 * c.headDim;
  const layer = attn + 3 * c.dim * c.ffnDim + 2 * c.dim;
  const head = c.tiedEmbeddings === false ? 2 : 1;
  return 4 * (c.layers * layer + head * c.vocabSize * c.dim + c.dim);
}
