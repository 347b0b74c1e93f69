/**
 * Okapi BM25 over an inverted index in typed arrays.
 *
 *   score(d, q) = sum over terms t of q:  idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
 *   idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
 *
 * The title counts `titleWeight` times in tf and length (a cheap BM25F). Postings are appended while
 * documents are added, then compacted into flat arrays on the first search: a query touches only the
 * postings of its terms and ranks them with a bounded heap, so search cost is independent of N for
 * rare terms. Ties break by insertion order, so results are deterministic.
 */
import { type SnippetOptions, snippet } from './snippet.js';
import { tokenize } from './tokenize.js';

export interface Bm25Options {
  k1?: number;
  b?: number;
  /** How many times a title's terms count. Default 3. */
  titleWeight?: number;
}

export interface IndexedDoc {
  id: string;
  title: string;
  text: string;
}

export interface SearchHit {
  id: string;
  /** Insertion index of the document. */
  index: number;
  score: number;
}

export interface IndexStats {
  docs: number;
  terms: number;
  postings: number;
  avgDocLength: number;
  /** Estimated bytes held by the index (postings, lengths, vocabulary), excluding the texts. */
  sizeBytes: number;
  /** Milliseconds spent adding documents and compacting. */
  buildMs: number;
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  readonly titleWeight: number;
  private readonly vocab = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  // Build-time postings: per term, interleaved [doc, tf, doc, tf, ...].
  private building: number[][] = [];
  // Compact form (after `compact()`): postings of term t are [offsets[t], offsets[t+1]).
  private offsets = new Int32Array(0);
  private postDoc = new Int32Array(0);
  private postTf = new Float32Array(0);
  private norm = new Float32Array(0); // k1 * (1 - b + b * len / avg), per doc
  private scratch = new Float64Array(0);
  private touched = new Int32Array(0); // docs with a non-zero score in the current query
  private compacted = true;
  private buildMs = 0;
  private totalLength = 0;

  constructor(opts: Bm25Options = {}) {
    this.k1 = opts.k1 ?? 1.2;
    this.b = opts.b ?? 0.75;
    this.titleWeight = opts.titleWeight ?? 3;
  }

  get size(): number {
    return this.ids.length;
  }

  add(doc: IndexedDoc): void {
    const t0 = performance.now();
    const index = this.ids.length;
    this.ids.push(doc.id);
    const tf = new Map<number, number>();
    const count = (terms: string[], w: number): void => {
      for (const term of terms) {
        let id = this.vocab.get(term);
        if (id === undefined) {
          id = this.building.length;
          this.vocab.set(term, id);
          this.building.push([]);
        }
        tf.set(id, (tf.get(id) ?? 0) + w);
      }
    };
    const title = tokenize(doc.title);
    const body = tokenize(doc.text);
    count(title, this.titleWeight);
    count(body, 1);
    for (const [t, f] of tf) (this.building[t] as number[]).push(index, f);
    const len = title.length * this.titleWeight + body.length;
    this.lengths.push(len);
    this.totalLength += len;
    this.compacted = false;
    this.buildMs += performance.now() - t0;
  }

  addAll(docs: Iterable<IndexedDoc>): this {
    for (const d of docs) this.add(d);
    this.compact();
    return this;
  }

  /** Flattens the postings into typed arrays; called lazily by `search`. */
  compact(): void {
    if (this.compacted) return;
    const t0 = performance.now();
    const terms = this.vocab.size;
    // Merge any previously compacted postings with the ones added since.
    const lists: number[][] = new Array(terms);
    for (let t = 0; t < terms; t++) {
      const old: number[] = [];
      if (t + 1 < this.offsets.length)
        for (let p = this.offsets[t] as number; p < (this.offsets[t + 1] as number); p++)
          old.push(this.postDoc[p] as number, this.postTf[p] as number);
      lists[t] = old.length > 0 ? old.concat(this.building[t] ?? []) : (this.building[t] ?? []);
    }
    let total = 0;
    for (const l of lists) total += l.length / 2;
    this.offsets = new Int32Array(terms + 1);
    this.postDoc = new Int32Array(total);
    this.postTf = new Float32Array(total);
    let p = 0;
    for (let t = 0; t < terms; t++) {
      this.offsets[t] = p;
      const l = lists[t] as number[];
      for (let i = 0; i < l.length; i += 2) {
        this.postDoc[p] = l[i] as number;
        this.postTf[p] = l[i + 1] as number;
        p++;
      }
    }
    this.offsets[terms] = p;
    this.building = Array.from({ length: terms }, () => []);
    const n = this.ids.length;
    const avg = n > 0 ? this.totalLength / n : 1;
    this.norm = new Float32Array(n);
    for (let d = 0; d < n; d++) this.norm[d] = this.k1 * (1 - this.b + (this.b * (this.lengths[d] as number)) / avg);
    this.scratch = new Float64Array(n);
    this.touched = new Int32Array(n);
    this.compacted = true;
    this.buildMs += performance.now() - t0;
  }

  /** Top `k` documents for `query`, best first. An empty or all-stop-word query returns []. */
  search(query: string, k = 10): SearchHit[] {
    this.compact();
    if (k <= 0) return [];
    const n = this.ids.length;
    const terms = [...new Set(tokenize(query))];
    const scores = this.scratch;
    const touched = this.touched;
    let count = 0;
    for (const term of terms) {
      const t = this.vocab.get(term);
      if (t === undefined) continue;
      const from = this.offsets[t] as number;
      const to = this.offsets[t + 1] as number;
      const df = to - from;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const k1p1 = this.k1 + 1;
      for (let p = from; p < to; p++) {
        const d = this.postDoc[p] as number;
        const tf = this.postTf[p] as number;
        if (scores[d] === 0) touched[count++] = d;
        scores[d] += (idf * tf * k1p1) / (tf + (this.norm[d] as number));
      }
    }
    const hits = topK(touched, count, scores, k).map((d) => ({
      id: this.ids[d] as string,
      index: d,
      score: scores[d] as number,
    }));
    for (let i = 0; i < count; i++) scores[touched[i] as number] = 0;
    return hits;
  }

  /** Highlighted snippet of `text` for `query` (see `snippet`). */
  snippet(text: string, query: string, opts?: SnippetOptions): string {
    return snippet(text, query, opts);
  }

  stats(): IndexStats {
    this.compact();
    let vocabBytes = 0;
    for (const term of this.vocab.keys()) vocabBytes += 2 * term.length + 48; // string + map entry
    const sizeBytes =
      this.offsets.byteLength +
      this.postDoc.byteLength +
      this.postTf.byteLength +
      this.norm.byteLength +
      this.scratch.byteLength +
      vocabBytes +
      this.ids.reduce((s, id) => s + 2 * id.length + 16, 0);
    return {
      docs: this.ids.length,
      terms: this.vocab.size,
      postings: this.postDoc.length,
      avgDocLength: this.ids.length > 0 ? this.totalLength / this.ids.length : 0,
      sizeBytes,
      buildMs: this.buildMs,
    };
  }
}

/** Indices of the k largest scores (ties: smaller index first), via a size-k min-heap. */
function topK(candidates: Int32Array, count: number, scores: Float64Array, k: number): number[] {
  const better = (a: number, b: number): boolean =>
    (scores[a] as number) > (scores[b] as number) || ((scores[a] as number) === (scores[b] as number) && a < b);
  const heap: number[] = [];
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && better(heap[m] as number, heap[l] as number)) m = l;
      if (r < heap.length && better(heap[m] as number, heap[r] as number)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  for (let c = 0; c < count; c++) {
    const d = candidates[c] as number;
    if (heap.length < k) {
      heap.push(d);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!better(heap[parent] as number, heap[i] as number)) break;
        [heap[i], heap[parent]] = [heap[parent] as number, heap[i] as number];
        i = parent;
      }
    } else if (better(d, heap[0] as number)) {
      heap[0] = d;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (better(a, b) ? -1 : 1));
}
