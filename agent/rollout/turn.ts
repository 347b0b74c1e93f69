/**
 * Pure helpers that turn one generated assistant turn into chat messages and a `Turn` record:
 * the assistant message, the tool-response messages, and the error observation a malformed turn
 * earns (fed back to the policy, so it can recover, instead of crashing the episode).
 */
import type { ChatMessage, GenerateResult, ParseFailure, ToolCallMsg, ToolExchange, Turn } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Parsed assistant turn (agent/format's `ParsedTurn`, restated structurally to keep this file pure). */
export interface ParsedLike {
  thinking?: string;
  content: string;
  calls: ToolCallMsg[];
  failures: ParseFailure[];
}

/** One turn being generated: text accumulates across a thinking-budget stop and its continuation. */
export interface Draft {
  index: number;
  mode: 'think' | 'no_think';
  text: string;
  finishReason: GenerateResult['finishReason'];
  budgetHit: boolean;
  generationMs: number;
  completionTokens: number;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Rough token count for policies that report none (about 4 characters a token for English and code). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function completionTokensOf(res: GenerateResult): number {
  return res.completionTokens ?? res.tokenIds?.length ?? estimateTokens(res.text);
}

/** Text after the think block (what the model said outside its thoughts). */
export function afterThink(raw: string): string {
  const end = raw.lastIndexOf('</think>');
  return (end >= 0 ? raw.slice(end + '</think>'.length) : raw).trim();
}

/**
 * The assistant message for the history. A clean turn keeps its parsed calls; a malformed turn keeps
 * its text verbatim (after the thoughts) so the policy sees exactly what it got wrong.
 */
export function assistantMessage(parsed: ParsedLike, raw: string): ChatMessage {
  const msg: ChatMessage = { role: 'assistant', content: parsed.failures.length > 0 ? afterThink(raw) : parsed.content };
  if (parsed.thinking !== undefined) msg.reasoning_content = parsed.thinking;
  if (parsed.failures.length === 0 && parsed.calls.length > 0) {
    msg.tool_calls = parsed.calls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  }
  return msg;
}

/** The observation a malformed turn earns: what failed, and what a valid call looks like. */
export function failureObservation(failures: readonly ParseFailure[]): string {
  const lines = failures.map((f) => `- ${f.kind}${f.field ? ` (${f.field})` : ''}: ${f.message}`);
  return [
    `Error: your last turn could not be executed (${failures.length} problem${failures.length === 1 ? '' : 's'}):`,
    ...lines,
    'Call a tool as <tool_call>\n{"name": "<tool name>", "arguments": {...}}\n</tool_call> with strict JSON and the arguments the tool schema asks for, or answer without a tool call.',
  ].join('\n');
}

/** Tool-response messages of a turn: one per executed call (call order), then one per failure batch. */
export function observationMessages(exchanges: readonly ToolExchange[], failures: readonly ParseFailure[]): ChatMessage[] {
  const out: ChatMessage[] = exchanges.map((x) => ({ role: 'tool', name: x.name, content: x.result }));
  if (failures.length > 0) out.push({ role: 'tool', name: 'error', content: failureObservation(failures) });
  return out;
}

export function toTurn(d: Draft, raw: string, parsed: ParsedLike, exchanges: ToolExchange[], answer?: string): Turn {
  const t: Turn = {
    index: d.index,
    raw,
    mode: d.mode,
    calls: exchanges,
    failures: parsed.failures,
    finishReason: d.finishReason,
    generationMs: d.generationMs,
    completionTokens: d.completionTokens,
  };
  if (parsed.thinking !== undefined) t.thinking = parsed.thinking;
  if (answer !== undefined) t.answer = answer;
  if (d.budgetHit) t.budgetHit = true;
  return t;
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
