/**
 * agent/rollout: the episode machine, `runEpisode`, the batch runner and their summaries.
 *
 *   const policy = await createPolicy('oracle:err=0.2', { env: codeInterpEnv });
 *   const { trajectories, summary } = await runBatch({
 *     env: codeInterpEnv,            // or an MCP Client, `http://host:7777/mcp`, {url, token}, {command, args}
 *     policy, count: 64, groupSize: 8, concurrency: 8,
 *     limits: { maxTurns: 8, thinkingBudget: 512 }, mode: 'mixed', out: 'runs/x.jsonl',
 *   });
 */

export {
  BatchConfigError,
  type BatchOptions,
  type BatchResult,
  type EpisodeSpec,
  planEpisodes,
  runBatch,
  type TaskSelector,
} from './batch.js';
export { type Connection, connectEnv, EnvConnectError, type EnvTarget, isEnvDefinition } from './connect.js';
export { abortReason, ENDINGS, type EndingRow, endingRow, type Fault, reasonKey } from './endings.js';
export {
  CONTROL_META_KEY,
  EnvClient,
  EnvProtocolError,
  isControlTool,
  readMeta,
  resultText,
  type Scored,
  type StartedEpisode,
  type StepMeta,
  type TimerClock,
  type ToolOutcome,
} from './env-client.js';
export {
  closeSession,
  type EnvSession,
  type EpisodeMode,
  type EpisodeOptions,
  episodeMode,
  type ModeSchedule,
  mixedModeSchedule,
  openSession,
  runEpisode,
} from './episode.js';
export { type RolloutLimits, type RolloutLimitsInput, RolloutLimitsSchema, resolveLimits } from './limits.js';
export {
  type EpisodeContext,
  type EpisodeDeps,
  type EpisodeEvent,
  type EpisodeMachine,
  episodeMachine,
  PolicyContractError,
  switchFor,
  ZERO_BUDGET_PREFIX,
} from './machine.js';
export { createProgress, type Progress } from './progress.js';
export { type BatchSummary, formatSummary, SummaryAccumulator, summarizeBatch } from './summary.js';
export { TokenTrack } from './tokens.js';
