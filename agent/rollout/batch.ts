/**
 * `runBatch`: many episodes concurrently, in GRPO groups.
 *
 * Each task is one group of `groupSize` episodes that share the task and its seed (same sandbox,
 * same tool results) and differ only in their sample index 0..G-1, from which the policy's sampling
 * randomness is derived. Episodes are written to the JSONL file as each one finishes; one failing
 * episode never stops the batch (it ends `aborted` with its error).
 */

import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { isEnvDefinition, type Split } from '../../envs/core/index.js';
import type { ChatTemplate } from '../format/index.js';
import { TrajectoryWriter } from '../trajectory/index.js';
import type { Policy, Trajectory } from '../types.js';
import type { EnvTarget } from './connect.js';
import type { TimerClock } from './env-client.js';
import {
  closeSession,
  type EnvSession,
  type EpisodeMode,
  type EpisodeOptions,
  type ModeSchedule,
  openSession,
  runEpisode,
} from './episode.js';
import type { RolloutLimitsInput } from './limits.js';
import { createProgress } from './progress.js';
import { type BatchSummary, SummaryAccumulator } from './summary.js';

// ---------------------------------------------------------------------------------------------
// Types

/** A task to run: its id, or a seed that picks one (index = seed mod split size). */
export type TaskSelector = string | { taskId?: string; seed?: number; split?: Split };

export interface BatchOptions {
  env: EnvTarget;
  policy: Policy;
  /** Tasks to run, one group each. Without it, `count` tasks picked by seeds `seed, seed+1, ...`. */
  tasks?: readonly TaskSelector[];
  count?: number;
  split?: Split;
  /** First task seed when tasks are picked by count (default 0). */
  seed?: number;
  /** G: episodes per task (default 1). */
  groupSize?: number;
  /** Episodes in flight at once (default 8). */
  concurrency?: number;
  limits?: RolloutLimitsInput;
  mode?: EpisodeMode;
  /** Per-turn mode schedule for every episode (see `EpisodeOptions.modeSchedule`). */
  modeSchedule?: ModeSchedule;
  runId?: string;
  /** JSONL file (appended to) or an open writer. */
  out?: string | TrajectoryWriter;
  onTrajectory?: (t: Trajectory, index: number) => void | Promise<void>;
  /** Progress bar on stderr: undefined = only on a TTY. */
  progress?: boolean;
  /** Keep trajectories in the result (default true; turn off for very long runs that stream to `out`). */
  keep?: boolean;
  signal?: AbortSignal;
  clock?: TimerClock;
  template?: ChatTemplate;
}

export interface BatchResult {
  trajectories: Trajectory[];
  summary: BatchSummary;
}

export interface EpisodeSpec {
  taskId?: string;
  seed?: number;
  split?: Split;
  sample: number;
  groupId: string;
}

export class BatchConfigError extends Error {
  override name = 'BatchConfigError';
}

// ---------------------------------------------------------------------------------------------
// Pure functions

/** Expands tasks x G into episode specs, group-major (all samples of task 0, then task 1, ...). */
export function planEpisodes(
  opts: Pick<BatchOptions, 'tasks' | 'count' | 'split' | 'seed' | 'groupSize' | 'runId'>,
): EpisodeSpec[] {
  const g = opts.groupSize ?? 1;
  if (!Number.isInteger(g) || g < 1) throw new BatchConfigError(`groupSize must be a positive integer, got ${g}`);
  let selectors: Array<{ taskId?: string; seed?: number; split?: Split }>;
  if (opts.tasks) {
    selectors = opts.tasks.map((t) => (typeof t === 'string' ? { taskId: t } : t));
  } else {
    const n = opts.count ?? 1;
    if (!Number.isInteger(n) || n < 0) throw new BatchConfigError(`count must be a non-negative integer, got ${n}`);
    const base = opts.seed ?? 0;
    selectors = Array.from({ length: n }, (_, i) => ({ seed: base + i, split: opts.split }));
  }
  const run = opts.runId ?? 'run';
  const out: EpisodeSpec[] = [];
  selectors.forEach((s, gi) => {
    for (let k = 0; k < g; k++) out.push({ ...s, split: s.split ?? opts.split, sample: k, groupId: `${run}/g${gi}` });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The runner

export async function runBatch(opts: BatchOptions): Promise<BatchResult> {
  const specs = planEpisodes(opts);
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new BatchConfigError(`concurrency must be a positive integer, got ${concurrency}`);
  const keep = opts.keep ?? true;
  const ownsWriter = typeof opts.out === 'string';
  const writer = typeof opts.out === 'string' ? new TrajectoryWriter(opts.out) : opts.out;
  const label = isEnvDefinition(opts.env) ? opts.env.id : 'rollout';
  const bar = createProgress(specs.length, label, opts.progress);
  const kept: Trajectory[] = new Array(keep ? specs.length : 0);
  // The summary is folded as episodes finish so a `keep: false` run holds no trajectories.
  const acc = new SummaryAccumulator();
  const t0 = performance.now();
  let next = 0;

  if (opts.env instanceof Client && concurrency > 1) {
    throw new BatchConfigError(
      'one MCP client is one session (one episode at a time): use concurrency 1, or pass an env definition, a URL or a client factory',
    );
  }

  // One listener on the caller's signal; the batch's own signal carries the episodes' listeners
  // (one per episode in flight and one per tool call), so a wide batch raises no listener warning.
  const outer = opts.signal;
  const link = new AbortController();
  setMaxListeners(4 * concurrency + 16, link.signal);
  const forward = () => link.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  const signal = outer ? link.signal : undefined;

  const runOne = async (spec: EpisodeSpec, session: EnvSession | undefined): Promise<Trajectory> => {
    const eo: EpisodeOptions = {
      env: opts.env,
      policy: opts.policy,
      taskId: spec.taskId,
      seed: spec.seed,
      split: spec.split,
      sample: spec.sample,
      groupId: spec.groupId,
      runId: opts.runId,
      limits: opts.limits,
      mode: opts.mode,
      modeSchedule: opts.modeSchedule,
      signal,
      clock: opts.clock,
      template: opts.template,
      session,
    };
    try {
      return await runEpisode(eo);
    } catch (err) {
      // runEpisode reports its own faults; this guards against a fault in the reporting itself.
      const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return {
        format: 'toolgym.trajectory/1',
        ids: {
          run: opts.runId ?? 'run',
          episode: `${spec.groupId}#${spec.sample}`,
          group: spec.groupId,
          task: spec.taskId ?? '',
          family: '',
          difficulty: 1,
          split: spec.split ?? 'train',
          seed: spec.seed ?? 0,
          sample: spec.sample,
          env: label,
          envVersion: '',
          policy: opts.policy.spec,
        },
        messages: [],
        turns: [],
        reward: 0,
        components: {},
        correct: false,
        ending: 'aborted',
        reason: `error: ${msg}`,
        error: msg,
        metrics: { turns: 0, toolCalls: 0, invalidCalls: 0, completionTokens: 0, wallMs: 0 },
        mode: 'no_think',
      };
    }
  };

  // Each worker keeps one MCP session for its episodes, and opens a fresh one after a fault (or a
  // wall-time stop) so a session in an unknown state is never reused.
  const worker = async (): Promise<void> => {
    let session: EnvSession | undefined;
    try {
      while (next < specs.length && !signal?.aborted) {
        const i = next++;
        if (!session) session = await openSession(opts.env, opts.clock).catch(() => undefined);
        const t = await runOne(specs[i] as EpisodeSpec, session);
        if (t.ending === 'aborted' || t.reason === 'wall_time') {
          await closeSession(session);
          session = undefined;
        }
        await record(t, i);
      }
    } finally {
      await closeSession(session);
    }
  };

  const record = async (t: Trajectory, i: number): Promise<void> => {
    writer?.write(t);
    if (keep) kept[i] = t;
    acc.add(t);
    bar.tick(t.correct);
    await opts.onTrajectory?.(t, i);
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  } finally {
    outer?.removeEventListener('abort', forward);
    bar.stop();
    if (ownsWriter) writer?.close();
  }
  const wallMs = performance.now() - t0;
  const trajectories = keep ? kept.filter((t) => t !== undefined) : [];
  return { trajectories, summary: acc.result(wallMs) };
}
