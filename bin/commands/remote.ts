/**
 * The remote-environment flags of `rollout` and `eval`: `--url` (a `gym serve --http` MCP endpoint,
 * or `gym serve --ws`'s ws:// URL) and `--mcp-revision` (which MCP protocol revision to speak to an
 * http(s) endpoint), turned into the rollout loop's target.
 */
import { type Command, Option } from 'commander';
import { DEFAULT_MCP_REVISION, type EnvTarget, MCP_REVISIONS, type McpRevision } from '../../agent/index.js';

export interface RemoteFlags {
  url?: string;
  mcpRevision?: string;
}

/** A remote flag that cannot be honoured (the message says what to pass instead). */
export class RemoteFlagError extends Error {
  override name = 'RemoteFlagError';
}

/** Adds `--mcp-revision` to a command that has `--url`. */
export function addRevisionOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      '--mcp-revision <revision>',
      `MCP revision to speak to an http(s) --url: ${MCP_REVISIONS.join(' (a session) or ')} (no session; episode handles); default ${DEFAULT_MCP_REVISION}`,
    ),
  );
}

/** The rollout loop's target for the flags, or undefined without `--url`. */
export function remoteTarget(flags: RemoteFlags): EnvTarget | undefined {
  const revision = flags.mcpRevision;
  if (revision !== undefined && !(MCP_REVISIONS as readonly string[]).includes(revision))
    throw new RemoteFlagError(`--mcp-revision must be ${MCP_REVISIONS.join(' or ')}, got "${revision}".`);
  if (flags.url === undefined) {
    if (revision !== undefined)
      throw new RemoteFlagError('--mcp-revision applies to a remote server: pass --url http://host:port/mcp too.');
    return undefined;
  }
  if (/^wss?:\/\//i.test(flags.url)) {
    if (revision !== undefined)
      throw new RemoteFlagError(
        '--mcp-revision applies to MCP over http(s); a ws:// URL speaks the ws gym protocol: drop --mcp-revision.',
      );
    return flags.url;
  }
  return { url: flags.url, revision: (revision as McpRevision | undefined) ?? DEFAULT_MCP_REVISION };
}
