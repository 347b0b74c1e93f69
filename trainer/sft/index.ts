export type { ColdStartDrop, SftStepMetrics, SftStepOptions } from './sft.js';
export { coldStartDropReason, filterColdStart, hasRepetition, sftEval, sftLoss, sftStep, TokenizingPolicy } from './sft.js';
