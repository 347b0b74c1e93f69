/**
 * Exact nearest neighbours over unit vectors (brute force: a dot product per row), and the disk
 * cache of a corpus's vectors keyed by the model's hash and the corpus's hash.
 *
 * Brute force is exact and, at the sizes an environment holds (10^4 chunks of 128-384 dims), a few
 * million multiply-adds per query, with nothing to tune. The products run as one Gemm in
 * onnxruntime (its MLAS kernels, one thread); `searchReference` is the same search in plain loops,
 * kept for the tests to check the fast path against.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Embedder } from './model.js';

const { onnx } = onnxProto;

/** scores (B, N) = q (B, D) @ m (N, D)^T, every dimension symbolic so one session serves every index. */
function gemmModel(): Uint8Array {
  const value = (name: string, dims: string[]): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimParam: d })) } } },
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'toolgym-dense',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'scores',
        node: [
          {
            name: 'gemm',
            opType: 'Gemm',
            input: ['q', 'm'],
            output: ['scores'],
            attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
          },
        ],
        input: [value('q', ['b', 'd']), value('m', ['n', 'd'])],
        output: [value('scores', ['b', 'n'])],
      },
    }),
  ).finish();
}

let gemm: Promise<ort.InferenceSession> | undefined;
function gemmSession(): Promise<ort.InferenceSession> {
  gemm ??= ort.InferenceSession.create(gemmModel(), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  return gemm;
}

export interface DenseHit {
  /** Row of the vector (insertion order). */
  index: number;
  /** Cosine similarity (vectors are unit length). */
  score: number;
}

export class DenseIndex {
  readonly size: number;
  /** The vectors as an onnxruntime tensor (wraps the same memory). */
  private matrix?: ort.Tensor;
  /** Scratch of the reference search. */
  private scores?: Float32Array;

  constructor(
    readonly dim: number,
    /** (size, dim) row-major, unit rows. */
    readonly vectors: Float32Array,
  ) {
    if (vectors.length % dim !== 0) throw new Error(`vector array of ${vectors.length} floats is not a multiple of dim ${dim}`);
    this.size = vectors.length / dim;
  }

  /** The `k` rows most similar to `query` (unit length), best first; ties by row order. */
  async search(query: Float32Array, k: number): Promise<DenseHit[]> {
    if (query.length !== this.dim) throw new Error(`query has ${query.length} dimensions; the index has ${this.dim}`);
    if (this.size === 0) return [];
    const session = await gemmSession();
    this.matrix ??= new ort.Tensor('float32', this.vectors, [this.size, this.dim]);
    const out = await session.run({ q: new ort.Tensor('float32', query, [1, this.dim]), m: this.matrix });
    return topK(out.scores?.data as Float32Array, this.size, k);
  }

  /** The same search in plain loops: the reference the tests hold `search` to. */
  searchReference(query: Float32Array, k: number): DenseHit[] {
    this.scores ??= new Float32Array(this.size);
    dotRows(this.vectors, query, this.size, this.dim, this.scores);
    return topK(this.scores, this.size, k);
  }
}

/** scores[r] = <vectors[r], q> for every row (four accumulators: the loop V8 compiles best). */
function dotRows(vectors: Float32Array, q: Float32Array, rows: number, dim: number, scores: Float32Array): void {
  const tail = dim - (dim % 4);
  for (let r = 0, o = 0; r < rows; r++, o += dim) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < tail; j += 4) {
      s0 += (vectors[o + j] as number) * (q[j] as number);
      s1 += (vectors[o + j + 1] as number) * (q[j + 1] as number);
      s2 += (vectors[o + j + 2] as number) * (q[j + 2] as number);
      s3 += (vectors[o + j + 3] as number) * (q[j + 3] as number);
    }
    for (let j = tail; j < dim; j++) s0 += (vectors[o + j] as number) * (q[j] as number);
    scores[r] = s0 + s1 + s2 + s3;
  }
}

/** The k best rows by score, best first (ties: lower row first); k is small, so an ordered insert beats a heap. */
function topK(scores: Float32Array, n: number, k: number): DenseHit[] {
  const best: DenseHit[] = [];
  if (k <= 0) return best;
  let floor = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < n; r++) {
    const s = scores[r] as number;
    if (best.length === k && s <= floor) continue;
    let i = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ index: r, score: s });
    while (i > 0 && (best[i - 1] as DenseHit).score < s) {
      best[i] = best[i - 1] as DenseHit;
      i--;
    }
    best[i] = { index: r, score: s };
    if (best.length === k) floor = (best[k - 1] as DenseHit).score;
  }
  return best;
}

export interface CorpusVectors {
  vectors: Float32Array;
  /** Whether they came from the disk cache. */
  cached: boolean;
  /** Milliseconds spent embedding (0 on a cache hit) or reading. */
  ms: number;
  /** The cache file (absent without a cache folder). */
  file?: string;
}

/** SHA-256 of a list of texts (the passages exactly as embedded). */
export function textsHash(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) {
    h.update(t);
    h.update('\u0000');
  }
  return h.digest('hex');
}

/**
 * The passage vectors of `texts`, read from `<cacheDir>/embeddings/<model>-<corpus>.f32` when an
 * earlier run wrote them, else embedded and written there (aside, then renamed, so a reader never
 * sees half a file). Without `cacheDir` nothing touches the disk.
 */
export async function embedCorpus(embedder: Embedder, texts: readonly string[], cacheDir?: string): Promise<CorpusVectors> {
  const t0 = performance.now();
  const D = embedder.dim;
  const file = cacheDir
    ? join(cacheDir, 'embeddings', `${embedder.info.hash.slice(0, 16)}-${textsHash(texts).slice(0, 16)}-${texts.length}x${D}.f32`)
    : undefined;
  if (file && existsSync(file)) {
    const buf = readFileSync(file);
    if (buf.byteLength === texts.length * D * 4) {
      const vectors = new Float32Array(texts.length * D);
      new Uint8Array(vectors.buffer).set(buf);
      return { vectors, cached: true, ms: performance.now() - t0, file };
    }
  }
  const vectors = await embedder.embed(texts, 'passage');
  if (file && cacheDir) {
    mkdirSync(join(cacheDir, 'embeddings'), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    renameSync(tmp, file);
  }
  return { vectors, cached: false, ms: performance.now() - t0, ...(file ? { file } : {}) };
}
