/**
 * tools/: reusable tool machinery with no environment knowledge. Each subfolder (browser, corpus,
 * sandbox, text-index) is its own front door; this one holds the seeded random numbers every layer
 * draws from.
 */

export { hashString, mixSeed, mulberry32, Rng } from './rng.js';
