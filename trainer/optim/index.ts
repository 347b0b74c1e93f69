export type { AdamWOptions } from './adamw.js';
export { AdamW, DEFAULT_ADAMW } from './adamw.js';
export { clipGradNorm } from './clip.js';
