/** Reusable tool machinery with no environment knowledge. */

export * from './browser/index.js';
export * from './corpus/index.js';
export type { RandomFn, RngAlgorithm } from './rng.js';
export { hashString, mixSeed, mulberry32, Rng, sfc32, splitmix32 } from './rng.js';
export * from './sandbox/index.js';
export * from './text-index/index.js';
