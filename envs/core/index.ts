/**
 * envs/core: the environment contract, the registry, episode sessions, the MCP server that exposes
 * any environment (stdio, Streamable HTTP, in-memory) and the conformance checker.
 */

export { extractAnswer } from './answer.js';
export {
  type CheckOutcome,
  type CheckReport,
  type CheckResult,
  type ConformanceCheck,
  checkEnv,
  conformanceChecks,
  referenceNeedles,
  runCheck,
  sampleIndices,
} from './check.js';
export {
  DuplicateEnvError,
  EnvOptionsError,
  EpisodeNotStartedError,
  ServerConfigError,
  ToolgymError,
  UnknownEnvError,
  UnknownTaskError,
} from './errors.js';
export { type HttpOptions, type HttpServerHandle, hostnameOf, isLoopbackHost, serveHttp } from './http.js';
export {
  defaultRegistry,
  EnvRegistry,
  type EnvSummary,
  getEnv,
  isEnvDefinition,
  listEnvs,
  loadEnvModules,
  registerEnv,
  summarizeEnv,
} from './registry.js';
export {
  type ArgsCheck,
  checkArgs,
  type JsonSchema,
  jsonSchemaProblems,
  type ToolFunctionSchema,
  toolArgsSchema,
  toolFunctionSchema,
  toolInputJsonSchema,
  undescribedFields,
} from './schema.js';
export { connectInMemory, createEpisodeServer, type EpisodeServerOptions, episodeSessionOf } from './server.js';
export {
  CONTROL_META,
  type ControlToolName,
  controlTools,
  DEFAULT_MAX_ARG_BYTES,
  DEFAULT_MAX_STEPS,
  type EpisodeMeta,
  EpisodeSession,
  type EpisodeSessionOptions,
  type EpisodeState,
  isControlTool,
  type SessionResult,
} from './session.js';
export { LineTransport, malformedReply, type StdioOptions, serveStdio } from './stdio.js';
export {
  defineToolEnv,
  findTask,
  parseTaskId,
  type ToolEnvConfig,
  taskForSeed,
  taskId,
  textResult,
  toPublic,
} from './tool-env.js';
export * from './types.js';
export {
  EnvWorkerError,
  EnvWorkerPool,
  type EnvWorkerPoolOptions,
  MessagePortTransport,
  type WorkerEnvSpec,
} from './worker.js';
