/** The tool-call stability evaluator: metrics over trajectories, the HTML report, the eval runner. */

export type { BootstrapOptions, RatioSeries } from './bootstrap.js';
export {
  bootstrapColumns,
  bootstrapIntervals,
  DEFAULT_BOOTSTRAP,
  DEFAULT_MAX_WORK,
  effectiveSamples,
  quantileSorted,
} from './bootstrap.js';
export type { MetricDef, MetricGroup } from './definitions.js';
export { METRIC_DEFS, PASS_DEFINITIONS } from './definitions.js';
export type { CounterName, TurnCalls } from './episode.js';
export {
  accumulateEpisode,
  COUNTER,
  COUNTER_NAMES,
  canonicalJson,
  classifyTurnCalls,
  countFailureKinds,
  FORMAT_FAILURE_KINDS,
  failureCallIndex,
  isEmptyTurn,
  SCHEMA_FAILURE_KINDS,
  turnFollowsMode,
} from './episode.js';
export type {
  BreakdownRow,
  EndingShares,
  EvalMetrics,
  MetricsOptions,
  MetricValue,
  PassPoint,
  Summary,
  UnitMeta,
  Units,
} from './metrics.js';
export { buildUnits, computeMetrics, endingShares, maxTrials, summarize, unitKey } from './metrics.js';
export type { PassCurvePoint, TaskCount } from './passk.js';
export { binomialRatio, passAtK, passCurve, passHatK } from './passk.js';
export type { EvalMode, EvalRecord, EvalSettings, EvalVersions } from './record.js';
export {
  EvalModeSchema,
  EvalRecordError,
  EvalRecordSchema,
  EvalSettingsSchema,
  EvalVersionsSchema,
  readEvalRecord,
  reviveNaN,
} from './record.js';
export type { ReportRun } from './report.js';
export { chartJsSource, formatValue, renderReport, scriptJson } from './report.js';
export { clip, escapeHtml, isFailedEpisode, renderEpisodeList } from './report-episodes.js';
export type { EvalOptions, EvalResult, ReplayOptions } from './runner.js';
export {
  collectVersions,
  defaultEvalId,
  EvalConfigError,
  rebuildReport,
  replayEval,
  rerunCommand,
  runEval,
  selectTasks,
  writeEvalOutputs,
} from './runner.js';
