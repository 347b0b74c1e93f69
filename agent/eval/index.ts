/** The tool-call stability evaluator: metrics over trajectories, the HTML report, the eval runner. */
export { binomialRatio, passAtK, passHatK, passCurve } from './passk.js';
export type { TaskCount, PassCurvePoint } from './passk.js';
export { bootstrapColumns, bootstrapIntervals, effectiveSamples, quantileSorted, DEFAULT_BOOTSTRAP, DEFAULT_MAX_WORK } from './bootstrap.js';
export type { BootstrapOptions, RatioSeries } from './bootstrap.js';
export {
  accumulateEpisode,
  canonicalJson,
  classifyTurnCalls,
  failureCallIndex,
  countFailureKinds,
  isEmptyTurn,
  turnFollowsMode,
  COUNTER,
  COUNTER_NAMES,
  FORMAT_FAILURE_KINDS,
  SCHEMA_FAILURE_KINDS,
} from './episode.js';
export type { CounterName, TurnCalls } from './episode.js';
export { buildUnits, computeMetrics, summarize, maxTrials, unitKey, METRIC_DEFS, PASS_DEFINITIONS } from './metrics.js';
export type { BreakdownRow, EvalMetrics, MetricDef, MetricsOptions, MetricValue, PassPoint, Summary, UnitMeta, Units } from './metrics.js';
export { EvalModeSchema, EvalRecordError, EvalRecordSchema, EvalSettingsSchema, EvalVersionsSchema, readEvalRecord, reviveNaN } from './record.js';
export type { EvalMode, EvalRecord, EvalSettings, EvalVersions } from './record.js';
export { chartJsSource, formatValue, renderReport, scriptJson } from './report.js';
export type { ReportRun } from './report.js';
export { clip, escapeHtml, isFailedEpisode, renderEpisodeList } from './report-episodes.js';
export { collectVersions, defaultEvalId, EvalConfigError, rebuildReport, replayEval, rerunCommand, runEval, selectTasks, writeEvalOutputs } from './runner.js';
export type { EvalOptions, EvalResult, ReplayOptions } from './runner.js';
