/** agent/policies: the `Policy` implementations that need no model, and the spec registry. */

export { OpenAIPolicy, parseOpenAISpec, toOpenAIMessages } from './openai.js';
export { OpenAIHttpError, retryDelayMs } from './openai-http.js';
export {
  breakJson,
  faultFor,
  OracleNeedsEnvError,
  OraclePolicy,
  parseOracleSpec,
  unknownToolName,
  wrongAnswer,
  wrongTypeCall,
} from './oracle.js';
export { createPolicy, parseOptionList, policyPrefixes, registerPolicyFactory, UnknownPolicyError } from './registry.js';
export { ReplayMissError, ReplayPolicy } from './replay.js';
