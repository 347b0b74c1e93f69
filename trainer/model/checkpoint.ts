/**
 * Checkpoints: a folder with `model.safetensors` (weights), optionally `optimizer.safetensors`
 * (AdamW moments, for `--resume`), and `config.json` (format version, model config, tokenizer,
 * training state, and the byte size + hash of each tensor file).
 *
 * Written atomically: every file goes to a temporary name and is renamed into place, and
 * `config.json` is written last, so a killed writer leaves either the old checkpoint or the new one.
 * Loading checks the version, the config schema, and that each tensor file is the one the config
 * names, and throws `CheckpointError` with what to do when anything does not match.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from '../optim/index.js';
import { ByteTokenizer } from '../tokenizer/index.js';
import { type ModelConfig, ModelConfigSchema } from './config.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, SafetensorsError } from './safetensors.js';
import { Transformer } from './transformer.js';

export const CHECKPOINT_FORMAT = 'toolgym.checkpoint/1';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface CheckpointMeta {
  /** Training phase and step when written (`sft`, `grpo`, `init`). */
  phase: string;
  step: number;
  /** Anything else a loop needs to resume (rng counters, data cursor). */
  state?: Record<string, unknown>;
}

interface ConfigJson {
  format: string;
  model: ModelConfig;
  tokenizer: unknown;
  meta: CheckpointMeta;
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface Checkpoint {
  model: Transformer;
  tokenizer: ByteTokenizer;
  meta: CheckpointMeta;
  /** Restored moments, when the checkpoint holds them and an optimizer was asked for. */
  optimizer?: AdamW;
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function tensorMap(params: Map<string, Float32Array>, shapes: Map<string, number[]>): Map<string, NamedTensor> {
  const m = new Map<string, NamedTensor>();
  for (const [name, data] of params) m.set(name, { dtype: 'F32', shape: shapes.get(name) as number[], data });
  return m;
}

export function saveCheckpoint(
  dir: string,
  ck: { model: Transformer; tokenizer: ByteTokenizer; meta: CheckpointMeta; optimizer?: AdamW },
): void {
  mkdirSync(dir, { recursive: true });
  const files: ConfigJson['files'] = {};
  const weights = encodeSafetensors(tensorMap(ck.model.params, ck.model.shapes), { format: CHECKPOINT_FORMAT });
  writeAtomic(join(dir, 'model.safetensors'), weights);
  files['model.safetensors'] = { bytes: weights.length, sha256: sha256(weights) };
  if (ck.optimizer) {
    const o = ck.optimizer;
    const t = new Map<string, NamedTensor>();
    for (const [name, m] of o.m) t.set(`m.${name}`, { dtype: 'F32', shape: [m.length], data: m });
    for (const [name, v] of o.v) t.set(`v.${name}`, { dtype: 'F32', shape: [v.length], data: v });
    const bytes = encodeSafetensors(t, { step: String(o.step) });
    writeAtomic(join(dir, 'optimizer.safetensors'), bytes);
    files['optimizer.safetensors'] = { bytes: bytes.length, sha256: sha256(bytes) };
  }
  const cfg: ConfigJson = {
    format: CHECKPOINT_FORMAT,
    model: ck.model.config,
    tokenizer: ck.tokenizer.toJSON(),
    meta: ck.meta,
    files,
  };
  writeAtomic(join(dir, 'config.json'), `${JSON.stringify(cfg, null, 1)}\n`);
}

function readChecked(dir: string, file: string, cfg: ConfigJson): Uint8Array {
  const path = join(dir, file);
  if (!existsSync(path))
    throw new CheckpointError(`checkpoint ${dir} lacks ${file}: it was not fully written; use an earlier checkpoint`);
  const bytes = new Uint8Array(readFileSync(path));
  const want = cfg.files[file];
  if (want && (want.bytes !== bytes.length || want.sha256 !== sha256(bytes))) {
    throw new CheckpointError(
      `checkpoint ${dir}: ${file} (${bytes.length} bytes) does not match the ${want.bytes}-byte file config.json names: the file is corrupt or from another checkpoint; restore it or use an earlier checkpoint`,
    );
  }
  return bytes;
}

/** Load a checkpoint folder; with `withOptimizer`, restore AdamW moments too (when present). */
export function loadCheckpoint(dir: string, opts: { withOptimizer?: boolean } = {}): Checkpoint {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath))
    throw new CheckpointError(
      `no checkpoint at ${dir} (config.json missing): pass a folder written by \`gym train\` (runs/<id>/checkpoints/<name>)`,
    );
  let cfg: ConfigJson;
  try {
    cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (err) {
    throw new CheckpointError(
      `checkpoint ${dir}: config.json is not valid JSON (${(err as Error).message}): the file is corrupt`,
    );
  }
  if (cfg.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `checkpoint ${dir} has format ${JSON.stringify(cfg.format)}; this version reads ${CHECKPOINT_FORMAT}: retrain or convert it`,
    );
  const mc = ModelConfigSchema.safeParse(cfg.model);
  if (!mc.success)
    throw new CheckpointError(
      `checkpoint ${dir}: model config is invalid (${mc.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`,
    );
  let tokenizer: ByteTokenizer;
  try {
    tokenizer = ByteTokenizer.fromJSON(cfg.tokenizer);
  } catch (err) {
    throw new CheckpointError(`checkpoint ${dir}: ${(err as Error).message}`);
  }
  if (tokenizer.vocabSize !== mc.data.vocabSize)
    throw new CheckpointError(
      `checkpoint ${dir}: tokenizer has ${tokenizer.vocabSize} ids but the model expects ${mc.data.vocabSize}: config.json is inconsistent`,
    );
  let model: Transformer;
  try {
    const { tensors } = decodeSafetensors(readChecked(dir, 'model.safetensors', cfg), `${dir}/model.safetensors`);
    const params = new Map<string, Float32Array>();
    for (const [name, t] of tensors) params.set(name, t.data as Float32Array);
    model = new Transformer(mc.data, params);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    if (err instanceof SafetensorsError || err instanceof RangeError)
      throw new CheckpointError(`checkpoint ${dir}: ${err.message}`);
    throw err;
  }
  const out: Checkpoint = { model, tokenizer, meta: cfg.meta };
  if (opts.withOptimizer && cfg.files['optimizer.safetensors']) {
    const { tensors, metadata } = decodeSafetensors(
      readChecked(dir, 'optimizer.safetensors', cfg),
      `${dir}/optimizer.safetensors`,
    );
    const o = new AdamW(model.params, model.shapes);
    for (const name of model.params.keys()) {
      const m = tensors.get(`m.${name}`);
      const v = tensors.get(`v.${name}`);
      if (!m || !v)
        throw new CheckpointError(`checkpoint ${dir}: optimizer state lacks ${name}: the file does not belong to this model`);
      (o.m.get(name) as Float32Array).set(m.data);
      (o.v.get(name) as Float32Array).set(v.data);
    }
    o.step = Number(metadata.step ?? 0);
    out.optimizer = o;
  }
  return out;
}
