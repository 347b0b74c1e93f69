/**
 * Task pools and evaluation for a run: which task ids train and test use (deterministic from the
 * config), and held-out success of a policy (one seeded episode per task and mode) with validity and
 * per-mode compliance figures.
 */
import { runBatch } from '../../agent/rollout/index.js';
import type { Policy, Trajectory } from '../../agent/types.js';
import type { EnvDefinition, Split } from '../../envs/core/types.js';
import { Rng } from '../../tools/index.js';
import type { SamplingOptions } from '../model/sample.js';

export class NoTasksError extends Error {
  override name = 'NoTasksError';
}

/**
 * Up to `count` task ids of `split` from families whose name starts with one of the comma-separated
 * prefixes in `prefix`, and whose
 * difficulty is at most `maxDifficulty`, round-robin over families, then shuffled by `seed`.
 */
export function selectTasks(
  def: EnvDefinition,
  o: { split: Split; prefix: string; maxDifficulty: number; count: number; seed: number },
): string[] {
  const prefixes = o.prefix
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const fams = def.families.filter((f) => prefixes.some((p) => f.name.startsWith(p)));
  if (fams.length === 0)
    throw new NoTasksError(
      `environment ${def.id} has no task family starting with "${o.prefix}" (families: ${def.families.map((f) => f.name).join(', ')}): set \`families\` in the run config`,
    );
  const ids: string[] = [];
  const cursors = fams.map(() => 0);
  // scan a bounded number of indices so a family without easy tasks cannot loop forever
  const scanLimit = o.count * 40;
  for (let scanned = 0; ids.length < o.count && scanned < scanLimit; ) {
    let progressed = false;
    for (let f = 0; f < fams.length && ids.length < o.count; f++) {
      const fam = fams[f];
      if (cursors[f] >= fam.splitSizes[o.split]) continue;
      const task = fam.generate(o.split, cursors[f]++);
      scanned++;
      progressed = true;
      if (task.difficulty <= o.maxDifficulty) ids.push(task.id);
    }
    if (!progressed) break;
  }
  if (ids.length === 0)
    throw new NoTasksError(
      `no ${o.split} task of difficulty <= ${o.maxDifficulty} in families "${o.prefix}*" of ${def.id}: raise maxDifficulty`,
    );
  const rng = new Rng(o.seed);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids;
}

export interface ModeEval {
  episodes: number;
  success: number;
  /** Valid calls over attempted calls (the target's figure: one runaway turn of repeated
   * `<tool_call>` openers counts every opener as a failed call). */
  validity: number;
  /** Episodes without any invalid call, over episodes: how widespread the failures are. */
  cleanEpisodes: number;
  /** Turns whose think block matched the mode (non-empty in think, empty in no_think). */
  compliance: number;
  meanTurns: number;
  meanTokens: number;
}

export interface EvalResult {
  byMode: Partial<Record<'think' | 'no_think', ModeEval>>;
  /** Success in the RL mode (the headline figure). */
  success: number;
  validity: number;
}

export function summarizeEval(ts: readonly Trajectory[], mode: 'think' | 'no_think'): ModeEval {
  const live = ts.filter((t) => t.ending !== 'aborted');
  const n = Math.max(1, live.length);
  let calls = 0;
  let invalid = 0;
  let turns = 0;
  let compliant = 0;
  let tokens = 0;
  for (const t of live) {
    calls += t.metrics.toolCalls;
    invalid += t.metrics.invalidCalls;
    tokens += t.metrics.completionTokens;
    for (const turn of t.turns) {
      turns++;
      const thought = (turn.thinking ?? '').trim().length > 0;
      if (thought === (mode === 'think')) compliant++;
    }
  }
  return {
    episodes: live.length,
    success: live.filter((t) => t.correct).length / n,
    validity: calls + invalid > 0 ? calls / (calls + invalid) : 1,
    cleanEpisodes: live.filter((t) => t.metrics.invalidCalls === 0).length / n,
    compliance: turns ? compliant / turns : 1,
    meanTurns: turns / n,
    meanTokens: tokens / n,
  };
}

/** Decoding of held-out episodes: Qwen3's recommended sampling per mode, or greedy. */
export type EvalDecoding = 'qwen3' | 'greedy';

/**
 * The sampling settings of a held-out episode. `qwen3` is the Qwen3 model card's advice: thinking
 * mode T 0.6, top-p 0.95, top-k 20; non-thinking T 0.7, top-p 0.8, top-k 20 (greedy decoding, the
 * card says, leads to endless repetitions; at this model size it does, as unclosed tool calls).
 */
export function evalSampling(decoding: EvalDecoding, mode: 'think' | 'no_think'): SamplingOptions {
  if (decoding === 'greedy') return { temperature: 0, topP: 1, topK: 0 };
  return mode === 'think' ? { temperature: 0.6, topP: 0.95, topK: 20 } : { temperature: 0.7, topP: 0.8, topK: 20 };
}

/** One episode per test task in each mode; `policy` may depend on the mode (its decoding does). */
export async function evaluate(
  def: EnvDefinition,
  policy: Policy | ((mode: 'think' | 'no_think') => Policy),
  taskIds: readonly string[],
  o: {
    modes: readonly ('think' | 'no_think')[];
    headline: 'think' | 'no_think';
    limits: Record<string, unknown>;
    concurrency: number;
    runId: string;
    out?: string;
  },
): Promise<EvalResult> {
  const byMode: EvalResult['byMode'] = {};
  for (const mode of o.modes) {
    const { trajectories } = await runBatch({
      env: def,
      policy: typeof policy === 'function' ? policy(mode) : policy,
      tasks: taskIds,
      groupSize: 1,
      mode,
      limits: o.limits,
      concurrency: o.concurrency,
      runId: `${o.runId}-eval-${mode}`,
      out: o.out,
      progress: false,
    });
    byMode[mode] = summarizeEval(trajectories, mode);
  }
  const h = byMode[o.headline] ?? Object.values(byMode)[0];
  return { byMode, success: h?.success ?? 0, validity: h?.validity ?? 1 };
}
