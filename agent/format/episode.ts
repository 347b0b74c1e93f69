/**
 * Exact episode tokens, built incrementally.
 *
 * Qwen3's template is not prefix-preserving: re-rendering a conversation drops earlier turns'
 * thinking, so re-tokenising a finished episode would not give the ids the policy sampled. Instead:
 *
 *   tokens = encode(prompt) + sampled_1 + encode(continuation_1) + sampled_2 + ...
 *
 * where each continuation is exactly the text the template puts after a sampled turn's
 * `<|im_end|>` (tool responses, next generation prompt), found by rendering the conversation with
 * and without the new messages and cutting after the last assistant turn's end-of-turn marker.
 * `mask` is 1 only on sampled ids; `logprobs` are 0 wherever the mask is 0.
 */
import type { ChatMessage, Tokenizer, ToolSchemaJson } from '../types.js';
import type { ChatTemplate } from './template.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface ContinuationOptions {
  tools?: ToolSchemaJson[];
  /** Mode of the next turn (`modeFor`): `false` ends the text with the empty think block. */
  enableThinking?: boolean;
}

export class ContinuationError extends Error {
  override name = 'ContinuationError';
}

// ---------------------------------------------------------------------------------------------
// Pure functions

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

function nthIndexOf(text: string, needle: string, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) {
    i = text.indexOf(needle, i + 1);
    if (i === -1) return -1;
  }
  return i;
}

/**
 * The exact text to append after a sampled assistant turn that ended with the end-of-turn marker
 * (`<|im_end|>`): for Qwen3, `\n<|im_start|>user\n<tool_response>\n...\n</tool_response><|im_end|>\n<|im_start|>assistant\n`
 * plus `<think>\n\n</think>\n\n` when the next turn is non-thinking. Derived from the template, so
 * other templates work too. `history` must end with that assistant turn.
 */
export function continuationText(
  template: ChatTemplate,
  history: readonly ChatMessage[],
  newMessages: readonly ChatMessage[],
  opts: ContinuationOptions = {},
): string {
  const last = history[history.length - 1];
  if (last?.role !== 'assistant') {
    throw new ContinuationError(
      `continuationText needs a history that ends with the sampled assistant turn (last role: ${last?.role ?? 'none'})`,
    );
  }
  // With turn-local templates only the turns next to the cut shape the continuation (the system
  // turn stays, for templates that insist on one); otherwise render the whole history.
  const first = history[0];
  const context = !template.localTurns ? history : first.role === 'system' && history.length > 1 ? [first, last] : [last];
  const eot = template.endOfTurn;
  const before = template.render(context, { tools: opts.tools, addGenerationPrompt: false, enableThinking: opts.enableThinking });
  const k = countOf(before, eot);
  const after = before.slice(nthIndexOf(before, eot, k) + eot.length);
  if (k === 0 || after.trim() !== '') {
    throw new ContinuationError(
      `the chat template does not close the assistant turn with "${eot}"; pass the right endOfTurn to new ChatTemplate(source, {endOfTurn})`,
    );
  }
  const full = template.render([...context, ...newMessages], {
    tools: opts.tools,
    addGenerationPrompt: true,
    enableThinking: opts.enableThinking,
  });
  const cut = nthIndexOf(full, eot, k);
  if (cut === -1)
    throw new ContinuationError('rendering with the new messages lost an earlier turn; is the template prefix-stable per turn?');
  return full.slice(cut + eot.length);
}

// ---------------------------------------------------------------------------------------------
// EpisodeTokens

export class EpisodeTokens {
  readonly tokens: number[] = [];
  readonly mask: number[] = [];
  readonly logprobs: number[] = [];
  /** Needed only by the methods that take text (`start`, `appendText`, `appendContinuation`). */
  readonly tokenizer: Tokenizer | undefined;

  constructor(tokenizer?: Tokenizer) {
    this.tokenizer = tokenizer;
  }

  /**
   * Starts an episode: the rendered prompt (system + user + generation prompt), mask 0.
   * Returns the prompt ids (the first `promptIds` of the episode).
   */
  static start(
    tokenizer: Tokenizer,
    template: ChatTemplate,
    messages: readonly ChatMessage[],
    opts: ContinuationOptions = {},
  ): EpisodeTokens {
    const ep = new EpisodeTokens(tokenizer);
    ep.appendText(
      template.render(messages, { tools: opts.tools, addGenerationPrompt: true, enableThinking: opts.enableThinking }),
    );
    return ep;
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Ids that the policy did not sample (prompt, tool output, injected text): mask 0, logprob 0. */
  appendIds(ids: readonly number[]): void {
    for (const id of ids) {
      this.tokens.push(id);
      this.mask.push(0);
      this.logprobs.push(0);
    }
  }

  /** Same as `appendIds`: prompt or observation ids, mask 0. */
  appendPrompt(ids: readonly number[]): void {
    this.appendIds(ids);
  }

  /** Text that the policy did not sample, tokenised as one segment. Returns its ids. */
  appendText(text: string): number[] {
    const ids = this.requireTokenizer().encode(text);
    this.appendIds(ids);
    return ids;
  }

  /** Policy-sampled ids, kept exactly as sampled: mask 1, with their behaviour log-probs. */
  appendSampled(ids: readonly number[], logprobs?: readonly number[]): void {
    if (logprobs && logprobs.length !== ids.length) {
      throw new RangeError(
        `appendSampled got ${ids.length} ids but ${logprobs.length} logprobs; pass one logprob per sampled id`,
      );
    }
    ids.forEach((id, i) => {
      this.tokens.push(id);
      this.mask.push(1);
      this.logprobs.push(logprobs ? logprobs[i] : 0);
    });
  }

  /**
   * Appends what follows the last sampled turn: the end-of-turn marker first (mask 0) when the
   * turn stopped without it, then the template's continuation text. Returns the appended ids.
   */
  appendContinuation(
    template: ChatTemplate,
    history: readonly ChatMessage[],
    newMessages: readonly ChatMessage[],
    opts: ContinuationOptions = {},
  ): number[] {
    const out: number[] = [];
    const eotId = this.requireTokenizer().specialId(template.endOfTurn);
    if (eotId !== undefined && this.tokens[this.tokens.length - 1] !== eotId) {
      this.appendIds([eotId]);
      out.push(eotId);
    }
    out.push(...this.appendText(continuationText(template, history, newMessages, opts)));
    return out;
  }

  private requireTokenizer(): Tokenizer {
    if (!this.tokenizer)
      throw new TypeError('this EpisodeTokens has no tokenizer; construct it with new EpisodeTokens(tokenizer) to append text');
    return this.tokenizer;
  }

  toJSON(): { tokens: number[]; mask: number[]; logprobs: number[] } {
    return { tokens: [...this.tokens], mask: [...this.mask], logprobs: [...this.logprobs] };
  }
}
