import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TURN_CHARS, parseAssistant, renderAssistant, STOP_THINKING_TEXT } from '../../../agent/format/index.js';
import { ParseFailureKindSchema, type ToolSchemaJson } from '../../../agent/types.js';

const tools: ToolSchemaJson[] = [
  {
    type: 'function',
    function: {
      name: 'run_code',
      description: 'Run code.',
      parameters: {
        type: 'object',
        properties: {
          code: { type: 'string', minLength: 1 },
          timeout_ms: { type: 'integer', minimum: 1, maximum: 10000 },
          lang: { type: 'string', enum: ['js', 'py'] },
        },
        required: ['code'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: { name: 'noop', description: 'Does nothing.', parameters: { type: 'object', properties: {} } },
  },
];

const block = (json: string) => `<tool_call>\n${json}\n</tool_call>`;
const kinds = (raw: string, t: ToolSchemaJson[] | undefined = tools) => parseAssistant(raw, t).failures.map((f) => f.kind);

describe('parseAssistant: well-formed turns', () => {
  it('parses thinking, content and two calls of one turn', () => {
    const raw = `<think>\nI should run it.\n</think>\n\nRunning.\n${block('{"name": "run_code", "arguments": {"code": "1+1"}}')}\n${block('{"name": "noop", "arguments": {}}')}`;
    expect(parseAssistant(raw, tools)).toEqual({
      thinking: 'I should run it.',
      content: 'Running.',
      calls: [
        { name: 'run_code', arguments: { code: '1+1' } },
        { name: 'noop', arguments: {} },
      ],
      failures: [],
    });
  });

  it('parses a plain final answer with no think block', () => {
    expect(parseAssistant('The answer is 42.')).toEqual({ content: 'The answer is 42.', calls: [], failures: [] });
  });

  it('reads an empty think block as empty thinking', () => {
    expect(parseAssistant('<think>\n\n</think>\n\n42')).toEqual({ thinking: '', content: '42', calls: [], failures: [] });
  });

  it('keeps the stop-thinking text inside the thinking after a budget stop', () => {
    const parsed = parseAssistant(`<think>\nlong thought${STOP_THINKING_TEXT}42`);
    expect(parsed.failures).toEqual([]);
    expect(parsed.content).toBe('42');
    expect(parsed.thinking).toBe(
      'long thought\n\nConsidering the limited time by the user, I have to give the solution based on the thinking directly now.',
    );
  });

  it('accepts calls without checking names or schemas when no tools are given', () => {
    const parsed = parseAssistant(block('{"name": "anything", "arguments": {"x": 1}}'));
    expect(parsed.calls).toEqual([{ name: 'anything', arguments: { x: 1 } }]);
    expect(parsed.failures).toEqual([]);
  });
});

describe('parseAssistant: every failure has its kind', () => {
  it('reports a tool call that is never closed', () => {
    expect(kinds(`Let me run.\n<tool_call>\n{"name": "noop", "arguments": {}}`)).toEqual(['unclosed_tag']);
    expect(parseAssistant(`Let me run.\n<tool_call>\n{"name": "noop"`).content).toBe('Let me run.');
  });

  it('runs no call of a turn where a call opens inside an open call, even a well-formed inner one', () => {
    const parsed = parseAssistant(`<tool_call>\n{"name": "noop"\n${block('{"name": "noop", "arguments": {}}')}`, tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['nested_call']);
    expect(parsed.failures[0].message).toMatch(/^tool call 1: .*no call of this turn was run/);
    expect(parsed.calls).toEqual([]);
  });

  it('runs none of the well-formed calls before or after a nested call', () => {
    const good = block('{"name": "noop", "arguments": {}}');
    const nest = `<tool_call>\n{"name": "noop",\n${good}`;
    const parsed = parseAssistant(`Working.\n${good}\n${nest}\n${good}`, tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['nested_call']);
    expect(parsed.failures[0].message).toMatch(/^tool call 2:/);
    expect(parsed.calls).toEqual([]);
    expect(parsed.content).toBe('Working.');
  });

  it('reports a nest as one failed call up to the close that balances its first opener', () => {
    const parsed = parseAssistant(`<tool_call>\n<tool_call>\n{}\n</tool_call>\n</tool_call>\nafter`, tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['nested_call']);
    expect(parsed.content).toBe('after');
  });

  it('reports openers repeated to the end of the turn as one nested call (the builtin policy stops there)', () => {
    expect(kinds('<tool_call><tool_call>')).toEqual(['nested_call']);
    expect(kinds('<tool_call>\n{"name": "noop", <tool_call><tool_call>\n{"x"')).toEqual(['nested_call']);
  });

  it('reports a turn over the character limit as oversized before reading any tag or JSON', () => {
    const body = '{"name": "run_code", "arguments": {"code": "x"}}';
    const raw = `<think>\n${'t'.repeat(80)}\n</think>\n\n${block(body)}`;
    const over = parseAssistant(raw, tools, { maxChars: raw.length - 1 });
    expect(over.failures.map((f) => f.kind)).toEqual(['oversized_turn']);
    expect(over.failures[0].message).toContain(`${raw.length} characters`);
    expect(over.calls).toEqual([]);
    const broken = `${block('not json')}${'x'.repeat(50)}`;
    expect(parseAssistant(broken, tools, { maxChars: 40 }).failures.map((f) => f.kind)).toEqual(['oversized_turn']);
    expect(parseAssistant(raw, tools, { maxChars: raw.length }).calls).toEqual([{ name: 'run_code', arguments: { code: 'x' } }]);
  });

  it('applies the default character limit when no limit is given', () => {
    const raw = `${'a'.repeat(DEFAULT_MAX_TURN_CHARS)}!`;
    expect(kinds(raw)).toEqual(['oversized_turn']);
    expect(kinds(raw.slice(1))).toEqual([]);
  });

  it('reports a closing tag without an opening one', () => {
    expect(kinds('done</tool_call>')).toEqual(['unclosed_tag']);
  });

  it('reports invalid JSON, including JSON that is not strict (single quotes, trailing comma)', () => {
    expect(kinds(block('{"name": "noop", "arguments": {}'))).toEqual(['invalid_json']);
    expect(kinds(block("{'name': 'noop', 'arguments': {}}"))).toEqual(['invalid_json']);
    expect(kinds(block('{"name": "noop", "arguments": {},}'))).toEqual(['invalid_json']);
    expect(kinds(block('["noop", {}]'))).toEqual(['invalid_json']);
  });

  it('reports a missing, empty or non-string name', () => {
    expect(kinds(block('{"arguments": {}}'))).toEqual(['missing_name']);
    expect(kinds(block('{"name": "", "arguments": {}}'))).toEqual(['missing_name']);
    expect(kinds(block('{"name": 7, "arguments": {}}'))).toEqual(['non_string_name']);
    expect(kinds(block('{"name": ["noop"], "arguments": {}}'))).toEqual(['non_string_name']);
  });

  it('reports arguments that are not a JSON object (string-encoded, array, null, missing)', () => {
    expect(kinds(block('{"name": "noop", "arguments": "{}"}'))).toEqual(['non_object_arguments']);
    expect(kinds(block('{"name": "noop", "arguments": []}'))).toEqual(['non_object_arguments']);
    expect(kinds(block('{"name": "noop", "arguments": null}'))).toEqual(['non_object_arguments']);
    expect(kinds(block('{"name": "noop"}'))).toEqual(['non_object_arguments']);
  });

  it('reports a call inside the think block and does not execute it', () => {
    const parsed = parseAssistant(`<think>\n${block('{"name": "noop", "arguments": {}}')}\n</think>\n\nNo call here.`, tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['call_in_think']);
    expect(parsed.calls).toEqual([]);
    expect(parsed.content).toBe('No call here.');
  });

  it('reports unbalanced think tags in every arrangement', () => {
    expect(kinds('<think>\nstill thinking')).toEqual(['unbalanced_think']);
    expect(kinds('thought\n</think>\n\nanswer')).toEqual(['unbalanced_think']);
    expect(kinds('<think>\na\n</think>\n\n<think>\nb\n</think>\n\nanswer')).toEqual(['unbalanced_think']);
    expect(kinds('</think> <think> answer')).toEqual(['unbalanced_think']);
    expect(kinds('preamble <think>\nt\n</think>\n\nanswer')).toEqual(['unbalanced_think']);
    expect(kinds('<think>\nt\n</think>\n\nanswer')).toEqual([]);
  });

  it('still finds the answer after a think block that was never opened', () => {
    const parsed = parseAssistant('thought\n</think>\n\nanswer');
    expect(parsed.thinking).toBe('thought');
    expect(parsed.content).toBe('answer');
  });

  it('reports an unknown tool with the names that exist', () => {
    const parsed = parseAssistant(block('{"name": "rm_rf", "arguments": {}}'), tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['unknown_tool']);
    expect(parsed.failures[0].message).toContain('run_code, noop');
  });

  it('splits schema failures into missing, unexpected, wrong type and wrong value', () => {
    expect(kinds(block('{"name": "run_code", "arguments": {}}'))).toEqual(['schema_missing_required']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": "1", "cod": "1"}}'))).toEqual(['schema_unexpected_parameter']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": 1}}'))).toEqual(['schema_wrong_type']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": "1", "timeout_ms": 2.5}}'))).toEqual(['schema_wrong_type']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": "1", "lang": "rust"}}'))).toEqual(['schema_wrong_value']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": "1", "timeout_ms": 0}}'))).toEqual(['schema_wrong_value']);
    expect(kinds(block('{"name": "run_code", "arguments": {"code": ""}}'))).toEqual(['schema_wrong_value']);
    const f = parseAssistant(block('{"name": "run_code", "arguments": {"code": 1}}'), tools).failures[0];
    expect(f.field).toBe('code');
  });

  it('reports an empty turn, with or without an empty think block', () => {
    expect(kinds('')).toEqual(['empty_turn']);
    expect(kinds('  \n ')).toEqual(['empty_turn']);
    expect(kinds('<think>\nonly thinking\n</think>\n\n')).toEqual(['empty_turn']);
  });

  it('records each failure of a turn with several bad calls and keeps the valid ones', () => {
    const raw = [
      block('{"name": "run_code", "arguments": {"code": "ok"}}'),
      block('{"name": "ghost", "arguments": {}}'),
      block('not json'),
      block('{"name": "noop", "arguments": {}}'),
    ].join('\n');
    const parsed = parseAssistant(raw, tools);
    expect(parsed.failures.map((f) => f.kind)).toEqual(['unknown_tool', 'invalid_json']);
    expect(parsed.calls.map((c) => c.name)).toEqual(['run_code', 'noop']);
    expect(parsed.content).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const TAGS = ['<think>', '</think>', '<tool_call>', '</tool_call>'];
const noTags = (s: string) => !TAGS.some((t) => s.includes(t));
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter(noTags);
const jsonValue = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  .filter((v) => noTags(JSON.stringify(v)));
const call = fc.record({
  name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/),
  arguments: fc.dictionary(fc.string({ maxLength: 8 }).filter(noTags), jsonValue, { maxKeys: 4 }),
});

describe('parseAssistant: properties', () => {
  it('parses a rendered thinking turn back to the same turn', () => {
    const turn = fc
      .record({
        thinking: text.filter((s) => !s.startsWith('\n') && !s.endsWith('\n')),
        content: text.filter((s) => !s.startsWith('\n')),
        calls: fc.array(call, { maxLength: 3 }),
      })
      .filter((t) => t.calls.length > 0 || t.content.trim() !== '');
    fc.assert(
      fc.property(turn, (t) => {
        expect(parseAssistant(renderAssistant(t, { enableThinking: true }))).toEqual({ ...t, failures: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('parses a rendered non-thinking turn back to the same turn', () => {
    const turn = fc
      .record({ content: text, calls: fc.array(call, { maxLength: 3 }) })
      .filter((t) => t.calls.length > 0 || t.content.trim() !== '');
    fc.assert(
      fc.property(turn, (t) => {
        expect(parseAssistant(renderAssistant(t, { enableThinking: false }))).toEqual({ ...t, failures: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('never throws and always returns a well-formed result on arbitrary strings', () => {
    const fragment = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        ...TAGS,
        '\n',
        '{',
        '}',
        '"',
        '{"name": "run_code", "arguments": {"code": 1}}',
        '{"name": "noop", "arguments": {}}',
      ),
    );
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(fragment, { maxLength: 12 }).map((a) => a.join('')),
    );
    const known = new Set<string>(ParseFailureKindSchema.options);
    fc.assert(
      fc.property(raw, (s) => {
        for (const t of [undefined, tools]) {
          const parsed = parseAssistant(s, t);
          expect(typeof parsed.content).toBe('string');
          expect(Array.isArray(parsed.calls)).toBe(true);
          for (const f of parsed.failures) expect(known.has(f.kind)).toBe(true);
          // A turn with neither an answer, a call nor a named failure does not exist.
          expect(parsed.calls.length > 0 || parsed.content.trim() !== '' || parsed.failures.length > 0).toBe(true);
          // A nest of calls voids the turn: no call of it ever runs.
          if (parsed.failures.some((f) => f.kind === 'nested_call')) expect(parsed.calls).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });
});
