export { coldStartDropReason, filterColdStart, hasRepetition, sftEval, sftStep, TokenizingPolicy } from './sft.js';
export type { ColdStartDrop, SftStepMetrics, SftStepOptions } from './sft.js';
