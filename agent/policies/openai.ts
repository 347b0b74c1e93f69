/**
 * `openai:<baseURL>[#model][&api=chat|completions][&stream=1][&temperature=0.7]`: any
 * OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, OpenAI).
 *
 * Two APIs:
 *  - `chat` (default): `/chat/completions` with `tools`, streamed or not. The server renders the
 *    prompt and parses calls; the reply is turned back into the raw Qwen3 turn text the loop
 *    parses (calls whose `arguments` are not valid JSON stay malformed, so the parser counts them).
 *    The thinking budget does not apply here: a chat server cannot be stopped mid-thought and resumed.
 *  - `completions`: `/completions` over the client-rendered prompt (agent/format's template), so
 *    the text is exactly what the model was trained on. With a tokenizer (policy context) the prompt
 *    is the episode's exact token ids and the sampled ids and logprobs come back (vLLM's
 *    `return_token_ids`, `logprobs`); this mode also enforces the thinking budget.
 *
 * The API key is read from `OPENAI_API_KEY`. Retries and timeouts: see openai-http.ts.
 */
import { ChatTemplate, pyJson, renderToolCall } from '../format/index.js';
import type { ChatMessage, GenerateRequest, GenerateResult, Policy, Tokenizer, ToolCallMsg } from '../types.js';
import { type HttpOptions, postWithRetry, readSse } from './openai-http.js';
import { type PolicyContext, registerPolicyFactory } from './registry.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface OpenAIPolicyOptions {
  baseURL: string;
  model?: string;
  api?: 'chat' | 'completions';
  stream?: boolean;
  temperature?: number;
  topP?: number;
  apiKey?: string;
  timeoutMs?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Token-level completions: the exact episode ids are sent and sampled ids come back. */
  tokenizer?: Tokenizer;
  template?: ChatTemplate;
  /** Sent as `chat_template_kwargs` (vLLM, SGLang) so the server renders thinking on or off. */
  sendThinkingFlag?: boolean;
}

interface OaiToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string | Record<string, unknown> };
}

interface ChatChoice {
  message?: { content?: string | null; reasoning_content?: string | null; reasoning?: string | null; tool_calls?: OaiToolCall[] };
  finish_reason?: string | null;
}

interface CompletionChoice {
  text?: string;
  finish_reason?: string | null;
  token_ids?: number[];
  logprobs?: { token_logprobs?: Array<number | null>; tokens?: string[] } | null;
}

export class OpenAIProtocolError extends Error {
  override name = 'OpenAIProtocolError';
}

// ---------------------------------------------------------------------------------------------
// Pure functions

export function parseOpenAISpec(rest: string): OpenAIPolicyOptions {
  const hash = rest.indexOf('#');
  const baseURL = (hash < 0 ? rest : rest.slice(0, hash)).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseURL))
    throw new RangeError(
      `openai policy needs an http(s) base URL, e.g. openai:http://127.0.0.1:8000/v1#Qwen/Qwen3-8B; got "${rest}"`,
    );
  const opts: OpenAIPolicyOptions = { baseURL };
  if (hash >= 0) {
    const [model, ...kvs] = rest.slice(hash + 1).split('&');
    if (model) opts.model = model;
    for (const kv of kvs) {
      const [k, v = ''] = kv.split('=');
      if (k === 'api') {
        if (v !== 'chat' && v !== 'completions') throw new RangeError(`api=${v}: use api=chat or api=completions`);
        opts.api = v;
      } else if (k === 'stream') opts.stream = v !== '0' && v !== 'false';
      else if (k === 'temperature') opts.temperature = Number(v);
      else if (k === 'top_p') opts.topP = Number(v);
      else if (k === 'timeout') opts.timeoutMs = Number(v);
      else throw new RangeError(`unknown openai spec option "${k}": use api, stream, temperature, top_p, timeout`);
    }
  }
  return opts;
}

/** Our history in OpenAI's chat shape: calls get ids, tool results point at them. */
export function toOpenAIMessages(messages: readonly ChatMessage[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let pending: string[] = [];
  let turn = 0;
  for (const m of messages) {
    if (m.role === 'assistant') {
      const msg: Record<string, unknown> = { role: 'assistant', content: m.content };
      if (m.tool_calls && m.tool_calls.length > 0) {
        pending = m.tool_calls.map((_, i) => `call_${turn}_${i}`);
        msg.tool_calls = m.tool_calls.map((c, i) => ({
          id: pending[i],
          type: 'function',
          function: { name: c.function.name, arguments: JSON.stringify(c.function.arguments) },
        }));
      } else pending = [];
      turn++;
      out.push(msg);
    } else if (m.role === 'tool') {
      const id = pending.shift();
      // A result with no call to answer (an error observation) goes back as a user message.
      if (id) out.push({ role: 'tool', tool_call_id: id, content: m.content });
      else out.push({ role: 'user', content: `<tool_response>\n${m.content}\n</tool_response>` });
    } else {
      out.push({ role: m.role, content: m.content });
    }
  }
  return out;
}

/** Rebuilds the raw Qwen3 turn from a chat reply; unparseable arguments stay verbatim (the parser flags them). */
export function rawFromChat(reasoning: string | undefined, content: string, calls: readonly OaiToolCall[]): string {
  let raw = reasoning !== undefined && reasoning !== '' ? `<think>\n${reasoning.replace(/^\n+|\n+$/g, '')}\n</think>\n\n` : '';
  raw += content;
  calls.forEach((c, i) => {
    if (i > 0 || content) raw += '\n';
    const name = c.function?.name ?? '';
    const args = c.function?.arguments ?? '{}';
    let parsed: unknown;
    if (typeof args === 'string') {
      try {
        parsed = JSON.parse(args);
      } catch {
        parsed = undefined;
      }
    } else parsed = args;
    if (parsed !== undefined && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      raw += renderToolCall({ name, arguments: parsed as ToolCallMsg['arguments'] });
    } else {
      raw += `<tool_call>\n{"name": ${pyJson(name)}, "arguments": ${typeof args === 'string' ? args : pyJson(args)}}\n</tool_call>`;
    }
  });
  return raw;
}

/**
 * The loop's finish reason. A `length` stop with fewer tokens than were asked for means the server's
 * context window ran out first (llama.cpp and Ollama stop there): `context_length`, the episode
 * cannot go on.
 */
export function finish(reason: string | null | undefined, produced?: number, requested?: number): GenerateResult['finishReason'] {
  if (reason !== 'length') return 'stop';
  if (produced !== undefined && requested !== undefined && produced < requested) return 'context_length';
  return 'length';
}

// ---------------------------------------------------------------------------------------------
// The policy

export class OpenAIPolicy implements Policy {
  readonly spec: string;
  readonly tokenizer?: Tokenizer;
  private readonly http: HttpOptions;
  private model?: string;
  private template?: ChatTemplate;
  private warnedNoIds = false;

  constructor(
    private readonly opts: OpenAIPolicyOptions,
    spec?: string,
  ) {
    this.spec = spec ?? `openai:${opts.baseURL}${opts.model ? `#${opts.model}` : ''}`;
    this.model = opts.model;
    this.template = opts.template;
    if ((opts.api ?? 'chat') === 'completions' && opts.tokenizer) this.tokenizer = opts.tokenizer;
    this.http = {
      apiKey: opts.apiKey ?? process.env.OPENAI_API_KEY,
      timeoutMs: opts.timeoutMs ?? 120_000,
      maxRetries: opts.maxRetries ?? 4,
      retryBaseMs: opts.retryBaseMs ?? 500,
      retryMaxMs: opts.retryMaxMs ?? 30_000,
    };
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const model = await this.resolveModel(req.signal);
    return (this.opts.api ?? 'chat') === 'chat' ? this.chat(model, req) : this.completions(model, req);
  }

  /** Without `#model`, asks `/models` once and uses the first. */
  private async resolveModel(signal: AbortSignal): Promise<string> {
    if (this.model) return this.model;
    const headers: Record<string, string> = {};
    if (this.http.apiKey) headers.authorization = `Bearer ${this.http.apiKey}`;
    const res = await fetch(`${this.opts.baseURL}/models`, { headers, signal });
    const body = (await res.json().catch(() => ({}))) as { data?: Array<{ id?: string }> };
    const id = body.data?.[0]?.id;
    if (!res.ok || !id)
      throw new OpenAIProtocolError(
        `${this.opts.baseURL}/models named no model: give one as openai:${this.opts.baseURL}#<model>`,
      );
    this.model = id;
    return id;
  }

  private async chat(model: string, req: GenerateRequest): Promise<GenerateResult> {
    const body: Record<string, unknown> = {
      model,
      messages: toOpenAIMessages(req.messages),
      max_tokens: req.maxTokens,
      seed: req.seed,
    };
    if (req.tools.length > 0) body.tools = req.tools;
    if (this.opts.temperature !== undefined) body.temperature = this.opts.temperature;
    if (this.opts.topP !== undefined) body.top_p = this.opts.topP;
    if (this.opts.sendThinkingFlag ?? true) body.chat_template_kwargs = { enable_thinking: req.enableThinking };
    const url = `${this.opts.baseURL}/chat/completions`;
    if (this.opts.stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
      const res = await postWithRetry(url, body, this.http, req.signal);
      return this.readChatStream(res, req.maxTokens);
    }
    const res = await postWithRetry(url, body, this.http, req.signal);
    const json = (await res.json()) as { choices?: ChatChoice[]; usage?: { completion_tokens?: number } };
    const choice = json.choices?.[0];
    if (!choice?.message) throw new OpenAIProtocolError(`${url} returned no choices[0].message`);
    const m = choice.message;
    const text = rawFromChat(m.reasoning_content ?? m.reasoning ?? undefined, m.content ?? '', m.tool_calls ?? []);
    const produced = json.usage?.completion_tokens;
    return { text, finishReason: finish(choice.finish_reason, produced, req.maxTokens), completionTokens: produced };
  }

  private async readChatStream(res: Response, requested: number): Promise<GenerateResult> {
    let content = '';
    let reasoning = '';
    let reason: string | null | undefined;
    let usage: number | undefined;
    const calls: Array<{ id?: string; function: { name: string; arguments: string } }> = [];
    for await (const ev of readSse(res)) {
      const chunk = ev as {
        choices?: Array<{
          delta?: {
            content?: string | null;
            reasoning_content?: string | null;
            reasoning?: string | null;
            tool_calls?: Array<OaiToolCall & { index?: number }>;
          };
          finish_reason?: string | null;
        }>;
        usage?: { completion_tokens?: number } | null;
      };
      if (chunk.usage?.completion_tokens !== undefined) usage = chunk.usage.completion_tokens;
      const c = chunk.choices?.[0];
      if (!c) continue;
      if (c.finish_reason) reason = c.finish_reason;
      const d = c.delta;
      if (!d) continue;
      content += d.content ?? '';
      reasoning += d.reasoning_content ?? d.reasoning ?? '';
      for (const tc of d.tool_calls ?? []) {
        // Calls stream in pieces keyed by index: the name once, the arguments as string fragments.
        const i = tc.index ?? calls.length;
        calls[i] ??= { function: { name: '', arguments: '' } };
        const slot = calls[i];
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.function.name += tc.function.name;
        if (typeof tc.function?.arguments === 'string') slot.function.arguments += tc.function.arguments;
      }
    }
    const text = rawFromChat(reasoning || undefined, content, calls.filter(Boolean));
    return { text, finishReason: finish(reason, usage, requested), completionTokens: usage };
  }

  private async completions(model: string, req: GenerateRequest): Promise<GenerateResult> {
    const prompt = this.promptFor(req);
    const budget = req.thinkingBudget;
    if (budget !== undefined && req.enableThinking && req.continuation === undefined && budget < req.maxTokens) {
      // Phase 1: think up to the budget, stopping at `</think>`. Phase 2: the rest of the turn.
      const first = await this.complete(model, prompt, budget, req, ['</think>']);
      if (first.finishReason === 'length' && !first.text.includes('</think>')) return { ...first, finishReason: 'budget' };
      const more = await this.complete(model, extend(prompt, first), req.maxTokens - (first.completionTokens ?? 0), req);
      return concat(first, more);
    }
    return this.complete(model, prompt, req.maxTokens, req);
  }

  private promptFor(req: GenerateRequest): string | number[] {
    if (this.tokenizer) {
      if (!req.promptIds) throw new OpenAIProtocolError('token-level completions need promptIds from the rollout loop');
      return req.promptIds;
    }
    this.template ??= ChatTemplate.qwen3();
    const rendered = this.template.render(req.messages, {
      tools: req.tools,
      addGenerationPrompt: true,
      enableThinking: req.enableThinking,
    });
    return rendered + (req.continuation ?? '');
  }

  private async complete(
    model: string,
    prompt: string | number[],
    maxTokens: number,
    req: GenerateRequest,
    stop?: string[],
  ): Promise<GenerateResult> {
    const requested = Math.max(1, maxTokens);
    const body: Record<string, unknown> = {
      model,
      prompt,
      max_tokens: requested,
      seed: req.seed,
      skip_special_tokens: false,
    };
    if (stop) {
      body.stop = stop;
      body.include_stop_str_in_output = true;
    }
    if (this.opts.temperature !== undefined) body.temperature = this.opts.temperature;
    if (this.opts.topP !== undefined) body.top_p = this.opts.topP;
    if (this.tokenizer) {
      body.logprobs = 1;
      body.return_token_ids = true;
    }
    const url = `${this.opts.baseURL}/completions`;
    const res = await postWithRetry(url, body, this.http, req.signal);
    const json = (await res.json()) as { choices?: CompletionChoice[]; usage?: { completion_tokens?: number } };
    const choice = json.choices?.[0];
    if (!choice || typeof choice.text !== 'string') throw new OpenAIProtocolError(`${url} returned no choices[0].text`);
    const out: GenerateResult = {
      text: choice.text,
      finishReason: finish(choice.finish_reason, json.usage?.completion_tokens, requested),
      completionTokens: json.usage?.completion_tokens,
    };
    if (this.tokenizer) {
      let ids = choice.token_ids;
      if (!ids) {
        // Only when the server cannot return ids: the text is tokenised once, here, as a fallback.
        if (!this.warnedNoIds)
          process.stderr.write(`warning: ${url} returned no token_ids; tokenising the sampled text instead (not exact)\n`);
        this.warnedNoIds = true;
        ids = this.tokenizer.encode(choice.text);
      }
      out.tokenIds = ids;
      const lp = choice.logprobs?.token_logprobs;
      out.logprobs = lp && lp.length === ids.length ? lp.map((x) => x ?? 0) : ids.map(() => 0);
      out.completionTokens = ids.length;
      out.finishReason = finish(choice.finish_reason, ids.length, requested);
    }
    return out;
  }
}

function extend(prompt: string | number[], first: GenerateResult): string | number[] {
  return typeof prompt === 'string' ? prompt + first.text : [...prompt, ...(first.tokenIds ?? [])];
}

function concat(a: GenerateResult, b: GenerateResult): GenerateResult {
  const out: GenerateResult = {
    text: a.text + b.text,
    finishReason: b.finishReason,
    completionTokens: (a.completionTokens ?? 0) + (b.completionTokens ?? 0),
  };
  if (a.tokenIds || b.tokenIds) out.tokenIds = [...(a.tokenIds ?? []), ...(b.tokenIds ?? [])];
  if (a.logprobs || b.logprobs) out.logprobs = [...(a.logprobs ?? []), ...(b.logprobs ?? [])];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wiring

registerPolicyFactory('openai', (rest: string, ctx: PolicyContext, spec: string) => {
  const opts = parseOpenAISpec(rest);
  const o = ctx.options ?? {};
  if (typeof o.apiKey === 'string') opts.apiKey = o.apiKey;
  if (typeof o.timeoutMs === 'number') opts.timeoutMs = o.timeoutMs;
  if (typeof o.maxRetries === 'number') opts.maxRetries = o.maxRetries;
  if (typeof o.retryBaseMs === 'number') opts.retryBaseMs = o.retryBaseMs;
  if (opts.api === 'completions' && ctx.tokenizer) opts.tokenizer = ctx.tokenizer;
  return new OpenAIPolicy(opts, spec);
});
