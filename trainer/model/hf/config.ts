/**
 * A Hugging Face Qwen3 `config.json` <-> the built-in `ModelConfig`.
 *
 * What the engine runs is exactly transformers' `Qwen3ForCausalLM`: RMSNorm, QK-Norm per head,
 * default RoPE (rotate-half), grouped-query attention with `head_dim` decoupled from
 * `hidden_size / num_attention_heads`, SwiGLU, tied or separate `lm_head`. Anything else in a
 * config (MoE, biases, sliding windows, scaled RoPE, another activation) is refused by name
 * rather than run wrongly. transformers 5 writes `rope_parameters: {rope_theta, rope_type}`;
 * earlier versions a top-level `rope_theta` (and `rope_scaling`): both are read.
 */
import { type ModelConfig, ModelConfigSchema } from '../config.js';

export class HfFormatError extends Error {
  override name = 'HfFormatError';
}

/** The `config.json` fields the engine reads (others are kept as they are on export). */
export interface HfQwen3Config {
  architectures?: string[];
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta?: number;
  rope_scaling?: { rope_type?: string; type?: string } | null;
  rope_parameters?: { rope_theta?: number; rope_type?: string } | null;
  tie_word_embeddings?: boolean;
  hidden_act?: string;
  attention_bias?: boolean;
  use_sliding_window?: boolean;
  num_experts?: number;
  eos_token_id?: number | number[] | null;
  bos_token_id?: number | null;
  pad_token_id?: number | null;
  [k: string]: unknown;
}

export interface FromHfOptions {
  /**
   * Longest sequence the engine will run (the KV cache capacity and RoPE table). Default: the
   * checkpoint's `max_position_embeddings`, capped at 4096, since every cache (one per episode in
   * flight) holds this many positions of every layer (Qwen3-0.6B: 224 KiB per position, 0.9 GiB
   * at 4096).
   */
  maxSeqLen?: number;
}

export const DEFAULT_MAX_SEQ_LEN = 4096;

/** Reads a Qwen3 config; throws HfFormatError naming what is unsupported and what to do. */
export function fromHfConfig(raw: unknown, where: string, opts: FromHfOptions = {}): ModelConfig {
  const c = raw as HfQwen3Config;
  const archs = c?.architectures ?? [];
  const arch = archs[0] ?? c?.model_type ?? '(none)';
  if (c?.model_type === 'qwen3_moe' || (c?.num_experts ?? 0) > 0 || archs.some((a) => /Moe/i.test(a)))
    throw new HfFormatError(
      `${where}: ${arch} is a mixture-of-experts model; the built-in engine runs dense Qwen3ForCausalLM checkpoints (Qwen3-0.6B, 1.7B, 4B, 8B, 14B, 32B): serve MoE models with vLLM and use an openai: policy`,
    );
  if (!(archs.includes('Qwen3ForCausalLM') || (archs.length === 0 && c?.model_type === 'qwen3')))
    throw new HfFormatError(
      `${where}: architecture ${arch} is not supported; the built-in engine runs Qwen3ForCausalLM checkpoints (config.json "architectures": ["Qwen3ForCausalLM"])`,
    );
  const refuse = (what: string) => {
    throw new HfFormatError(`${where}: ${what} is not supported by the built-in engine (it runs Qwen3ForCausalLM as released)`);
  };
  if (c.attention_bias) refuse('attention_bias: true');
  if (c.use_sliding_window) refuse('use_sliding_window: true');
  if ((c.hidden_act ?? 'silu') !== 'silu') refuse(`hidden_act ${JSON.stringify(c.hidden_act)}`);
  const ropeType = c.rope_parameters?.rope_type ?? c.rope_scaling?.rope_type ?? c.rope_scaling?.type ?? 'default';
  if (ropeType !== 'default') refuse(`RoPE type ${JSON.stringify(ropeType)} (scaled RoPE)`);
  const ropeTheta = c.rope_parameters?.rope_theta ?? c.rope_theta;
  if (ropeTheta === undefined) refuse('a config without rope_theta (neither top-level nor in rope_parameters)');
  const heads = c.num_attention_heads;
  const maxSeqLen = opts.maxSeqLen ?? Math.min(c.max_position_embeddings, DEFAULT_MAX_SEQ_LEN);
  const parsed = ModelConfigSchema.safeParse({
    vocabSize: c.vocab_size,
    dim: c.hidden_size,
    layers: c.num_hidden_layers,
    heads,
    kvHeads: c.num_key_value_heads ?? heads,
    headDim: c.head_dim ?? c.hidden_size / heads,
    ffnDim: c.intermediate_size,
    maxSeqLen,
    ropeTheta,
    normEps: c.rms_norm_eps,
    tiedEmbeddings: c.tie_word_embeddings ?? true,
  });
  if (!parsed.success)
    throw new HfFormatError(
      `${where}: config.json does not describe a valid Qwen3 model (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`,
    );
  return parsed.data;
}

/** A transformers 5 `config.json` for the built-in model (float32 weights). */
export function toHfConfig(c: ModelConfig, ids: { eos?: number; pad?: number } = {}): HfQwen3Config {
  return {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    attention_bias: false,
    attention_dropout: 0,
    bos_token_id: null,
    dtype: 'float32',
    eos_token_id: ids.eos ?? null,
    pad_token_id: ids.pad ?? null,
    head_dim: c.headDim,
    hidden_act: 'silu',
    hidden_size: c.dim,
    initializer_range: 0.02,
    intermediate_size: c.ffnDim,
    layer_types: Array.from({ length: c.layers }, () => 'full_attention'),
    max_position_embeddings: c.maxSeqLen,
    max_window_layers: c.layers,
    num_attention_heads: c.heads,
    num_hidden_layers: c.layers,
    num_key_value_heads: c.kvHeads,
    rms_norm_eps: c.normEps,
    // both spellings: transformers 5 reads rope_parameters, 4.x (and vLLM's older releases) rope_theta
    rope_parameters: { rope_theta: c.ropeTheta, rope_type: 'default' },
    rope_theta: c.ropeTheta,
    sliding_window: null,
    tie_word_embeddings: c.tiedEmbeddings !== false,
    use_cache: true,
    use_sliding_window: false,
    vocab_size: c.vocabSize,
  };
}
