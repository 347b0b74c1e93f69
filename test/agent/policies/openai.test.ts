import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAssistant, qwen3Tokenizer } from '../../../agent/format/index.js';
import {
  createPolicy,
  OpenAIHttpError,
  OpenAIPolicy,
  parseOpenAISpec,
  retryDelayMs,
  toOpenAIMessages,
} from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import type { GenerateRequest, ToolSchemaJson } from '../../../agent/types.js';
import { arithEnv } from '../fixtures/arith-env.js';

// A real HTTP server speaking the OpenAI protocol. Each test queues handlers; each request takes the next.
// Every test has its own URL prefix (/t<n>/v1), so a late request from an earlier test (one its
// client already timed out) can never take a handler queued for a later one.
type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void;
const queue: Handler[] = [];
const seen: Array<{ url: string; body: any; auth?: string }> = [];
let server: Server;
let origin: string;
let testNo = 0;
let base: string;

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const chatReply = (message: Record<string, unknown>, finish = 'stop', tokens = 7) => ({
  id: 'x',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
  usage: { prompt_tokens: 10, completion_tokens: tokens },
});
const sse = (res: ServerResponse, chunks: unknown[]) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
  res.end('data: [DONE]\n\n');
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      const m = /^\/t(\d+)(\/v1\/.*)$/.exec(req.url ?? '');
      if (!m || Number(m[1]) !== testNo) return json(res, 410, { error: 'request from a finished test' });
      const url = m[2];
      seen.push({ url, body, auth: req.headers.authorization });
      if (url === '/v1/models') return json(res, 200, { data: [{ id: 'served-model' }] });
      const h = queue.shift();
      if (!h) return json(res, 500, { error: 'no handler queued' });
      h(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  queue.length = 0;
  seen.length = 0;
  testNo++;
  base = `${origin}/t${testNo}/v1`;
});

const TOOLS: ToolSchemaJson[] = [
  {
    type: 'function',
    function: {
      name: 'add',
      description: 'Add',
      parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] },
    },
  },
];

function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'What is 1 + 2?' },
    ],
    tools: TOOLS,
    maxTokens: 64,
    enableThinking: false,
    seed: 1,
    turn: 0,
    episode: { taskId: 't', envId: 'e', sample: 0 },
    signal: new AbortController().signal,
    ...over,
  };
}

const fast = { retryBaseMs: 1, retryMaxMs: 200 };

describe('the openai policy (chat completions)', () => {
  it('sends the tools and the key, and turns tool calls back into a Qwen3 turn the parser accepts', async () => {
    process.env.OPENAI_API_KEY = 'sk-test';
    queue.push((_q, _b, res) =>
      json(
        res,
        200,
        chatReply(
          {
            content: null,
            reasoning_content: 'I add.',
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'add', arguments: '{"a": 1, "b": 2}' } }],
          },
          'tool_calls',
        ),
      ),
    );
    const p = new OpenAIPolicy({ baseURL: base, model: 'm', ...fast });
    const out = await p.generate(request({ enableThinking: true }));
    delete process.env.OPENAI_API_KEY;
    expect(seen[0].url).toBe('/v1/chat/completions');
    expect(seen[0].auth).toBe('Bearer sk-test');
    expect(seen[0].body).toMatchObject({
      model: 'm',
      max_tokens: 64,
      tools: TOOLS,
      chat_template_kwargs: { enable_thinking: true },
    });
    expect(out.finishReason).toBe('stop');
    expect(out.completionTokens).toBe(7);
    const parsed = parseAssistant(out.text, TOOLS);
    expect(parsed.thinking).toBe('I add.');
    expect(parsed.calls).toEqual([{ name: 'add', arguments: { a: 1, b: 2 } }]);
    expect(parsed.failures).toEqual([]);
  });

  it('keeps malformed call arguments malformed so the parser counts them', async () => {
    queue.push((_q, _b, res) =>
      json(
        res,
        200,
        chatReply({
          content: '',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'add', arguments: '{"a": 1, "b": ' } }],
        }),
      ),
    );
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request());
    expect(parseAssistant(out.text, TOOLS).failures.map((f) => f.kind)).toEqual(['invalid_json']);
  });

  it('reads a streamed (SSE) reply: content deltas, tool-call fragments and usage', async () => {
    queue.push((_q, body, res) => {
      expect(body.stream).toBe(true);
      sse(res, [
        { choices: [{ index: 0, delta: { role: 'assistant', content: 'Let me ' } }] },
        { choices: [{ index: 0, delta: { content: 'compute.' } }] },
        {
          choices: [
            {
              index: 0,
              delta: { tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'add', arguments: '{"a": ' } }] },
            },
          ],
        },
        { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1, "b": 2}' } }] } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
        { choices: [], usage: { completion_tokens: 12 } },
      ]);
    });
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', stream: true, ...fast }).generate(request());
    const parsed = parseAssistant(out.text, TOOLS);
    expect(parsed.content).toBe('Let me compute.');
    expect(parsed.calls).toEqual([{ name: 'add', arguments: { a: 1, b: 2 } }]);
    expect(out.completionTokens).toBe(12);
  });

  it('reports a reply cut at max_tokens as length', async () => {
    queue.push((_q, _b, res) => json(res, 200, chatReply({ content: 'The answer is' }, 'length', 64)));
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request());
    expect(out).toMatchObject({ text: 'The answer is', finishReason: 'length' });
  });

  it('reports a length stop short of max_tokens as context_length: the window ran out first', async () => {
    queue.push((_q, _b, res) => json(res, 200, chatReply({ content: 'The answer is' }, 'length', 9)));
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request({ maxTokens: 64 }));
    expect(out).toMatchObject({ text: 'The answer is', finishReason: 'context_length' });
  });

  for (const [server, status, body] of [
    [
      'vLLM',
      400,
      {
        object: 'error',
        message: "This model's maximum context length is 2048 tokens. However, you requested 2184 tokens.",
        type: 'BadRequestError',
        code: 400,
      },
    ],
    ['OpenAI', 400, { error: { message: 'too long', type: 'invalid_request_error', code: 'context_length_exceeded' } }],
    [
      'llama.cpp',
      400,
      { error: { code: 400, message: 'the request exceeds the available context size', type: 'exceed_context_size_error' } },
    ],
    [
      'SGLang',
      400,
      { object: 'error', message: "The input (2184 tokens) is longer than the model's context length (2048 tokens)." },
    ],
  ] as const) {
    it(`turns ${server}'s context-length error into a truncated episode (context_length), not an abort`, async () => {
      queue.push((_q, _b, res) =>
        json(
          res,
          200,
          chatReply({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'add', arguments: '{"a": 21, "b": 44}' } }] }),
        ),
      );
      queue.push((_q, _b, res) => json(res, status, body));
      const t = await runEpisode({
        env: arithEnv,
        policy: new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }),
        taskId: 'arith/arith.add/train/3',
      });
      expect(t.ending).toBe('truncated');
      expect(t.reason).toBe('context_length');
      expect(t.turns).toHaveLength(1);
      expect(seen).toHaveLength(2);
    });
  }

  it('still aborts on a 400 that is not about the context window', async () => {
    queue.push((_q, _b, res) => json(res, 400, { error: { message: 'unknown field "foo"' } }));
    const t = await runEpisode({
      env: arithEnv,
      policy: new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }),
      taskId: 'arith/arith.add/train/3',
    });
    expect(t.ending).toBe('aborted');
    expect(t.reason).toMatch(/^error: policy: OpenAIHttpError/);
  });

  it('retries a 429 after the Retry-After wait the server asks for', async () => {
    queue.push((_q, _b, res) => json(res, 429, { error: 'slow down' }, { 'retry-after-ms': '120' }));
    queue.push((_q, _b, res) => json(res, 200, chatReply({ content: '3' })));
    const t0 = Date.now();
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect(out.text).toBe('3');
    expect(seen).toHaveLength(2);
  });

  it('retries 500 and 503 with backoff, then succeeds', async () => {
    queue.push((_q, _b, res) => json(res, 500, { error: 'boom' }));
    queue.push((_q, _b, res) => json(res, 503, { error: 'busy' }));
    queue.push((_q, _b, res) => json(res, 200, chatReply({ content: '3' })));
    const out = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request());
    expect(out.text).toBe('3');
    expect(seen).toHaveLength(3);
  });

  it('gives up after the last retry with the status and the server message', async () => {
    for (let i = 0; i < 3; i++) queue.push((_q, _b, res) => json(res, 503, { error: 'overloaded' }));
    const p = new OpenAIPolicy({ baseURL: base, model: 'm', maxRetries: 2, ...fast });
    const err = await p.generate(request()).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAIHttpError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/overloaded/);
    expect(seen).toHaveLength(3);
  });

  it('does not retry a 400', async () => {
    queue.push((_q, _b, res) => json(res, 400, { error: { message: 'bad tools' } }));
    const err = await new OpenAIPolicy({ baseURL: base, model: 'm', ...fast }).generate(request()).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAIHttpError);
    expect(err.message).toMatch(/HTTP 400.*bad tools/);
    expect(seen).toHaveLength(1);
  });

  it('times a hung request out through its AbortSignal', async () => {
    queue.push(() => {});
    const p = new OpenAIPolicy({ baseURL: base, model: 'm', timeoutMs: 100, maxRetries: 0 });
    await expect(p.generate(request())).rejects.toThrow(/did not answer within 100 ms/);
  });

  it('asks /models for the model when the spec names none', async () => {
    queue.push((_q, body, res) => json(res, 200, chatReply({ content: body.model })));
    const p = await createPolicy(`openai:${base}`, { options: fast });
    expect((await p.generate(request())).text).toBe('served-model');
  });

  it('gives tool results the ids of the calls they answer, and error observations as user turns', () => {
    const msgs = toOpenAIMessages([
      { role: 'user', content: 'q' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ type: 'function', function: { name: 'add', arguments: { a: 1, b: 2 } } }],
      },
      { role: 'tool', name: 'add', content: '3' },
      { role: 'assistant', content: '<tool_call>\n{bad\n</tool_call>' },
      { role: 'tool', name: 'error', content: 'Error: invalid_json' },
    ]);
    expect(msgs[1]).toMatchObject({
      tool_calls: [{ id: 'call_0_0', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } }],
    });
    expect(msgs[2]).toEqual({ role: 'tool', tool_call_id: 'call_0_0', content: '3' });
    expect(msgs[4]).toMatchObject({ role: 'user' });
  });

  it('plays a whole episode on an MCP env and scores 1', async () => {
    queue.push((_q, _b, res) =>
      json(
        res,
        200,
        chatReply({
          content: '',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'add', arguments: '{"a": 21, "b": 44}' } }],
        }),
      ),
    );
    queue.push((_q, body, res) => {
      const last = body.messages.at(-1);
      json(res, 200, chatReply({ content: last.role === 'tool' ? last.content : 'no result' }));
    });
    const policy = await createPolicy(`openai:${base}#m`, { options: fast });
    const t = await runEpisode({ env: arithEnv, policy, taskId: 'arith/arith.add/train/3' });
    expect(t.ending).toBe('terminated');
    expect(t.reward).toBe(1);
    expect(seen[1].body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_0_0', content: '65' });
  });
});

describe('the openai policy (raw completions)', () => {
  it('sends the client-rendered prompt and returns the text', async () => {
    queue.push((_q, _body, res) =>
      json(res, 200, { choices: [{ text: '3', finish_reason: 'stop' }], usage: { completion_tokens: 1 } }),
    );
    const p = await createPolicy(`openai:${base}#m&api=completions`, { options: fast });
    const out = await p.generate(request());
    expect(seen[0].url).toBe('/v1/completions');
    expect(seen[0].body.prompt).toMatch(/^<\|im_start\|>system\nsys/);
    expect(seen[0].body.prompt).toMatch(/<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/);
    expect(out).toMatchObject({ text: '3', finishReason: 'stop' });
    expect(p.tokenizer).toBeUndefined();
  });

  it('is token-level with a tokenizer: sends the exact ids and returns sampled ids with logprobs', async () => {
    queue.push((_q, _body, res) =>
      json(res, 200, {
        choices: [{ text: '3', finish_reason: 'stop', token_ids: [18, 151645], logprobs: { token_logprobs: [-0.5, -0.1] } }],
      }),
    );
    const tokenizer = qwen3Tokenizer();
    const p = await createPolicy(`openai:${base}#m&api=completions`, { tokenizer, options: fast });
    expect(p.tokenizer).toBe(tokenizer);
    const out = await p.generate(request({ promptIds: [1, 2, 3] }));
    expect(seen[0].body).toMatchObject({ prompt: [1, 2, 3], return_token_ids: true, logprobs: 1 });
    expect(out).toMatchObject({ tokenIds: [18, 151645], logprobs: [-0.5, -0.1], completionTokens: 2 });
  });

  it('stops thinking at the budget and reports finishReason budget', async () => {
    queue.push((_q, body, res) => {
      expect(body).toMatchObject({ max_tokens: 5, stop: ['</think>'] });
      json(res, 200, { choices: [{ text: '<think>\nhmm hmm', finish_reason: 'length' }], usage: { completion_tokens: 5 } });
    });
    const p = new OpenAIPolicy({ baseURL: base, model: 'm', api: 'completions', ...fast });
    const out = await p.generate(request({ enableThinking: true, thinkingBudget: 5 }));
    expect(out.finishReason).toBe('budget');
  });

  it('finishes the turn after a thought that closed within the budget', async () => {
    queue.push((_q, _b, res) =>
      json(res, 200, { choices: [{ text: '<think>\nok\n</think>', finish_reason: 'stop' }], usage: { completion_tokens: 4 } }),
    );
    queue.push((_q, body, res) => {
      expect(body.prompt).toMatch(/<think>\nok\n<\/think>$/);
      expect(body.max_tokens).toBe(60);
      json(res, 200, { choices: [{ text: '\n\n3', finish_reason: 'stop' }], usage: { completion_tokens: 2 } });
    });
    const p = new OpenAIPolicy({ baseURL: base, model: 'm', api: 'completions', ...fast });
    const out = await p.generate(request({ enableThinking: true, thinkingBudget: 5 }));
    expect(out).toMatchObject({ text: '<think>\nok\n</think>\n\n3', finishReason: 'stop', completionTokens: 6 });
  });
});

describe('openai spec and retry rules', () => {
  it('parses the base URL, the model and options', () => {
    expect(parseOpenAISpec('http://h:1/v1/#Qwen/Qwen3-8B&api=completions&stream=1&temperature=0.6')).toEqual({
      baseURL: 'http://h:1/v1',
      model: 'Qwen/Qwen3-8B',
      api: 'completions',
      stream: true,
      temperature: 0.6,
    });
    expect(() => parseOpenAISpec('h:1')).toThrow(/http/);
    expect(() => parseOpenAISpec('http://h#m&bogus=1')).toThrow(/bogus/);
  });

  it('honours Retry-After in seconds and as a date, caps it, and otherwise backs off exponentially', () => {
    const o = { retryBaseMs: 100, retryMaxMs: 5000 };
    expect(retryDelayMs(0, new Headers({ 'retry-after': '2' }), o)).toBe(2000);
    expect(retryDelayMs(0, new Headers({ 'retry-after': '600' }), o)).toBe(5000);
    expect(retryDelayMs(0, new Headers({ 'retry-after': new Date(10_000).toUTCString() }), o, 9_000)).toBe(1000);
    expect([0, 1, 2, 3].map((a) => retryDelayMs(a, undefined, o))).toEqual([100, 200, 400, 800]);
  });
});
