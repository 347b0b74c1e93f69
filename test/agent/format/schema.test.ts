import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { validateArguments } from '../../../agent/format/index.js';

const schemaOf = (s: z.ZodType, io: 'input' | 'output' = 'output') => z.toJSONSchema(s, { io }) as Record<string, unknown>;

const searchArgs = z.object({
  query: z.string().min(1).describe('What to search for'),
  k: z.number().int().min(1).max(20).optional().describe('How many results'),
  mode: z.enum(['bm25', 'dense']).optional().describe('Ranking'),
  filters: z
    .object({ year: z.number().int().nullable().describe('Year'), tags: z.array(z.string()).max(3).describe('Tags') })
    .optional()
    .describe('Filters'),
});

const kindsOf = (args: Record<string, unknown>, schema = schemaOf(searchArgs)) =>
  validateArguments(args, schema).map((i) => `${i.kind}@${i.field}`);

describe('validateArguments on schemas made by zod', () => {
  it('accepts valid arguments, optional fields left out', () => {
    expect(kindsOf({ query: 'rust' })).toEqual([]);
    expect(kindsOf({ query: 'rust', k: 5, mode: 'dense', filters: { year: null, tags: ['a'] } })).toEqual([]);
  });

  it('names a missing required argument', () => {
    expect(kindsOf({ k: 3 })).toEqual(['schema_missing_required@query']);
    expect(kindsOf({ query: 'x', filters: { tags: [] } })).toEqual(['schema_missing_required@filters.year']);
  });

  it('names an unexpected argument, also when the schema leaves additionalProperties unset', () => {
    expect(kindsOf({ query: 'x', top_k: 3 })).toEqual(['schema_unexpected_parameter@top_k']);
    expect(kindsOf({ query: 'x', top_k: 3 }, schemaOf(searchArgs, 'input'))).toEqual(['schema_unexpected_parameter@top_k']);
    expect(kindsOf({ a: 1 }, { type: 'object', properties: {}, additionalProperties: true })).toEqual([]);
    expect(kindsOf({ a: 1 }, { type: 'object' })).toEqual([]);
    expect(kindsOf({ a: 'x' }, { type: 'object', additionalProperties: { type: 'number' } })).toEqual(['schema_wrong_type@a']);
  });

  it('names wrong types, including integers, nullables and array items', () => {
    expect(kindsOf({ query: 7 })).toEqual(['schema_wrong_type@query']);
    expect(kindsOf({ query: 'x', k: '5' })).toEqual(['schema_wrong_type@k']);
    expect(kindsOf({ query: 'x', k: 2.5 })).toEqual(['schema_wrong_type@k']);
    expect(kindsOf({ query: 'x', filters: { year: '2020', tags: [] } })).toEqual(['schema_wrong_type@filters.year']);
    expect(kindsOf({ query: 'x', filters: { year: 2020, tags: ['a', 1] } })).toEqual(['schema_wrong_type@filters.tags[1]']);
    expect(kindsOf({ query: 'x', filters: 'recent' })).toEqual(['schema_wrong_type@filters']);
  });

  it('names wrong values: enum, bounds, lengths', () => {
    expect(kindsOf({ query: 'x', mode: 'tfidf' })).toEqual(['schema_wrong_value@mode']);
    expect(kindsOf({ query: 'x', k: 0 })).toEqual(['schema_wrong_value@k']);
    expect(kindsOf({ query: 'x', k: 21 })).toEqual(['schema_wrong_value@k']);
    expect(kindsOf({ query: '' })).toEqual(['schema_wrong_value@query']);
    expect(kindsOf({ query: 'x', filters: { year: 1, tags: ['a', 'b', 'c', 'd'] } })).toEqual([
      'schema_wrong_value@filters.tags',
    ]);
  });

  it('reports every issue of one call', () => {
    expect(kindsOf({ k: 'many', extra: true })).toEqual([
      'schema_missing_required@query',
      'schema_wrong_type@k',
      'schema_unexpected_parameter@extra',
    ]);
  });

  it('checks unions by their closest branch, literals, patterns and local refs', () => {
    const u = schemaOf(z.object({ v: z.union([z.string().max(2), z.number()]) }));
    expect(kindsOf({ v: 'ab' }, u)).toEqual([]);
    expect(kindsOf({ v: 3 }, u)).toEqual([]);
    expect(kindsOf({ v: 'abc' }, u)).toEqual(['schema_wrong_value@v']);
    expect(kindsOf({ v: true }, u)).toEqual(['schema_wrong_type@v']);
    const lit = schemaOf(z.object({ op: z.literal('add'), id: z.string().regex(/^[a-f0-9]{4}$/) }));
    expect(kindsOf({ op: 'add', id: 'beef' }, lit)).toEqual([]);
    expect(kindsOf({ op: 'sub', id: 'BEEF' }, lit)).toEqual(['schema_wrong_value@op', 'schema_wrong_value@id']);
    const ref = {
      type: 'object',
      properties: { node: { $ref: '#/$defs/Node' } },
      $defs: { Node: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } },
    };
    expect(kindsOf({ node: { n: 1 } }, ref)).toEqual([]);
    expect(kindsOf({ node: {} }, ref)).toEqual(['schema_missing_required@node.n']);
  });

  it('ignores keywords it does not know and schemas that accept anything', () => {
    expect(kindsOf({ a: 1 }, { type: 'object', properties: { a: { format: 'weird', 'x-extension': 1 } } })).toEqual([]);
    expect(kindsOf({ a: [1, 'x', null] }, { type: 'object', properties: { a: true } })).toEqual([]);
  });
});
