/**
 * The oracle's episodes a run records: cold-start data (oracle teacher episodes through the run's
 * tokenizer) and the template text the tokenizer's merges are learned from. Also the episode limits
 * every rollout of a run uses.
 */

import type { Policy, Tokenizer, Trajectory } from '../../agent/index.js';
import { OraclePolicy } from '../../agent/policies/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import { TokenizingPolicy } from '../sft/index.js';
import { ByteTokenizer } from '../tokenizer/index.js';
import type { RunConfig } from './config.js';
import type { RunInfo } from './context.js';

/** The rollout limits of every episode of a run. */
export function rolloutLimits(cfg: RunConfig): Record<string, unknown> {
  return {
    maxTurns: cfg.limits.maxTurns,
    maxTurnTokens: cfg.limits.maxTurnTokens,
    thinkingBudget: cfg.limits.thinkingBudget,
    maxTotalTokens: cfg.limits.maxTurns * cfg.limits.maxTurnTokens,
  };
}

/** Oracle episodes (text-level teacher) recorded through `tok`, in the given mode. */
export async function teacherEpisodes(
  run: RunInfo,
  tok: Tokenizer,
  taskIds: readonly string[],
  mode: 'think' | 'no_think',
): Promise<Trajectory[]> {
  if (taskIds.length === 0) return [];
  return demonstrations(run, new TokenizingPolicy(new OraclePolicy(run.def, { seed: run.cfg.seed }), tok), taskIds, mode);
}

/** One episode per task in one mode by a teacher (the oracle, or a teacher model): demonstrations. */
export async function demonstrations(
  run: RunInfo,
  policy: Policy,
  taskIds: readonly string[],
  mode: 'think' | 'no_think',
): Promise<Trajectory[]> {
  const { trajectories } = await runBatch({
    env: run.def,
    policy,
    tasks: taskIds,
    groupSize: 1,
    mode,
    limits: rolloutLimits(run.cfg),
    concurrency: run.cfg.concurrency,
    runId: `${run.runId}-teacher-${mode}`,
    progress: false,
  });
  return trajectories;
}

/** Template text for the merges: oracle episodes in both modes, decoded from plain byte ids. */
export async function buildTokenizer(run: RunInfo, trainIds: readonly string[]): Promise<ByteTokenizer> {
  if (run.cfg.merges === 0) return new ByteTokenizer();
  const plain = new ByteTokenizer();
  const ids = trainIds.slice(0, 24);
  const eps = [...(await teacherEpisodes(run, plain, ids, 'no_think')), ...(await teacherEpisodes(run, plain, ids, 'think'))];
  const corpus = eps.filter((t) => t.tokens).map((t) => plain.decode(t.tokens as number[]));
  return ByteTokenizer.train(corpus, run.cfg.merges);
}
