/**
 * Episodes as handles: the server mints an `episode` handle at `gym_start`, and every environment
 * tool and `gym_submit` name the episode they act on with it. A 2026-07-28 request has no session,
 * so the handle is the only thread between calls; a 2025-11-25 session or stdio may leave it out
 * and act on its current episode (the last one it started).
 *
 * A handle is `<replicaId>.<token>`: the replica id says which `gym serve` process holds the
 * episode (a load balancer routes on it, and a replica that is handed another's handle says whose
 * it is); the token is 128 bits from `crypto.randomBytes`, base64url, so a handle cannot be guessed.
 * An episode is scoped to the bearer token that started it (when the server has one): the same
 * handle under another token is unknown.
 *
 *   EpisodeTable   one per server process: handle -> live episode, the replica id, idle expiry, a cap
 *   EpisodeRouter  one per connection (an MCP session, stdio, or one 2026-07-28 request): resolves
 *                  a tools/call to an episode and runs it there
 */
import { createHash, randomBytes } from 'node:crypto';
import { ServerConfigError } from './errors.js';
import { EpisodeSession, type EpisodeSessionOptions, type SessionResult, type SessionTool } from './session.js';
import type { EnvDefinition } from './types.js';
import { CONTROL, EPISODE_ARG, type EpisodeMeta, META } from './wire.js';

// ---------------------------------------------------------------------------------------------
// Replica ids and handles

/** A replica id: 1-32 letters, digits, `_` or `-` (no `.`: it ends at the handle's first dot). */
export const REPLICA_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** A short random replica id (8 base64url characters, 48 bits): the default of a process. */
export function randomReplicaId(): string {
  return randomBytes(6).toString('base64url');
}

/** `id` as a replica id, or a `ServerConfigError` saying what is allowed. */
export function checkReplicaId(id: string): string {
  if (!REPLICA_ID_PATTERN.test(id)) {
    throw new ServerConfigError(
      `--replica-id must be 1-32 letters, digits, "_" or "-" (it prefixes episode handles, up to their first "."), got "${id}".`,
    );
  }
  return id;
}

/** Bytes of randomness in a handle's token (128 bits). */
export const HANDLE_TOKEN_BYTES = 16;

/** A fresh handle for `replicaId`: `<replicaId>.<128 random bits, base64url>`. */
export function mintHandle(replicaId: string): string {
  return `${replicaId}.${randomBytes(HANDLE_TOKEN_BYTES).toString('base64url')}`;
}

/** The replica id a handle names, or undefined for a string that is not a handle. */
export function replicaOfHandle(handle: string): string | undefined {
  const dot = handle.indexOf('.');
  if (dot <= 0) return undefined;
  const id = handle.slice(0, dot);
  return REPLICA_ID_PATTERN.test(id) ? id : undefined;
}

/** The scope of a bearer token: its digest (the token itself is not kept), '' without one. */
export function scopeOfToken(token: string | undefined): string {
  return token ? createHash('sha256').update(token).digest('base64url') : '';
}

// ---------------------------------------------------------------------------------------------

export interface EpisodeTableOptions extends EpisodeSessionOptions {
  /** This process's replica id (default: a short random one). */
  replicaId?: string;
  /** An episode with no call for this long is closed and its handle forgotten (default 30 minutes). */
  episodeIdleMs?: number;
  /** Most live episodes (default 10,000): a `gym_start` past it is answered with an error. */
  maxEpisodes?: number;
}

export const DEFAULT_MAX_EPISODES = 10_000;

interface Live {
  session: EpisodeSession;
  scope: string;
  lastActive: number;
  inflight: number;
  /** The episode has ended (its handle is kept a short while, so late calls are told so). */
  ended: boolean;
}

/** How long an ended episode's handle still answers "the episode is over" (at most the idle time). */
export const ENDED_GRACE_MS = 60_000;

/** The live episodes of one server process, by handle. */
export class EpisodeTable {
  readonly def: EnvDefinition;
  readonly replicaId: string;
  readonly maxEpisodes: number;
  readonly episodeIdleMs: number;
  /** A session that never starts: resolves tool names and answers gym_list_tasks. */
  readonly probe: EpisodeSession;
  readonly #live = new Map<string, Live>();
  #ended = 0;
  /** Episodes started per scope by sessionless (2026-07-28) requests: their default seeds. */
  readonly #startedPerScope = new Map<string, number>();
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    def: EnvDefinition,
    readonly opts: EpisodeTableOptions = {},
  ) {
    this.def = def;
    this.replicaId = checkReplicaId(opts.replicaId ?? randomReplicaId());
    this.maxEpisodes = opts.maxEpisodes ?? DEFAULT_MAX_EPISODES;
    if (!Number.isInteger(this.maxEpisodes) || this.maxEpisodes < 1) {
      throw new ServerConfigError(`maxEpisodes must be a positive integer, got ${this.maxEpisodes}.`);
    }
    this.episodeIdleMs = opts.episodeIdleMs ?? 30 * 60_000;
    this.probe = new EpisodeSession(def, opts);
    const clash = def.tools.find((t) => t.name !== undefined && Object.hasOwn(t.inputSchema, EPISODE_ARG));
    if (clash) {
      throw new ServerConfigError(
        `Tool "${clash.name}" of environment "${def.id}" has an argument named "${EPISODE_ARG}", which toolgym reserves for the episode handle: rename it.`,
      );
    }
  }

  /** Handles held (running episodes and recently ended ones). */
  get size(): number {
    return this.#live.size;
  }

  /** Episodes running now (what `maxEpisodes` caps). */
  get running(): number {
    return this.#live.size - this.#ended;
  }

  /** Starts sweeping idle episodes (a server calls it; an in-memory table needs none). */
  startSweeping(): void {
    if (this.#sweeper) return;
    const every = Math.max(20, Math.min(this.episodeIdleMs / 4, 30_000));
    this.#sweeper = setInterval(() => this.sweep(Date.now()), every);
    this.#sweeper.unref();
  }

  /** Closes episodes idle longer than `episodeIdleMs` at time `now`. */
  sweep(now: number): void {
    const endedGrace = Math.min(ENDED_GRACE_MS, this.episodeIdleMs);
    for (const [h, e] of this.#live) {
      if (e.inflight === 0 && now - e.lastActive > (e.ended ? endedGrace : this.episodeIdleMs)) this.drop(h);
    }
  }

  /** The next default seed of a sessionless scope (counts its episodes, as a session does). */
  nextSessionlessIndex(scope: string): number {
    const n = this.#startedPerScope.get(scope) ?? 0;
    this.#startedPerScope.set(scope, n + 1);
    return n;
  }

  /**
   * Starts an episode in `scope`: a fresh `EpisodeSession` under a new handle. The handle is kept
   * only when the start succeeds (a failed start is answered and forgotten).
   */
  async start(scope: string, args: unknown, episodesBefore: number, signal?: AbortSignal): Promise<SessionResult> {
    if (this.running >= this.maxEpisodes) {
      return {
        content: [
          {
            type: 'text',
            text: `Server full: ${this.running} running episodes, the limit (--max-episodes) is ${this.maxEpisodes}. Submit or abandon episodes (idle ones expire), or use another replica.`,
          },
        ],
        isError: true,
        _meta: { [META.step]: 0, [META.terminated]: false, [META.truncated]: false },
      };
    }
    const handle = mintHandle(this.replicaId);
    const session = new EpisodeSession(this.def, this.opts, { handle, episodesBefore });
    const entry: Live = { session, scope, lastActive: Date.now(), inflight: 1, ended: false };
    this.#live.set(handle, entry);
    try {
      const r = await session.run(this.probe.tool(CONTROL.gym_start)!, args, signal);
      if (session.state !== 'running') {
        this.drop(handle);
        // A failed start is forgotten: its result names no handle.
        delete r._meta[META.handle];
      }
      return r;
    } finally {
      entry.inflight--;
      entry.lastActive = Date.now();
    }
  }

  /** Runs `tool` in the episode `handle` names, if it is live in `scope`; undefined if not. */
  async run(
    handle: string,
    scope: string,
    tool: SessionTool,
    args: unknown,
    signal?: AbortSignal,
  ): Promise<SessionResult | undefined> {
    const e = this.#live.get(handle);
    if (!e || e.scope !== scope) return undefined;
    e.inflight++;
    e.lastActive = Date.now();
    try {
      return await e.session.run(tool, args, signal);
    } finally {
      e.inflight--;
      e.lastActive = Date.now();
      if (!e.ended && e.session.state !== 'running' && this.#live.get(handle) === e) {
        e.ended = true;
        this.#ended++;
      }
    }
  }

  /** The episode `handle` names in `scope` (for tests and the session's current-episode view). */
  get(handle: string, scope: string): EpisodeSession | undefined {
    const e = this.#live.get(handle);
    return e && e.scope === scope ? e.session : undefined;
  }

  /** Closes one episode and forgets its handle. */
  drop(handle: string): void {
    const e = this.#live.get(handle);
    if (!e) return;
    this.#live.delete(handle);
    if (e.ended) this.#ended--;
    void e.session.close().catch(() => undefined);
  }

  /** The answer to a call naming a handle this table does not hold (in that scope). */
  unknownHandle(handle: string): SessionResult {
    const owner = replicaOfHandle(handle);
    const meta: EpisodeMeta = { [META.step]: 0, [META.terminated]: false, [META.truncated]: false, [META.handle]: handle };
    let text: string;
    if (owner && owner !== this.replicaId) {
      // The episode lived on another replica (gone, or the request was routed past it): it is lost.
      meta[META.aborted] = true;
      text = `Episode ${handle} belongs to replica "${owner}", but this is replica "${this.replicaId}": replica "${owner}" is gone or the request was routed past it, so the episode is aborted. Call gym_start to begin a new episode.`;
    } else {
      text = `Unknown episode "${handle}": it expired, was closed, or was started with another bearer token. Call gym_start to begin a new episode and pass the handle it returns as "${EPISODE_ARG}".`;
    }
    return { content: [{ type: 'text', text }], isError: true, _meta: meta };
  }

  /** Closes every episode and stops sweeping. */
  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const all = [...this.#live.values()];
    this.#live.clear();
    this.#ended = 0;
    await Promise.all([this.probe.close(), ...all.map((e) => e.session.close().catch(() => undefined))]);
  }
}

// ---------------------------------------------------------------------------------------------

export interface RouterOptions {
  /** The bearer-token scope of this connection's requests (`scopeOfToken`). */
  scope?: string;
  /**
   * A session (a 2025-11-25 MCP session, stdio, in-memory): calls may leave `episode` out and act
   * on the current episode. Without one (a 2026-07-28 request) `episode` is required.
   */
  session?: boolean;
}

/**
 * One connection's view of the table. On a session, `gym_start` makes the new episode current (a
 * call without `episode` acts on it); the session's other episodes stay live, by handle, until each
 * ends or expires. Closing a session closes the episodes it started.
 */
export class EpisodeRouter {
  readonly scope: string;
  readonly session: boolean;
  #current: string | undefined;
  #started = 0;
  readonly #mine = new Set<string>();

  constructor(
    readonly table: EpisodeTable,
    opts: RouterOptions = {},
  ) {
    this.scope = opts.scope ?? '';
    this.session = opts.session ?? true;
  }

  /** The tool `name` names, or undefined. */
  tool(name: string): SessionTool | undefined {
    return this.table.probe.tool(name);
  }

  /** The current episode of this session (the last one started), if it is still live. */
  get current(): EpisodeSession | undefined {
    return this.#current ? this.table.get(this.#current, this.scope) : undefined;
  }

  /** Runs one resolved tool call; never throws for bad input (the result says what went wrong). */
  async run(tool: SessionTool, rawArgs: unknown, signal?: AbortSignal): Promise<SessionResult> {
    const args = rawArgs && typeof rawArgs === 'object' && !Array.isArray(rawArgs) ? (rawArgs as Record<string, unknown>) : {};
    if (tool.kind === 'control' && tool.name === CONTROL.gym_list_tasks) return this.table.probe.run(tool, args, signal);
    if (tool.kind === 'control' && tool.name === CONTROL.gym_start) return this.#start(args, signal);
    const { [EPISODE_ARG]: given, ...rest } = args;
    if (given !== undefined && (typeof given !== 'string' || given === '')) {
      return this.#error(`"${EPISODE_ARG}" must be the handle string gym_start returned, got ${JSON.stringify(given)}.`);
    }
    let handle = given as string | undefined;
    if (handle === undefined && this.session) handle = this.#current;
    else if (handle === undefined)
      return this.#error(
        `Pass "${EPISODE_ARG}", the handle gym_start returned: a request without an MCP session names its episode.`,
      );
    if (handle === undefined) {
      // No episode yet on this session: the probe answers as a fresh session did ("call gym_start first").
      return this.table.probe.run(tool, rest, signal);
    }
    return (await this.table.run(handle, this.scope, tool, rest, signal)) ?? this.table.unknownHandle(handle);
  }

  async #start(args: Record<string, unknown>, signal?: AbortSignal): Promise<SessionResult> {
    const before = this.session ? this.#started : this.table.nextSessionlessIndex(this.scope);
    const r = await this.table.start(this.scope, args, before, signal);
    const handle = r._meta[META.handle];
    if (this.session && !r.isError) this.#started++;
    if (this.session && handle && this.table.get(handle, this.scope)) {
      this.#current = handle;
      this.#mine.add(handle);
    }
    return r;
  }

  #error(text: string): SessionResult {
    return {
      content: [{ type: 'text', text }],
      isError: true,
      _meta: { [META.step]: 0, [META.terminated]: false, [META.truncated]: false },
    };
  }

  /** Closes the episodes this session started (a sessionless router holds none). */
  close(): void {
    for (const h of this.#mine) this.table.drop(h);
    this.#mine.clear();
    this.#current = undefined;
  }
}
