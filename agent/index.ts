/**
 * agent/: chat format, rollout loop, policies, trajectories, evaluation. Each subfolder has its own
 * front door; this one holds what other folders take from agent as a whole: the contracts in
 * types.ts (the `Policy` seam, the trajectory record) and the entry points the CLI and benches run.
 */

export { qwen3Tokenizer } from './format/index.js';
export { createPolicy, OraclePolicy } from './policies/index.js';
export {
  DEFAULT_MCP_REVISION,
  type EnvTarget,
  type EpisodeMode,
  formatSummary,
  MCP_REVISIONS,
  type McpRevision,
  type RolloutLimitsInput,
  runBatch,
} from './rollout/index.js';
export {
  ContextLengthError,
  type ContextRecord,
  type GenerateRequest,
  type GenerateResult,
  type ParseFailure,
  type Policy,
  type Tokenizer,
  type ToolExchange,
  type Trajectory,
  type Turn,
} from './types.js';
