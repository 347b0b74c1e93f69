export type { AdvantageOptions, OverlongOptions, ScaleRewards } from './advantages.js';
export { allEqual, groupAdvantages, keepInformativeGroups, mean, overlongPenalty, sampleStd } from './advantages.js';
export type { CovSelection, CovSelectOptions, EntropyControl } from './entropy.js';
export { applyCovControl, covSelect, ENTROPY_CONTROLS, tokenCovariance } from './entropy.js';
export { clipGradNorm, logitsGrad, tokenStats } from './logits.js';
export type { AggregationContext, LossFn, LossType, PolicyLossInput, PolicyLossOptions, PolicyLossResult } from './loss.js';
export { AGGREGATIONS, clippedSurrogate, k3, LOSS_TYPES, policyLoss } from './loss.js';
export type { GrpoGroup, GrpoStepMetrics, GrpoStepOptions } from './step.js';
export {
  frozenReference,
  grpoStep,
  NO_GRPO_UPDATE,
  NonFiniteError,
  refuseNonFiniteUpdate,
  refuseNonFiniteWeights,
} from './step.js';
