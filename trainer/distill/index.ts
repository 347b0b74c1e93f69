/** trainer/distill: strong-to-weak distillation's losses and its on-policy update (the run phase is trainer/run's). */
export { DISTILL_LOSSES, type DistillLossType, distillWeights, type SampledLossResult, sampledTokenLoss } from './loss.js';
export { type DistillStepMetrics, type DistillStepOptions, distillDivergence, distillStep, distillViews } from './step.js';
