export { ByteTokenizer, SPECIAL_TOKENS, TokenizerFormatError, trainMerges } from './byte-tokenizer.js';
export type { ByteTokenizerJson } from './byte-tokenizer.js';
