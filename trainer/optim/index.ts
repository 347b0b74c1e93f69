export { AdamW, DEFAULT_ADAMW } from './adamw.js';
export type { AdamWOptions } from './adamw.js';
