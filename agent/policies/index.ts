/** agent/policies: the `Policy` implementations that need no model, and the spec registry. */

export {
  OpenAIPolicy,
  type OpenAIPolicyOptions,
  OpenAIProtocolError,
  parseOpenAISpec,
  rawFromChat,
  toOpenAIMessages,
} from './openai.js';
export { type HttpOptions, OpenAIHttpError, postWithRetry, RETRY_STATUS, readSse, retryDelayMs } from './openai-http.js';
export {
  breakJson,
  faultFor,
  OracleError,
  type OracleFault,
  OracleNeedsEnvError,
  type OracleOptions,
  OraclePolicy,
  parseOracleSpec,
  unknownToolName,
  wrongAnswer,
  wrongTypeCall,
} from './oracle.js';
export {
  createPolicy,
  type PolicyContext,
  type PolicyFactory,
  parseOptionList,
  policyPrefixes,
  registerPolicyFactory,
  splitSpec,
  UnknownPolicyError,
} from './registry.js';
export { ReplayMissError, ReplayPolicy } from './replay.js';
