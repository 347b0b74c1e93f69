/**
 * Validates tool-call arguments against a tool's JSON Schema and names each failure by kind.
 *
 * Covers the subset that zod's `toJSONSchema` and MCP servers emit: `type` (or a list of types),
 * `properties` / `required` / `additionalProperties`, `items` / `prefixItems`, `enum` / `const`,
 * numeric and length bounds, `pattern`, `anyOf` / `oneOf` / `allOf`, and local `$ref`s
 * (`#/$defs/...`). Unknown keywords are ignored (never a failure).
 *
 * Strictness: a property not listed in `properties` is unexpected unless the schema says
 * `additionalProperties: true` (or gives it a schema). A tool that wants open objects must say so;
 * a model that invents parameters is exactly the behaviour the evaluator counts.
 */
import type { ParseFailure, ParseFailureKind } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

type Schema = Record<string, unknown>;

export interface SchemaIssue {
  kind: Extract<ParseFailureKind, `schema_${string}`>;
  /** Dotted path of the argument (`query`, `filters.year`, `ids[2]`). */
  field: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  if (t === 'number') return actual === 'number' || actual === 'integer';
  return actual === t;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return isObject(node) ? node : undefined;
}

// ---------------------------------------------------------------------------------------------
// Validator

function validate(v: unknown, schema: unknown, path: string, root: Schema, out: SchemaIssue[], depth: number): void {
  if (!isObject(schema) || depth > 64) return; // `true` / `{}` accept anything; deep recursion stops
  if (typeof schema.$ref === 'string') {
    const target = resolveRef(root, schema.$ref);
    if (target) validate(v, target, path, root, out, depth + 1);
  }
  const field = path || '(arguments)';

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => matchesType(v, t))) {
      out.push({ kind: 'schema_wrong_type', field, message: `\`${field}\` must be ${types.join(' or ')}, got ${typeOf(v)}` });
      return; // further checks on a value of the wrong type only add noise
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => deepEqual(e, v))) {
    out.push({
      kind: 'schema_wrong_value',
      field,
      message: `\`${field}\` must be one of ${schema.enum.map(show).join(', ')}, got ${show(v)}`,
    });
  }
  if ('const' in schema && !deepEqual(schema.const, v)) {
    out.push({ kind: 'schema_wrong_value', field, message: `\`${field}\` must be ${show(schema.const)}, got ${show(v)}` });
  }

  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches) || branches.length === 0) continue;
    const results = branches.map((b) => {
      const issues: SchemaIssue[] = [];
      validate(v, b, path, root, issues, depth + 1);
      return issues;
    });
    if (results.some((r) => r.length === 0)) continue;
    // Report the branch that came closest: one whose type fits, with the fewest issues.
    const fitting = results.filter((r) => !r.some((i) => i.kind === 'schema_wrong_type' && i.field === field));
    const best = (fitting.length > 0 ? fitting : results).reduce((a, b) => (b.length < a.length ? b : a));
    if (fitting.length === 0) {
      const types = results.map((r) => r[0]?.message.match(/must be (.*), got/)?.[1]).filter(Boolean);
      out.push({ kind: 'schema_wrong_type', field, message: `\`${field}\` must be ${types.join(' or ')}, got ${typeOf(v)}` });
    } else {
      out.push(...best);
    }
  }
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf) validate(v, s, path, root, out, depth + 1);

  if (typeof v === 'number') checkNumber(v, schema, field, out);
  if (typeof v === 'string') checkString(v, schema, field, out);
  if (Array.isArray(v)) checkArray(v, schema, path, root, out, depth);
  if (isObject(v)) checkObject(v, schema, path, root, out, depth);
}

function checkNumber(v: number, s: Schema, field: string, out: SchemaIssue[]): void {
  const bad = (why: string) => out.push({ kind: 'schema_wrong_value', field, message: `\`${field}\` ${why}, got ${v}` });
  if (typeof s.minimum === 'number' && v < s.minimum) bad(`must be >= ${s.minimum}`);
  if (typeof s.maximum === 'number' && v > s.maximum) bad(`must be <= ${s.maximum}`);
  if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) bad(`must be > ${s.exclusiveMinimum}`);
  if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) bad(`must be < ${s.exclusiveMaximum}`);
  if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf)) {
    bad(`must be a multiple of ${s.multipleOf}`);
  }
}

function checkString(v: string, s: Schema, field: string, out: SchemaIssue[]): void {
  const bad = (why: string) => out.push({ kind: 'schema_wrong_value', field, message: `\`${field}\` ${why}, got ${show(v)}` });
  const len = [...v].length; // JSON Schema counts code points
  if (typeof s.minLength === 'number' && len < s.minLength) bad(`must have at least ${s.minLength} characters`);
  if (typeof s.maxLength === 'number' && len > s.maxLength) bad(`must have at most ${s.maxLength} characters`);
  if (typeof s.pattern === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(s.pattern, 'u');
    } catch {
      re = undefined; // a pattern JavaScript cannot compile is the schema's problem, not the model's
    }
    if (re && !re.test(v)) bad(`must match /${s.pattern}/`);
  }
}

function checkArray(v: unknown[], s: Schema, path: string, root: Schema, out: SchemaIssue[], depth: number): void {
  const field = path || '(arguments)';
  const bad = (why: string) => out.push({ kind: 'schema_wrong_value', field, message: `\`${field}\` ${why}, got ${v.length}` });
  if (typeof s.minItems === 'number' && v.length < s.minItems) bad(`must have at least ${s.minItems} items`);
  if (typeof s.maxItems === 'number' && v.length > s.maxItems) bad(`must have at most ${s.maxItems} items`);
  const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
  v.forEach((item, i) => {
    const itemSchema = i < prefix.length ? prefix[i] : s.items;
    if (itemSchema === false) {
      out.push({
        kind: 'schema_unexpected_parameter',
        field: join(path, i),
        message: `\`${field}\` allows only ${prefix.length} items`,
      });
    } else if (itemSchema !== undefined) {
      validate(item, itemSchema, join(path, i), root, out, depth + 1);
    }
  });
}

function checkObject(v: Record<string, unknown>, s: Schema, path: string, root: Schema, out: SchemaIssue[], depth: number): void {
  const props = isObject(s.properties) ? s.properties : undefined;
  if (Array.isArray(s.required)) {
    for (const key of s.required as string[]) {
      if (!(key in v)) {
        const f = join(path, key);
        out.push({ kind: 'schema_missing_required', field: f, message: `missing required argument \`${f}\`` });
      }
    }
  }
  const extra = s.additionalProperties;
  for (const [key, value] of Object.entries(v)) {
    const f = join(path, key);
    if (props && key in props) {
      validate(value, props[key], f, root, out, depth + 1);
    } else if (isObject(extra)) {
      validate(value, extra, f, root, out, depth + 1);
    } else if (extra === false || (props !== undefined && extra !== true)) {
      const known = props ? Object.keys(props) : [];
      out.push({
        kind: 'schema_unexpected_parameter',
        field: f,
        message: `unexpected argument \`${f}\`${known.length > 0 ? `; expected one of ${known.map((k) => `\`${k}\``).join(', ')}` : ''}`,
      });
    }
  }
}

/** Every way `args` fails `schema`, each named by kind and argument path (empty when valid). */
export function validateArguments(args: Record<string, unknown>, schema: Record<string, unknown>): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  validate(args, schema, '', schema, out, 0);
  return out;
}

/** Schema issues as parse failures (same kinds, same fields). */
export function issuesToFailures(tool: string, issues: SchemaIssue[]): ParseFailure[] {
  return issues.map((i) => ({ kind: i.kind, field: i.field, message: `${tool}: ${i.message}` }));
}
