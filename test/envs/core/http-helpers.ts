/** Raw HTTP helpers for the Streamable HTTP tests (node:http, so Host and Origin can be set freely). */
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export function raw(
  url: string,
  opts: { method?: string; body?: string | Buffer; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: opts.method ?? 'POST',
        // another loopback source address (127.0.0.2, ...) is another client to the session caps
        localAddress: opts.localAddress,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
      },
    );
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } },
});

export async function httpClient(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/** A tool result as these tests read it. */
export type Result = {
  content: Array<{ text?: string }>;
  isError?: boolean;
  structuredContent?: any;
  _meta?: Record<string, unknown>;
};
export const text = (r: unknown): string => (r as Result).content.map((c) => c.text ?? '').join('\n');
/** The sum of the numbers in an arithmetic task prompt (the oracle answer). */
export const sumOf = (prompt: string): number =>
  prompt
    .match(/\d+/g)!
    .map(Number)
    .reduce((a, b) => a + b, 0);
