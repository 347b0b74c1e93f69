/**
 * `gym serve --env <id>`: serves one environment over MCP, on stdio (default) or Streamable HTTP
 * (`--http HOST:PORT`), and/or over the `ws` gym protocol (`--ws HOST:PORT`). Logs go to stderr: on
 * stdio, stdout is the protocol channel; a network server prints its URL on stdout, one per line.
 */
import { type Command, Option } from 'commander';
import {
  checkReplicaId,
  loadEnvModules,
  MEMORY_ENV_ID,
  MEMORY_ENV_VERSION,
  randomReplicaId,
  ServerConfigError,
  serveHttp,
  serveMemoryStdio,
  serveStdio,
  serveWs,
} from '../../envs/index.js';
import { addEnvOptions, type EnvOptionFlags, envFromFlags, envOptions } from './env-options.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface ServeOptions extends EnvOptionFlags {
  env?: string;
  envModule: string[];
  http?: string;
  ws?: string;
  token?: string;
  allowHost: string[];
  allowOrigin: string[];
  idleTimeout: string;
  maxSteps?: string;
  maxBody?: string;
  maxSessions?: string;
  maxSessionsPerClient?: string;
  maxEpisodes?: string;
  replicaId?: string;
  db?: string;
  /** The earlier spelling of `--task-file`, still accepted. */
  tasks?: string;
}

/** `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` (host defaults to 127.0.0.1). */
export function parseHostPort(spec: string, flag = '--http'): { host: string; port: number } {
  const t = spec.trim();
  const m = /^\d+$/.test(t) ? [t, undefined, undefined, t] : /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(t);
  if (!m) throw new ServerConfigError(`${flag} expects HOST:PORT (e.g. 127.0.0.1:7777), got "${spec}".`);
  const port = Number(m[3]);
  if (port > 65535) throw new ServerConfigError(`port ${port} is out of range.`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ServerConfigError(`${name} must be a positive number, got "${v}".`);
  return n;
}

function positiveInt(name: string, v: string | undefined): number | undefined {
  const n = positive(name, v);
  if (n !== undefined && !Number.isInteger(n)) throw new ServerConfigError(`${name} must be a whole number, got "${v}".`);
  return n;
}

/**
 * Once serving is over the process should end, but an environment may hold handles open (a
 * browser, a worker): give them a moment to close, then exit anyway.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(0), 1000).unref();
}

export function register(program: Command): void {
  const serve = program
    .command('serve')
    .description('Serve an environment over MCP (stdio by default, Streamable HTTP with --http)')
    .option('--env <id>', 'environment id (see `gym envs`)')
    .option('--env-module <path>', 'load environments exported by this module first (repeatable)', collect, [])
    .option('--http <host:port>', 'serve Streamable HTTP on HOST:PORT instead of stdio (e.g. 127.0.0.1:7777)')
    .option('--ws <host:port>', 'also (or instead) serve the ws gym protocol on HOST:PORT (e.g. 127.0.0.1:7778; endpoint /ws)')
    .option('--token <token>', 'bearer token required on every HTTP request (default: $GYM_TOKEN); required off loopback')
    .option('--allow-host <host>', 'also accept this Host header (repeatable)', collect, [])
    .option('--allow-origin <origin>', 'also accept this Origin (repeatable), e.g. http://localhost:6274', collect, [])
    .option('--idle-timeout <seconds>', 'close an HTTP session idle this long', '1800')
    .option('--max-steps <n>', 'steps per episode before it is truncated (default 64)')
    .option('--max-body <bytes>', 'largest HTTP request body (default 4194304)')
    .option('--max-sessions <n>', 'most live HTTP sessions in total; a new one past it gets 503 (default 1000)')
    .option(
      '--max-sessions-per-client <n>',
      'most live HTTP sessions of one client (remote address); a new one past it gets 429 (default 250; behind a proxy, set it to --max-sessions)',
    )
    .option(
      '--replica-id <id>',
      "this process's replica id, the prefix of every episode handle it mints (<id>.<token>): a load balancer routes on it (default: 8 random characters per process)",
    )
    .option('--max-episodes <n>', 'most running episodes; a gym_start past it is answered with an error (default 10000)')
    .option(
      '--db <file>',
      'memory: serve the memory tools over this persistent SQLite store (WAL; survives restarts, shared by concurrent servers) instead of episodes',
    )
    .addOption(new Option('--tasks <file.jsonl>', 'the earlier spelling of --task-file').hideHelp())
    .action(async (opts: ServeOptions) => {
      const loaded = await loadEnvModules(opts.envModule);
      const id = opts.env ?? (loaded.length === 1 ? loaded[0].id : undefined);
      if (!id) throw new ServerConfigError('Pass --env <id> (run `gym envs` to list environments).');
      if (opts.db !== undefined) {
        if (id !== MEMORY_ENV_ID)
          throw new ServerConfigError(
            `--db is the memory environment's persistent store: use it with --env memory, not --env ${id}.`,
          );
        if (opts.http || opts.ws)
          throw new ServerConfigError(
            '--db serves on stdio (one process per agent; several may share the file): drop --http and --ws.',
          );
        const capacity = envOptions(id, opts).capacity;
        const server = await serveMemoryStdio({
          path: opts.db,
          capacity: typeof capacity === 'number' ? capacity : undefined,
          version: MEMORY_ENV_VERSION,
        });
        await server.closed;
        exitSoon();
        return;
      }
      const def = envFromFlags(id, { ...opts, taskFile: opts.taskFile ?? opts.tasks });
      const maxSteps = positive('--max-steps', opts.maxSteps);
      // One replica id for every transport of the process (stdio, HTTP, ws), so handles name it alike.
      const replicaId = opts.replicaId === undefined ? randomReplicaId() : checkReplicaId(opts.replicaId);
      const maxEpisodes = positiveInt('--max-episodes', opts.maxEpisodes);
      if (!opts.http && !opts.ws) {
        const server = await serveStdio(def, { maxSteps, replicaId, maxEpisodes });
        await server.closed;
        exitSoon();
        return;
      }
      const token = opts.token ?? process.env.GYM_TOKEN;
      const closers: Array<() => Promise<void>> = [];
      if (opts.http) {
        const { host, port } = parseHostPort(opts.http);
        const server = await serveHttp(def, {
          host,
          port,
          token,
          allowedHosts: opts.allowHost,
          allowedOrigins: opts.allowOrigin,
          idleTimeoutMs: (positive('--idle-timeout', opts.idleTimeout) ?? 1800) * 1000,
          maxBodyBytes: positive('--max-body', opts.maxBody),
          maxSessions: positiveInt('--max-sessions', opts.maxSessions),
          maxSessionsPerClient: positiveInt('--max-sessions-per-client', opts.maxSessionsPerClient),
          maxSteps,
          replicaId,
          maxEpisodes,
        });
        closers.push(() => server.close());
        process.stdout.write(`${server.url}\n`);
      }
      if (opts.ws) {
        const { host, port } = parseHostPort(opts.ws, '--ws');
        const server = await serveWs(def, {
          host,
          port,
          token,
          allowedHosts: opts.allowHost,
          allowedOrigins: opts.allowOrigin,
          maxMessageBytes: positiveInt('--max-body', opts.maxBody),
          maxSteps,
          replicaId,
        });
        closers.push(() => server.close());
        process.stderr.write(
          `[toolgym] serving environment "${def.id}" v${def.version} over the ws gym protocol at ${server.url}\n`,
        );
        process.stdout.write(`${server.url}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.stderr.write('[toolgym] shutting down\n');
          void Promise.all(closers.map((c) => c())).then(() => resolve());
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      exitSoon();
    });
  addEnvOptions(serve);
}
