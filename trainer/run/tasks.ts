/**
 * The task pools of a run: which task ids train, test and the cold-start probes use, deterministic
 * from the config.
 */
import type { EnvDefinition, Split } from '../../envs/core/index.js';
import { Rng } from '../../tools/index.js';
import type { RunConfig } from './config.js';

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
  o: {
    split: Split;
    prefix: string;
    maxDifficulty: number;
    count: number;
    seed: number;
    minDifficulty?: number;
    offset?: number;
  },
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
  const cursors = fams.map(() => o.offset ?? 0);
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
      if (task.difficulty <= o.maxDifficulty && task.difficulty >= (o.minDifficulty ?? 1)) ids.push(task.id);
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

/** Where validation tasks start in each family's test split: past the indices test pools scan. */
export const VALIDATION_OFFSET = 600;

/**
 * The train and test pools of a run, and its validation pool (test split from `VALIDATION_OFFSET`
 * on, RL families and difficulties) when an RL query set is configured.
 */
export function runTaskPools(def: EnvDefinition, cfg: RunConfig): { trainIds: string[]; testIds: string[]; valIds: string[] } {
  const pool = (split: Split, count: number, seed: number) =>
    selectTasks(def, { split, prefix: cfg.families, maxDifficulty: cfg.maxDifficulty, count, seed });
  const valIds =
    cfg.rl.families && cfg.rl.valTasks > 0
      ? selectTasks(def, {
          split: 'test',
          prefix: cfg.rl.families,
          minDifficulty: cfg.rl.minDifficulty,
          maxDifficulty: cfg.rl.maxDifficulty,
          count: cfg.rl.valTasks,
          seed: cfg.seed + 2,
          offset: VALIDATION_OFFSET,
        })
      : [];
  const testIds = pool('test', cfg.testTasks, cfg.seed + 1);
  const test = new Set(testIds);
  return { trainIds: pool('train', cfg.trainTasks, cfg.seed), testIds, valIds: valIds.filter((id) => !test.has(id)) };
}

/** Train tasks for cold-start probes: after the ones whose oracle episodes are the SFT data. */
export function probeTasks(cfg: RunConfig, trainIds: readonly string[]): string[] {
  const n = Math.min(cfg.sft.episodes, trainIds.length);
  return trainIds.slice(n).slice(0, cfg.sft.probeTasks);
}

/** The thinking mode of the headline figures: the mode RL trains in (no_think when mixed). */
export function headlineMode(cfg: RunConfig): 'think' | 'no_think' {
  return cfg.grpo.mode === 'think' ? 'think' : 'no_think';
}

/**
 * A step's tasks by thinking mode (GRPO's and on-policy distillation's): all in the configured mode, or for `both` the first
 * `thinkFraction` of them in think mode (at least one when there are two or more tasks and the
 * fraction is above 0) and the rest in no_think, as the cold-start data splits its episodes.
 * `suffix` keeps the parts' run ids (and so their group ids) apart.
 */
export function modeParts(
  mode: 'think' | 'no_think' | 'both' | 'mixed',
  tasks: readonly string[],
  thinkFraction: number,
): Array<{ mode: 'think' | 'no_think' | 'mixed'; tasks: string[]; suffix: string }> {
  if (mode !== 'both') return [{ mode, tasks: [...tasks], suffix: '' }];
  let nThink = Math.round(tasks.length * thinkFraction);
  if (thinkFraction > 0 && nThink === 0 && tasks.length >= 2) nThink = 1;
  if (thinkFraction < 1 && nThink === tasks.length && tasks.length >= 2) nThink = tasks.length - 1;
  return [
    { mode: 'think' as const, tasks: tasks.slice(0, nThink), suffix: '-think' },
    { mode: 'no_think' as const, tasks: tasks.slice(nThink), suffix: '-no_think' },
  ].filter((p) => p.tasks.length > 0);
}
