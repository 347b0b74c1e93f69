/**
 * `replay:<file.jsonl>`: plays recorded trajectories back turn by turn. An episode is matched by
 * (task id, sample), falling back to the task id alone; turn k returns the recorded raw text of
 * turn k (and its token ids and logprobs when recorded). Replaying against the same env and seed
 * reproduces the episode, which makes a recorded run a regression test for env changes.
 */
import { readTrajectories } from '../trajectory/index.js';
import type { GenerateRequest, GenerateResult, Policy, Trajectory, Turn } from '../types.js';
import { registerPolicyFactory } from './registry.js';

export class ReplayMissError extends Error {
  override name = 'ReplayMissError';
}

export class ReplayPolicy implements Policy {
  readonly spec: string;
  private readonly byKey = new Map<string, Turn[]>();

  constructor(trajectories: readonly Trajectory[], spec = 'replay') {
    this.spec = spec;
    for (const t of trajectories) {
      const exact = `${t.ids.task}#${t.ids.sample}`;
      if (!this.byKey.has(exact)) this.byKey.set(exact, t.turns);
      if (!this.byKey.has(t.ids.task)) this.byKey.set(t.ids.task, t.turns);
    }
  }

  static fromFile(path: string): ReplayPolicy {
    return new ReplayPolicy(readTrajectories(path), `replay:${path}`);
  }

  get episodes(): number {
    return this.byKey.size;
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const { taskId, sample } = req.episode;
    const turns = this.byKey.get(`${taskId}#${sample}`) ?? this.byKey.get(taskId);
    if (!turns)
      throw new ReplayMissError(
        `no recorded episode for task ${taskId} (sample ${sample}) in ${this.spec}: record one first with \`gym rollout\``,
      );
    const turn = turns[req.turn];
    if (!turn)
      throw new ReplayMissError(
        `the recording of task ${taskId} has ${turns.length} turns; turn ${req.turn} was asked for (the env answered differently than when recorded)`,
      );
    // A recorded budget stop already holds the injected text: replay the whole turn in one piece.
    return {
      text: turn.raw,
      finishReason: turn.finishReason === 'budget' ? 'stop' : turn.finishReason,
      completionTokens: turn.completionTokens,
    };
  }
}

registerPolicyFactory('replay', (rest: string) => {
  if (!rest) throw new ReplayMissError('replay needs a file: replay:runs/x.jsonl');
  return ReplayPolicy.fromFile(rest);
});
