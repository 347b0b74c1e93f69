/**
 * Qwen3's assistant-turn text: what the model emits for a turn, the thinking-budget stop text,
 * and the `/think` / `/no_think` soft switches.
 *
 * The layout mirrors Qwen3's chat template exactly (so a rendered turn equals the template's own
 * render of the same message):
 *
 *   thinking mode:      <think>\n{thinking}\n</think>\n\n{content}[\n]<tool_call>\n{...}\n</tool_call>\n<tool_call>...
 *   non-thinking mode:  {content}[\n]<tool_call>\n{...}\n</tool_call>...
 *
 * In non-thinking mode the empty think block belongs to the generation prompt, not to the turn.
 */
import type { ChatMessage, ToolCallMsg } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface AssistantTurn {
  thinking?: string;
  content?: string;
  calls?: ToolCallMsg[];
}

export type ThinkingMode = 'think' | 'no_think';

// ---------------------------------------------------------------------------------------------
// Constants

/** Appended (mask 0) when thinking reaches its budget without `</think>`: Qwen3's own wording. */
export const STOP_THINKING_TEXT =
  '\n\nConsidering the limited time by the user, I have to give the solution based on the thinking directly now.\n</think>\n\n';

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';

// ---------------------------------------------------------------------------------------------
// Pure functions

/**
 * JSON with Python's `json.dumps` separators (`", "`, `": "`) and unescaped non-ASCII, i.e. what
 * transformers' `tojson` filter writes and what Qwen3 models learned to emit.
 */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      parts.push(`${JSON.stringify(k)}: ${pyJson(v)}`);
    }
    return `{${parts.join(', ')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // Python writes NaN / Infinity (not JSON); keep the same text so renders stay comparable.
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return JSON.stringify(value) ?? 'null';
}

/** One `<tool_call>` block exactly as Qwen3's template writes it (the name is not JSON-escaped there either). */
export function renderToolCall(call: ToolCallMsg): string {
  return `${TOOL_CALL_OPEN}\n{"name": "${call.name}", "arguments": ${pyJson(call.arguments)}}\n${TOOL_CALL_CLOSE}`;
}

/**
 * The raw text a Qwen3 model emits for a turn, without the closing `<|im_end|>`.
 * With `enableThinking` the turn opens with its think block (empty when `thinking` is absent);
 * without it `thinking` is not written, because the model never emits it in that mode.
 */
export function renderAssistant(turn: AssistantTurn, opts: { enableThinking: boolean }): string {
  const content = turn.content ?? '';
  let out = opts.enableThinking ? `${THINK_OPEN}\n${turn.thinking ?? ''}\n${THINK_CLOSE}\n\n` : '';
  out += content;
  (turn.calls ?? []).forEach((call, i) => {
    if (i > 0 || content) out += '\n';
    out += renderToolCall(call);
  });
  return out;
}

/** The chat message that records a turn (what the template renders for it later). */
export function assistantMessage(turn: AssistantTurn): ChatMessage {
  const msg: ChatMessage = { role: 'assistant', content: turn.content ?? '' };
  if (turn.thinking !== undefined) msg.reasoning_content = turn.thinking;
  if (turn.calls && turn.calls.length > 0) {
    msg.tool_calls = turn.calls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  }
  return msg;
}

// A flag is `/think` or `/no_think` standing as its own word (not part of a path like `a/think`).
const SOFT_SWITCH = /(?<![\w/])\/(no_think|think)(?![\w/])/g;

/** The last soft switch in a text, if any. */
export function softSwitchIn(text: string): ThinkingMode | undefined {
  let last: ThinkingMode | undefined;
  for (const m of text.matchAll(SOFT_SWITCH)) last = m[1] === 'think' ? 'think' : 'no_think';
  return last;
}

/**
 * The mode of the next assistant turn: the latest `/think` or `/no_think` in a user or system
 * message wins (Qwen3's multi-turn rule); tool output cannot switch modes. Without any flag, the
 * default (`enable_thinking`) applies.
 */
export function modeFor(messages: readonly ChatMessage[], defaultThinking: boolean): ThinkingMode {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role !== 'user' && m.role !== 'system') continue;
    const flag = softSwitchIn(m.content);
    if (flag) return flag;
  }
  return defaultThinking ? 'think' : 'no_think';
}
