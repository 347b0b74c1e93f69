/**
 * Writes a built-in model as a Hugging Face Qwen3 folder that transformers and vLLM load:
 * `config.json` (Qwen3ForCausalLM), `model.safetensors` (transformers' names, (out, in) matrices,
 * float32), `generation_config.json`, and the tokenizer: for the built-in byte tokenizer a
 * `tokenizer.json` that encodes identically plus a `tokenizer_config.json` carrying Qwen3's chat
 * template; for a model loaded from a Hugging Face folder, that folder's tokenizer files.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatTemplate } from '../../../agent/format/index.js';
import { type ByteTokenizer, byteTokenizerJson, SPECIAL_TOKENS } from '../../tokenizer/index.js';
import { type ModelConfig, paramShapes } from '../config.js';
import { encodeSafetensors, type NamedTensor } from '../safetensors.js';
import type { SamplingOptions } from '../sample.js';
import { type HfQwen3Config, toHfConfig } from './config.js';
import { hfModuleOf, transpose } from './weights.js';

export interface HfExportSource {
  config: ModelConfig;
  params: ReadonlyMap<string, Float32Array>;
  /** The built-in tokenizer, or the Hugging Face folder whose tokenizer files are copied. */
  tokenizer: ByteTokenizer | { folder: string };
  /** Written into generation_config.json (absent: greedy, as transformers defaults). */
  sampling?: SamplingOptions;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

/** The weights under transformers' names and layouts. */
export function hfTensors(config: ModelConfig, params: ReadonlyMap<string, Float32Array>): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, shape] of paramShapes(config)) {
    const w = params.get(name);
    if (!w) throw new RangeError(`parameter ${name} is missing`);
    const { module, transpose: tr } = hfModuleOf(name);
    out.set(`${module}.weight`, {
      dtype: 'F32',
      shape: tr ? [shape[1], shape[0]] : shape,
      data: tr ? transpose(w, shape[0], shape[1]) : w,
    });
  }
  return out;
}

/** `tokenizer_config.json` for the built-in tokenizer: Qwen3's chat template and special tokens. */
function byteTokenizerConfig(): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  SPECIAL_TOKENS.forEach((content, i) => {
    decoder[String(256 + i)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    bos_token: null,
    chat_template: ChatTemplate.qwen3().source,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    model_max_length: 131072,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    unk_token: null,
  };
}

/** Writes the folder `dir` (created if needed; files of the same names are replaced). */
export function exportHf(dir: string, src: HfExportSource): void {
  mkdirSync(dir, { recursive: true });
  const c = src.config;
  let eos: number[] = [];
  let pad: number | undefined;
  if ('folder' in src.tokenizer) {
    const from = src.tokenizer.folder;
    for (const f of TOKENIZER_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(dir, f));
    if (existsSync(join(from, 'config.json'))) {
      const orig = JSON.parse(readFileSync(join(from, 'config.json'), 'utf8')) as HfQwen3Config;
      eos = [orig.eos_token_id ?? []].flat();
      pad = orig.pad_token_id ?? undefined;
    }
  } else {
    const tok = src.tokenizer;
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson(tok)));
    writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(byteTokenizerConfig(), null, 2)}\n`);
    eos = [tok.specialId('<|im_end|>') as number, tok.specialId('<|endoftext|>') as number];
    pad = tok.specialId('<|endoftext|>');
  }
  const hf = toHfConfig(c, { eos: eos[0], pad });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(hf, null, 2)}\n`);
  const s = src.sampling;
  const gen: Record<string, unknown> = { eos_token_id: eos.length ? eos : null, pad_token_id: pad ?? null };
  if (s && s.temperature > 0) Object.assign(gen, { do_sample: true, temperature: s.temperature, top_p: s.topP, top_k: s.topK });
  const fromGen = 'folder' in src.tokenizer ? join(src.tokenizer.folder, 'generation_config.json') : '';
  // a Hugging Face source keeps its model card's settings
  if (fromGen && !s && existsSync(fromGen)) copyFileSync(fromGen, join(dir, 'generation_config.json'));
  else writeFileSync(join(dir, 'generation_config.json'), `${JSON.stringify(gen, null, 2)}\n`);
  // transformers refuses safetensors metadata without format "pt"
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(hfTensors(c, src.params), { format: 'pt' }));
}
