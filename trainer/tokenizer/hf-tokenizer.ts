/**
 * A Hugging Face `tokenizer.json` (with its `tokenizer_config.json`) behind the `Tokenizer` seam,
 * run by `@huggingface/tokenizers`: what a real Qwen3 folder ships (151k-entry byte-level BPE plus
 * its added tokens). Nothing is prepended and special tokens written in the text encode as their
 * single ids, so segments encode independently and concatenate, as the rollout loop needs.
 *
 * `byteTokenizerJson` goes the other way: the built-in byte tokenizer as a `tokenizer.json`
 * (byte-level BPE, no pre-tokenizer split, Qwen3's special tokens as added tokens), so an exported
 * built-in checkpoint tokenizes the same in transformers and vLLM.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { Tokenizer } from '../../agent/index.js';
import { type ByteTokenizer, SPECIAL_TOKENS, TokenizerFormatError } from './byte-tokenizer.js';

const loaded = new Map<string, HfTokenizer>();

export class HfTokenizer implements Tokenizer {
  readonly name: string;
  readonly vocabSize: number;
  private readonly inner: HfTokenizerImpl;

  constructor(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown> = {}, name = 'hf') {
    try {
      this.inner = new HfTokenizerImpl(tokenizerJson as object, tokenizerConfig);
    } catch (err) {
      throw new TokenizerFormatError(`tokenizer.json could not be read by @huggingface/tokenizers: ${(err as Error).message}`);
    }
    this.name = name;
    this.vocabSize = this.inner.get_vocab(true).size;
  }

  /**
   * `tokenizer.json` and (when present) `tokenizer_config.json` of a model folder; kept per folder
   * and file version, since building a 151k vocabulary takes seconds.
   */
  static fromFolder(dir: string): HfTokenizer {
    const path = join(dir, 'tokenizer.json');
    if (!existsSync(path))
      throw new TokenizerFormatError(
        `${dir} has no tokenizer.json: copy it from the model's repository (transformers writes it with tokenizer.save_pretrained)`,
      );
    const cfgPath = join(dir, 'tokenizer_config.json');
    const key = [path, cfgPath].map((p) => (existsSync(p) ? `${resolve(p)}@${statSync(p).mtimeMs}` : '')).join('|');
    const hit = loaded.get(key);
    if (hit) return hit;
    const cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, 'utf8')) : {};
    const tok = new HfTokenizer(JSON.parse(readFileSync(path, 'utf8')), cfg, `hf:${dir}`);
    loaded.set(key, tok);
    return tok;
  }

  encode(text: string): number[] {
    if (text === '') return [];
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    // no clean-up: it rewrites spaces before punctuation and breaks decode(encode(x)) === x
    return this.inner.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  specialId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }
}

/** GPT-2's byte -> printable character table (what byte-level BPE vocabularies are written in). */
function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}

/**
 * The built-in tokenizer as a Hugging Face `tokenizer.json`. Ids are kept: bytes 0..255, then the
 * special tokens, then one per merge. Throws when two merges spell the same bytes (a byte-level
 * BPE vocabulary maps each string to one id, so such a tokenizer has no exact equivalent).
 */
export function byteTokenizerJson(tok: ByteTokenizer): Record<string, unknown> {
  const u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  const strOf: string[] = [];
  for (let b = 0; b < 256; b++) {
    vocab[u[b]] = b;
    strOf.push(u[b]);
  }
  // The special tokens are in the BPE vocabulary as well as in added_tokens, at their own ids: the
  // Rust tokenizers library (transformers) gives an added token whose text is not in the vocabulary a
  // new id after the vocabulary's last, which would move <|im_start|> and the rest (257..264) to the end.
  SPECIAL_TOKENS.forEach((content, i) => {
    vocab[content] = 256 + i;
    strOf.push('');
  });
  const merges: [string, string][] = [];
  tok.merges.forEach(([a, b], k) => {
    const s = strOf[a] + strOf[b];
    const id = 256 + SPECIAL_TOKENS.length + k;
    if (vocab[s] !== undefined)
      throw new TokenizerFormatError(
        `merge ${k} spells the same bytes as id ${vocab[s]}: this tokenizer cannot be written as a byte-level BPE tokenizer.json`,
      );
    vocab[s] = id;
    strOf.push(s);
    merges.push([strOf[a], strOf[b]]);
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, i) => ({
      id: 256 + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    // no regex split: the built-in merges may cross word boundaries, and digits stay single bytes
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
