/**
 * `distill` runs end to end on the toy environment: a teacher trained here by SFT (nano, to keep the
 * test fast on two cores; sizes may differ and nothing here depends on them), a fresh nano student
 * on its tokenizer; off-policy data from the teacher in both modes, filtered as the
 * cold start is; on-policy steps; compute accounting; stop and resume; the tokenizer check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../../agent/rollout/index.js';
import { readTrajectories } from '../../../agent/trajectory/index.js';
import {
  BuiltinPolicy,
  loadCheckpoint,
  ModelRunner,
  presetConfig,
  type SamplingOptions,
  saveCheckpoint,
  Transformer,
} from '../../../trainer/model/index.js';
import {
  distill,
  evalSampling,
  type RunConfig,
  RunConfigError,
  RunInterruptedError,
  type RunSummary,
  resolveRunConfig,
  summarizeEval,
  TokenizerMismatchError,
  train,
} from '../../../trainer/run/index.js';
import { ByteTokenizer } from '../../../trainer/tokenizer/index.js';
import { jsonLines, runSnapshot } from '../fixtures/run-snapshot.js';
import { toyEnv } from '../fixtures/toy-env.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-distill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = {
  env: 'toy',
  families: 'compute.',
  out: root,
  merges: 48,
  testTasks: 2,
  // turns long enough for a model to write a whole call (the oracle is not held to the cap)
  limits: { maxTurns: 2, maxTurnTokens: 64, thinkingBudget: 8 },
};

let teacherDir: string;
let teacherSummary: RunSummary;

function distillConfig(over: Record<string, unknown> = {}): RunConfig {
  return resolveRunConfig({
    preset: 'quick',
    distill: true,
    flags: {
      ...small,
      model: 'nano',
      checkpointEvery: 1,
      sft: { episodes: 4, steps: 4 },
      distill: { teacher: join(teacherDir, 'checkpoints', 'final'), steps: 3, tasksPerStep: 2, groupSize: 2 },
      ...over,
    },
  });
}

beforeAll(async () => {
  // A teacher that solves its own training tasks: it memorises 4 oracle episodes (2 per mode), and
  // the distillation run's off-policy phase plays those same first 4 train tasks in the same modes.
  const cfg = resolveRunConfig({
    preset: 'quick',
    flags: { ...small, model: 'nano', sft: { episodes: 4, steps: 160, lr: 1e-2, stopAtSuccess: 0 }, grpo: { steps: 0 } },
  });
  const r = await train(toyEnv, cfg, { runId: 'teacher' });
  teacherDir = r.dir;
  teacherSummary = r.summary;
}, 300_000);

describe('gym train compute accounting', () => {
  it('states the student FLOPs of SFT (6 P per trained token) and no teacher FLOPs for the scripted oracle', () => {
    const c = teacherSummary.compute;
    expect(c.sft.studentFlops).toBe(6 * teacherSummary.params * teacherSummary.tokensTrained.sftSequence);
    expect(c.sft.teacherFlops).toBe(0);
    expect(c.grpo.studentFlops).toBe(0);
    expect(c.total.studentFlops).toBe(c.sft.studentFlops);
    expect(c.sft.wallMs).toBeGreaterThan(0);
  });
});

describe('distill', () => {
  let dir: string;
  let summary: RunSummary;
  beforeAll(async () => {
    ({ dir, summary } = await distill(toyEnv, distillConfig(), { runId: 'whole' }));
  }, 300_000);

  it("trains a fresh student preset on the teacher's tokenizer, off-policy then on-policy", () => {
    const student = loadCheckpoint(join(dir, 'checkpoints', 'final'));
    const teacher = loadCheckpoint(join(teacherDir, 'checkpoints', 'final'));
    expect(student.tokenizer.toJSON()).toEqual(teacher.tokenizer.toJSON());
    expect(student.model.numParams).toBe(teacher.model.numParams);
    const m = jsonLines(join(dir, 'metrics.jsonl'));
    expect(m.filter((r) => r.phase === 'sft')).toHaveLength(4);
    const on = m.filter((r) => r.phase === 'distill');
    expect(on.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of on) {
      expect(r.divergence).toBeGreaterThan(0);
      expect(r.teacherTokens).toBeGreaterThan(0);
      expect(r.episodes).toBe(4);
    }
    expect(summary.distill).toMatchObject({ loss: 'reverse_kl', steps: 3 });
  });

  it("builds the off-policy data from the teacher's own episodes in both modes, filtered", () => {
    const data = readTrajectories(join(dir, 'trajectories', 'sft-data.jsonl'));
    expect(data.length).toBeGreaterThan(0);
    expect(data.every((t) => t.correct && t.ending === 'terminated')).toBe(true);
    expect(data.every((t) => t.ids.policy.startsWith('builtin:'))).toBe(true);
    for (const t of data) expect(['think', 'no_think']).toContain(t.mode);
    expect(summary.coldStart.kept).toBe(data.length);
    // the teacher played every task of the off-policy set (half in each mode); the filter dropped the rest
    const dropped = Object.values(summary.coldStart.dropped).reduce((a, b) => a + b, 0);
    expect(summary.coldStart.kept + dropped).toBe(4);
  });

  it('counts student and teacher FLOPs per phase', () => {
    const c = summary.compute;
    const P = summary.params;
    const Pt = summary.distill?.teacherParams as number;
    expect(c.sft.teacherFlops).toBeGreaterThan(0); // the teacher played the off-policy episodes
    expect(c.sft.studentFlops).toBe(6 * P * summary.tokensTrained.sftSequence);
    expect(c.distill.studentFlops).toBeGreaterThan(6 * P * (summary.distill?.sequenceTokens as number));
    const scored = jsonLines(join(dir, 'metrics.jsonl'))
      .filter((r) => r.phase === 'distill')
      .reduce((s, r) => s + (r.teacherTokens as number), 0);
    expect(c.distill.teacherFlops).toBe(2 * Pt * scored);
    expect(c.total.teacherFlops).toBe(c.sft.teacherFlops + c.distill.teacherFlops);
    expect(c.distill.wallMs).toBeGreaterThan(0);
  });

  it('resumes a run stopped during the on-policy phase to the same weights, metrics and episodes', async () => {
    // the same run id in another folder: episode ids carry the run id
    const cfg = distillConfig({ out: join(root, 'again') });
    const ac = new AbortController();
    await expect(
      distill(toyEnv, cfg, {
        runId: 'whole',
        hooks: { signal: ac.signal, onRecord: (r) => r.phase === 'distill' && r.step === 1 && ac.abort() },
      }),
    ).rejects.toThrow(/gym distill --resume/);
    const stopped = join(root, 'again', 'whole');
    expect(jsonLines(join(stopped, 'metrics.jsonl')).filter((r) => r.phase === 'distill')).toHaveLength(1);
    await distill(toyEnv, cfg, { resume: stopped });
    const [a, b] = [runSnapshot(stopped), runSnapshot(dir)];
    for (const k of Object.keys(b)) expect(a[k], k).toEqual(b[k]);
  }, 300_000);
});

/**
 * A checkpoint's figures on fixed tasks: success over `group` seeded episodes per task and mode with
 * the evaluation's sampling, and the strict call validity of greedy no_think episodes.
 */
async function figures(ck: string, taskIds: readonly string[], group: number) {
  const { model, tokenizer } = loadCheckpoint(ck);
  const runner = await ModelRunner.create(model, 'cpu');
  const play = async (mode: 'think' | 'no_think', sampling: SamplingOptions, groupSize: number) => {
    const policy = new BuiltinPolicy(runner, tokenizer, { sampling, seed: 3 });
    try {
      const { trajectories } = await runBatch({
        env: toyEnv,
        policy,
        tasks: [...taskIds],
        groupSize,
        mode,
        limits: { ...small.limits, maxTotalTokens: small.limits.maxTurns * small.limits.maxTurnTokens },
        concurrency: 4,
        runId: 'figures',
        progress: false,
      });
      return summarizeEval(trajectories);
    } finally {
      policy.resetCache();
    }
  };
  try {
    const think = await play('think', evalSampling('qwen3', 'think'), group);
    const noThink = await play('no_think', evalSampling('qwen3', 'no_think'), group);
    const greedy = await play('no_think', evalSampling('greedy', 'no_think'), 1);
    return { success: (think.success + noThink.success) / 2, greedyValidity: greedy.validity };
  } finally {
    runner.dispose();
  }
}

describe('on-policy distillation from a student that already solves tasks', () => {
  // bench/distill's failure: on-policy steps in mixed mode (soft switches the off-policy data never
  // shows), at T 1 untruncated, lr 1e-3, took a distilled student from 84% to 0%. With the defaults
  // (mode both, the evaluation's sampling per mode, lr 3e-4) a few steps must not undo what the
  // off-policy phase taught. The old settings fail this test on the same seeds (success 0.5 -> 0,
  // greedy call validity 1 -> 0); here any one of the three changes alone passes it.
  it('keeps its success on the tasks it learned and its greedy calls valid', async () => {
    // off-policy only: the student copies the teacher's verified episodes of the first train tasks
    const off = await distill(
      toyEnv,
      distillConfig({
        seed: 2,
        sft: { episodes: 4, steps: 60, lr: 1e-2 },
        distill: { teacher: join(teacherDir, 'checkpoints', 'final'), steps: 0 },
      }),
      { runId: 'off-only' },
    );
    const learned = [...new Set(readTrajectories(join(off.dir, 'trajectories', 'sft-data.jsonl')).map((t) => t.ids.task))];
    expect(learned.length).toBeGreaterThan(0);
    const before = await figures(off.summary.checkpoints.final, learned, 4);
    expect(before.success).toBeGreaterThanOrEqual(0.5); // a student that solves tasks
    const on = await distill(
      toyEnv,
      distillConfig({
        seed: 2,
        init: off.summary.checkpoints.final,
        sft: { steps: 0 },
        distill: { teacher: join(teacherDir, 'checkpoints', 'final'), steps: 4, tasksPerStep: 2, groupSize: 4 },
      }),
      { runId: 'on-policy' },
    );
    const steps = jsonLines(join(on.dir, 'metrics.jsonl')).filter((r) => r.phase === 'distill');
    expect(steps).toHaveLength(4);
    const after = await figures(on.summary.checkpoints.final, learned, 4);
    expect(after.success).toBeGreaterThanOrEqual(before.success - 0.125);
    expect(after.greedyValidity).toBeGreaterThanOrEqual(before.greedyValidity - 0.125);
  }, 300_000);
});

describe('distill refuses', () => {
  it('a student checkpoint whose tokenizer is not the teacher’s', async () => {
    const tok = new ByteTokenizer();
    const m = new Transformer(presetConfig('nano', tok.vocabSize));
    const path = join(root, 'other-student');
    saveCheckpoint(path, { model: m, tokenizer: tok, meta: { phase: 'done', step: 0 } });
    await expect(distill(toyEnv, distillConfig({ init: path }))).rejects.toThrow(TokenizerMismatchError);
  });

  it('a run without a teacher', async () => {
    await expect(distill(toyEnv, resolveRunConfig({ flags: small }))).rejects.toThrow(RunConfigError);
    expect(RunInterruptedError).toBeDefined();
  });
});
