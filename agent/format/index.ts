/** agent/format: Qwen3's chat format (template render, assistant render, strict parser) and exact episode tokens. */
export {
  type AssistantTurn,
  assistantMessage,
  modeFor,
  pyJson,
  renderAssistant,
  renderToolCall,
  STOP_THINKING_TEXT,
  softSwitchIn,
  type ThinkingMode,
} from './assistant.js';
export { ContinuationError, type ContinuationOptions, continuationText, EpisodeTokens } from './episode.js';
export { DEFAULT_MAX_TURN_CHARS, type ParsedTurn, type ParseOptions, parseAssistant } from './parse.js';
export { type SchemaIssue, validateArguments } from './schema.js';
export {
  ChatTemplate,
  ChatTemplateError,
  type ChatTemplateOptions,
  type RenderOptions,
  readPackageTokenizerConfig,
  type TokenizerConfigLike,
} from './template.js';
export { qwen3Tokenizer } from './tokenizer.js';
