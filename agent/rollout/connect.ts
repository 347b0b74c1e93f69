/**
 * Where an episode's environment lives, and how to reach it over MCP.
 *
 *  - an `EnvDefinition`: a fresh in-memory MCP session per episode (envs/core `connectInMemory`);
 *  - an MCP `Client` already connected (any transport): reused, never closed by the loop;
 *  - a URL (`http://host:port/mcp`), or `{ url, token, revision }`: Streamable HTTP to a remote
 *    `gym serve --http` (bearer token from `token` or `$GYM_TOKEN`): a 2025-11-25 session by default,
 *    or with `revision: '2026-07-28'` the v2 SDK's client pinned to that revision (no session; the
 *    episode handle names each call and rides the `Mcp-Param-Episode` header);
 *  - a `ws://host:port/ws` URL (or `{ url, token }`): the `ws` gym protocol of `gym serve --ws`,
 *    episodes multiplexed on one shared socket (ws-client.ts; the loop opens those itself);
 *  - `{ command, args, revision }`: a stdio `gym serve` child process per episode, spoken to as a
 *    2025-11-25 session by default, or with `revision: '2026-07-28'` by the v2 SDK's client pinned
 *    to that revision (no initialize; each call names its episode by handle);
 *  - a function returning a connected `Client`: called once per episode, the client is closed after.
 */
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectInMemory, type EnvDefinition, isEnvDefinition } from '../../envs/core/index.js';

export type EnvTarget =
  | EnvDefinition
  | Client
  | ModernClient
  | URL
  | string
  | { url: string | URL; token?: string; revision?: McpRevision }
  | { command: string; args?: string[]; env?: Record<string, string>; revision?: McpRevision }
  | (() => Promise<Client | ModernClient>);

/**
 * The MCP protocol revisions a remote http(s) or stdio target can be spoken to in. The default is the one
 * the loop's 2025-era client (`@modelcontextprotocol/sdk`) negotiates: 2025-11-25, a session.
 */
export const MCP_REVISIONS = ['2025-11-25', '2026-07-28'] as const;
export type McpRevision = (typeof MCP_REVISIONS)[number];
export const DEFAULT_MCP_REVISION: McpRevision = '2025-11-25';

export interface Connection {
  client: Client | ModernClient;
  /** Whether the loop opened this client (and so closes it). */
  owned: boolean;
  /** The env definition when in-process (lets the oracle look tasks up). */
  def?: EnvDefinition;
}

export class EnvConnectError extends Error {
  override name = 'EnvConnectError';
}

const CLIENT_INFO = { name: 'toolgym-rollout', version: '0.1.0' };

/** The URL and token of a `ws://` / `wss://` target (the `ws` gym protocol), else undefined. */
export function wsTargetOf(target: EnvTarget): { url: string; token?: string } | undefined {
  const remote =
    target instanceof URL || typeof target === 'string'
      ? { url: target }
      : typeof target === 'object' && target !== null && 'url' in target
        ? target
        : undefined;
  if (!remote || !/^wss?:\/\//i.test(String(remote.url))) return undefined;
  return { url: String(remote.url), token: 'token' in remote ? remote.token : undefined };
}

export async function connectEnv(target: EnvTarget): Promise<Connection> {
  if (target instanceof Client || target instanceof ModernClient) return { client: target, owned: false };
  if (typeof target === 'function') return { client: await target(), owned: true };
  if (isEnvDefinition(target)) return { client: await connectInMemory(target), owned: true, def: target };
  const remote = target instanceof URL || typeof target === 'string' ? { url: target } : 'url' in target ? target : undefined;
  if (remote) {
    if (typeof remote.url === 'string' && !/^https?:\/\//.test(remote.url)) {
      throw new EnvConnectError(
        `"${remote.url}" is not an http(s) or ws(s) URL: pass the URL \`gym serve --http\` or \`gym serve --ws\` printed (e.g. http://127.0.0.1:7777/mcp)`,
      );
    }
    const url = remote.url instanceof URL ? remote.url : new URL(remote.url);
    const headers: Record<string, string> = {};
    const token = ('token' in remote ? remote.token : undefined) ?? process.env.GYM_TOKEN;
    if (token) headers.authorization = `Bearer ${token}`;
    if ('revision' in remote && remote.revision === '2026-07-28') {
      const { StreamableHTTPClientTransport: ModernTransport } = await import('@modelcontextprotocol/client');
      const modern = new ModernClient(CLIENT_INFO, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await modern.connect(new ModernTransport(url, { requestInit: { headers } }));
      return { client: modern, owned: true };
    }
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const client = new Client(CLIENT_INFO);
    await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
    return { client, owned: true };
  }
  if (typeof target === 'object' && target !== null && 'command' in target) {
    const params = { command: target.command, args: target.args ?? [], env: target.env, stderr: 'inherit' as const };
    if (target.revision === '2026-07-28') {
      const { StdioClientTransport: ModernStdio } = await import('@modelcontextprotocol/client/stdio');
      // The v2 client probes a server with `server/discover` before it pins a revision. On the SDK's
      // own stdio transport it spawns a throwaway sibling process for the probe; a subclass probes
      // in place (documented on `versionNegotiation`), so one `gym serve` process per episode, not two.
      class InPlaceProbeStdio extends ModernStdio {}
      const modern = new ModernClient(CLIENT_INFO, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await modern.connect(new InPlaceProbeStdio(params));
      return { client: modern, owned: true };
    }
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const client = new Client(CLIENT_INFO);
    await client.connect(new StdioClientTransport(params));
    return { client, owned: true };
  }
  throw new EnvConnectError(
    `cannot reach environment ${JSON.stringify(String(target))}: pass an EnvDefinition, an MCP Client, an http(s) URL of \`gym serve --http\`, or {command, args} for stdio`,
  );
}
