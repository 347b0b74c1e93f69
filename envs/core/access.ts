/**
 * Who may talk to a network-facing gym server: the `Host` and `Origin` allow-lists (DNS-rebinding
 * protection) and the bearer token, as one policy built from the server's options. Streamable HTTP
 * (http.ts) checks every request with it and the ws transport (ws.ts) its upgrade requests: loopback names and origins are always accepted, a bind host is accepted as a
 * Host name, a wildcard bind with no `allowedHosts` checks no Host (the token guards instead), and a
 * non-loopback bind needs a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ServerConfigError } from './errors.js';

export interface AccessOptions {
  /** The interface the server binds. */
  host: string;
  token?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

/** A refusal: the HTTP status to answer with and a message that says what to do. */
export interface Refusal {
  status: 401 | 403;
  message: string;
}

export interface AccessPolicy {
  /** The Host header (DNS-rebinding protection): undefined when allowed. */
  checkHost(host: string | undefined): Refusal | undefined;
  /** The Origin header, when a browser sent one: undefined when allowed. */
  checkOrigin(origin: string | undefined): Refusal | undefined;
  /** The Authorization header against the bearer token (always allowed without one). */
  checkToken(authorization: string | undefined): Refusal | undefined;
  /** The three checks in that order: undefined when the request may go on. */
  check(headers: { host?: string; origin?: string; authorization?: string }): Refusal | undefined;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return LOOPBACK_NAMES.includes(h) || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `host[:port]` from a Host header: the lower-cased name part (IPv6 keeps its brackets). */
export function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Throws `ServerConfigError` for an unsafe combination (a public bind without a token). */
export function accessPolicy(opts: AccessOptions, flag = '--token'): AccessPolicy {
  const loopback = isLoopbackHost(opts.host);
  const token = opts.token || undefined;
  if (!loopback && !token) {
    throw new ServerConfigError(
      `Binding ${opts.host} exposes the gym beyond this machine: pass a bearer token (${flag} or GYM_TOKEN), or bind 127.0.0.1.`,
    );
  }
  const digest = token ? sha256(token) : undefined;
  const allowedHosts = new Set([...LOOPBACK_NAMES, ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  if (!loopback && !isWildcardHost(opts.host)) allowedHosts.add(opts.host.toLowerCase());
  const checkHost = loopback || !isWildcardHost(opts.host) || (opts.allowedHosts?.length ?? 0) > 0;
  const allowedOrigins = new Set((opts.allowedOrigins ?? []).map((o) => o.replace(/\/$/, '').toLowerCase()));
  const originAllowed = (origin: string): boolean => {
    const o = origin.replace(/\/$/, '').toLowerCase();
    if (allowedOrigins.has(o) || allowedOrigins.has('*')) return true;
    try {
      return isLoopbackHost(new URL(o).hostname);
    } catch {
      return false;
    }
  };
  const checkHostHeader = (host = ''): Refusal | undefined =>
    checkHost && !allowedHosts.has(host.toLowerCase()) && !allowedHosts.has(hostnameOf(host))
      ? { status: 403, message: `Forbidden: Host "${host}" is not allowed (add it with --allow-host).` }
      : undefined;
  const checkOrigin = (origin: string | undefined): Refusal | undefined =>
    origin !== undefined && !originAllowed(origin)
      ? { status: 403, message: `Forbidden: Origin "${origin}" is not allowed (add it with --allow-origin).` }
      : undefined;
  const checkToken = (authorization = ''): Refusal | undefined => {
    if (!digest) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(authorization);
    // Compared as digests: constant time whatever the lengths.
    if (m && timingSafeEqual(sha256(m[1].trim()), digest)) return undefined;
    return { status: 401, message: 'Unauthorized: send "Authorization: Bearer <token>" with the server\'s token.' };
  };
  return {
    checkHost: checkHostHeader,
    checkOrigin,
    checkToken,
    check: (h) => checkHostHeader(h.host) ?? checkOrigin(h.origin) ?? checkToken(h.authorization),
  };
}
