/**
 * Sentence embeddings with onnxruntime-node: a local model folder (model.onnx + tokenizer.json)
 * read by @huggingface/tokenizers, pooled and normalised; exact dense search; a disk cache of a
 * corpus's vectors; and the project's own deterministic test model.
 */

export type { CorpusVectors, DenseHit } from './dense.js';
export { DenseIndex, embedCorpus, textsHash } from './dense.js';
export { LEXICON, synonymMap } from './lexicon.js';
export type { EmbedderInfo, EmbedderOptions, Pooling } from './model.js';
export { Embedder, EmbedModelError, modelFileOf, poolingOf, poolRows } from './model.js';
export type { TestModelInfo, TestModelOptions } from './test-model.js';
export { buildTestModel, defaultCacheDir, ensureTestModel, TEST_MODEL_VERSION, testModelVocabulary } from './test-model.js';
