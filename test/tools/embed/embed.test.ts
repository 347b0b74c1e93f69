/**
 * The embedding path for real: the project's test model is built, loaded by onnxruntime-node and
 * tokenised by @huggingface/tokenizers from its own tokenizer.json.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestModel,
  DenseIndex,
  Embedder,
  EmbedModelError,
  embedCorpus,
  poolingOf,
  poolRows,
  type TestModelInfo,
} from '../../../tools/embed/index.js';
import { Rng } from '../../../tools/index.js';

const dir = mkdtempSync(join(tmpdir(), 'toolgym-embed-'));
let info: TestModelInfo;
let model: Embedder;

beforeAll(async () => {
  info = buildTestModel(join(dir, 'model'), { dim: 64 });
  model = await Embedder.load(info.dir);
}, 60_000);
afterAll(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

const cos = (v: Float32Array, d: number, a: number, b: number): number => {
  let s = 0;
  for (let k = 0; k < d; k++) s += (v[a * d + k] as number) * (v[b * d + k] as number);
  return s;
};

describe('the test embedding model', () => {
  it('is built byte for byte the same from the same options, and differently from another seed', () => {
    const again = buildTestModel(join(dir, 'again'), { dim: 64 });
    const other = buildTestModel(join(dir, 'other'), { dim: 64, seed: 7 });
    expect(again.hash).toBe(info.hash);
    expect(other.hash).not.toBe(info.hash);
    expect(info.vocabSize).toBeGreaterThan(5000);
  });

  it('loads in onnxruntime-node with mean pooling from its 1_Pooling config and gives unit vectors', async () => {
    expect(model.info).toMatchObject({ dim: 64, pooling: 'mean', maxTokens: 512 });
    const v = await model.embed(['Kravik Works is a company.', 'The mayor of Vikholm.'], 'passage');
    expect(v.length).toBe(2 * 64);
    expect(cos(v, 64, 0, 0)).toBeCloseTo(1, 5);
    expect(cos(v, 64, 1, 1)).toBeCloseTo(1, 5);
  });

  it('scores similar texts above unrelated ones, and a synonym like the word it stands for', async () => {
    const texts = [
      'The company was founded in 1987 by a physicist.',
      'The firm was established in 1987 by a physicist.', // synonyms: firm = company, established = founded
      'The population of the harbour town grew at the census.',
      'The company was founded in 1987 by a physicist.',
    ];
    const v = await model.embed(texts, 'query');
    expect(cos(v, 64, 0, 3)).toBeCloseTo(1, 5);
    expect(cos(v, 64, 0, 1)).toBeGreaterThan(0.9);
    expect(cos(v, 64, 0, 2)).toBeLessThan(0.3);
    expect(cos(v, 64, 0, 1)).toBeGreaterThan(cos(v, 64, 0, 2) + 0.5);
  });

  it('embeds a text the same alone and in a batch of longer texts (padding is masked)', async () => {
    const alone = await model.embed(['Who founded Kravik Works?'], 'query');
    const batch = await model.embed(['Who founded Kravik Works?', `${'A long text about the market. '.repeat(30)}`], 'query');
    for (let k = 0; k < 64; k++) expect(batch[k]).toBeCloseTo(alone[k] as number, 5);
  });

  it('reads CLS pooling from a folder that declares it, and pools the first position', () => {
    const cls = join(dir, 'cls');
    cpSync(info.dir, cls, { recursive: true });
    writeFileSync(join(cls, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_cls_token: true }));
    expect(poolingOf(cls)).toBe('cls');
    expect(poolingOf(info.dir)).toBe('mean');
    // hidden: (B=1, T=2, D=2); CLS takes row 0, mean takes the masked average.
    const hidden = new Float32Array([3, 4, 1, 0]);
    const out = new Float32Array(2);
    poolRows(hidden, [[1, 1]], { B: 1, T: 2, D: 2 }, 'cls', out);
    expect([...out]).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    const mean = new Float32Array(2);
    poolRows(hidden, [[1, 0]], { B: 1, T: 2, D: 2 }, 'mean', mean);
    expect([...mean]).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
  });

  it('loads the layout Optimum exports (onnx/model.onnx, no config.json) and gives the same vectors', async () => {
    const optimum = join(dir, 'optimum');
    cpSync(info.dir, optimum, { recursive: true });
    mkdirSync(join(optimum, 'onnx'));
    renameSync(join(optimum, 'model.onnx'), join(optimum, 'onnx', 'model.onnx'));
    rmSync(join(optimum, 'config.json'));
    const other = await Embedder.load(optimum);
    try {
      expect(other.dim).toBe(64); // found by a probe run, without config.json
      const text = ['Ilvar Tesk founded Kravik Works.'];
      expect([...(await other.embed(text, 'passage'))]).toEqual([...(await model.embed(text, 'passage'))]);
    } finally {
      await other.close();
    }
  });

  it('says which file is missing when a folder is not a model', async () => {
    await expect(Embedder.load(join(dir, 'nowhere'))).rejects.toThrow(EmbedModelError);
    const half = join(dir, 'half');
    cpSync(info.dir, half, { recursive: true });
    rmSync(join(half, 'tokenizer.json'));
    await expect(Embedder.load(half)).rejects.toThrow(/no tokenizer\.json/);
  });
});

describe('corpus vectors and dense search', () => {
  it('caches a corpus on disk by model and corpus hash, and reads back the same vectors', async () => {
    const texts = ['Ilvar Tesk was born in Vikholm.', 'Kravik Works employs about 400 people.', 'The regatta was held in May.'];
    const cache = join(dir, 'cache');
    const first = await embedCorpus(model, texts, cache);
    const second = await embedCorpus(model, texts, cache);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(existsSync(first.file as string)).toBe(true);
    expect([...second.vectors]).toEqual([...first.vectors]);
    const changed = await embedCorpus(model, [...texts, 'One more.'], cache);
    expect(changed.cached).toBe(false);
    expect(changed.file).not.toBe(first.file);
  });

  it('returns the exact top k by cosine, best first', async () => {
    const D = 3;
    const rows = [
      [1, 0, 0],
      [0, 1, 0],
      [0.6, 0.8, 0],
      [0, 0, 1],
      [0.8, 0.6, 0],
    ];
    const index = new DenseIndex(D, new Float32Array(rows.flat()));
    const hits = await index.search(new Float32Array([1, 0, 0]), 3);
    expect(hits.map((h) => h.index)).toEqual([0, 4, 2]);
    expect(hits[1]?.score).toBeCloseTo(0.8, 6);
    expect(await index.search(new Float32Array([0, 0, 1]), 10)).toHaveLength(5);
    expect(index.searchReference(new Float32Array([1, 0, 0]), 3).map((h) => h.index)).toEqual([0, 4, 2]);
  });

  it('ranks as the plain-loop reference does on real embeddings (onnxruntime Gemm against loops)', async () => {
    const rng = new Rng(5);
    const words = ['harbour', 'mayor', 'founded', 'census', 'market', 'bridge', 'director', 'born', 'river', 'museum', 'winner'];
    const texts = Array.from({ length: 400 }, () => Array.from({ length: 12 }, () => rng.pick(words)).join(' '));
    const vectors = await model.embed(texts, 'passage');
    const index = new DenseIndex(model.dim, vectors);
    const q = await model.embed(['Who is the mayor of the harbour founded by the museum director?'], 'query');
    const fast = await index.search(q, 20);
    const ref = index.searchReference(q, 20);
    expect(fast.map((h) => h.score)).toEqual(ref.map((h) => expect.closeTo(h.score, 5)));
    // The same rows make the top 10 (float32 products may only reorder rows whose scores tie to rounding).
    const top = (hs: typeof fast) => new Set(hs.slice(0, 10).map((h) => h.index));
    if ((ref[9]?.score as number) - (ref[10]?.score as number) > 1e-5) expect(top(fast)).toEqual(top(ref));
  });
});
