/** trainer/run: `train` (one run, end to end), its config, state, hooks and held-out evaluation. */
export { NonFiniteError } from '../grpo/index.js';
export type { ArmName, ArmResult, ArmsOptions, LearnResult, SplitFigures, ThinkingControl } from './arms.js';
export { ARM_LABELS, evaluateSplits, grpoCompute, runArms, splitFigures, thinkingControl } from './arms.js';
export type { LoraConfig, RunConfig, RunConfigInput } from './config.js';
export {
  DISTILL_DEFAULTS,
  DISTILL_TRAINED_STUDENT_DEFAULTS,
  DistillConfigSchema,
  GrpoConfigSchema,
  LimitsConfigSchema,
  LORA_TARGETS,
  LoraConfigSchema,
  mergeConfig,
  RlConfigSchema,
  RUN_PRESETS,
  RunConfigError,
  RunConfigSchema,
  resolveRunConfig,
  SftConfigSchema,
} from './config.js';
export type { DistillArm, DistillArmName, DistillArmsResult, DistillCurvePoint } from './distill-arms.js';
export {
  compareDistillArms,
  DISTILL_ARM_LABELS,
  DISTILL_ARM_NAMES,
  DISTILL_ARMS_FILE,
  firstReach,
  phaseCurve,
  sustainedReach,
  wilsonInterval,
  writeDistillArms,
} from './distill-arms.js';
export { type EvalDecoding, evalCommand, evalSampling, evaluate, summarizeEval } from './evaluate.js';
export type { RunFiles } from './files.js';
export { readRunConfig } from './open.js';
export { RL_FILTER_FILE, RL_TASKS_FILE, rlCandidates, selectRlTasks } from './phase-rl.js';
export { isTrainingRun, readTrainingRun, renderTrainingReport, writeTrainingReport } from './report.js';
export { distill, train } from './run.js';
export type { SplitName, Splits } from './splits.js';
export { FLAKY_ERROR, learnEnv, learnSplits, rewordPrompt, SPLIT_DESCRIPTIONS, SPLIT_NAMES } from './splits.js';
export type { RunPhase, RunState } from './state.js';
export { RunStateError, RunStateSchema, readRunState } from './state.js';
export { headlineMode, NoTasksError, probeTasks, runTaskPools, selectTasks, VALIDATION_OFFSET } from './tasks.js';
export { resolveTeacherDir, TokenizerMismatchError } from './teacher.js';
export type { HeldOutResult, ModeEval, PhaseCompute, RunCompute, RunHooks, RunSummary, StepRecord, StepStage } from './types.js';
export { HeldOutResultSchema, ModeEvalSchema, RunInterruptedError } from './types.js';
