/** trainer/run: `train` (one run, end to end), its config, state, hooks and held-out evaluation. */
export { NonFiniteError } from '../grpo/index.js';
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
export { type EvalDecoding, evalSampling, evaluate, summarizeEval } from './evaluate.js';
export type { RunFiles } from './files.js';
export { train } from './run.js';
export type { RunPhase, RunState } from './state.js';
export { RunStateError, RunStateSchema, readRunState } from './state.js';
export { NoTasksError, selectTasks } from './tasks.js';
export type { HeldOutResult, ModeEval, RunHooks, RunSummary, StepRecord, StepStage } from './types.js';
export { HeldOutResultSchema, ModeEvalSchema, RunInterruptedError } from './types.js';
