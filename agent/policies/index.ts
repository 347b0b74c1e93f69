/** agent/policies: the `Policy` implementations that need no model, and the spec registry. */
export {
  createPolicy,
  parseOptionList,
  type PolicyContext,
  type PolicyFactory,
  policyPrefixes,
  registerPolicyFactory,
  splitSpec,
  UnknownPolicyError,
} from './registry.js';
export {
  breakJson,
  faultFor,
  type OracleFault,
  OracleError,
  OracleNeedsEnvError,
  type OracleOptions,
  OraclePolicy,
  parseOracleSpec,
  unknownToolName,
  wrongAnswer,
  wrongTypeCall,
} from './oracle.js';
export { type HttpOptions, OpenAIHttpError, postWithRetry, RETRY_STATUS, readSse, retryDelayMs } from './openai-http.js';
export {
  OpenAIPolicy,
  type OpenAIPolicyOptions,
  OpenAIProtocolError,
  parseOpenAISpec,
  rawFromChat,
  toOpenAIMessages,
} from './openai.js';
export { ReplayMissError, ReplayPolicy } from './replay.js';
