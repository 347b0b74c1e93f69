/**
 * A sentence-embedding model from a local folder, run by onnxruntime-node and tokenised by
 * @huggingface/tokenizers from the folder's own `tokenizer.json`: the layout that
 * sentence-transformers and Optimum export for all-MiniLM-L6-v2, bge-small or e5-small
 * (`model.onnx` or `onnx/model.onnx`, `tokenizer.json`, optional `tokenizer_config.json`,
 * `config.json` and `1_Pooling/config.json`).
 *
 * Pooling follows the folder's `1_Pooling/config.json` (CLS for bge, mean for MiniLM and e5; mean
 * when the folder does not say); vectors are L2-normalised, so a dot product is the cosine.
 * A model whose output is already pooled (`sentence_embedding`, rank 2) is used as it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';

export type Pooling = 'mean' | 'cls';

export interface EmbedderOptions {
  /** Overrides the folder's pooling. */
  pooling?: Pooling;
  /** Prepended to queries (e5: "query: "; bge: its retrieval instruction). */
  queryPrefix?: string;
  /** Prepended to passages (e5: "passage: "). */
  passagePrefix?: string;
  /** Texts per onnxruntime run. Default 64. */
  batchSize?: number;
  /** Longest input in tokens (default: the tokenizer's model_max_length, at most 512). */
  maxTokens?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** The folder is not a usable model: the message says which file is missing or wrong. */
export class EmbedModelError extends Error {
  override name = 'EmbedModelError';
}

export interface EmbedderInfo {
  dir: string;
  dim: number;
  pooling: Pooling;
  maxTokens: number;
  /** SHA-256 of the weights, the tokenizer, the pooling and the prefixes: what decides a vector. */
  hash: string;
}

const readJson = (path: string): Record<string, unknown> | undefined =>
  existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : undefined;

/** The model file of a folder: `model.onnx`, else `onnx/model.onnx`. */
export function modelFileOf(dir: string): string {
  for (const p of [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')]) if (existsSync(p)) return p;
  throw new EmbedModelError(
    `no model.onnx in '${dir}' (nor onnx/model.onnx): give a folder exported for sentence embeddings, e.g. all-MiniLM-L6-v2 with model.onnx and tokenizer.json`,
  );
}

/** Pooling the folder declares (sentence-transformers' 1_Pooling/config.json), mean when it declares none. */
export function poolingOf(dir: string): Pooling {
  const cfg = readJson(join(dir, '1_Pooling', 'config.json'));
  if (cfg?.pooling_mode_cls_token === true) return 'cls';
  return 'mean';
}

/** Mean over unmasked positions, or the first position (CLS); then L2 normalisation. */
export function poolRows(
  hidden: Float32Array, // (B, T, D)
  mask: readonly number[][], // (B, T) 1 for real tokens
  dims: { B: number; T: number; D: number },
  pooling: Pooling,
  out: Float32Array, // (B, D)
): void {
  const { B, T, D } = dims;
  for (let b = 0; b < B; b++) {
    const o = b * D;
    if (pooling === 'cls') for (let k = 0; k < D; k++) out[o + k] = hidden[b * T * D + k] as number;
    else {
      let n = 0;
      const m = mask[b] as number[];
      for (let t = 0; t < T; t++) {
        if (m[t] !== 1) continue;
        n++;
        const h = (b * T + t) * D;
        for (let k = 0; k < D; k++) out[o + k] = (out[o + k] as number) + (hidden[h + k] as number);
      }
      if (n > 0) for (let k = 0; k < D; k++) out[o + k] = (out[o + k] as number) / n;
    }
    normalizeRow(out, o, D);
  }
}

function normalizeRow(v: Float32Array, offset: number, dim: number): void {
  let s = 0;
  for (let k = 0; k < dim; k++) s += (v[offset + k] as number) ** 2;
  if (s === 0) return;
  const inv = 1 / Math.sqrt(s);
  for (let k = 0; k < dim; k++) v[offset + k] = (v[offset + k] as number) * inv;
}

export class Embedder {
  private constructor(
    readonly info: EmbedderInfo,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly opts: EmbedderOptions,
    private readonly padId: number,
    private readonly sepId: number | undefined,
  ) {}

  /** Loads a model folder; throws `EmbedModelError` naming what is missing. */
  static async load(dir: string, opts: EmbedderOptions = {}): Promise<Embedder> {
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new EmbedModelError(
        `embedding model folder '${dir}' does not exist: give a folder with model.onnx and tokenizer.json`,
      );
    const modelPath = modelFileOf(dir);
    const tokPath = join(dir, 'tokenizer.json');
    if (!existsSync(tokPath))
      throw new EmbedModelError(`no tokenizer.json in '${dir}': export the model with its fast tokenizer (tokenizer.json)`);
    const tokJson = JSON.parse(readFileSync(tokPath, 'utf8')) as Record<string, unknown>;
    const tokCfg = readJson(join(dir, 'tokenizer_config.json')) ?? {};
    const config = readJson(join(dir, 'config.json')) ?? {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokJson, tokCfg);
    } catch (err) {
      throw new EmbedModelError(`could not read ${tokPath}: ${(err as Error).message}`);
    }
    const pooling = opts.pooling ?? poolingOf(dir);
    const declared = Number(tokCfg.model_max_length);
    const positions = Number(config.max_position_embeddings);
    const maxTokens = Math.min(
      opts.maxTokens ?? 512,
      Number.isFinite(declared) && declared > 0 && declared < 1e6 ? declared : 512,
      Number.isFinite(positions) && positions > 0 ? positions : 512,
    );
    const modelBytes = readFileSync(modelPath);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelBytes, {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
      });
    } catch (err) {
      throw new EmbedModelError(`onnxruntime could not load ${modelPath}: ${(err as Error).message}`);
    }
    if (!session.inputNames.includes('input_ids'))
      throw new EmbedModelError(`${modelPath} takes no input_ids (inputs: ${session.inputNames.join(', ')}): not a text encoder`);
    const hash = createHash('sha256')
      .update(modelBytes)
      .update(readFileSync(tokPath))
      .update(JSON.stringify([pooling, opts.queryPrefix ?? '', opts.passagePrefix ?? '', maxTokens]))
      .digest('hex');
    const padToken = typeof tokCfg.pad_token === 'string' ? tokCfg.pad_token : '[PAD]';
    const padId = tokenizer.token_to_id(padToken) ?? 0;
    const sepToken = typeof tokCfg.sep_token === 'string' ? tokCfg.sep_token : '[SEP]';
    const sepId = tokenizer.token_to_id(sepToken);
    // The width: from config.json, else from one probe run.
    const probe = new Embedder({ dir, dim: 0, pooling, maxTokens, hash }, session, tokenizer, opts, padId, sepId);
    const dim = Number(config.hidden_size) > 0 ? Number(config.hidden_size) : (await probe.runBatch(['probe'])).dim;
    return new Embedder({ dir, dim, pooling, maxTokens, hash }, session, tokenizer, opts, padId, sepId);
  }

  get dim(): number {
    return this.info.dim;
  }

  /** Token ids of a text, truncated to `maxTokens` (keeping the closing separator when there is one). */
  encode(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= this.info.maxTokens) return ids;
    const cut = ids.slice(0, this.info.maxTokens);
    if (this.sepId !== undefined && ids[ids.length - 1] === this.sepId) cut[cut.length - 1] = this.sepId;
    return cut;
  }

  private async runBatch(texts: readonly string[]): Promise<{ vectors: Float32Array; dim: number }> {
    const encoded = texts.map((t) => this.encode(t));
    const B = texts.length;
    const T = Math.max(1, ...encoded.map((e) => e.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(this.padId));
    const attn = new BigInt64Array(B * T);
    const mask: number[][] = [];
    encoded.forEach((e, b) => {
      const m = new Array<number>(T).fill(0);
      e.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        attn[b * T + t] = 1n;
        m[t] = 1;
      });
      mask.push(m);
    });
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [B, T]) };
    if (this.session.inputNames.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', attn, [B, T]);
    if (this.session.inputNames.includes('token_type_ids'))
      feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
    const outName = ['last_hidden_state', 'sentence_embedding', 'token_embeddings'].find((n) =>
      this.session.outputNames.includes(n),
    );
    const results = await this.session.run(feeds);
    const out = results[outName ?? (this.session.outputNames[0] as string)] as ort.Tensor;
    const data = out.data as Float32Array;
    if (out.dims.length === 2) {
      const D = Number(out.dims[1]);
      const vectors = new Float32Array(data);
      for (let b = 0; b < B; b++) normalizeRow(vectors, b * D, D);
      return { vectors, dim: D };
    }
    if (out.dims.length !== 3)
      throw new EmbedModelError(`model output has shape [${out.dims.join(', ')}]; expected (batch, tokens, dim)`);
    const D = Number(out.dims[2]);
    const vectors = new Float32Array(B * D);
    poolRows(data, mask, { B, T, D }, this.info.pooling, vectors);
    return { vectors, dim: D };
  }

  /**
   * Embeds texts as queries or passages; returns (n, dim) row-major, each row of unit length.
   * Texts run in batches of similar length, so padding stays small.
   */
  async embed(texts: readonly string[], kind: 'query' | 'passage'): Promise<Float32Array> {
    const prefix = (kind === 'query' ? this.opts.queryPrefix : this.opts.passagePrefix) ?? '';
    const D = this.info.dim;
    const out = new Float32Array(texts.length * D);
    const order = texts.map((t, i) => ({ i, len: t.length })).sort((a, b) => a.len - b.len);
    const size = this.opts.batchSize ?? 64;
    for (let s = 0; s < order.length; s += size) {
      const part = order.slice(s, s + size);
      const { vectors, dim } = await this.runBatch(part.map((p) => prefix + (texts[p.i] as string)));
      if (dim !== D) throw new EmbedModelError(`model output width ${dim} differs from config.json hidden_size ${D}`);
      part.forEach((p, b) => {
        out.set(vectors.subarray(b * D, (b + 1) * D), p.i * D);
      });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
