/** Reusable tool machinery with no environment knowledge. */
export { Rng, mulberry32, sfc32, splitmix32, hashString, mixSeed } from './rng.js';
export type { RandomFn, RngAlgorithm } from './rng.js';
export * from './sandbox/index.js';
