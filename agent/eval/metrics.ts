/**
 * Tool-call stability metrics over a set of trajectories: pure functions, no I/O.
 *
 * Episodes are grouped into task units: one task under one thinking budget (a run with budgets
 * repeats every task per budget, and pass@k mixes no budgets). Each metric is defined in
 * `METRIC_DEFS` (the report prints these words) and carries its counts beside its rate, plus a
 * bootstrap interval over task units. Aborted episodes (infrastructure faults) are excluded from
 * every metric and reported apart.
 */
import { endingRow, type Fault, reasonKey } from '../rollout/index.js';
import type { Ending, Trajectory } from '../types.js';
import { type BootstrapOptions, bootstrapColumns, DEFAULT_BOOTSTRAP } from './bootstrap.js';
import { METRIC_DEFS, type MetricDef } from './definitions.js';
import { accumulateEpisode, COUNTER, type CounterName, countFailureKinds, N_COUNTERS, SCHEMA_FAILURE_KINDS } from './episode.js';
import { passAtK, passHatK } from './passk.js';

// ---------------------------------------------------------------------------------------------
// Types

export interface MetricValue {
  /** The rate or mean (NaN when nothing was counted). */
  value: number;
  /** Counts beside the rate: numerator and denominator as the definition states them. */
  num: number;
  den: number;
  /** Bootstrap interval over task units, when computed. */
  lo?: number;
  hi?: number;
}

export interface PassPoint {
  k: number;
  passAt: MetricValue;
  passHat: MetricValue;
}

export interface Summary {
  /** Task units (task x thinking budget) with at least one counted episode. */
  units: number;
  episodes: number;
  aborted: number;
  metrics: Record<string, MetricValue>;
  /** pass@k and pass^k for k = 1..maxK; num = sum of per-task estimates, den = tasks with n >= k. */
  passCurve: PassPoint[];
  /** Resamples behind the intervals (0: none); see `effectiveSamples`. */
  bootstrapSamples: number;
}

export interface BreakdownRow {
  key: string;
  summary: Summary;
}

export interface EvalMetrics {
  format: 'toolgym.eval-metrics/1';
  maxK: number;
  bootstrap: BootstrapOptions;
  overall: Summary;
  /** Per task family, difficulty, thinking budget (when any) and mode (when several). */
  breakdowns: Record<string, BreakdownRow[]>;
  /** Every parser / validation failure kind, counted over non-aborted turns. */
  failureKinds: Record<string, number>;
  /** Schema failures split: missing required / unexpected parameter / wrong type / wrong value. */
  schemaFailures: Record<string, number>;
  aborted: { episodes: number; ofAll: number; share: number; reasons: Record<string, number> };
  /** Every episode (aborted ones included) by ending and by reason, with shares of all episodes. */
  endings: EndingShares;
  definitions: MetricDef[];
}

export interface EndingShares {
  ofAll: number;
  byEnding: Record<Ending, { episodes: number; share: number }>;
  /** Keyed by `reasonKey` (`answer`, `context_length`, `error: env`, ...). */
  byReason: Record<string, { ending: Ending; fault?: Fault; episodes: number; share: number }>;
}

export interface MetricsOptions {
  /** Largest k of the pass curves; default: the most counted episodes of any task unit. */
  maxK?: number;
  bootstrap?: Partial<BootstrapOptions>;
  /** Resamples for breakdown rows (cheaper than the headline). */
  breakdownSamples?: number;
}

// ---------------------------------------------------------------------------------------------
// Task units

export interface UnitMeta {
  task: string;
  family: string;
  difficulty: number;
  budget?: number;
  mode: Trajectory['mode'];
}

export interface Units {
  meta: UnitMeta[];
  /** (U, N_COUNTERS) counters, row-major. */
  counters: Float64Array;
}

export function unitKey(t: Trajectory): string {
  return t.thinkingBudget === undefined ? t.ids.task : `${t.ids.task}@${t.thinkingBudget}`;
}

/**
 * Groups episodes into task units and counts each unit's episodes. Units are ordered by key, so the
 * metrics (bootstrap draws included) do not depend on the order episodes finished in.
 */
export function buildUnits(trajectories: readonly Trajectory[]): Units {
  const first = new Map<string, Trajectory>();
  const keys: string[] = new Array(trajectories.length);
  for (let i = 0; i < trajectories.length; i++) {
    const t = trajectories[i] as Trajectory;
    const key = unitKey(t);
    keys[i] = key;
    if (!first.has(key)) first.set(key, t);
  }
  const sorted = [...first.keys()].sort();
  const index = new Map<string, number>();
  const meta: UnitMeta[] = sorted.map((key, u) => {
    index.set(key, u);
    const t = first.get(key) as Trajectory;
    return { task: t.ids.task, family: t.ids.family, difficulty: t.ids.difficulty, budget: t.thinkingBudget, mode: t.mode };
  });
  const counters = new Float64Array(meta.length * N_COUNTERS);
  for (let i = 0; i < trajectories.length; i++) {
    accumulateEpisode(trajectories[i] as Trajectory, counters, (index.get(keys[i] as string) as number) * N_COUNTERS);
  }
  return { meta, counters };
}

// ---------------------------------------------------------------------------------------------
// Summaries

function ratio(num: number, den: number): number {
  return den > 0 ? num / den : Number.NaN;
}

/** Largest number of counted episodes in any unit. */
export function maxTrials(units: Units): number {
  let m = 0;
  for (let u = 0; u < units.meta.length; u++) m = Math.max(m, units.counters[u * N_COUNTERS + COUNTER.episodes] as number);
  return m;
}

/** Counters some ratio metric reads (only these become bootstrap columns). */
const RATIO_COUNTERS: readonly CounterName[] = [...new Set(METRIC_DEFS.flatMap((d) => d.ratio ?? []))];

/**
 * Summary of the units whose indices are given (all when omitted). Every metric is a ratio of two
 * columns summed over units; the columns are the counters plus per-unit task estimates (avg@k,
 * mixed outcome, pass@k and pass^k with their eligibility), shared between metrics.
 */
export function summarize(
  units: Units,
  maxK: number,
  boot: BootstrapOptions,
  pick?: readonly number[],
  ciIds?: ReadonlySet<string>,
): Summary {
  const idx = pick ?? units.meta.map((_, i) => i);
  const c = units.counters;
  const total = new Float64Array(N_COUNTERS);
  const live: number[] = [];
  for (const u of idx) {
    for (let j = 0; j < N_COUNTERS; j++) total[j] += c[u * N_COUNTERS + j] as number;
    if ((c[u * N_COUNTERS + COUNTER.episodes] as number) > 0) live.push(u);
  }
  const L = live.length;
  // Per live unit: trials n and successes c, read once.
  const nOf = new Float64Array(L);
  const cOf = new Float64Array(L);
  for (let i = 0; i < L; i++) {
    const base = (live[i] as number) * N_COUNTERS;
    nOf[i] = c[base + COUNTER.episodes] as number;
    cOf[i] = c[base + COUNTER.correct] as number;
  }
  const columns: Float64Array[] = [];
  const push = (col: Float64Array): number => columns.push(col) - 1;
  const counterCol = new Map<CounterName, number>();
  for (const name of RATIO_COUNTERS) {
    const j = COUNTER[name];
    const col = new Float64Array(L);
    for (let i = 0; i < L; i++) col[i] = c[(live[i] as number) * N_COUNTERS + j] as number;
    counterCol.set(name, push(col));
  }
  const ones = new Float64Array(L).fill(1);
  const one = push(ones);
  const avgCol = new Float64Array(L);
  const mixedDenCol = new Float64Array(L);
  const mixedNumCol = new Float64Array(L);
  for (let i = 0; i < L; i++) {
    const n = nOf[i] as number;
    const k = cOf[i] as number;
    avgCol[i] = k / n;
    if (n >= 2) {
      mixedDenCol[i] = 1;
      mixedNumCol[i] = k > 0 && k < n ? 1 : 0;
    }
  }
  const avgNum = push(avgCol);
  const mixedDen = push(mixedDenCol);
  const mixedNum = push(mixedNumCol);

  const ids: string[] = [];
  const ratios: Array<[number, number]> = [];
  const shown: Array<[number, number] | undefined> = [];
  const add = (id: string, num: number, den: number, display?: [number, number]): void => {
    ids.push(id);
    ratios.push([num, den]);
    shown.push(display);
  };
  add('avgAtK', avgNum, one, [total[COUNTER.correct] as number, total[COUNTER.episodes] as number]);
  add('mixedOutcomes', mixedNum, mixedDen);
  for (const def of METRIC_DEFS)
    if (def.ratio) add(def.id, counterCol.get(def.ratio[0]) as number, counterCol.get(def.ratio[1]) as number);
  for (let k = 1; k <= maxK; k++) {
    const elig = new Float64Array(L);
    const pa = new Float64Array(L);
    const ph = new Float64Array(L);
    for (let i = 0; i < L; i++) {
      const n = nOf[i] as number;
      if (n < k) continue;
      elig[i] = 1;
      pa[i] = passAtK(n, cOf[i] as number, k);
      ph[i] = passHatK(n, cOf[i] as number, k);
    }
    const e = push(elig);
    add(`pass@${k}`, push(pa), e);
    add(`pass^${k}`, push(ph), e);
  }

  const sums = columns.map((col) => {
    let s = 0;
    for (let i = 0; i < L; i++) s += col[i] as number;
    return s;
  });
  // Intervals for every metric, or only those named (breakdown rows show a few).
  const withCi = ids.map((id, j) => (!ciIds || ciIds.has(id) ? j : -1)).filter((j) => j >= 0);
  const boots = bootstrapColumns(
    columns,
    withCi.map((j) => ratios[j] as [number, number]),
    L,
    boot,
  );
  const ci: Array<[number, number] | undefined> = ids.map(() => undefined);
  withCi.forEach((j, r) => {
    ci[j] = boots.intervals[r];
  });
  const metrics: Record<string, MetricValue> = {};
  for (let j = 0; j < ids.length; j++) {
    const [nj, dj] = ratios[j] as [number, number];
    const num = sums[nj] as number;
    const den = sums[dj] as number;
    const d = shown[j];
    const v: MetricValue = { value: ratio(num, den), num: d ? d[0] : num, den: d ? d[1] : den };
    const iv = ci[j];
    if (iv) {
      v.lo = iv[0];
      v.hi = iv[1];
    }
    metrics[ids[j] as string] = v;
  }
  const passCurve: PassPoint[] = [];
  for (let k = 1; k <= maxK; k++) {
    passCurve.push({ k, passAt: metrics[`pass@${k}`] as MetricValue, passHat: metrics[`pass^${k}`] as MetricValue });
    delete metrics[`pass@${k}`];
    delete metrics[`pass^${k}`];
  }
  return {
    units: L,
    episodes: total[COUNTER.episodes] as number,
    aborted: total[COUNTER.aborted] as number,
    metrics,
    passCurve,
    bootstrapSamples: boots.samples,
  };
}

function groupBy(units: Units, keyOf: (m: UnitMeta) => string | undefined): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  units.meta.forEach((m, i) => {
    const key = keyOf(m);
    if (key === undefined) return;
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}

function naturalCompare(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Short, stable label for an abort reason (the first line, numbers kept). */
function abortReason(t: Trajectory): string {
  const text = (t.error ?? t.reason ?? 'unknown').split('\n')[0] ?? 'unknown';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** How the episodes ended: per ending and per reason, as counts and shares of all episodes. */
export function endingShares(trajectories: readonly Trajectory[]): EndingShares {
  const n = trajectories.length;
  const byEnding: EndingShares['byEnding'] = {
    terminated: { episodes: 0, share: 0 },
    truncated: { episodes: 0, share: 0 },
    aborted: { episodes: 0, share: 0 },
  };
  const byReason: EndingShares['byReason'] = {};
  for (const t of trajectories) {
    byEnding[t.ending].episodes += 1;
    const key = reasonKey(t.reason);
    let row = byReason[key];
    if (!row) {
      row = { ending: t.ending, episodes: 0, share: 0 };
      byReason[key] = row;
    }
    const fault = endingRow(key)?.fault;
    if (fault) row.fault = fault;
    row.episodes += 1;
  }
  for (const v of Object.values(byEnding)) v.share = ratio(v.episodes, n);
  for (const v of Object.values(byReason)) v.share = ratio(v.episodes, n);
  return { ofAll: n, byEnding, byReason };
}

/**
 * Every metric, its counts and bootstrap interval, overall and per family / difficulty / budget /
 * mode, with the failure-kind breakdown and the aborted episodes apart. Deterministic in the
 * bootstrap seed.
 */
export function computeMetrics(trajectories: readonly Trajectory[], opts: MetricsOptions = {}): EvalMetrics {
  const boot: BootstrapOptions = { ...DEFAULT_BOOTSTRAP, ...opts.bootstrap };
  const units = buildUnits(trajectories);
  const maxK = opts.maxK ?? maxTrials(units);
  const overall = summarize(units, maxK, boot);
  const rowBoot: BootstrapOptions = { ...boot, samples: Math.min(boot.samples, opts.breakdownSamples ?? 200) };
  const rowCi = new Set([
    'avgAtK',
    `pass^${maxK}`,
    'formatValidity',
    'callValidity',
    'executionSuccess',
    'recovery',
    'modeCompliance',
  ]);
  const dims: Record<string, (m: UnitMeta) => string | undefined> = {
    family: (m) => m.family,
    difficulty: (m) => String(m.difficulty),
  };
  if (units.meta.some((m) => m.budget !== undefined)) dims.budget = (m) => (m.budget === undefined ? 'none' : String(m.budget));
  const breakdowns: Record<string, BreakdownRow[]> = {};
  for (const [dim, keyOf] of Object.entries(dims)) {
    const groups = groupBy(units, keyOf);
    breakdowns[dim] = [...groups.keys()]
      .sort(naturalCompare)
      .map((key) => ({ key, summary: summarize(units, maxK, rowBoot, groups.get(key), rowCi) }));
  }
  // A mixed-mode run draws each episode's mode, so one task's trials span modes: split episodes,
  // not task units (pass@k per mode then counts only that mode's trials).
  const modes = [...new Set(trajectories.filter((t) => t.ending !== 'aborted').map((t) => t.mode))].sort();
  if (modes.length > 1) {
    breakdowns.mode = modes.map((mode) => {
      const sub = buildUnits(trajectories.filter((t) => t.mode === mode));
      return { key: mode, summary: summarize(sub, maxK, rowBoot, undefined, rowCi) };
    });
  }
  const failureKinds = countFailureKinds(trajectories);
  const schemaFailures: Record<string, number> = {};
  for (const kind of SCHEMA_FAILURE_KINDS) schemaFailures[kind.slice('schema_'.length)] = failureKinds[kind] ?? 0;
  const reasons: Record<string, number> = {};
  let aborted = 0;
  for (const t of trajectories) {
    if (t.ending !== 'aborted') continue;
    aborted++;
    const r = abortReason(t);
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  return {
    format: 'toolgym.eval-metrics/1',
    maxK,
    bootstrap: boot,
    overall,
    breakdowns,
    failureKinds,
    schemaFailures,
    aborted: { episodes: aborted, ofAll: trajectories.length, share: ratio(aborted, trajectories.length), reasons },
    endings: endingShares(trajectories),
    definitions: [...METRIC_DEFS],
  };
}
