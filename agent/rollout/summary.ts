/** What a batch of episodes came to: success, turns, invalid calls, endings. Pure functions over trajectories. */
import type { Trajectory } from '../types.js';
import { reasonKey } from './endings.js';

export interface BatchSummary {
  episodes: number;
  groups: number;
  /** Share of non-aborted episodes whose answer verified. */
  successRate: number;
  meanReward: number;
  meanTurns: number;
  /** Invalid calls over all attempted calls (valid + invalid). */
  invalidCallRate: number;
  toolCalls: number;
  invalidCalls: number;
  endings: { terminated: number; truncated: number; aborted: number };
  /** Counts per ending reason (`answer`, `max_turns`, `context_length`, `error: env`, ...: `reasonKey`). */
  reasons: Record<string, number>;
  /** Counts per parse-failure kind over all turns. */
  failureKinds: Record<string, number>;
  wallMs: number;
  episodesPerSecond: number;
}

/** Folds episodes into a summary one at a time, so a long streamed run holds no trajectories. */
export class SummaryAccumulator {
  private readonly endings = { terminated: 0, truncated: 0, aborted: 0 };
  private readonly reasons: Record<string, number> = {};
  private readonly failureKinds: Record<string, number> = {};
  private readonly groups = new Set<string>();
  private n = 0;
  private reward = 0;
  private turns = 0;
  private correct = 0;
  private toolCalls = 0;
  private invalid = 0;

  add(t: Trajectory): void {
    this.n++;
    this.endings[t.ending]++;
    const r = reasonKey(t.reason);
    this.reasons[r] = (this.reasons[r] ?? 0) + 1;
    this.groups.add(t.ids.group);
    this.reward += t.reward;
    this.turns += t.metrics.turns;
    if (t.correct) this.correct++;
    this.toolCalls += t.metrics.toolCalls;
    this.invalid += t.metrics.invalidCalls;
    for (const turn of t.turns) for (const f of turn.failures) this.failureKinds[f.kind] = (this.failureKinds[f.kind] ?? 0) + 1;
  }

  result(wallMs = 0): BatchSummary {
    const n = this.n;
    const scored = n - this.endings.aborted;
    return {
      episodes: n,
      groups: this.groups.size,
      successRate: scored > 0 ? this.correct / scored : 0,
      meanReward: n > 0 ? this.reward / n : 0,
      meanTurns: n > 0 ? this.turns / n : 0,
      invalidCallRate: this.toolCalls + this.invalid > 0 ? this.invalid / (this.toolCalls + this.invalid) : 0,
      toolCalls: this.toolCalls,
      invalidCalls: this.invalid,
      endings: { ...this.endings },
      reasons: { ...this.reasons },
      failureKinds: { ...this.failureKinds },
      wallMs,
      episodesPerSecond: wallMs > 0 ? n / (wallMs / 1000) : 0,
    };
  }
}

export function summarizeBatch(trajs: readonly Trajectory[], wallMs = 0): BatchSummary {
  const acc = new SummaryAccumulator();
  for (const t of trajs) acc.add(t);
  return acc.result(wallMs);
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function formatSummary(s: BatchSummary): string {
  const kinds = Object.entries(s.failureKinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const reasons = Object.entries(s.reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `episodes        ${s.episodes} in ${s.groups} groups (${(s.wallMs / 1000).toFixed(1)} s, ${s.episodesPerSecond.toFixed(1)} episodes/s)`,
    `success rate    ${pct(s.successRate)}   mean reward ${s.meanReward.toFixed(3)}${s.endings.aborted > 0 ? `   (over ${s.episodes - s.endings.aborted} episodes: ${s.endings.aborted} aborted excluded)` : ''}`,
    `mean turns      ${s.meanTurns.toFixed(2)}`,
    `invalid calls   ${pct(s.invalidCallRate)} (${s.invalidCalls} of ${s.invalidCalls + s.toolCalls})${kinds ? `: ${kinds}` : ''}`,
    `endings         terminated ${s.endings.terminated}, truncated ${s.endings.truncated}, aborted ${s.endings.aborted}${reasons ? ` (${reasons})` : ''}`,
  ].join('\n');
}
