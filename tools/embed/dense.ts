/**
 * Exact nearest neighbours over unit vectors (brute force: a dot product per row), and the disk
 * cache of a corpus's vectors keyed by the model's hash and the corpus's hash.
 *
 * Brute force is exact and, at the sizes an environment holds (10^4 chunks of 128-384 dims), a few
 * million multiply-adds per query: a millisecond or two, with nothing to tune.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Embedder } from './model.js';

export interface DenseHit {
  /** Row of the vector (insertion order). */
  index: number;
  /** Cosine similarity (vectors are unit length). */
  score: number;
}

export class DenseIndex {
  readonly size: number;

  constructor(
    readonly dim: number,
    /** (size, dim) row-major, unit rows. */
    readonly vectors: Float32Array,
  ) {
    if (vectors.length % dim !== 0) throw new Error(`vector array of ${vectors.length} floats is not a multiple of dim ${dim}`);
    this.size = vectors.length / dim;
  }

  /** The `k` rows most similar to `query` (unit length), best first; ties by row order. */
  search(query: Float32Array, k: number): DenseHit[] {
    const D = this.dim;
    const v = this.vectors;
    const best: DenseHit[] = [];
    let floor = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < this.size; r++) {
      let s = 0;
      const o = r * D;
      for (let j = 0; j < D; j++) s += (v[o + j] as number) * (query[j] as number);
      if (best.length < k) {
        best.push({ index: r, score: s });
        if (best.length === k) {
          best.sort((a, b) => b.score - a.score || a.index - b.index);
          floor = (best[k - 1] as DenseHit).score;
        }
      } else if (s > floor) {
        // Insert in order; k is small, so a shift beats a heap.
        let i = k - 1;
        while (i > 0 && (best[i - 1] as DenseHit).score < s) {
          best[i] = best[i - 1] as DenseHit;
          i--;
        }
        best[i] = { index: r, score: s };
        floor = (best[k - 1] as DenseHit).score;
      }
    }
    if (best.length < k) best.sort((a, b) => b.score - a.score || a.index - b.index);
    return best;
  }
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
