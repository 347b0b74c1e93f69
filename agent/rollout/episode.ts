/**
 * `runEpisode`: connect to the environment over MCP, start a task, run the episode machine, and
 * return the trajectory. It never throws for a fault inside the episode: a connection, policy or env
 * failure ends the episode `aborted` with its error, so a batch keeps going.
 */
import { createActor } from 'xstate';
import type { EnvDefinition, Split } from '../../envs/core/index.js';
import { mixSeed } from '../../tools/index.js';
import type { ChatTemplate, ThinkingMode } from '../format/index.js';
import type { ChatMessage, Policy, Trajectory, Turn } from '../types.js';
import { type Connection, connectEnv, type EnvTarget, wsTargetOf } from './connect.js';
import { abortReason } from './endings.js';
import { EnvClient, type EpisodeEnv, type StartedEpisode, type TimerClock } from './env-client.js';
import { type RolloutLimitsInput, resolveLimits } from './limits.js';
import { type EpisodeContext, type EpisodeDeps, episodeMachine } from './machine.js';
import { TokenTrack } from './tokens.js';
import { openWsEpisodeClient } from './ws-client.js';

// ---------------------------------------------------------------------------------------------
// Types

export type EpisodeMode = 'think' | 'no_think' | 'mixed';

/**
 * The mode wanted per turn (index 0 = the first assistant turn): an array, or a function of the turn
 * index; `undefined` leaves the mode as it is. Turn 0's flag is stated on the task message, a later
 * turn's is appended as a `/think` or `/no_think` user message after the previous turn's tool results
 * (only when it changes the mode: Qwen3's latest flag wins).
 */
export type ModeSchedule = readonly (ThinkingMode | undefined)[] | ((turn: number) => ThinkingMode | undefined);

export interface EpisodeOptions {
  env: EnvTarget;
  policy: Policy;
  /** Task selection, passed to `gym_start`: a task id, or a seed (index = seed mod split size) and split. */
  taskId?: string;
  seed?: number;
  split?: Split;
  /** Sample index inside a GRPO group (0..G-1): distinct samples of one task draw distinct randomness. */
  sample?: number;
  runId?: string;
  groupId?: string;
  limits?: RolloutLimitsInput;
  /**
   * `think` / `no_think`: the default thinking mode. `mixed`: the mode of each turn is drawn from the
   * episode's seed and sample (`mixedModeSchedule`) and stated as `/think` or `/no_think` soft
   * switches: the first on the task message, later switches as user messages after tool results.
   */
  mode?: EpisodeMode;
  /** An explicit per-turn mode schedule (overrides the one `mixed` draws); flags as described above. */
  modeSchedule?: ModeSchedule;
  /** Aborting ends the episode `aborted` and cancels what is in flight. */
  signal?: AbortSignal;
  /** Scheduler for the wall-time and per-tool timeouts (xstate `Clock`; tests pass a `SimulatedClock`). */
  clock?: TimerClock;
  /** Chat template for token-level policies (default: the policy's own, else Qwen3's). */
  template?: ChatTemplate;
  /** Env id/version for the record when the target does not say (remote servers). */
  envId?: string;
  /**
   * An open MCP session to reuse (one episode at a time; `gym_start` resets it). The batch runner
   * keeps one per worker so a session's server, client and tool list are built once, not per episode.
   */
  session?: EnvSession;
}

/**
 * An open session with the environment, its tool list cached: an MCP session, or an episode client
 * on a shared `ws` gym-protocol socket (a `ws://` URL).
 */
export interface EnvSession {
  env: EpisodeEnv;
  /** The env definition when in-process (lets the oracle look tasks up). */
  def?: EnvDefinition;
  /** Name and version the server gave. */
  server?: { name: string; version: string };
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

const realClock: TimerClock = {
  // Looked up on each call so test fake timers installed later still apply.
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** The mode an episode starts in; `mixed` flips a seeded coin per (seed, sample). */
export function episodeMode(mode: EpisodeMode, seed: number, sample: number): 'think' | 'no_think' {
  if (mode !== 'mixed') return mode;
  return (mixSeed(seed, sample, 'mode') & 1) === 1 ? 'think' : 'no_think';
}

/**
 * `mixed` mode's per-turn schedule: turn 0 is `episodeMode`'s coin, every later turn an independent
 * seeded coin of (seed, sample, turn), so about half the turns after the first switch the mode.
 */
export function mixedModeSchedule(seed: number, sample: number): (turn: number) => ThinkingMode {
  return (turn) =>
    turn === 0 ? episodeMode('mixed', seed, sample) : (mixSeed(seed, sample, 'mode', turn) & 1) === 1 ? 'think' : 'no_think';
}

function scheduleFn(s: ModeSchedule): (turn: number) => ThinkingMode | undefined {
  return typeof s === 'function' ? s : (turn) => s[turn];
}

function withSoftSwitch(messages: ChatMessage[], mode: 'think' | 'no_think'): ChatMessage[] {
  const out = messages.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i].role === 'user') {
      out[i] = { ...out[i], content: `${out[i].content} /${mode}` };
      break;
    }
  }
  return out;
}

function trajectoryMode(turns: readonly Turn[], start: 'think' | 'no_think'): Trajectory['mode'] {
  return turns.some((t) => t.mode !== start) ? 'mixed' : start;
}

// ---------------------------------------------------------------------------------------------
// Sessions

export async function openSession(target: EnvTarget, clock: TimerClock = realClock): Promise<EnvSession> {
  const ws = wsTargetOf(target);
  if (ws) {
    const { env, close } = await openWsEpisodeClient(ws.url, { token: ws.token, clock });
    const { id, version } = env.socket.info.env;
    return { env, server: { name: `toolgym-${id}`, version }, close };
  }
  const conn: Connection = await connectEnv(target);
  return {
    env: new EnvClient(conn.client, clock),
    def: conn.def,
    server: conn.client.getServerVersion(),
    // A caller's own Client is left open.
    close: async () => {
      if (conn.owned) await conn.client.close();
    },
  };
}

/** Closes a session the loop opened. */
export async function closeSession(s: EnvSession | undefined): Promise<void> {
  await s?.close().catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// runEpisode

export async function runEpisode(opts: EpisodeOptions): Promise<Trajectory> {
  const t0 = performance.now();
  const limits = resolveLimits(opts.limits);
  const sample = opts.sample ?? 0;
  const clock = opts.clock ?? realClock;
  let session: EnvSession | undefined = opts.session;
  let started: StartedEpisode | undefined;
  const base = {
    run: opts.runId ?? 'run',
    policy: opts.policy.spec,
    env: opts.envId ?? '',
    envVersion: '',
  };
  try {
    session ??= await openSession(opts.env, clock);
    const { env, def, server } = session;
    const tools = await env.tools(opts.signal);
    started = await env.start({ seed: opts.seed, taskId: opts.taskId, split: opts.split }, opts.signal);
    base.env = def?.id ?? opts.envId ?? started.task.id.split('/')[0] ?? server?.name ?? '';
    base.envVersion = def?.version ?? server?.version ?? '';

    const seed = opts.seed ?? started.task.seed;
    const schedule = opts.modeSchedule
      ? scheduleFn(opts.modeSchedule)
      : opts.mode === 'mixed'
        ? mixedModeSchedule(seed, sample)
        : undefined;
    const defaultThinking = opts.mode === 'think';
    const first = schedule?.(0);
    const startMode: ThinkingMode = first ?? (defaultThinking ? 'think' : 'no_think');
    let messages: ChatMessage[] = started.messages.map((m) => ({ role: m.role, content: m.content }));
    if (first !== undefined) messages = withSoftSwitch(messages, first);

    const tokens = opts.policy.tokenizer
      ? await TokenTrack.create(opts.policy.tokenizer, tools, opts.template ?? opts.policy.chatTemplate)
      : undefined;
    tokens?.start(messages, startMode === 'think');

    const deps: EpisodeDeps = {
      policy: opts.policy,
      env,
      tools,
      limits,
      clock,
      defaultThinking,
      tokens,
      seed: mixSeed(seed, sample),
      episode: { taskId: started.task.id, envId: base.env, sample },
      now: () => performance.now(),
      schedule,
    };
    const ctx = await runMachine(deps, messages, clock, opts.signal);
    return buildTrajectory(opts, base, started, ctx, startMode, t0, tokens);
  } catch (err) {
    return abortedTrajectory(opts, base, started, err, t0);
  } finally {
    if (!opts.session) await closeSession(session);
  }
}

function runMachine(
  deps: EpisodeDeps,
  messages: ChatMessage[],
  clock: TimerClock,
  signal?: AbortSignal,
): Promise<EpisodeContext> {
  return new Promise<EpisodeContext>((resolve, reject) => {
    const actor = createActor(episodeMachine, { input: { deps, messages }, clock: clock as never });
    const onAbort = () => actor.send({ type: 'ABORT', reason: reasonText(signal?.reason) });
    actor.subscribe({
      complete: () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(actor.getSnapshot().context);
      },
      error: (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      },
    });
    actor.start();
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message || reason.name;
  return reason === undefined ? 'aborted by caller' : String(reason);
}

function ids(
  opts: EpisodeOptions,
  base: { run: string; policy: string; env: string; envVersion: string },
  started?: StartedEpisode,
): Trajectory['ids'] {
  const task = started?.task;
  const taskId = task?.id ?? opts.taskId ?? '';
  const seed = opts.seed ?? task?.seed ?? 0;
  const sample = opts.sample ?? 0;
  const group = opts.groupId ?? `${taskId}@${seed}`;
  return {
    run: base.run,
    episode: `${group}#${sample}`,
    group,
    task: taskId,
    family: task?.family ?? '',
    difficulty: task?.difficulty ?? 1,
    split: task?.split ?? opts.split ?? 'train',
    seed,
    sample,
    env: base.env,
    envVersion: base.envVersion,
    policy: base.policy,
  };
}

function buildTrajectory(
  opts: EpisodeOptions,
  base: { run: string; policy: string; env: string; envVersion: string },
  started: StartedEpisode,
  ctx: EpisodeContext,
  startMode: 'think' | 'no_think',
  t0: number,
  tokens?: TokenTrack,
): Trajectory {
  const traj: Trajectory = {
    format: 'toolgym.trajectory/1',
    ids: ids(opts, base, started),
    messages: ctx.messages,
    turns: ctx.turns,
    reward: ctx.scored?.reward ?? 0,
    components: ctx.scored?.components ?? {},
    correct: ctx.scored?.correct ?? false,
    ending: ctx.ending ?? 'aborted',
    reason: ctx.reason || 'unknown',
    metrics: {
      turns: ctx.turns.length,
      toolCalls: ctx.turns.reduce((s, t) => s + t.calls.length, 0),
      invalidCalls: ctx.invalidCalls,
      completionTokens: ctx.usedTokens,
      wallMs: performance.now() - t0,
    },
    mode: trajectoryMode(ctx.turns, startMode),
  };
  if (ctx.contexts.length > 0) traj.contexts = ctx.contexts;
  if (ctx.error !== undefined) traj.error = ctx.error;
  if (ctx.deps.limits.thinkingBudget !== undefined) traj.thinkingBudget = ctx.deps.limits.thinkingBudget;
  if (tokens) Object.assign(traj, tokens.snapshot());
  return traj;
}

function abortedTrajectory(
  opts: EpisodeOptions,
  base: { run: string; policy: string; env: string; envVersion: string },
  started: StartedEpisode | undefined,
  err: unknown,
  t0: number,
): Trajectory {
  const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return {
    format: 'toolgym.trajectory/1',
    ids: ids(opts, base, started),
    messages: (started?.messages ?? []).map((m) => ({ role: m.role, content: m.content })),
    turns: [],
    reward: 0,
    components: {},
    correct: false,
    ending: 'aborted',
    reason: abortReason(started ? 'env' : 'start', error),
    error,
    metrics: { turns: 0, toolCalls: 0, invalidCalls: 0, completionTokens: 0, wallMs: performance.now() - t0 },
    mode: opts.mode === 'think' ? 'think' : 'no_think',
  };
}
