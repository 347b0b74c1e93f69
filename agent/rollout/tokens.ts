/**
 * Token bookkeeping of one episode for token-level policies, over agent/format's `EpisodeTokens`.
 *
 * Qwen3's template is not prefix-preserving (it drops earlier turns' thinking), so the episode's
 * tokens are never re-rendered: the first prompt is rendered and tokenised once, sampled ids are kept
 * exactly as sampled (mask 1, with their behaviour log-probs), and only the new segments (the
 * stop-thinking text, the tool-response turn and the next generation prompt, from `continuationText`)
 * are tokenised and appended with mask 0.
 */
import { ChatTemplate, EpisodeTokens } from '../format/index.js';
import type { ChatMessage, Tokenizer, ToolSchemaJson } from '../types.js';

let defaultTemplate: ChatTemplate | undefined;

export class TokenTrack {
  private seq: EpisodeTokens;

  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly template: ChatTemplate,
    private readonly tools: ToolSchemaJson[],
  ) {
    this.seq = new EpisodeTokens(tokenizer);
  }

  static async create(tokenizer: Tokenizer, tools: ToolSchemaJson[], template?: ChatTemplate): Promise<TokenTrack> {
    defaultTemplate ??= ChatTemplate.qwen3();
    return new TokenTrack(tokenizer, template ?? defaultTemplate, tools);
  }

  /** The first prompt: system + task + generation prompt, rendered and tokenised once. */
  start(messages: readonly ChatMessage[], enableThinking: boolean): void {
    this.seq = EpisodeTokens.start(this.tokenizer, this.template, messages, { tools: this.tools, enableThinking });
  }

  ids(): number[] {
    return this.seq.tokens.slice();
  }

  appendSampled(ids: readonly number[], logprobs?: readonly number[]): void {
    this.seq.appendSampled(ids, logprobs);
  }

  /** Text the loop writes into the sequence (never policy-sampled: mask 0). */
  appendInjected(text: string): void {
    this.seq.appendText(text);
  }

  /**
   * Closes the sampled turn (the end-of-turn id is written with mask 0 when generation stopped
   * before it) and appends the observation turn plus the next generation prompt.
   */
  endTurn(history: readonly ChatMessage[], observations: readonly ChatMessage[], nextThinking: boolean, _stopped: boolean): void {
    this.seq.appendContinuation(this.template, history, observations, { tools: this.tools, enableThinking: nextThinking });
  }

  snapshot(): { tokens: number[]; mask: number[]; logprobs: number[] } {
    return this.seq.toJSON();
  }
}
