/** agent/format: Qwen3's chat format (template render, assistant render, strict parser) and exact episode tokens. */
export {
  assistantMessage,
  modeFor,
  pyJson,
  renderAssistant,
  renderToolCall,
  STOP_THINKING_TEXT,
  softSwitchIn,
  type ThinkingMode,
} from './assistant.js';
export { ContinuationError, continuationText, EpisodeTokens } from './episode.js';
export { DEFAULT_MAX_TURN_CHARS, parseAssistant } from './parse.js';
export { validateArguments } from './schema.js';
export { ChatTemplate, ChatTemplateError } from './template.js';
export { qwen3Tokenizer } from './tokenizer.js';
