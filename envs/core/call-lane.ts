/**
 * What the two tool-call lanes share: the HTTP 2026-07-28 lane (modern-call.ts) and the stdio lane
 * (stdio-call.ts) each answer a well-formed `tools/call` straight from the episode router instead of
 * through an SDK server instance, and leave every other message to the SDK. Both take the same
 * shape of request, read the same 2026-07-28 `_meta` envelope and encode a 2026-07-28 result the way
 * the SDK's codec does; those pieces live here, once.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
} from '@modelcontextprotocol/server';
import type { SessionResult, SessionTool } from './session.js';

/** The revision of the sessionless era the lanes serve. */
export const MODERN_REVISION = '2026-07-28';

/** A `tools/call` a lane accepted: what it runs. */
export interface LaneCall {
  id: string | number;
  tool: SessionTool;
  args: Record<string, unknown>;
}

/** The keys a JSON-RPC request may have (the SDK's request schema is strict about them). */
const BODY_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
/** The `_meta` keys of a plain 2026-07-28 envelope: no progress token, no log level, nothing else. */
const ENVELOPE_KEYS = new Set([PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY]);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function hasOnlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const k in o) if (!allowed.has(k)) return false;
  return true;
}

/**
 * The parts of `body` when it is a single JSON-RPC 2.0 request of method `tools/call` with a string
 * or safe-integer id, whose params have no key outside `paramKeys`, a string `name` and an object
 * `arguments`; undefined for anything else (a lane leaves that to the SDK).
 */
export function wellFormedCall(
  body: unknown,
  paramKeys: ReadonlySet<string>,
): { id: string | number; name: string; args: Record<string, unknown>; params: Record<string, unknown> } | undefined {
  if (!isPlainObject(body) || body.method !== 'tools/call' || body.jsonrpc !== '2.0' || !hasOnlyKeys(body, BODY_KEYS))
    return undefined;
  const id = body.id;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  const params = body.params;
  if (!isPlainObject(params) || !hasOnlyKeys(params, paramKeys)) return undefined;
  const { name, arguments: args } = params;
  if (typeof name !== 'string' || !isPlainObject(args)) return undefined;
  return { id, name, args, params };
}

/**
 * Whether `meta` is an envelope a lane may take: an object of only the protocol version, client
 * info and client capabilities, naming 2026-07-28. The envelope's full validation stays the SDK's
 * (each lane asks its `classifyInboundRequest`); this is the cheap screen in front of it.
 */
export function isLaneEnvelope(meta: unknown): meta is Record<string, unknown> {
  return isPlainObject(meta) && meta[PROTOCOL_VERSION_META_KEY] === MODERN_REVISION && hasOnlyKeys(meta, ENVELOPE_KEYS);
}

/**
 * A router result as the SDK's 2026-07-28 codec encodes a `tools/call` result: `resultType:
 * "complete"` added and the server's identity stamped into `_meta`
 * (`io.modelcontextprotocol/serverInfo`).
 */
export function modernResult(r: SessionResult, serverInfo: { name: string; version: string }): Record<string, unknown> {
  return { ...r, _meta: { ...r._meta, [SERVER_INFO_META_KEY]: serverInfo }, resultType: 'complete' };
}
