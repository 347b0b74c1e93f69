/**
 * Loads a Hugging Face Qwen3 folder (`config.json`, `model.safetensors` or shards listed by
 * `model.safetensors.index.json`, and for sampling `tokenizer.json`, `tokenizer_config.json` with
 * its chat template, `generation_config.json`) into the built-in model.
 *
 * Weights are read tensor by tensor (bf16 and f16 widened to f32, projections transposed to the
 * engine's (in, out)), so memory peaks at the f32 weights plus one tensor. Loaded for sampling
 * (the default) the model has no gradients: its memory is its f32 weights (twice a bf16 file)
 * plus the KV caches in use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatTemplate } from '../../../agent/format/index.js';
import { HfTokenizer } from '../../tokenizer/index.js';
import { type ModelConfig, paramShapes } from '../config.js';
import { Transformer } from '../reference/transformer.js';
import { openSafetensorsFile, SafetensorsError } from '../safetensors.js';
import type { SamplingOptions } from '../sample.js';
import { type FromHfOptions, fromHfConfig, HfFormatError, type HfQwen3Config } from './config.js';
import { loadPeftAdapter, mergeAdapter } from './peft.js';
import { hfModuleOf, transpose } from './weights.js';

export interface HfLoadOptions extends FromHfOptions {
  /** Allocate gradients (training every weight); default false. */
  grads?: boolean;
  /** A PEFT LoRA adapter folder to merge into the weights. */
  adapter?: string;
}

export interface HfQwen3 {
  dir: string;
  config: ModelConfig;
  hfConfig: HfQwen3Config;
  model: Transformer;
}

/** Whether `dir` holds a Hugging Face model folder (not a toolgym checkpoint). */
export function isHfFolder(dir: string): boolean {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return false;
  try {
    const j = JSON.parse(readFileSync(p, 'utf8'));
    return j.format === undefined && (j.architectures !== undefined || j.model_type !== undefined);
  } catch {
    return false;
  }
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new HfFormatError(`${path} (${what}) is not valid JSON: ${(err as Error).message}`);
  }
}

/** Which file holds each tensor: the shard index, else the single `model.safetensors`. */
function weightFiles(dir: string): Map<string, string[]> {
  const index = join(dir, 'model.safetensors.index.json');
  const single = join(dir, 'model.safetensors');
  const byFile = new Map<string, string[]>();
  if (existsSync(index)) {
    const map = (readJson(index, 'shard index') as { weight_map?: Record<string, string> }).weight_map;
    if (!map) throw new HfFormatError(`${index} has no weight_map: the file is corrupt`);
    for (const [name, file] of Object.entries(map)) byFile.set(file, [...(byFile.get(file) ?? []), name]);
    return byFile;
  }
  if (existsSync(single)) return new Map([['model.safetensors', []]]);
  const bin = existsSync(join(dir, 'pytorch_model.bin'))
    ? ' (pytorch_model.bin is not read: re-save with safe_serialization=True)'
    : '';
  throw new HfFormatError(
    `${dir} has neither model.safetensors nor model.safetensors.index.json${bin}: download the model's safetensors files`,
  );
}

/** Loads the weights of a Qwen3 folder into a built-in model. */
export function loadHfQwen3(dir: string, opts: HfLoadOptions = {}): HfQwen3 {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath))
    throw new HfFormatError(`${dir} has no config.json: pass a Hugging Face model folder (e.g. a download of Qwen/Qwen3-0.6B)`);
  const hfConfig = readJson(cfgPath, 'model config') as HfQwen3Config;
  const config = fromHfConfig(hfConfig, dir, opts);
  const wanted = new Map<string, { ours: string; shape: number[]; transpose: boolean }>();
  for (const [ours, shape] of paramShapes(config)) {
    const { module, transpose: tr } = hfModuleOf(ours);
    wanted.set(`${module}.weight`, { ours, shape, transpose: tr });
  }
  const params = new Map<string, Float32Array>();
  for (const file of weightFiles(dir).keys()) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new HfFormatError(`${dir} lacks ${file}, which model.safetensors.index.json lists: download it`);
    let st: ReturnType<typeof openSafetensorsFile>;
    try {
      st = openSafetensorsFile(path);
    } catch (err) {
      if (err instanceof SafetensorsError) throw new HfFormatError(err.message);
      throw err;
    }
    try {
      for (const name of st.tensors.keys()) {
        const w = wanted.get(name);
        if (!w) continue; // e.g. lm_head.weight saved beside tied embeddings
        const t = st.read(name);
        // (out, in) on disk for projections; the built-in shape is (in, out)
        const disk = w.transpose ? [w.shape[1], w.shape[0]] : w.shape;
        if (t.shape.join(',') !== disk.join(','))
          throw new HfFormatError(`${path}: ${name} has shape [${t.shape}] but config.json implies [${disk}]`);
        const data = t.data as Float32Array;
        params.set(w.ours, w.transpose ? transpose(data, disk[0], disk[1]) : data);
      }
    } catch (err) {
      if (err instanceof SafetensorsError) throw new HfFormatError(err.message);
      throw err;
    } finally {
      st.close();
    }
  }
  const missing = [...wanted].filter(([, w]) => !params.has(w.ours)).map(([name]) => name);
  if (missing.length)
    throw new HfFormatError(
      `${dir}: the weights lack ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}: the download is incomplete or the folder is not a Qwen3ForCausalLM checkpoint`,
    );
  if (opts.adapter) mergeAdapter(params, loadPeftAdapter(opts.adapter));
  return { dir, config, hfConfig, model: new Transformer(config, params, 0, { grads: opts.grads === true }) };
}

/** The folder's tokenizer, chat template and the model card's sampling settings. */
export function loadHfChat(dir: string): {
  tokenizer: HfTokenizer;
  template: ChatTemplate;
  sampling: SamplingOptions;
  stopIds: number[];
} {
  const tokenizer = HfTokenizer.fromFolder(dir);
  const tcPath = join(dir, 'tokenizer_config.json');
  if (!existsSync(tcPath))
    throw new HfFormatError(
      `${dir} has no tokenizer_config.json: it carries the chat template; copy it from the model's repository`,
    );
  const tc = readJson(tcPath, 'tokenizer config') as Parameters<typeof ChatTemplate.fromTokenizerConfig>[0];
  // A template rendered per turn (Qwen3's) lets the loop render only new turns; anything else is
  // rendered whole, which is always right.
  const source = typeof tc.chat_template === 'string' ? tc.chat_template : undefined;
  const template = ChatTemplate.fromTokenizerConfig(tc, 'default', { localTurns: source === ChatTemplate.qwen3().source });
  const gen = existsSync(join(dir, 'generation_config.json'))
    ? (readJson(join(dir, 'generation_config.json'), 'generation config') as Record<string, unknown>)
    : {};
  const sampling = generationSampling(gen);
  const eos = [gen.eos_token_id, (readJson(join(dir, 'config.json'), 'model config') as HfQwen3Config).eos_token_id]
    .flat()
    .filter((x): x is number => typeof x === 'number');
  return { tokenizer, template, sampling, stopIds: [...new Set(eos)] };
}

/**
 * The model card's sampling settings (`generation_config.json`), as transformers applies them:
 * `do_sample` false or absent is greedy; otherwise temperature, top_p and top_k with
 * transformers' defaults (1, 1, 50) for the ones left out.
 */
export function generationSampling(gen: Record<string, unknown>): SamplingOptions {
  if (gen.do_sample !== true) return { temperature: 0, topP: 1, topK: 0 };
  const num = (k: string, d: number) => (typeof gen[k] === 'number' ? (gen[k] as number) : d);
  return { temperature: num('temperature', 1), topP: num('top_p', 1), topK: num('top_k', 50) };
}
