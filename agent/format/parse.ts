/**
 * Strict parser of one raw Qwen3 assistant turn (text without `<|im_end|>`).
 *
 * Strict means: tags must be closed, a call's body is strict JSON (`JSON.parse`), an object with a
 * string `name` and an object `arguments`, a call never sits inside `<think>`, and, when the tools
 * are known, the name is one of them and the arguments satisfy its schema. Every deviation becomes a
 * `ParseFailure` of a named kind; the parser never throws. Only valid calls are returned in `calls`.
 *
 * Two failures void the whole turn (no call is returned, so none runs):
 *  - `oversized_turn`: the raw text is longer than `maxChars`; it is reported before any tag or JSON
 *    is looked at, so a runaway generation costs one length check;
 *  - `nested_call`: a `<tool_call>` opens inside a call that is still open. Which `</tool_call>`
 *    closes which call is then a guess, and running the inner call while the observation says the
 *    turn failed would teach the policy that a malformed turn works. The nest, up to the
 *    `</tool_call>` that balances its first opener (or the end of the turn), is one failed call.
 *
 * Layout accepted (the inverse of `renderAssistant`):
 *   [<think>\n{thinking}\n</think>\n\n]{content}[\n<tool_call>\n{json}\n</tool_call>]*
 * `thinking` has its surrounding newlines stripped and `content` its leading newlines (both as the
 * chat template does). Text after or between calls is kept in `content`.
 */
import type { ParseFailure, ToolCallMsg, ToolSchemaJson } from '../types.js';
import { THINK_CLOSE, THINK_OPEN, TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from './assistant.js';
import { issuesToFailures, validateArguments } from './schema.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Default `maxChars`: 256 Ki characters, about 64k tokens of English or code (twice Qwen3's
 * recommended 32k output length), far past any turn a limit on generated tokens lets through, and
 * below the MCP server's 1 MB argument limit, so an oversized call fails here with its own kind. */
export const DEFAULT_MAX_TURN_CHARS = 262_144;

export interface ParseOptions {
  /** Longest raw turn parsed (characters); a longer one is one `oversized_turn` failure. */
  maxChars?: number;
}

export interface ParsedTurn {
  /** Text of the think block (`''` for an empty block); absent when the turn had none. */
  thinking?: string;
  /** The visible text: the final answer when there are no calls. */
  content: string;
  /** Calls that passed every check. */
  calls: ToolCallMsg[];
  failures: ParseFailure[];
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

function indexesOf(text: string, needle: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

function stripNewlines(s: string, side: 'start' | 'end' | 'both'): string {
  let a = 0;
  let b = s.length;
  if (side !== 'end') while (a < b && s[a] === '\n') a++;
  if (side !== 'start') while (b > a && s[b - 1] === '\n') b--;
  return s.slice(a, b);
}

function kindOfJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * End (index past its `</tool_call>`) of the nest that starts with the opener at `open`: the close
 * that brings the depth of openers back to zero; -1 when the turn ends first.
 */
function nestEnd(body: string, open: number): number {
  let depth = 0;
  let pos = open;
  for (;;) {
    const o = body.indexOf(TOOL_CALL_OPEN, pos);
    const c = body.indexOf(TOOL_CALL_CLOSE, pos);
    if (c === -1) return -1;
    if (o !== -1 && o < c) {
      depth++;
      pos = o + TOOL_CALL_OPEN.length;
      continue;
    }
    depth--;
    pos = c + TOOL_CALL_CLOSE.length;
    if (depth === 0) return pos;
  }
}

/** Splits off the think block; reports unbalanced tags and calls inside the block. */
function splitThinking(raw: string, failures: ParseFailure[]): { thinking?: string; body: string } {
  const opens = indexesOf(raw, THINK_OPEN);
  const closes = indexesOf(raw, THINK_CLOSE);
  if (opens.length === 0 && closes.length === 0) return { body: raw };

  const firstOpen = opens[0] ?? -1;
  const lastClose = closes[closes.length - 1] ?? -1;
  const balanced = opens.length === 1 && closes.length === 1 && firstOpen < lastClose && raw.slice(0, firstOpen).trim() === '';
  if (!balanced) {
    let why: string;
    if (closes.length === 0) why = `\`${THINK_OPEN}\` is never closed with \`${THINK_CLOSE}\``;
    else if (opens.length === 0) why = `\`${THINK_CLOSE}\` appears without an opening \`${THINK_OPEN}\``;
    else if (opens.length > 1 || closes.length > 1) {
      why = `a turn holds one think block, found ${opens.length} \`${THINK_OPEN}\` and ${closes.length} \`${THINK_CLOSE}\``;
    } else if (firstOpen > lastClose) why = `\`${THINK_CLOSE}\` comes before \`${THINK_OPEN}\``;
    else why = `the think block must open the turn; text comes before \`${THINK_OPEN}\``;
    failures.push({ kind: 'unbalanced_think', message: why });
  }

  // Best effort past an imbalance: thinking runs from the first open to the last close (from the
  // start when it was never opened, to the end when it was never closed).
  let inner: string;
  let body: string;
  if (lastClose !== -1) {
    const start = firstOpen !== -1 && firstOpen < lastClose ? firstOpen + THINK_OPEN.length : 0;
    inner = raw.slice(start, lastClose);
    body = raw.slice(lastClose + THINK_CLOSE.length);
  } else {
    inner = raw.slice(firstOpen + THINK_OPEN.length);
    body = raw.slice(0, firstOpen);
  }
  const callsInThink = indexesOf(inner, TOOL_CALL_OPEN).length;
  for (let i = 0; i < callsInThink; i++) {
    failures.push({
      kind: 'call_in_think',
      message: `a \`${TOOL_CALL_OPEN}\` inside the think block is not executed; close \`${THINK_CLOSE}\` first, then call the tool`,
    });
  }
  const thinking = stripNewlines(inner.split(THINK_OPEN).join('').split(THINK_CLOSE).join(''), 'both');
  return { thinking, body: stripNewlines(body, 'start') };
}

/** Checks one call body; returns the call when it passes every check. */
function parseCall(
  body: string,
  index: number,
  tools: readonly ToolSchemaJson[] | undefined,
  failures: ParseFailure[],
): ToolCallMsg | undefined {
  const where = `tool call ${index + 1}`;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    failures.push({ kind: 'invalid_json', message: `${where}: body is not valid JSON (${(err as Error).message})` });
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    failures.push({
      kind: 'invalid_json',
      message: `${where}: body must be a JSON object {"name": ..., "arguments": {...}}, got ${kindOfJson(value)}`,
    });
    return undefined;
  }
  const obj = value as Record<string, unknown>;
  let ok = true;
  if (!('name' in obj)) {
    failures.push({ kind: 'missing_name', field: 'name', message: `${where}: missing "name"` });
    ok = false;
  } else if (typeof obj.name !== 'string') {
    failures.push({
      kind: 'non_string_name',
      field: 'name',
      message: `${where}: "name" must be a string, got ${kindOfJson(obj.name)}`,
    });
    ok = false;
  } else if (obj.name === '') {
    failures.push({ kind: 'missing_name', field: 'name', message: `${where}: "name" is empty` });
    ok = false;
  }
  const args = obj.arguments;
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    const got = args === undefined ? 'nothing (use {} for no arguments)' : kindOfJson(args);
    failures.push({
      kind: 'non_object_arguments',
      field: 'arguments',
      message: `${where}: "arguments" must be a JSON object, got ${got}`,
    });
    ok = false;
  }
  if (!ok) return undefined;
  const call: ToolCallMsg = { name: obj.name as string, arguments: args as Record<string, unknown> };
  if (!tools) return call;

  const tool = tools.find((t) => t.function.name === call.name);
  if (!tool) {
    const names = tools.map((t) => t.function.name).join(', ') || '(none)';
    failures.push({
      kind: 'unknown_tool',
      field: 'name',
      message: `${where}: no tool named "${call.name}"; available: ${names}`,
    });
    return undefined;
  }
  const issues = validateArguments(call.arguments, tool.function.parameters ?? {});
  if (issues.length > 0) {
    failures.push(...issuesToFailures(call.name, issues));
    return undefined;
  }
  return call;
}

// ---------------------------------------------------------------------------------------------
// Parser

export function parseAssistant(raw: string, tools?: readonly ToolSchemaJson[], opts: ParseOptions = {}): ParsedTurn {
  const failures: ParseFailure[] = [];
  const calls: ToolCallMsg[] = [];
  try {
    const text = typeof raw === 'string' ? raw : String(raw);
    const maxChars = opts.maxChars ?? DEFAULT_MAX_TURN_CHARS;
    if (text.length > maxChars) {
      failures.push({
        kind: 'oversized_turn',
        message: `the turn is ${text.length} characters long, over the limit of ${maxChars}, so it was not read and no tool was called; write a shorter turn (one call or a short answer)`,
      });
      return { content: '', calls, failures };
    }
    const { thinking, body } = splitThinking(text, failures);

    // Walk the body: text pieces between `<tool_call>` blocks.
    const pieces: string[] = [];
    let blocks = 0;
    let nested = false;
    let pos = 0;
    const strayClose = (s: string): string => {
      const n = indexesOf(s, TOOL_CALL_CLOSE).length;
      for (let i = 0; i < n; i++) {
        failures.push({ kind: 'unclosed_tag', message: `\`${TOOL_CALL_CLOSE}\` without an opening \`${TOOL_CALL_OPEN}\`` });
      }
      return n > 0 ? s.split(TOOL_CALL_CLOSE).join('') : s;
    };
    for (;;) {
      const open = body.indexOf(TOOL_CALL_OPEN, pos);
      if (open === -1) {
        pieces.push(strayClose(body.slice(pos)));
        break;
      }
      pieces.push(strayClose(body.slice(pos, open)));
      const innerStart = open + TOOL_CALL_OPEN.length;
      const close = body.indexOf(TOOL_CALL_CLOSE, innerStart);
      const nextOpen = body.indexOf(TOOL_CALL_OPEN, innerStart);
      if (nextOpen !== -1 && (close === -1 || nextOpen < close)) {
        failures.push({
          kind: 'nested_call',
          message: `tool call ${blocks + 1}: \`${TOOL_CALL_OPEN}\` opens again before \`${TOOL_CALL_CLOSE}\` closes this call; calls cannot nest, so no call of this turn was run. Close each call before opening the next`,
        });
        nested = true;
        blocks++;
        const end = nestEnd(body, open);
        if (end === -1) break;
        pos = end;
        continue;
      }
      if (close === -1) {
        failures.push({
          kind: 'unclosed_tag',
          message: `tool call ${blocks + 1}: \`${TOOL_CALL_OPEN}\` is never closed with \`${TOOL_CALL_CLOSE}\``,
        });
        blocks++;
        break;
      }
      const call = parseCall(body.slice(innerStart, close), blocks, tools, failures);
      if (call) calls.push(call);
      blocks++;
      pos = close + TOOL_CALL_CLOSE.length;
    }

    // Undo the layout's separators: `{content}\n<tool_call>` and `</tool_call>\n<tool_call>`.
    let content = pieces[0] ?? '';
    if (blocks > 0 && content.endsWith('\n')) content = content.slice(0, -1);
    for (const p of pieces.slice(1)) {
      const rest = p.startsWith('\n') ? p.slice(1) : p;
      if (rest.trim() === '') continue;
      content = content ? `${content}\n${rest}` : rest;
    }

    if (blocks === 0 && content.trim() === '' && failures.length === 0) {
      failures.push({
        kind: 'empty_turn',
        message: 'the turn has neither an answer nor a tool call; reply with text or a <tool_call> block',
      });
    }
    const out: ParsedTurn = { content, calls: nested ? [] : calls, failures };
    if (thinking !== undefined) out.thinking = thinking;
    return out;
  } catch (err) {
    // Unreachable by design; kept so a parser bug can never crash an episode.
    failures.push({ kind: 'invalid_json', message: `parser error: ${(err as Error).message}` });
    return { content: '', calls, failures };
  }
}
