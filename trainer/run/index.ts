export { NonFiniteError } from '../grpo/step.js';
export type { RunConfig, RunConfigInput } from './config.js';
export {
  GrpoConfigSchema,
  LimitsConfigSchema,
  mergeConfig,
  RUN_PRESETS,
  RunConfigError,
  RunConfigSchema,
  resolveRunConfig,
  SftConfigSchema,
} from './config.js';
export type { RunFiles } from './files.js';
export type { RunHooks, RunSummary, StepRecord, StepStage } from './run.js';
export { RunInterruptedError, train } from './run.js';
export type { EvalResult, ModeEval } from './tasks.js';
export { type EvalDecoding, evalSampling, evaluate, NoTasksError, selectTasks, summarizeEval } from './tasks.js';
