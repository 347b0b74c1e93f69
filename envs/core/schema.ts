/**
 * Tool schemas: zod shape -> JSON Schema (what MCP `tools/list` and chat templates show), the check
 * that every field is described, and argument validation whose message names the offending field.
 */
import { z } from 'zod';
import type { ToolSpec } from './types.js';

export type JsonSchema = Record<string, unknown>;

export type ArgsCheck = { ok: true; args: Record<string, unknown> } | { ok: false; field?: string; message: string };

// ---------------------------------------------------------------------------------------------
// Pure functions

const strictCache = new WeakMap<z.ZodRawShape, z.ZodObject>();
const stripCache = new WeakMap<z.ZodRawShape, z.ZodObject>();

/** The non-strict object, for parsing: zod's compiled fast path; unknown keys are checked by hand. */
function parserFor(shape: z.ZodRawShape): z.ZodObject {
  let schema = stripCache.get(shape);
  if (!schema) {
    schema = z.object(shape);
    stripCache.set(shape, schema);
  }
  return schema;
}

/**
 * Unknown keys are rejected, not dropped: a misspelt parameter must reach the agent as an error.
 * Cached per shape: building a zod object (and its compiled parser) costs far more than a parse.
 */
export function toolArgsSchema(shape: z.ZodRawShape): z.ZodObject {
  let schema = strictCache.get(shape);
  if (!schema) {
    schema = z.object(shape).strict();
    strictCache.set(shape, schema);
  }
  return schema;
}

/** The JSON Schema of a tool's arguments (draft 2020-12, as zod writes it; `$schema` dropped). */
export function toolInputJsonSchema(tool: Pick<ToolSpec<any, any>, 'inputSchema'>): JsonSchema {
  const { $schema: _drop, ...schema } = z.toJSONSchema(toolArgsSchema(tool.inputSchema), { io: 'input' }) as JsonSchema;
  return schema;
}

/**
 * Paths of properties (recursively, through nested objects and array items) that lack a
 * `description`: the policy model reads those words, so every field needs one.
 */
export function undescribedFields(schema: JsonSchema, prefix = ''): string[] {
  const out: string[] = [];
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props) {
    for (const [key, sub] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (typeof sub.description !== 'string' || sub.description.trim() === '') out.push(path);
      out.push(...undescribedFields(sub, path));
    }
  }
  const items = schema.items as JsonSchema | undefined;
  if (items && typeof items === 'object') out.push(...undescribedFields(items, `${prefix}[]`));
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const alts = schema[k] as JsonSchema[] | undefined;
    if (Array.isArray(alts)) for (const alt of alts) out.push(...undescribedFields(alt, prefix));
  }
  return out;
}

/** Problems that make a JSON Schema unusable as an MCP tool input schema. */
export function jsonSchemaProblems(schema: JsonSchema): string[] {
  const problems: string[] = [];
  if (schema.type !== 'object') problems.push(`top-level type must be "object", got ${JSON.stringify(schema.type)}`);
  try {
    JSON.parse(JSON.stringify(schema));
  } catch (err) {
    problems.push(`schema is not JSON-serialisable: ${(err as Error).message}`);
  }
  const props = schema.properties as Record<string, unknown> | undefined;
  if (props !== undefined && (typeof props !== 'object' || props === null)) problems.push('"properties" must be an object');
  const req = schema.required as unknown;
  if (req !== undefined) {
    if (!Array.isArray(req)) problems.push('"required" must be an array');
    else for (const r of req) if (!props || !(r in props)) problems.push(`required field "${r}" is not among the properties`);
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue): { field?: string; message: string } {
  const field = issue.path.length ? issue.path.map(String).join('.') : undefined;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return {
      field: keys[0],
      message: `unexpected parameter${keys.length > 1 ? 's' : ''} ${keys.map((k) => `\`${k}\``).join(', ')}`,
    };
  }
  return { field, message: field ? `\`${field}\`: ${issue.message}` : issue.message };
}

/** Validates raw arguments against a zod shape; the failure message names the field. */
export function checkArgs(toolName: string, shape: z.ZodRawShape, args: unknown): ArgsCheck {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    return { ok: false, message: `Invalid arguments for \`${toolName}\`: arguments must be a JSON object.` };
  }
  const unknown = Object.keys(args).filter((k) => !Object.hasOwn(shape, k));
  const parsed = parserFor(shape).safeParse(args);
  if (parsed.success && unknown.length === 0) {
    return { ok: true, args: parsed.data as Record<string, unknown> };
  }
  const issues = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  if (unknown.length > 0)
    issues.push({
      field: unknown[0],
      message: `unexpected parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}`,
    });
  const msg = issues.map((i) => i.message).join('; ');
  return {
    ok: false,
    field: issues[0]?.field,
    message: `Invalid arguments for \`${toolName}\`: ${msg}. Fix the arguments and call the tool again.`,
  };
}
