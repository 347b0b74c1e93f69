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
  planEpisodes,
  runBatch,
} from './batch.js';
export { DEFAULT_MCP_REVISION, type EnvTarget, MCP_REVISIONS, type McpRevision } from './connect.js';
export { ENDINGS, endingRow, type Fault, reasonKey } from './endings.js';
export {
  EnvClient,
  type Scored,
  type ToolOutcome,
  type UserTurnOutcome,
} from './env-client.js';
export {
  type EpisodeMode,
  mixedModeSchedule,
  runEpisode,
} from './episode.js';
export {
  type RolloutLimitsInput,
  resolveLimits,
} from './limits.js';
export { createProgress } from './progress.js';
export {
  formatSummary,
  summarizeBatch,
} from './summary.js';
