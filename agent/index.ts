/** agent/: chat format, rollout loop, policies, trajectories, evaluation. */

export * from './eval/index.js';
export * from './format/index.js';
export * from './policies/index.js';
export * from './rollout/index.js';
export * from './trajectory/index.js';
export * from './types.js';
