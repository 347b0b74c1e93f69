export type { ColdStartDrop, SftStepMetrics, SftStepOptions } from './sft.js';
export { coldStartDropReason, filterColdStart, hasRepetition, sftEval, sftStep, TokenizingPolicy } from './sft.js';
