export type { ByteTokenizerJson } from './byte-tokenizer.js';
export { ByteTokenizer, SPECIAL_TOKENS, TokenizerFormatError, trainMerges } from './byte-tokenizer.js';
export { byteTokenizerJson, HfTokenizer } from './hf-tokenizer.js';
