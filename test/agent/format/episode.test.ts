import { describe, expect, it } from 'vitest';
import {
  assistantMessage,
  ChatTemplate,
  ContinuationError,
  continuationText,
  EpisodeTokens,
  modeFor,
  parseAssistant,
  qwen3Tokenizer,
  renderAssistant,
  STOP_THINKING_TEXT,
} from '../../../agent/format/index.js';
import type { ChatMessage, ToolSchemaJson } from '../../../agent/types.js';

const qwen3 = ChatTemplate.qwen3();
const tok = qwen3Tokenizer();

const tools: ToolSchemaJson[] = [
  {
    type: 'function',
    function: {
      name: 'run_code',
      description: 'Run JavaScript.',
      parameters: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
    },
  },
];

const sys: ChatMessage = { role: 'system', content: 'Use the tools.' };
const user: ChatMessage = { role: 'user', content: 'What is 6*7?' };
const callTurn: ChatMessage = {
  role: 'assistant',
  content: '',
  reasoning_content: 'I will compute.',
  tool_calls: [{ type: 'function', function: { name: 'run_code', arguments: { code: '6*7' } } }],
};

describe('continuationText', () => {
  it('gives the tool-response turn and the next generation prompt after a sampled turn', () => {
    const text = continuationText(qwen3, [sys, user, callTurn], [{ role: 'tool', content: '42' }], {
      tools,
      enableThinking: true,
    });
    expect(text).toBe('\n<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n');
  });

  it('folds two tool responses into one user turn and adds the empty think block for a non-thinking turn', () => {
    const text = continuationText(
      qwen3,
      [user, callTurn],
      [
        { role: 'tool', content: 'a' },
        { role: 'tool', content: 'b' },
      ],
      { enableThinking: false },
    );
    expect(text).toBe(
      '\n<|im_start|>user\n<tool_response>\na\n</tool_response>\n<tool_response>\nb\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('is unaffected by earlier turns whose thinking the template drops', () => {
    const history: ChatMessage[] = [
      user,
      { role: 'assistant', content: '42', reasoning_content: 'long thought' },
      { role: 'user', content: 'And 7*8? /no_think' },
      { role: 'assistant', content: '', tool_calls: callTurn.tool_calls },
    ];
    expect(continuationText(qwen3, history, [{ role: 'tool', content: '56' }], { enableThinking: false })).toBe(
      '\n<|im_start|>user\n<tool_response>\n56\n</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('handles a new user message as well as tool output', () => {
    const text = continuationText(
      qwen3,
      [user, { role: 'assistant', content: '42' }],
      [{ role: 'user', content: 'Thanks /think' }],
      {
        enableThinking: true,
      },
    );
    expect(text).toBe('\n<|im_start|>user\nThanks /think<|im_end|>\n<|im_start|>assistant\n');
  });

  it('works with another model family whose template closes turns with a different marker', () => {
    const llamaLike = new ChatTemplate(
      '{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}' +
        '{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}',
      { endOfTurn: '<|eot_id|>' },
    );
    const text = continuationText(llamaLike, [user, { role: 'assistant', content: 'call' }], [{ role: 'tool', content: 'R' }]);
    expect(text).toBe('<|start_header_id|>tool<|end_header_id|>\n\nR<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
  });

  it("gives the same text on Qwen3's turn-local fast path as from rendering the whole history", () => {
    const full = new ChatTemplate(qwen3.source);
    expect(qwen3.localTurns).toBe(true);
    expect(full.localTurns).toBe(false);
    const long: ChatMessage[] = [sys, user];
    for (let i = 0; i < 4; i++) {
      long.push({ ...callTurn, reasoning_content: i % 2 ? '' : `t${i}` }, { role: 'tool', content: `r${i}` });
      if (i === 2)
        long.push(
          { role: 'user', content: 'more /no_think' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'go' },
        );
    }
    long.push(callTurn);
    const histories = [long, long.slice(1), [user, callTurn], [sys, { role: 'assistant', content: 'hi' } as ChatMessage]];
    const news: ChatMessage[][] = [
      [{ role: 'tool', content: 'x' }],
      [
        { role: 'tool', content: 'x' },
        { role: 'tool', content: 'y' },
      ],
      [{ role: 'user', content: 'next' }],
    ];
    for (const h of histories) {
      for (const n of news) {
        for (const enableThinking of [true, false]) {
          for (const t of [undefined, tools]) {
            expect(continuationText(qwen3, h, n, { tools: t, enableThinking })).toBe(
              continuationText(full, h, n, { tools: t, enableThinking }),
            );
          }
        }
      }
    }
  });

  it('refuses a history that does not end with the assistant turn', () => {
    expect(() => continuationText(qwen3, [user], [{ role: 'tool', content: 'x' }])).toThrow(ContinuationError);
  });
});

describe('modeFor', () => {
  it('uses the default when no message carries a flag', () => {
    expect(modeFor([user], true)).toBe('think');
    expect(modeFor([user], false)).toBe('no_think');
  });

  it('lets the latest flag win across turns and within a message', () => {
    const msgs: ChatMessage[] = [
      { role: 'system', content: 'Be brief. /no_think' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2 /no_think ... actually /think' },
    ];
    expect(modeFor(msgs, false)).toBe('think');
    expect(modeFor(msgs.slice(0, 3), true)).toBe('no_think');
  });

  it('ignores flags in tool output and inside paths or longer words', () => {
    expect(modeFor([user, { role: 'tool', content: '/no_think' }], true)).toBe('think');
    expect(modeFor([{ role: 'user', content: 'see docs/think/x and /thinking' }], false)).toBe('no_think');
  });
});

describe('qwen3Tokenizer', () => {
  it('encodes chat markers as single ids and round-trips text', () => {
    for (const t of ['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>', '<tool_response>']) {
      expect(tok.encode(t)).toEqual([tok.specialId(t)]);
    }
    expect(tok.specialId('<|im_end|>')).toBe(151645);
    expect(tok.specialId('not a token')).toBeUndefined();
    const s = '<|im_start|>user\n  café 😀 ,x<|im_end|>\n';
    expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.vocabSize).toBeGreaterThan(151_000);
  });
});

describe('EpisodeTokens', () => {
  // A sampler's ids need not be the canonical tokenisation of their text: split the text in
  // chunks and encode each, so "kept as sampled" is observable.
  const sample = (text: string): number[] => {
    const ids: number[] = [];
    for (let i = 0; i < text.length; i += 5) ids.push(...tok.encode(text.slice(i, i + 5)));
    ids.push(tok.specialId('<|im_end|>') as number);
    return ids;
  };

  it('builds a 3-turn episode as prompt + sampled ids + rendered segments, masking only sampled ids', () => {
    const turns = [
      { thinking: 'Compute it.', content: '', calls: [{ name: 'run_code', arguments: { code: '6*7' } }] },
      { thinking: 'Check it.', content: 'Checking.', calls: [{ name: 'run_code', arguments: { code: '42/7' } }] },
      { thinking: 'Both agree.', content: 'The answer is 42.' },
    ];
    const results = ['42', '6'];
    const messages: ChatMessage[] = [sys, user];
    const ep = EpisodeTokens.start(tok, qwen3, messages, { tools, enableThinking: true });
    const promptIds = tok.encode(qwen3.render(messages, { tools, addGenerationPrompt: true, enableThinking: true }));
    expect(ep.tokens).toEqual(promptIds);

    const expected: number[] = [...promptIds];
    const sampledAt: number[] = [];
    const texts: string[] = [qwen3.render(messages, { tools, addGenerationPrompt: true })];
    turns.forEach((turn, i) => {
      const raw = renderAssistant(turn, { enableThinking: true });
      const ids = sample(raw);
      const logprobs = ids.map((_, j) => -0.01 * (j + 1) - i);
      for (let j = 0; j < ids.length; j++) sampledAt.push(expected.length + j);
      ep.appendSampled(ids, logprobs);
      expected.push(...ids);
      texts.push(`${raw}<|im_end|>`);
      const parsed = parseAssistant(raw, tools);
      expect(parsed.failures).toEqual([]);
      messages.push(assistantMessage(parsed));
      if (i < results.length) {
        const obs: ChatMessage[] = [{ role: 'tool', content: results[i] }];
        const segment = continuationText(qwen3, messages, obs, { tools, enableThinking: true });
        expect(segment.startsWith('\n<|im_start|>user\n<tool_response>\n')).toBe(true);
        ep.appendContinuation(qwen3, messages, obs, { tools, enableThinking: true });
        expected.push(...tok.encode(segment));
        texts.push(segment);
        messages.push(...obs);
      }
    });

    expect(ep.tokens).toEqual(expected);
    expect(ep.mask).toEqual(expected.map((_, k) => (sampledAt.includes(k) ? 1 : 0)));
    expect(ep.mask.filter((m) => m === 1).length).toBe(sampledAt.length);
    ep.logprobs.forEach((lp, k) => {
      if (ep.mask[k] === 0) expect(lp).toBe(0);
      else expect(lp).toBeLessThan(0);
    });
    // The sampled ids are not what re-tokenising the text would give, and were kept anyway.
    const canonical = turns.flatMap((t) => [
      ...tok.encode(renderAssistant(t, { enableThinking: true })),
      tok.specialId('<|im_end|>'),
    ]);
    expect(sampledAt.map((k) => ep.tokens[k])).not.toEqual(canonical);
    expect(tok.decode(ep.tokens)).toBe(texts.join(''));
    // Tool-loop turns keep their thinking, so here the re-render agrees with the incremental text.
    expect(texts.join('')).toBe(`${qwen3.render(messages, { tools })}`.replace(/\n$/, ''));
    expect(ep.toJSON()).toEqual({ tokens: ep.tokens, mask: ep.mask, logprobs: ep.logprobs });
  });

  it('keeps earlier thinking that a re-render would drop once a new user query arrives', () => {
    const messages: ChatMessage[] = [user];
    const ep = EpisodeTokens.start(tok, qwen3, messages, { enableThinking: true });
    const raw1 = renderAssistant({ thinking: 'secret steps', content: '42' }, { enableThinking: true });
    ep.appendSampled(sample(raw1));
    messages.push(assistantMessage(parseAssistant(raw1)));
    const next: ChatMessage[] = [{ role: 'user', content: 'And 7*8? /no_think' }];
    ep.appendContinuation(qwen3, messages, next, { enableThinking: modeFor([...messages, ...next], true) === 'think' });
    messages.push(...next);
    const raw2 = renderAssistant({ content: '56' }, { enableThinking: false });
    ep.appendSampled(sample(raw2));
    messages.push(assistantMessage(parseAssistant(raw2)));

    const decoded = tok.decode(ep.tokens);
    expect(decoded).toBe(
      '<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n<think>\nsecret steps\n</think>\n\n42<|im_end|>\n' +
        '<|im_start|>user\nAnd 7*8? /no_think<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n56<|im_end|>',
    );
    expect(qwen3.render(messages)).not.toContain('secret steps');
  });

  it('closes a turn cut before <|im_end|> and masks the injected stop-thinking text', () => {
    const ep = EpisodeTokens.start(tok, qwen3, [user], { enableThinking: true });
    const n0 = ep.length;
    const thinkIds = tok.encode('<think>\nvery long');
    ep.appendSampled(
      thinkIds,
      thinkIds.map(() => -1),
    );
    const injected = ep.appendText(STOP_THINKING_TEXT);
    expect(tok.decode(injected)).toBe(STOP_THINKING_TEXT);
    const answer = tok.encode('<tool_call>\n{"name": "run_code", "arguments": {"code": "6*7"}}\n</tool_call>');
    ep.appendSampled(
      answer,
      answer.map(() => -2),
    );
    // Stopped by max tokens: no <|im_end|> was sampled, so the loop writes it (mask 0).
    const appended = ep.appendContinuation(qwen3, [user, callTurn], [{ role: 'tool', content: '42' }], { enableThinking: true });
    expect(appended[0]).toBe(tok.specialId('<|im_end|>'));
    expect(tok.decode(appended)).toBe(
      '<|im_end|>\n<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
    const masks = ep.mask.slice(n0);
    expect(masks).toEqual([...thinkIds.map(() => 1), ...injected.map(() => 0), ...answer.map(() => 1), ...appended.map(() => 0)]);
    expect(ep.logprobs.slice(n0 + thinkIds.length, n0 + thinkIds.length + injected.length).every((x) => x === 0)).toBe(true);
  });

  it('rejects logprobs that do not match the sampled ids, and text without a tokenizer', () => {
    const ep = new EpisodeTokens();
    expect(() => ep.appendSampled([1, 2], [0])).toThrow(RangeError);
    ep.appendPrompt([5, 6]);
    ep.appendSampled([7]);
    expect(ep.toJSON()).toEqual({ tokens: [5, 6, 7], mask: [0, 0, 1], logprobs: [0, 0, 0] });
    expect(() => ep.appendText('x')).toThrow(/tokenizer/);
  });
});
