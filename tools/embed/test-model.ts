/**
 * The project's own embedding model for tests and benches: a small, deterministic ONNX model with a
 * WordPiece `tokenizer.json`, laid out like a sentence-transformers export (model.onnx,
 * tokenizer.json, tokenizer_config.json, config.json, 1_Pooling/config.json), so the dense path runs
 * for real (onnxruntime-node, @huggingface/tokenizers, mean pooling) without downloading a model.
 *
 * What it is, plainly: an embedding bag. The graph is one Gather of a token table, masked by the
 * attention mask: last_hidden_state[b,t] = E[input_ids[b,t]] * attention_mask[b,t]. Mean pooling
 * and normalisation then make a text's vector the weighted mean of its tokens' rows. It has no
 * notion of word order or context. Its similarity comes from three things only:
 *   - every token row is a fixed pseudo-random direction (seeded by the token), so texts that share
 *     tokens score higher than texts that do not;
 *   - a row's length is the token's inverse document frequency in a sample of the generated world
 *     (stop words and punctuation get zero), so rare words weigh more than boilerplate, except that
 *     the lexicon's relation words (founded, mayor, born, ...) and name syllables get fixed weights;
 *   - the synonyms of tools/embed/lexicon.ts share their canonical word's row ("established" is
 *     "founded"), which is what lets a paraphrased question find its passage when BM25 cannot.
 * It knows nothing of language beyond that table: on text outside the generated world's vocabulary
 * it degrades to matching shared letters. Use a real model (all-MiniLM-L6-v2, bge-small, e5-small)
 * for anything else.
 *
 * Vocabulary: the English words of the world generator's articles (a sample world rendered with
 * every entity name removed), the generator's own word lists, the lexicon, years 1000-2099, digits,
 * punctuation, and the syllables the generator builds names from (onset + vowel + coda, as word
 * starts and `##` continuations), plus single letters as a fallback, so every generated name
 * tokenizes into its syllables.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import {
  CITY_SUFFIXES,
  CODAS,
  COUNTRY_SUFFIXES,
  CURRENCY_WORDS,
  EVENT_KINDS,
  generateCorpus,
  MONTHS,
  OCCUPATIONS,
  ONSETS,
  ORG_TYPES,
  ORG_WORDS,
  VOWELS,
} from '../corpus/index.js';
import { mixSeed, Rng } from '../rng.js';
import { STOP_WORDS } from '../text-index/index.js';
import { LEXICON } from './lexicon.js';

const { onnx } = onnxProto;

/** Bumped whenever the built bytes would change; part of the default folder name. */
export const TEST_MODEL_VERSION = 1;

export interface TestModelOptions {
  /** Embedding width. Default 128. */
  dim?: number;
  /** Seed of the token directions and of the sample world. */
  seed?: number;
  /**
   * A generated world whose names join the vocabulary as whole words (as a real model's vocabulary
   * holds common names), so the model tells that world's entities apart; without it names are
   * embedded from their syllables, which many names share.
   */
  world?: { seed: number; docs: number };
}

export interface TestModelInfo {
  dir: string;
  dim: number;
  vocabSize: number;
  /** SHA-256 of model.onnx and tokenizer.json: the same options give the same hash on every machine. */
  hash: string;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const PUNCTUATION = [...'.,;:!?()[]{}\'"-/&%$#@*+=<>|~`^_\\'];
const DEFAULTS = { dim: 128, seed: 20250318 };
/** Documents of the sample world the English words and their frequencies come from. */
const SAMPLE_DOCS = 600;
/** Weight of a name syllable: names are what questions are about, so they weigh like a rare word. */
const NAME_WEIGHT = 1;
/** Weight of the lexicon's words and their synonyms. */
const RELATION_WEIGHT = 2.5;
/** Weight of a whole name word of the world the model is built for: rarer than any relation word. */
const WORLD_NAME_WEIGHT = 4;

const words = (s: string): string[] => s.toLowerCase().match(/[a-z]+/g) ?? [];

/** English words of the generated world with their inverse document frequency, names removed. */
function worldWords(seed: number): Map<string, number> {
  const corpus = generateCorpus({ seed, docs: SAMPLE_DOCS });
  const world = corpus.world;
  const names = world ? [...world.entities.values()].map((e) => e.name).sort((a, b) => b.length - a.length) : [];
  const nameRe = new RegExp(names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const df = new Map<string, number>();
  for (const d of corpus.docs) {
    const text = names.length > 0 ? d.text.replace(nameRe, ' ') : d.text;
    for (const w of new Set(words(text))) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const n = corpus.docs.length;
  const idf = new Map<string, number>();
  for (const [w, f] of df) idf.set(w, Math.log(1 + (n - f + 0.5) / (f + 0.5)));
  return idf;
}

/** The vocabulary in id order, each token's row weight, and the token whose row it shares. */
export function testModelVocabulary(
  seed = DEFAULTS.seed,
  world?: TestModelOptions['world'],
): { tokens: string[]; weight: Map<string, number>; tie: Map<string, string> } {
  const idf = worldWords(seed);
  const maxIdf = Math.max(1, ...idf.values());
  const weight = new Map<string, number>();
  const tokens: string[] = [];
  const add = (t: string, w: number): void => {
    if (weight.has(t)) return;
    tokens.push(t);
    weight.set(t, w);
  };
  for (const s of SPECIALS) add(s, 0);
  for (const p of PUNCTUATION) add(p, 0);
  for (const d of '0123456789') add(d, 0.3);
  for (const d of '0123456789') add(`##${d}`, 0.3);
  // Words: the generator's lists first (rare by construction), then the sample world's words.
  const listed = [
    ...OCCUPATIONS,
    ...ORG_TYPES,
    ...Object.values(ORG_WORDS).flat(),
    ...EVENT_KINDS,
    ...CURRENCY_WORDS,
    ...MONTHS,
    ...Object.keys(LEXICON),
  ].flatMap(words);
  const english = [...new Set([...listed, ...idf.keys()])].sort();
  // A word weighs its idf relative to the rarest word; the lexicon's words (the relations questions
  // turn on: founded, mayor, born, ...) weigh more than a name syllable, since a passage is found by
  // its relation as much as by its subject.
  const wordWeight = (w: string): number =>
    STOP_WORDS.has(w) ? 0 : LEXICON[w] ? RELATION_WEIGHT : (idf.get(w) ?? maxIdf) / maxIdf;
  for (const w of english) add(w, wordWeight(w));
  const tie = new Map<string, string>();
  for (const [canonical, syns] of Object.entries(LEXICON))
    for (const s of syns) {
      add(s, RELATION_WEIGHT);
      tie.set(s, canonical);
    }
  for (let y = 1000; y <= 2099; y++) add(String(y), 1);
  if (world) {
    const names = generateCorpus({ seed: world.seed, docs: world.docs }).world?.entities.values() ?? [];
    const nameWords = new Set<string>();
    for (const e of names) for (const w of words(e.name)) nameWords.add(w);
    for (const w of [...nameWords].sort()) add(w, WORLD_NAME_WEIGHT);
  }
  // Name syllables, then letters as the fallback that makes every word tokenizable.
  const pieces = new Set<string>();
  for (const o of ONSETS) for (const v of VOWELS) for (const c of CODAS) pieces.add(o + v + c);
  for (const s of [...CITY_SUFFIXES, ...COUNTRY_SUFFIXES]) pieces.add(s);
  for (const p of [...pieces].sort()) add(p, NAME_WEIGHT);
  for (const p of [...pieces].sort()) add(`##${p}`, NAME_WEIGHT);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') add(c, NAME_WEIGHT * 0.5);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') add(`##${c}`, NAME_WEIGHT * 0.5);
  return { tokens, weight, tie };
}

/** A unit direction for `token`, from the seed and the token alone (independent of vocabulary order). */
function direction(seed: number, token: string, dim: number): Float32Array {
  const rng = new Rng(mixSeed(seed, 'token', token));
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i += 2) {
    // Box-Muller: two normals per pair of uniforms.
    const u = Math.max(rng.next(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rng.next();
    v[i] = r * Math.cos(a);
    if (i + 1 < dim) v[i + 1] = r * Math.sin(a);
  }
  for (let i = 0; i < dim; i++) norm += (v[i] as number) ** 2;
  const s = 1 / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) * s;
  return v;
}

function tokenizerJson(tokens: readonly string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const id = (t: string): number => vocab[t] as number;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** The ONNX graph: last_hidden_state = Gather(E, input_ids) * attention_mask (as float, broadcast over D). */
function onnxModel(table: Float32Array, vocabSize: number, dim: number): Uint8Array {
  const ids = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: 7, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'toolgym-test-embedding',
    producerVersion: String(TEST_MODEL_VERSION),
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'embedding_bag',
      node: [
        { name: 'gather', opType: 'Gather', input: ['word_embeddings', 'input_ids'], output: ['embedded'], attribute: [] },
        {
          name: 'mask_float',
          opType: 'Cast',
          input: ['attention_mask'],
          output: ['mask_f'],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
        },
        { name: 'mask_3d', opType: 'Unsqueeze', input: ['mask_f', 'last_axis'], output: ['mask_3d'], attribute: [] },
        { name: 'masked', opType: 'Mul', input: ['embedded', 'mask_3d'], output: ['last_hidden_state'], attribute: [] },
      ],
      input: [ids('input_ids'), ids('attention_mask')],
      output: [
        {
          name: 'last_hidden_state',
          type: {
            tensorType: {
              elemType: 1,
              shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: dim }] },
            },
          },
        },
      ],
      initializer: [
        {
          name: 'word_embeddings',
          dataType: 1,
          dims: [vocabSize, dim],
          rawData: new Uint8Array(table.buffer, table.byteOffset, table.byteLength),
        },
        { name: 'last_axis', dataType: 7, dims: [1], int64Data: [-1] },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

const README = `# toolgym test embedding model

Built by toolgym (tools/embed/test-model.ts); rebuild with \`npx tsx scripts/build-rag-test-model.ts <dir>\`.
An embedding bag, not a language model: last_hidden_state = E[input_ids] * attention_mask, mean-pooled
and normalised by the reader. Token rows are seeded pseudo-random directions scaled by the token's
inverse document frequency in a sample generated world; synonyms from tools/embed/lexicon.ts share
their canonical word's row. It is for tests and benches over generated worlds only.
`;

/** Writes the model folder to `dir` (replacing it); deterministic for the same options. */
export function buildTestModel(dir: string, opts: TestModelOptions = {}): TestModelInfo {
  const tmp = `${dir}.tmp-${process.pid}`;
  const info = writeTestModel(tmp, opts);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { ...info, dir };
}

function writeTestModel(tmp: string, opts: TestModelOptions): TestModelInfo {
  const dim = opts.dim ?? DEFAULTS.dim;
  const seed = opts.seed ?? DEFAULTS.seed;
  const { tokens, weight, tie } = testModelVocabulary(seed, opts.world);
  // table: (V, D), row t = weight(t) * direction(canonical(t))
  const table = new Float32Array(tokens.length * dim);
  tokens.forEach((t, i) => {
    const w = weight.get(t) ?? 0;
    if (w === 0) return;
    const dir = direction(seed, tie.get(t) ?? t, dim);
    for (let k = 0; k < dim; k++) table[i * dim + k] = w * (dir[k] as number);
  });
  const modelBytes = onnxModel(table, tokens.length, dim);
  const tokJson = `${JSON.stringify(tokenizerJson(tokens))}\n`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, '1_Pooling'), { recursive: true });
  writeFileSync(join(tmp, 'model.onnx'), modelBytes);
  writeFileSync(join(tmp, 'tokenizer.json'), tokJson);
  writeFileSync(
    join(tmp, 'tokenizer_config.json'),
    `${JSON.stringify(
      {
        tokenizer_class: 'BertTokenizer',
        do_lower_case: true,
        model_max_length: 512,
        cls_token: '[CLS]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        unk_token: '[UNK]',
        mask_token: '[MASK]',
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(tmp, 'config.json'),
    `${JSON.stringify(
      {
        model_type: 'toolgym-embedding-bag',
        hidden_size: dim,
        vocab_size: tokens.length,
        max_position_embeddings: 512,
        toolgym: { test_model_version: TEST_MODEL_VERSION, seed, ...(opts.world ? { names_of_world: opts.world } : {}) },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(
    join(tmp, '1_Pooling', 'config.json'),
    `${JSON.stringify(
      {
        word_embedding_dimension: dim,
        pooling_mode_cls_token: false,
        pooling_mode_mean_tokens: true,
        pooling_mode_max_tokens: false,
        pooling_mode_mean_sqrt_len_tokens: false,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(tmp, 'README.md'), README);
  const hash = createHash('sha256').update(modelBytes).update(tokJson).digest('hex');
  return { dir: tmp, dim, vocabSize: tokens.length, hash };
}

/** toolgym's cache folder: $TOOLGYM_CACHE, else $XDG_CACHE_HOME/toolgym, else ~/.cache/toolgym. */
export function defaultCacheDir(): string {
  return process.env.TOOLGYM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'toolgym');
}

/**
 * The test model's folder under `cacheDir` (built there on first use; later calls reuse it). The
 * folder name carries the version and options, so a changed builder never reads a stale model.
 */
export function ensureTestModel(cacheDir = defaultCacheDir(), opts: TestModelOptions = {}): string {
  const dim = opts.dim ?? DEFAULTS.dim;
  const seed = opts.seed ?? DEFAULTS.seed;
  const names = opts.world ? `-w${opts.world.seed}x${opts.world.docs}` : '';
  const dir = join(cacheDir, 'models', `toolgym-test-embedding-v${TEST_MODEL_VERSION}-d${dim}-s${seed}${names}`);
  if (existsSync(join(dir, 'model.onnx')) && existsSync(join(dir, 'tokenizer.json'))) return dir;
  mkdirSync(join(cacheDir, 'models'), { recursive: true });
  // Written aside and renamed: a process that loses the race keeps the winner's (identical) folder.
  const tmp = `${dir}.tmp-${process.pid}`;
  writeTestModel(tmp, { ...opts, dim, seed });
  try {
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'model.onnx'))) throw err;
  }
  return dir;
}
