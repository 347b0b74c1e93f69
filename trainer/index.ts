/**
 * trainer: the built-in model (tokenizer, decoder, checkpoints, `builtin:` policy), losses (SFT,
 * GRPO variants, KL), the optimiser, the SFT and GRPO loops, reward composition and `train` runs.
 * Importing it registers the `builtin:` policy prefix with agent/'s policy registry.
 */
import { registerBuiltinPolicy } from './model/index.js';

export * from './batch.js';
export * from './grpo/index.js';
export * from './model/index.js';
export * from './optim/index.js';
export type { ComposedReward, RewardConfig } from './rewards.js';
export { composeReward, formatOk, RewardConfigSchema } from './rewards.js';
export * from './run/index.js';
export * from './sft/index.js';
export * from './tokenizer/index.js';

registerBuiltinPolicy();
