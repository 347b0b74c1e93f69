/**
 * An HAProxy configuration for N `gym serve --http` replicas (README, Deployment):
 *   npx tsx scripts/haproxy-config.ts --bind 0.0.0.0:8080 r1=10.0.0.11:7777 r2=10.0.0.12:7777 > gym.cfg
 *
 * Routing is by prefix, with no state in the balancer. Every id a replica mints starts with its
 * replica id (`gym serve --replica-id`): a 2026-07-28 episode handle (`<replicaId>.<token>`, sent by
 * clients in `Mcp-Param-Episode`) and a 2025-11-25 session id (`<replicaId>.<uuid>`, in
 * `Mcp-Session-Id`). A request that carries one goes to that replica's own backend; one that carries
 * neither (initialize, gym_start, tools/list, server/discover) to any live replica (round robin, TCP
 * health checks, redispatched past a replica that refuses the connection).
 *
 * Why prefixes rather than a stick table: a handle or session id routes the same through any number
 * of balancers, across a balancer restart or reload, and with no table to fill or expire; and when a
 * replica is down its backend answers a JSON-RPC error that names it ("replica r2 is unavailable"),
 * so the client's episode ends `aborted` with a message that says which replica went away, instead of
 * landing on another replica that knows nothing of it.
 */
import { pathToFileURL } from 'node:url';

export interface Replica {
  /** Its `--replica-id`: letters, digits, `-` and `_`. */
  id: string;
  host: string;
  port: number;
}

export interface HaproxyConfigOptions {
  /** What the balancer listens on, e.g. `127.0.0.1:8080`. */
  bind: string;
  replicas: readonly Replica[];
  /** Most connections the balancer holds (default 50,000). */
  maxconn?: number;
  /** Health-check interval in ms (default 1,000). */
  checkIntervalMs?: number;
  /** Idle timeout of client and server connections in seconds (default 300: an agent may think long). */
  timeoutSeconds?: number;
}

const REPLICA_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The JSON-RPC error body a down replica's backend answers with (503). */
export function unavailableBody(id: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32000,
      message: `replica ${id} is unavailable (down or unreachable): the episodes and sessions it held are lost; start new ones (new ones go to live replicas)`,
    },
  });
}

/** The configuration text. */
export function haproxyConfig(opts: HaproxyConfigOptions): string {
  if (opts.replicas.length === 0) throw new Error('haproxyConfig: give at least one replica');
  for (const r of opts.replicas) {
    if (!REPLICA_ID.test(r.id)) throw new Error(`replica id "${r.id}" must be 1-32 letters, digits, - or _`);
  }
  const inter = opts.checkIntervalMs ?? 1000;
  const timeout = opts.timeoutSeconds ?? 300;
  const server = (r: Replica, extra = ''): string =>
    `  server ${r.id} ${r.host}:${r.port} check inter ${inter} fall 1 rise 2${extra}`;
  const lines = [
    '# toolgym: gym serve --http replicas behind HAProxy, routed by the replica id that prefixes',
    '# episode handles (Mcp-Param-Episode, 2026-07-28) and session ids (Mcp-Session-Id, 2025-11-25).',
    'global',
    `  maxconn ${opts.maxconn ?? 50_000}`,
    '',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 2s',
    `  timeout client ${timeout}s`,
    `  timeout server ${timeout}s`,
    `  timeout http-keep-alive ${timeout}s`,
    '  retries 2',
    '',
    'frontend gym',
    `  bind ${opts.bind}`,
    '  # The replica a request belongs to: the part of its handle or session id before the first dot.',
    '  http-request set-var(txn.replica) req.hdr(mcp-param-episode),field(1,.) if { req.hdr(mcp-param-episode) -m found }',
    '  http-request set-var(txn.replica) req.hdr(mcp-session-id),field(1,.) if !{ var(txn.replica) -m found } { req.hdr(mcp-session-id) -m found }',
    ...opts.replicas.map((r) => `  use_backend replica_${r.id} if { var(txn.replica) -m str ${r.id} }`),
    '  default_backend any_replica',
    '',
    '# New sessions and episodes: any live replica.',
    'backend any_replica',
    '  balance roundrobin',
    '  option redispatch',
    ...opts.replicas.map((r) => server(r)),
    '',
    ...opts.replicas.flatMap((r) => [
      `backend replica_${r.id}`,
      server(r),
      // HAProxy's own 503 (no server up, or the connection refused) names the replica.
      `  http-error status 503 content-type application/json string '${unavailableBody(r.id)}'`,
      '',
    ]),
  ];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Command line

function main(argv: string[]): void {
  let bind = '127.0.0.1:8080';
  const replicas: Replica[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--bind') bind = argv[++i] ?? bind;
    else {
      const m = /^([^=]+)=(.+):(\d+)$/.exec(a);
      if (!m) throw new Error(`expected <replicaId>=<host>:<port>, got "${a}"`);
      replicas.push({ id: m[1] as string, host: m[2] as string, port: Number(m[3]) });
    }
  }
  process.stdout.write(haproxyConfig({ bind, replicas }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));
