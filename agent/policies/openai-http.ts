/**
 * HTTP plumbing of the OpenAI-compatible policy: JSON POSTs with retries and an SSE reader.
 *
 * Retries: 429 and 5xx (500, 502, 503, 504) and network resets are retried with exponential backoff
 * (base * 2^attempt, capped); a `Retry-After` header (seconds or an HTTP date) or OpenAI's
 * `retry-after-ms` replaces the computed wait. Any other 4xx is the caller's mistake and is thrown at
 * once with the server's message. Every wait and request honours the caller's AbortSignal.
 */

import { ContextLengthError } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface HttpOptions {
  apiKey?: string;
  /** Per-request time limit (ms). */
  timeoutMs: number;
  maxRetries: number;
  /** First backoff wait (ms); doubles per attempt. */
  retryBaseMs: number;
  /** Longest single wait, including a server's Retry-After (ms). */
  retryMaxMs: number;
  headers?: Record<string, string>;
}

export class OpenAIHttpError extends Error {
  override name = 'OpenAIHttpError';
  constructor(
    readonly status: number,
    readonly body: string,
    url: string,
    attempts: number,
  ) {
    super(
      `${url} answered HTTP ${status} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${body.slice(0, 300)}${status === 401 ? ' (set OPENAI_API_KEY)' : status === 404 ? ' (check the base URL: it usually ends in /v1)' : ''}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Pure functions

export const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * How servers say the prompt does not fit the model's window, as an HTTP 400 (413 for some
 * proxies): OpenAI's `context_length_exceeded` code, vLLM's "maximum context length is N tokens",
 * SGLang's "longer than the model's context length", llama.cpp's `exceed_context_size_error` /
 * "exceeds the available context size", Ollama's "input length exceeds the context length".
 */
const CONTEXT_LENGTH_BODY =
  /context_length_exceeded|exceed_context_size|maximum context length|context length|context size|context window|prompt is too long|too many tokens/i;

/** Whether an error response says the conversation no longer fits the model's context window. */
export function isContextLengthResponse(status: number, body: string): boolean {
  return (status === 400 || status === 413) && CONTEXT_LENGTH_BODY.test(body);
}

/** Wait before the next attempt: the server's hint when given, else exponential backoff. */
export function retryDelayMs(
  attempt: number,
  headers: Headers | undefined,
  opts: Pick<HttpOptions, 'retryBaseMs' | 'retryMaxMs'>,
  now = Date.now(),
): number {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.min(opts.retryMaxMs, Math.max(0, Number(ms)));
  const ra = headers?.get('retry-after');
  if (ra) {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.min(opts.retryMaxMs, Math.max(0, secs * 1000));
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.min(opts.retryMaxMs, Math.max(0, at - now));
  }
  return Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** attempt);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function isNetworkError(err: unknown): boolean {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return false;
  return e instanceof TypeError || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET'].includes(e?.cause?.code ?? '');
}

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * POSTs JSON and returns the successful `Response` (body unread, so the caller can stream it).
 * Retries per the rules above; throws `OpenAIHttpError` for a final failure.
 */
export async function postWithRetry(url: string, body: unknown, opts: HttpOptions, signal: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  const payload = JSON.stringify(body);
  for (let attempt = 0; ; attempt++) {
    // A timer the function holds, not `AbortSignal.timeout`: on Node 20 a timeout signal referenced
    // only through `AbortSignal.any` can be garbage-collected before it fires, and the request hangs.
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new DOMException('request timed out', 'TimeoutError')), opts.timeoutMs);
    const reqSignal = AbortSignal.any([signal, timer.signal]);
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: payload, signal: reqSignal });
    } catch (err) {
      clearTimeout(t);
      if (signal.aborted) throw signal.reason ?? err;
      if ((err as Error)?.name === 'TimeoutError') {
        if (attempt >= opts.maxRetries)
          throw new Error(
            `${url} did not answer within ${opts.timeoutMs} ms (${attempt + 1} attempts); raise the timeout or check the server`,
          );
      } else if (!isNetworkError(err) || attempt >= opts.maxRetries) {
        throw err;
      }
      await sleep(retryDelayMs(attempt, undefined, opts), signal);
      continue;
    }
    // The limit covers reading the body too (a stalled stream is cut); unref'd, so a finished
    // request does not keep the process alive until it would have fired.
    t.unref();
    if (res.ok) return res;
    clearTimeout(t);
    const text = await res.text().catch(() => '');
    if (isContextLengthResponse(res.status, text))
      throw new ContextLengthError(`${url} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    if (!RETRY_STATUS.has(res.status) || attempt >= opts.maxRetries)
      throw new OpenAIHttpError(res.status, text, url, attempt + 1);
    await sleep(retryDelayMs(attempt, res.headers, opts), signal);
  }
}

/** Yields the JSON payload of each `data:` event of a server-sent-event stream, until `[DONE]`. */
export async function* readSse(res: Response): AsyncGenerator<unknown> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line === '') {
          // A blank line ends one event; its data lines join with newlines (SSE spec).
          if (data.length > 0) {
            const payload = data.join('\n');
            data = [];
            if (payload === '[DONE]') return;
            yield JSON.parse(payload);
          }
        } else if (line.startsWith('data:')) {
          data.push(line.slice(5).replace(/^ /, ''));
        }
        nl = buf.indexOf('\n');
      }
    }
    if (data.length > 0 && data.join('\n') !== '[DONE]') yield JSON.parse(data.join('\n'));
  } finally {
    reader.releaseLock();
  }
}
