/** The tool-call stability evaluator: metrics over trajectories, the HTML report, the eval runner. */

export { effectiveSamples } from './bootstrap.js';
export { classifyTurnCalls, turnFollowsMode } from './episode.js';
export type { EvalMetrics } from './metrics.js';
export { computeMetrics } from './metrics.js';
export { binomialRatio, passAtK, passCurve, passHatK } from './passk.js';
export type { EvalMode } from './record.js';
export { EvalModeSchema, readEvalRecord } from './record.js';
export { renderReport } from './report.js';
export type { EvalResult } from './runner.js';
export { rebuildReport, replayEval, rerunCommand, runEval, selectTasks, shellQuote } from './runner.js';
