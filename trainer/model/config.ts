/**
 * Model configuration and size presets of the built-in Qwen3-style decoder.
 */
import { z } from 'zod';

export const ModelConfigSchema = z
  .object({
    vocabSize: z.number().int().positive().describe('Token ids the embedding holds (tokenizer vocabulary size).'),
    dim: z.number().int().positive().describe('Residual stream width.'),
    layers: z.number().int().positive().describe('Decoder blocks.'),
    heads: z.number().int().positive().describe('Query heads.'),
    kvHeads: z.number().int().positive().describe('Key/value heads (grouped-query attention: heads % kvHeads = 0).'),
    headDim: z.number().int().positive().describe('Width of one head (even: RoPE rotates pairs).'),
    ffnDim: z.number().int().positive().describe('SwiGLU hidden width.'),
    maxSeqLen: z.number().int().positive().describe('Longest sequence (RoPE table size and KV-cache capacity).'),
    ropeTheta: z.number().positive().describe('RoPE base frequency.'),
    normEps: z.number().positive().describe('RMSNorm epsilon.'),
    tiedEmbeddings: z
      .boolean()
      .optional()
      .describe(
        'Logits from the token embedding (absent: true); false adds an `lm_head` (V, dim), as untied Hugging Face checkpoints have.',
      ),
  })
  .strict()
  .refine((c) => c.heads % c.kvHeads === 0, { message: 'heads must be a multiple of kvHeads' })
  .refine((c) => c.headDim % 2 === 0, { message: 'headDim must be even' });
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export type ModelPreset = 'nano' | 'micro' | 'mini';
export const MODEL_PRESETS: Record<ModelPreset, Omit<ModelConfig, 'vocabSize'>> = {
  // ~0.15M parameters in the blocks: trains in minutes on 2 CPU cores
  nano: { dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffnDim: 176, maxSeqLen: 2048, ropeTheta: 10000, normEps: 1e-6 },
  // ~0.5M
  micro: { dim: 96, layers: 4, heads: 4, kvHeads: 2, headDim: 24, ffnDim: 256, maxSeqLen: 2048, ropeTheta: 10000, normEps: 1e-6 },
  // ~1.6M
  mini: { dim: 128, layers: 6, heads: 8, kvHeads: 4, headDim: 16, ffnDim: 352, maxSeqLen: 4096, ropeTheta: 10000, normEps: 1e-6 },
};

export function presetConfig(preset: ModelPreset, vocabSize: number): ModelConfig {
  return ModelConfigSchema.parse({ ...MODEL_PRESETS[preset], vocabSize });
}

/** Parameter names and shapes, Qwen3-like names; every matrix is stored (in, out). */
export function paramShapes(c: ModelConfig): [string, number[]][] {
  const out: [string, number[]][] = [['embed_tokens', [c.vocabSize, c.dim]]];
  for (let l = 0; l < c.layers; l++) {
    const p = `layers.${l}.`;
    out.push(
      [`${p}input_layernorm`, [c.dim]],
      [`${p}q_proj`, [c.dim, c.heads * c.headDim]],
      [`${p}k_proj`, [c.dim, c.kvHeads * c.headDim]],
      [`${p}v_proj`, [c.dim, c.kvHeads * c.headDim]],
      [`${p}q_norm`, [c.headDim]],
      [`${p}k_norm`, [c.headDim]],
      [`${p}o_proj`, [c.heads * c.headDim, c.dim]],
      [`${p}post_attention_layernorm`, [c.dim]],
      [`${p}gate_proj`, [c.dim, c.ffnDim]],
      [`${p}up_proj`, [c.dim, c.ffnDim]],
      [`${p}down_proj`, [c.ffnDim, c.dim]],
    );
  }
  out.push(['norm', [c.dim]]);
  if (c.tiedEmbeddings === false) out.push(['lm_head', [c.vocabSize, c.dim]]);
  return out;
}

/** The weight the logits are computed from, (V, dim): the embedding when tied, else `lm_head`. */
export function headWeightName(c: ModelConfig): 'embed_tokens' | 'lm_head' {
  return c.tiedEmbeddings === false ? 'lm_head' : 'embed_tokens';
}

/** Matmul FLOPs of one token's forward pass at context length `ctx` (2 per multiply-add). */
export function flopsPerToken(c: ModelConfig, ctx: number): number {
  const qkv = c.dim * (c.heads + 2 * c.kvHeads) * c.headDim;
  const o = c.heads * c.headDim * c.dim;
  const ffn = 3 * c.dim * c.ffnDim;
  const attn = 2 * c.heads * c.headDim * ctx;
  return 2 * (c.layers * (qkv + o + ffn + attn) + c.vocabSize * c.dim);
}
