/**
 * Checkpoints: a folder with `model.safetensors` (weights), optionally `optimizer.safetensors`
 * (AdamW moments, for `--resume`), and `config.json` (format version, model config, tokenizer,
 * training state, and the byte size + hash of each tensor file).
 *
 * A LoRA checkpoint (a run with `lora.rank` > 0) holds no `model.safetensors`: it holds the adapter
 * as a PEFT folder (`adapter/adapter_config.json`, `adapter/adapter_model.safetensors`), the
 * optimizer moments of the adapter's tensors, and in `config.json` the base checkpoint it adapts
 * (`lora.base`: a path relative to the checkpoint when the base is inside the same run folder,
 * else absolute) with the identity of the base's tensor files (`lora.baseId`), checked on load.
 * Loading it loads the base and merges the adapter (`merge: false` keeps them apart, for a resume).
 * The base may also be a Hugging Face Qwen3 folder; the checkpoint then stores no tokenizer of its
 * own (`tokenizer: null`) and takes the folder's.
 *
 * The folder is replaced as a whole: the new version is written aside (`<dir>.tmp-<pid>/`), each
 * file and the folder fsynced, then renamed into place, so a reader (or a process killed at any
 * point) sees the old folder or the new one, never a mix. With `keepPrevious` the version it replaces
 * stays as `<dir>.prev/`, and `loadLatestCheckpoint` falls back to it, with a warning, when `<dir>`
 * is missing or damaged. Loading checks the version, the config schema, that each tensor file is the
 * one the config names and that every value is finite, and throws `CheckpointError` with what to do
 * when anything does not match.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { AdamW } from '../optim/index.js';
import { ByteTokenizer, HfTokenizer } from '../tokenizer/index.js';
import { type ModelConfig, ModelConfigSchema } from './config.js';
import { isHfFolder, loadHfQwen3 } from './hf/load.js';
import { type LoraAdapter, loadPeftAdapter, mergeAdapter, peftAdapterFiles } from './hf/peft.js';
import { Transformer } from './reference/transformer.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, SafetensorsError } from './safetensors.js';

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
  /** A LoRA checkpoint's base (relative to the checkpoint folder, or absolute) and its identity. */
  lora?: { base: string; baseId: string };
}

/** Where a LoRA checkpoint keeps its adapter (a PEFT folder). */
export const ADAPTER_DIR = 'adapter';

/** A checkpoint's tokenizer: the built-in one, or a Hugging Face folder's (a LoRA run on that folder). */
export type CheckpointTokenizer = ByteTokenizer | HfTokenizer;

export interface Checkpoint<T extends CheckpointTokenizer = ByteTokenizer> {
  model: Transformer;
  tokenizer: T;
  meta: CheckpointMeta;
  /**
   * Restored moments, when the checkpoint holds them and an optimizer was asked for (a LoRA
   * checkpoint's are over `loraHostParams(adapter)`: the adapter's tensors, not the model's).
   */
  optimizer?: AdamW;
  /** A LoRA checkpoint's base folder (resolved) and adapter; `model` is the base, merged unless `merge: false`. */
  lora?: { base: string; adapter: LoraAdapter };
}

/** Where `saveCheckpoint(dir, ..., { keepPrevious: true })` keeps the version it replaced. */
export function previousCheckpointDir(dir: string): string {
  return `${dir}.prev`;
}

/**
 * The identity of a checkpoint's tensors: the hash of the sizes and hashes its config.json records
 * (cheap: no tensor file is read), so a LoRA checkpoint notices a base that was replaced.
 */
export function checkpointId(dir: string): string {
  const cfgPath = join(dir, 'config.json');
  if (isHfFolder(dir)) {
    // a Hugging Face folder: its config and the names and sizes of its weight files
    const h = createHash('sha256').update(readFileSync(cfgPath));
    for (const f of readdirSync(dir).sort())
      if (f.endsWith('.safetensors') || f === 'model.safetensors.index.json') h.update(`${f}:${statSync(join(dir, f)).size}\n`);
    return h.digest('hex');
  }
  if (!existsSync(cfgPath))
    throw new CheckpointError(`no checkpoint at ${dir} (config.json missing): a LoRA run's base must be a toolgym checkpoint`);
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Partial<ConfigJson>;
  return createHash('sha256')
    .update(JSON.stringify({ files: cfg.files, lora: cfg.lora }))
    .digest('hex');
}

/**
 * The adapter's tensors in the built-in (in, out) layout under the names the device's LoRA trains
 * (`layers.0.q_proj.lora_A` (in, r), `...lora_B` (r, out)): what a LoRA checkpoint's moments cover.
 */
export function loraHostParams(adapter: LoraAdapter): { params: Map<string, Float32Array>; shapes: Map<string, number[]> } {
  const params = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const r = adapter.r;
  for (const [name, p] of adapter.layers) {
    params.set(`${name}.lora_A`, transposeRows(p.A, r, p.inDim));
    shapes.set(`${name}.lora_A`, [p.inDim, r]);
    params.set(`${name}.lora_B`, transposeRows(p.B, p.outDim, r));
    shapes.set(`${name}.lora_B`, [r, p.outDim]);
  }
  return { params, shapes };
}

/** (rows, cols) -> (cols, rows). */
function transposeRows(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/** Writes a file and flushes it to the disk before returning. */
function writeDurable(path: string, data: Uint8Array | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a folder's entries (a rename inside it) to the disk. */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms (Windows) cannot open or sync a folder; the rename is still atomic there
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Index of the first NaN or infinite value, or -1. */
function firstNonFinite(data: Float32Array | Int32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function tensorMap(params: Map<string, Float32Array>, shapes: Map<string, number[]>): Map<string, NamedTensor> {
  const m = new Map<string, NamedTensor>();
  for (const [name, data] of params) m.set(name, { dtype: 'F32', shape: shapes.get(name) as number[], data });
  return m;
}

/**
 * Writes the checkpoint folder `dir`, replacing any earlier one only once the new one is complete
 * and on disk. `keepPrevious` keeps the replaced version as `previousCheckpointDir(dir)`. Refuses
 * (CheckpointError) weights that hold NaN or infinity.
 */
export function saveCheckpoint(
  dir: string,
  ck: {
    model: Transformer;
    tokenizer: CheckpointTokenizer;
    meta: CheckpointMeta;
    optimizer?: AdamW;
    /** A LoRA run's adapter and base checkpoint folder: then the adapter is saved, not the weights. */
    lora?: { adapter: LoraAdapter; base: string };
  },
  opts: { keepPrevious?: boolean } = {},
): void {
  if (ck.tokenizer instanceof HfTokenizer && !ck.lora)
    throw new CheckpointError(
      `cannot write ${dir}: a model with a Hugging Face folder's tokenizer is saved as a LoRA adapter on that folder only`,
    );
  const saved = ck.lora ? loraHostParams(ck.lora.adapter).params : ck.model.params;
  for (const [name, w] of saved) {
    const i = firstNonFinite(w);
    if (i >= 0)
      throw new CheckpointError(
        `refusing to write checkpoint ${dir}: tensor ${name} holds ${w[i]} at index ${i}; the weights diverged, so the checkpoint already on disk is kept: lower the learning rate`,
      );
  }
  const parent = dirname(dir);
  const base = basename(dir);
  mkdirSync(parent, { recursive: true });
  // folders left by a writer that was killed before its rename
  for (const e of readdirSync(parent))
    if (e.startsWith(`${base}.tmp-`) || e.startsWith(`${base}.old-`)) rmSync(join(parent, e), { recursive: true, force: true });
  const tmp = join(parent, `${base}.tmp-${process.pid}`);
  mkdirSync(tmp);
  const files: ConfigJson['files'] = {};
  let lora: ConfigJson['lora'];
  if (ck.lora) {
    const baseAbs = resolve(ck.lora.base);
    const rel = relative(resolve(dir), baseAbs);
    // inside the same run folder: relative, so the run folder can move as a whole
    const base = rel.split('/').filter((p) => p === '..').length <= 2 ? rel : baseAbs;
    lora = { base, baseId: checkpointId(baseAbs) };
    mkdirSync(join(tmp, ADAPTER_DIR));
    for (const [file, data] of Object.entries(peftAdapterFiles(ck.lora.adapter, ck.lora.base))) {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      writeDurable(join(tmp, ADAPTER_DIR, file), bytes);
      files[`${ADAPTER_DIR}/${file}`] = { bytes: bytes.length, sha256: sha256(bytes) };
    }
    fsyncDir(join(tmp, ADAPTER_DIR));
  } else {
    const weights = encodeSafetensors(tensorMap(ck.model.params, ck.model.shapes), { format: CHECKPOINT_FORMAT });
    writeDurable(join(tmp, 'model.safetensors'), weights);
    files['model.safetensors'] = { bytes: weights.length, sha256: sha256(weights) };
  }
  if (ck.optimizer) {
    const o = ck.optimizer;
    const t = new Map<string, NamedTensor>();
    for (const [name, m] of o.m) t.set(`m.${name}`, { dtype: 'F32', shape: [m.length], data: m });
    for (const [name, v] of o.v) t.set(`v.${name}`, { dtype: 'F32', shape: [v.length], data: v });
    const bytes = encodeSafetensors(t, { step: String(o.step) });
    writeDurable(join(tmp, 'optimizer.safetensors'), bytes);
    files['optimizer.safetensors'] = { bytes: bytes.length, sha256: sha256(bytes) };
  }
  const cfg: ConfigJson = {
    format: CHECKPOINT_FORMAT,
    model: ck.model.config,
    // a LoRA checkpoint on a Hugging Face folder takes the folder's tokenizer
    tokenizer: ck.tokenizer instanceof HfTokenizer ? null : ck.tokenizer.toJSON(),
    meta: ck.meta,
    files,
    ...(lora && { lora }),
  };
  writeDurable(join(tmp, 'config.json'), `${JSON.stringify(cfg, null, 1)}\n`);
  fsyncDir(tmp);
  // A folder cannot be renamed over a non-empty one: move the old one aside first. A process killed
  // between the two renames leaves no `dir`, and the aside copy (`.prev`) is what a resume loads.
  const aside = opts.keepPrevious ? previousCheckpointDir(dir) : join(parent, `${base}.old-${process.pid}`);
  if (existsSync(dir)) {
    rmSync(aside, { recursive: true, force: true });
    renameSync(dir, aside);
  }
  renameSync(tmp, dir);
  fsyncDir(parent);
  if (!opts.keepPrevious) rmSync(aside, { recursive: true, force: true });
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

function refuseNonFinite(dir: string, file: string, name: string, data: Float32Array | Int32Array): void {
  const i = firstNonFinite(data);
  if (i >= 0)
    throw new CheckpointError(
      `checkpoint ${dir}: tensor ${name} in ${file} holds ${data[i]} at index ${i}: the weights diverged before this checkpoint was written; use an earlier checkpoint (${previousCheckpointDir(dir)} when there is one) or retrain with a lower learning rate`,
    );
}

/** AdamW over `params` with the moments of the checkpoint's optimizer.safetensors. */
function readMoments(dir: string, cfg: ConfigJson, params: Map<string, Float32Array>, shapes: Map<string, number[]>): AdamW {
  const { tensors, metadata } = decodeSafetensors(readChecked(dir, 'optimizer.safetensors', cfg), `${dir}/optimizer.safetensors`);
  const o = new AdamW(params, shapes);
  for (const name of params.keys()) {
    const m = tensors.get(`m.${name}`);
    const v = tensors.get(`v.${name}`);
    if (!m || !v)
      throw new CheckpointError(`checkpoint ${dir}: optimizer state lacks ${name}: the file does not belong to this model`);
    refuseNonFinite(dir, 'optimizer.safetensors', `m.${name}`, m.data);
    refuseNonFinite(dir, 'optimizer.safetensors', `v.${name}`, v.data);
    (o.m.get(name) as Float32Array).set(m.data);
    (o.v.get(name) as Float32Array).set(v.data);
  }
  o.step = Number(metadata.step ?? 0);
  return o;
}

/** A LoRA checkpoint: its adapter (checked), its base (loaded, checked to be the one it was trained on), merged unless asked not to. */
function loadLoraCheckpoint(
  dir: string,
  cfg: ConfigJson,
  lora: NonNullable<ConfigJson['lora']>,
  opts: LoadOptions,
): Checkpoint<CheckpointTokenizer> {
  const base = isAbsolute(lora.base) ? lora.base : resolve(dir, lora.base);
  for (const f of Object.keys(cfg.files)) if (f.startsWith(`${ADAPTER_DIR}/`)) readChecked(dir, f, cfg);
  let adapter: LoraAdapter;
  try {
    adapter = loadPeftAdapter(join(dir, ADAPTER_DIR));
  } catch (err) {
    throw new CheckpointError(`checkpoint ${dir}: ${(err as Error).message}`);
  }
  const host = loraHostParams(adapter);
  for (const [name, w] of host.params) refuseNonFinite(dir, `${ADAPTER_DIR}/adapter_model.safetensors`, name, w);
  if (!existsSync(join(base, 'config.json')))
    throw new CheckpointError(
      `checkpoint ${dir} is a LoRA adapter on the base ${base}, which is missing: put the base back there (a LoRA checkpoint does not copy the base weights)`,
    );
  if (checkpointId(base) !== lora.baseId)
    throw new CheckpointError(
      `checkpoint ${dir} is a LoRA adapter on ${base}, whose weights changed since it was trained: an adapter only applies to its own base; restore that base`,
    );
  const b = isHfFolder(base)
    ? { model: loadHfQwen3(base, { grads: opts.grads }).model, tokenizer: HfTokenizer.fromFolder(base) }
    : loadAnyCheckpoint(base, { grads: opts.grads });
  if (opts.merge !== false) mergeAdapter(b.model.params, adapter);
  const out: Checkpoint<CheckpointTokenizer> = {
    model: b.model,
    tokenizer: b.tokenizer,
    meta: cfg.meta,
    lora: { base, adapter },
  };
  if (opts.withOptimizer && cfg.files['optimizer.safetensors']) out.optimizer = readMoments(dir, cfg, host.params, host.shapes);
  return out;
}

export interface LoadOptions {
  /** Restore AdamW moments too (when the checkpoint holds them). */
  withOptimizer?: boolean;
  /** Allocate weight gradients (default true; false for a model that stays frozen: a LoRA base, a teacher). */
  grads?: boolean;
  /** A LoRA checkpoint: merge the adapter into the base's weights (default true). */
  merge?: boolean;
}

/**
 * Load a checkpoint folder with the built-in tokenizer; with `withOptimizer`, restore AdamW moments
 * too (when present). A LoRA checkpoint on a Hugging Face folder is refused here (`loadAnyCheckpoint`
 * loads it, with the folder's tokenizer).
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): Checkpoint {
  const ck = loadAnyCheckpoint(dir, opts);
  if (ck.tokenizer instanceof HfTokenizer)
    throw new CheckpointError(
      `checkpoint ${dir} is a LoRA adapter on the Hugging Face folder ${ck.lora?.base}, with that folder's tokenizer: use it as builtin:${dir}, or write it merged with gym export`,
    );
  return ck as Checkpoint;
}

/** `loadCheckpoint` that also takes a LoRA checkpoint on a Hugging Face folder (then with that folder's tokenizer). */
export function loadAnyCheckpoint(dir: string, opts: LoadOptions = {}): Checkpoint<CheckpointTokenizer> {
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
  if (cfg.lora) return loadLoraCheckpoint(dir, cfg, cfg.lora, opts);
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
    for (const [name, t] of tensors) {
      refuseNonFinite(dir, 'model.safetensors', name, t.data);
      params.set(name, t.data as Float32Array);
    }
    model = new Transformer(mc.data, params, 0, { grads: opts.grads });
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    if (err instanceof SafetensorsError || err instanceof RangeError)
      throw new CheckpointError(`checkpoint ${dir}: ${err.message}`);
    throw err;
  }
  const out: Checkpoint = { model, tokenizer, meta: cfg.meta };
  if (opts.withOptimizer && cfg.files['optimizer.safetensors']) out.optimizer = readMoments(dir, cfg, model.params, model.shapes);
  return out;
}

/**
 * Loads `dir`, or, when it is missing or damaged, the version it replaced
 * (`previousCheckpointDir(dir)`, kept by `keepPrevious` saves), telling `onWarning` why. Undefined
 * when neither exists; a CheckpointError when neither loads.
 */
export function loadLatestCheckpoint(
  dir: string,
  opts: LoadOptions & { onWarning?: (text: string) => void } = {},
): (Checkpoint<CheckpointTokenizer> & { dir: string }) | undefined {
  const prev = previousCheckpointDir(dir);
  let why: string;
  if (existsSync(dir)) {
    try {
      return { ...loadAnyCheckpoint(dir, opts), dir };
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      if (!existsSync(prev))
        throw new CheckpointError(`${err.message} (and there is no earlier checkpoint ${prev} to fall back to)`);
      why = err.message;
    }
  } else if (existsSync(prev)) why = `checkpoint ${dir} is missing (its replacement was interrupted)`;
  else return undefined;
  let ck: Checkpoint<CheckpointTokenizer>;
  try {
    ck = loadAnyCheckpoint(prev, opts);
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    throw new CheckpointError(`${why}; the checkpoint before it is damaged too: ${err.message}`);
  }
  opts.onWarning?.(`${why}; using the checkpoint before it, ${prev} (${ck.meta.phase} step ${ck.meta.step})`);
  return { ...ck, dir: prev };
}
