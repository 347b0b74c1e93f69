/**
 * envs/core: the environment contract, the registry, episode sessions, the MCP server that exposes
 * any environment (stdio, Streamable HTTP, in-memory, worker threads), the wire contract its
 * clients speak, and the conformance checker. Exports what other folders use.
 */

export { extractAnswer } from './answer.js';
export { conformanceChecks, runCheck } from './check.js';
export {
  checkReplicaId,
  EpisodeRouter,
  EpisodeTable,
  mintHandle,
  randomReplicaId,
  replicaOfHandle,
  scopeOfToken,
} from './episodes.js';
export { EnvFaultError, EnvOptionsError, isEnvFault, ServerConfigError } from './errors.js';
export { serveHttp } from './http.js';
export {
  defaultRegistry,
  getEnv,
  isEnvDefinition,
  listEnvs,
  loadEnvModules,
  summarizeEnv,
} from './registry.js';
export { connectInMemory } from './server.js';
export { serveStdio } from './stdio.js';
export { defineToolEnv, textResult } from './tool-env.js';
export type {
  ChatMessageLite,
  Difficulty,
  EnvDefinition,
  Environment,
  EnvResource,
  Oracle,
  OracleAction,
  OracleObservation,
  Split,
  StepResult,
  Task,
  TaskFamily,
  TaskPublic,
  ToolResult,
  ToolSpec,
  UserTurn,
  Verdict,
} from './types.js';
export {
  CONTROL,
  EPISODE_ARG,
  EPISODE_HEADER,
  EPISODE_HTTP_HEADER,
  hasControlMarker,
  isCallerError,
  META,
  readEpisodeMeta,
  type StartArgs,
  StartResultSchema,
  type SubmitArgs,
  type ToolSchemaJson,
  type UserTurnResult,
  UserTurnResultSchema,
  withoutEpisodeArg,
} from './wire.js';
export { EnvWorkerPool } from './worker.js';
export { serveWs, type WsOptions, type WsServerHandle } from './ws.js';
export {
  WS_PATH,
  WS_PROTOCOL,
  type WsAction,
  type WsCancelResult,
  type WsCloseResult,
  type WsErrorCode,
  type WsErrorResult,
  type WsInfoResult,
  type WsRequest,
  WsRequestSchema,
  type WsResetResult,
  type WsResponse,
  WsResponseSchema,
  type WsStepResult,
  wsProtocolJsonSchema,
} from './ws-protocol.js';
