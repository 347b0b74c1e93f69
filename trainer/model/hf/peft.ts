/**
 * LoRA adapters in PEFT's format: `adapter_config.json` and `adapter_model.safetensors` with
 * tensors named `base_model.model.<module>.lora_A.weight` (r, in) and `...lora_B.weight` (out, r),
 * as `PeftModel.save_pretrained` writes them and vLLM and PEFT load them.
 *
 * A LoRA layer computes `y = x W^T + s * (x A^T) B^T` with `s = lora_alpha / r`
 * (`lora_alpha / sqrt(r)` with `use_rslora`); merging adds `s * B A` to transformers' (out, in)
 * weight, i.e. `s * A^T B^T` to the built-in (in, out) one.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, type NamedTensor, openSafetensorsFile } from '../safetensors.js';
import { HfFormatError } from './config.js';
import { hfModuleOf, LINEAR_MODULES, type LinearModule } from './weights.js';

/** One adapted linear layer: A (r, in) and B (out, r), transformers' layouts. */
export interface LoraPair {
  A: Float32Array;
  B: Float32Array;
  inDim: number;
  outDim: number;
}

export interface LoraAdapter {
  r: number;
  alpha: number;
  rslora: boolean;
  /** Module names adapted in every layer (`q_proj`, ...). */
  targets: LinearModule[];
  /** Built-in weight name (`layers.3.q_proj`) -> its pair. */
  layers: Map<string, LoraPair>;
}

export const loraScale = (a: Pick<LoraAdapter, 'r' | 'alpha' | 'rslora'>): number =>
  a.rslora ? a.alpha / Math.sqrt(a.r) : a.alpha / a.r;

const PREFIX = 'base_model.model.';

/** Reads a PEFT LoRA adapter folder; refuses what it cannot apply exactly. */
export function loadPeftAdapter(dir: string): LoraAdapter {
  const cfgPath = join(dir, 'adapter_config.json');
  const wPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(cfgPath) || !existsSync(wPath))
    throw new HfFormatError(
      `${dir} is not a PEFT adapter folder: it needs adapter_config.json and adapter_model.safetensors (PeftModel.save_pretrained writes both)`,
    );
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  const refuse = (what: string) => {
    throw new HfFormatError(`${dir}: ${what} is not supported; plain LoRA adapters (peft_type LORA) are`);
  };
  if (cfg.peft_type !== 'LORA') refuse(`peft_type ${JSON.stringify(cfg.peft_type)}`);
  if (cfg.use_dora) refuse('DoRA (use_dora: true)');
  if (cfg.bias && cfg.bias !== 'none') refuse(`bias ${JSON.stringify(cfg.bias)}`);
  if (cfg.modules_to_save) refuse('modules_to_save');
  for (const k of ['rank_pattern', 'alpha_pattern'])
    if (cfg[k] && Object.keys(cfg[k] as object).length) refuse(`a per-module ${k}`);
  const r = Number(cfg.r);
  const alpha = Number(cfg.lora_alpha ?? r);
  const st = openSafetensorsFile(wPath);
  const layers = new Map<string, LoraPair>();
  const targets = new Set<LinearModule>();
  try {
    for (const name of st.tensors.keys()) {
      const m = /^base_model\.model\.(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
      if (!m) continue;
      const bName = name.replace('.lora_A', '.lora_B');
      if (!st.tensors.has(bName)) throw new HfFormatError(`${wPath}: ${name} has no ${bName}`);
      const lm = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)$/.exec(m[1]);
      if (!lm || !(LINEAR_MODULES as readonly string[]).includes(lm[2]))
        throw new HfFormatError(`${wPath}: ${m[1]} is not a Qwen3 linear layer LoRA can adapt here`);
      const a = st.read(name);
      const b = st.read(bName);
      if (a.shape[0] !== r || b.shape[1] !== r)
        throw new HfFormatError(`${wPath}: ${m[1]} has rank ${a.shape[0]}x${b.shape[1]} but adapter_config.json says r = ${r}`);
      targets.add(lm[2] as LinearModule);
      layers.set(`layers.${lm[1]}.${lm[2]}`, {
        A: a.data as Float32Array,
        B: b.data as Float32Array,
        inDim: a.shape[1],
        outDim: b.shape[0],
      });
    }
  } finally {
    st.close();
  }
  if (layers.size === 0) throw new HfFormatError(`${wPath} holds no lora_A/lora_B tensors`);
  return { r, alpha, rslora: cfg.use_rslora === true, targets: [...targets], layers };
}

/** Adds the adapter into built-in (in, out) weights: W += s A^T B^T. */
export function mergeAdapter(params: Map<string, Float32Array>, adapter: LoraAdapter): void {
  const s = loraScale(adapter);
  const r = adapter.r;
  for (const [name, { A, B, inDim, outDim }] of adapter.layers) {
    const W = params.get(name);
    if (!W || W.length !== inDim * outDim)
      throw new HfFormatError(
        `the adapter's ${name} (${inDim} x ${outDim}) does not fit the model: it was trained for another base`,
      );
    const row = new Float32Array(outDim);
    for (let i = 0; i < inDim; i++) {
      row.fill(0);
      for (let k = 0; k < r; k++) {
        const a = s * A[k * inDim + i];
        if (a === 0) continue;
        for (let o = 0; o < outDim; o++) row[o] += a * B[o * r + k];
      }
      const base = i * outDim;
      for (let o = 0; o < outDim; o++) W[base + o] += row[o];
    }
  }
}

/**
 * The two files of a PEFT folder for `adapter` (`base` names the base model for
 * `base_model_name_or_path`): what `savePeftAdapter` writes, and what a checkpoint writes durably.
 */
export function peftAdapterFiles(
  adapter: LoraAdapter,
  base: string | null = null,
): { 'adapter_model.safetensors': Uint8Array; 'adapter_config.json': string } {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, p] of [...adapter.layers].sort(([a], [b]) => a.localeCompare(b))) {
    const mod = `${PREFIX}${hfModuleOf(name).module}`;
    tensors.set(`${mod}.lora_A.weight`, { dtype: 'F32', shape: [adapter.r, p.inDim], data: p.A });
    tensors.set(`${mod}.lora_B.weight`, { dtype: 'F32', shape: [p.outDim, adapter.r], data: p.B });
  }
  const config = {
    base_model_name_or_path: base,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: adapter.alpha,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: 'LORA',
    r: adapter.r,
    rank_pattern: {},
    alpha_pattern: {},
    target_modules: adapter.targets,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: adapter.rslora,
  };
  return {
    'adapter_model.safetensors': encodeSafetensors(tensors, { format: 'pt' }),
    'adapter_config.json': `${JSON.stringify(config, null, 2)}\n`,
  };
}

/** Writes `adapter` as a PEFT folder (`base` names the base model for `base_model_name_or_path`). */
export function savePeftAdapter(dir: string, adapter: LoraAdapter, base: string | null = null): void {
  mkdirSync(dir, { recursive: true });
  for (const [file, data] of Object.entries(peftAdapterFiles(adapter, base))) writeFileSync(join(dir, file), data);
}
