import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPolicy } from '../../agent/policies/index.js';
import type { Trajectory } from '../../agent/types.js';
import { type BuiltinPolicy, loadCheckpoint, registerBuiltinPolicy, Transformer } from '../../trainer/model/index.js';
import { composeReward, RewardConfigSchema } from '../../trainer/rewards.js';
import {
  evalSampling,
  NonFiniteError,
  RunConfigError,
  RunInterruptedError,
  RunStateError,
  readRunState,
  resolveRunConfig,
  train,
} from '../../trainer/run/index.js';
import { webgpuOrSkip } from '../gpu/harness.js';
import { toyEnv, toyEpisode } from './fixtures/toy-env.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = {
  env: 'toy',
  families: 'compute.',
  out: root,
  merges: 48,
  testTasks: 2,
  limits: { maxTurns: 2, maxTurnTokens: 20, thinkingBudget: 8 },
  checkpointEvery: 1,
};

/** Starts a run and stops it (as a signal would) once it records `phase` step `step`; returns its folder. */
async function trainUntil(
  cfg: ReturnType<typeof resolveRunConfig>,
  runId: string,
  phase: 'sft' | 'grpo',
  step: number,
): Promise<string> {
  const ac = new AbortController();
  await expect(
    train(toyEnv, cfg, {
      runId,
      hooks: { signal: ac.signal, onRecord: (r) => r.phase === phase && r.step === step && ac.abort() },
    }),
  ).rejects.toThrow(RunInterruptedError);
  return join(root, runId);
}

function lines(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('run config', () => {
  it('applies preset, then file, then flags, and fills defaults', () => {
    const c = resolveRunConfig({ preset: 'quick', file: { grpo: { lr: 0.5 } }, flags: { grpo: { groupSize: 3 } } });
    expect(c.grpo.lr).toBe(0.5);
    expect(c.grpo.groupSize).toBe(3);
    expect(c.grpo.steps).toBe(2);
    expect(c.grpo.loss).toBe('dapo');
  });
  it('rejects unknown keys and bad values, naming them', () => {
    expect(() => resolveRunConfig({ file: { grpo: { lrr: 1 } } })).toThrow(RunConfigError);
    expect(() => resolveRunConfig({ file: { grpo: { lrr: 1 } } })).toThrow(/lrr/);
    expect(() => resolveRunConfig({ flags: { grpo: { loss: 'ppo' } } })).toThrow(/grpo.loss/);
    expect(() => resolveRunConfig({ preset: 'huge' })).toThrow(/unknown preset/);
    expect(() => resolveRunConfig({ flags: { evalDecoding: 'beam' } })).toThrow(/evalDecoding/);
  });
  it("evaluates held-out tasks with Qwen3's recommended sampling per mode unless greedy is asked for", () => {
    expect(resolveRunConfig({}).evalDecoding).toBe('qwen3');
    expect(evalSampling('qwen3', 'no_think')).toEqual({ temperature: 0.7, topP: 0.8, topK: 20 });
    expect(evalSampling('qwen3', 'think')).toEqual({ temperature: 0.6, topP: 0.95, topK: 20 });
    expect(evalSampling('greedy', 'think').temperature).toBe(0);
  });
});

describe('reward composition', () => {
  /** A one-turn episode with the verifier's `components`. */
  function scored(correct: boolean, components: Record<string, number>, invalidCalls = 0): Trajectory {
    return {
      correct,
      components,
      turns: [{ failures: [], finishReason: 'stop' }],
      metrics: { turns: 1, toolCalls: 1, invalidCalls, completionTokens: 10, wallMs: 1 },
    } as unknown as Trajectory;
  }

  it("trains on correctness and shaping by default, logging the environment's other components at weight 0", () => {
    const c = RewardConfigSchema.parse({});
    const r = composeReward(scored(false, { tests: 0.75, correct: 0, format: 1 }), c);
    expect(r.components).toEqual({
      correct: 0,
      format: 1,
      invalid_call: -0,
      tool_use: 1,
      length: 0,
      'env.format': 1,
      'env.tests': 0.75,
    });
    expect(r.total).toBeCloseTo(0.2);
  });

  it("adds the environment's components at their configured weights, and 0 for one the verifier did not give", () => {
    const c = RewardConfigSchema.parse({ env: { tests: 0.5, style: 1 } });
    const partial = composeReward(scored(false, { tests: 0.75, correct: 0 }), c);
    expect(partial.components['env.style']).toBe(0);
    expect(partial.total).toBeCloseTo(0.2 + 0.5 * 0.75);
    const solved = composeReward(scored(true, { tests: 1, correct: 1 }, 2), c);
    expect(solved.total).toBeCloseTo(1 + 0.2 - 0.5 + 0.5);
  });

  it('refuses a weight for correctness among the environment weights', () => {
    expect(() => resolveRunConfig({ flags: { rewards: { env: { correct: 2 } } } })).toThrow(/rewards.correct/);
  });
});

describe('run state', () => {
  it('reads the flat state of older checkpoints into its phase slices', () => {
    const s = readRunState(
      {
        phase: 'grpo',
        step: 4,
        state: { sftStoppedAt: 2, sftTokens: 10, taskCursor: 7, flatTasks: ['a'], evalMs: 3, runFiles: { 'metrics.jsonl': 9 } },
      },
      'ck',
    );
    expect(s).toMatchObject({
      phase: 'grpo',
      step: 4,
      files: { 'metrics.jsonl': 9 },
      sft: { stoppedAt: 2, tokens: 10, seqTokens: 0 },
      grpo: { taskCursor: 7, flatTasks: ['a'] },
      eval: { ms: 3 },
    });
  });

  it('refuses a state it cannot read, naming the checkpoint and the field', () => {
    expect(() => readRunState({ phase: 'dpo', step: 1 }, 'runs/x/checkpoints/last')).toThrow(RunStateError);
    expect(() => readRunState({ phase: 'grpo', step: 1, state: { grpo: { taskCursor: -1 } } }, 'runs/x/last')).toThrow(
      /runs\/x\/last .*grpo\.taskCursor/,
    );
  });
});

describe('a tiny end-to-end train run', () => {
  it('writes config, metrics, checkpoints, trajectories and a summary, and the checkpoint serves as builtin:', async () => {
    // partial credit from the environment's own `near` component, beside the verdict
    const cfg = resolveRunConfig({ preset: 'quick', flags: { ...small, rewards: { env: { near: 0.5 } } } });
    const { dir, summary } = await train(toyEnv, cfg, { runId: 'full' });
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'summary.json',
      'checkpoints/sft/model.safetensors',
      'checkpoints/final/config.json',
      'trajectories/sft-data.jsonl',
      'trajectories/grpo.jsonl',
      'trajectories/eval-before.jsonl',
      'trajectories/eval-after.jsonl',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const m = lines(join(dir, 'metrics.jsonl'));
    expect(m.filter((r) => r.phase === 'sft').map((r) => r.step)).toEqual([1, 2, 3]);
    expect(m.filter((r) => r.phase === 'grpo').map((r) => r.step)).toEqual([1, 2]);
    // the episodes of a GRPO step decode together on the device (several rows per batched step)
    for (const r of m.filter((x) => x.phase === 'grpo')) expect(r.decodeBatchRows as number).toBeGreaterThan(1);
    // every reward component is logged: the verdict, the shaping terms, and the environment's own (`near`, 0
    // for an episode that never reached the verifier)
    for (const r of m.filter((x) => x.phase === 'grpo')) {
      const c = r.components as Record<string, number>;
      expect(Object.keys(c).sort()).toEqual(['correct', 'env.near', 'format', 'invalid_call', 'length', 'tool_use']);
      expect(c['env.near']).toBeGreaterThanOrEqual(c.correct);
    }
    expect(summary.coldStart.kept).toBeGreaterThan(0);
    expect(summary.before.byMode.think?.episodes).toBe(2);
    expect(summary.after.byMode.no_think?.episodes).toBe(2);
    expect(summary.tokensTrained.sft).toBeGreaterThan(0);

    registerBuiltinPolicy();
    await expect(createPolicy(`builtin:${join(dir, 'checkpoints', 'final')}#device=tpu`)).rejects.toThrow(
      /not one of cpu, webgpu/,
    );
    await expect(createPolicy(`builtin:${join(dir, 'checkpoints', 'final')}#temprature=0`)).rejects.toThrow(
      /option temprature is not one of temperature/,
    );
    await expect(createPolicy(`builtin:${join(dir, 'checkpoints', 'final')}#nested=maybe`)).rejects.toThrow(
      /nested=maybe is not one of stop, continue/,
    );
    const policy = await createPolicy(`builtin:${join(dir, 'checkpoints', 'final')}`);
    // no sampling options: Qwen3's per mode, as the run's held-out evaluation sampled
    expect((policy as BuiltinPolicy).sampling).toEqual({ temperature: 0.7, topP: 0.8, topK: 20 });
    expect((policy as BuiltinPolicy).thinkSampling).toEqual({ temperature: 0.6, topP: 0.95, topK: 20 });
    // options given apply to both modes (the rest at their neutral values)
    const hot = (await createPolicy(`builtin:${join(dir, 'checkpoints', 'final')}#temperature=1.2,device=cpu`)) as BuiltinPolicy;
    expect(hot.sampling).toEqual({ temperature: 1.2, topP: 1, topK: 0 });
    expect(hot.thinkSampling).toEqual(hot.sampling);
    const t = await toyEpisode(policy, { maxTurns: 1, maxTurnTokens: 12 });
    expect(t.ending).not.toBe('aborted');
    expect(t.tokens?.length).toBe(t.mask?.length);
    expect(t.mask?.some((x) => x === 1)).toBe(true);
    // behaviour log-probs are real (negative) on sampled tokens and 0 elsewhere
    const lp = t.logprobs ?? [];
    for (const [i, mk] of (t.mask ?? []).entries()) {
      if (mk) expect(lp[i]).toBeLessThanOrEqual(0);
      else expect(lp[i]).toBe(0);
    }
  });

  it('probes the cold start on train tasks outside the SFT set at the configured steps', async () => {
    const flags = {
      ...small,
      sft: { steps: 6, stopAtSuccess: 1, probeFrom: 2, probeEvery: 2, probeTasks: 2 },
      grpo: { steps: 1 },
    };
    const cfg = resolveRunConfig({ preset: 'quick', flags });
    const { dir, summary } = await train(toyEnv, cfg, { runId: 'probed' });
    const m = lines(join(dir, 'metrics.jsonl'));
    // a probe at 2 and 4 (none at the last step: SFT ends there anyway); success 1 is out of reach
    expect(m.filter((r) => r.phase === 'probe').map((r) => r.step)).toEqual([2, 4]);
    expect(m.filter((r) => r.phase === 'sft').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(summary.sftSteps).toBe(6);
    const probed = lines(join(dir, 'trajectories', 'eval-probe2.jsonl'));
    expect(probed).toHaveLength(2);
    const task = (t: Record<string, unknown>) => (t.ids as { task: string }).task;
    const sftTasks = new Set(lines(join(dir, 'trajectories', 'sft-data.jsonl')).map(task));
    expect(sftTasks.size).toBeGreaterThan(0);
    for (const t of probed) expect(sftTasks.has(task(t))).toBe(false);
    expect(() => resolveRunConfig({ flags: { sft: { stopAtSuccess: 1.5 } } })).toThrow(/sft.stopAtSuccess/);
  });

  it('a run resumed after a probe ended SFT goes on to evaluation and GRPO, not back to SFT', async () => {
    const flags = { ...small, sft: { steps: 6, stopAtSuccess: 0 }, grpo: { steps: 1 } };
    const cfg = resolveRunConfig({ preset: 'quick', flags });
    const dir = await trainUntil(cfg, 'probe-stopped', 'sft', 2);
    // what a probe that reached the threshold at step 2 leaves in the run state
    const path = join(dir, 'checkpoints', 'last', 'config.json');
    const ck = JSON.parse(readFileSync(path, 'utf8'));
    expect(ck.meta).toMatchObject({ phase: 'sft', step: 2 });
    ck.meta.state.sft = { ...ck.meta.state.sft, stoppedAt: 2 };
    writeFileSync(path, JSON.stringify(ck));
    const { summary } = await train(toyEnv, cfg, { resume: dir });
    const m = lines(join(dir, 'metrics.jsonl'));
    expect(m.filter((r) => r.phase === 'sft').map((r) => r.step)).toEqual([1, 2]);
    expect(m.filter((r) => r.phase === 'grpo').map((r) => r.step)).toEqual([1]);
    expect(summary.sftSteps).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoints', 'sft', 'config.json'), 'utf8')).meta.step).toBe(2);
  });

  it('warms the SFT rate up over sft.warmupSteps, and a run resumed mid-warmup goes on where it was', async () => {
    const flags = { ...small, sft: { steps: 4, lr: 0.006, warmupSteps: 3, stopAtSuccess: 0 }, grpo: { steps: 0 } };
    const cfg = resolveRunConfig({ preset: 'quick', flags });
    const dir = await trainUntil(cfg, 'warmup', 'sft', 2);
    await train(toyEnv, cfg, { resume: dir });
    const lr = lines(join(dir, 'metrics.jsonl'))
      .filter((r) => r.phase === 'sft')
      .map((r) => r.lr as number);
    expect(lr).toHaveLength(4);
    for (const [i, v] of [0.002, 0.004, 0.006, 0.006].entries()) expect(lr[i]).toBeCloseTo(v, 12);
    // without warmup every step takes the full rate
    const plain = resolveRunConfig({ preset: 'quick', flags: { ...flags, sft: { ...flags.sft, warmupSteps: 0 } } });
    const { dir: d2 } = await train(toyEnv, plain, { runId: 'no-warmup' });
    expect(
      lines(join(d2, 'metrics.jsonl'))
        .filter((r) => r.phase === 'sft')
        .map((r) => r.lr),
    ).toEqual([0.006, 0.006, 0.006, 0.006]);
    expect(() => resolveRunConfig({ flags: { sft: { warmupSteps: -1 } } })).toThrow(/sft.warmupSteps/);
    // gym train's cold start starts from scratch; gym distill's off-policy phase usually from a trained student
    expect(resolveRunConfig({}).sft.warmupSteps).toBe(0);
    expect(resolveRunConfig({ distill: true }).sft.warmupSteps).toBe(5);
  });

  it("gym distill's off-policy rate is 1e-3 for a trained student, 3e-3 for a fresh one, and a set rate wins", () => {
    expect(resolveRunConfig({ distill: true, flags: { init: 'runs/s/checkpoints/final' } }).sft.lr).toBe(1e-3);
    expect(resolveRunConfig({ distill: true, file: { init: 'runs/s/checkpoints/final' } }).sft.lr).toBe(1e-3);
    expect(resolveRunConfig({ distill: true, flags: { model: 'nano' } }).sft.lr).toBe(3e-3);
    // gym train from a checkpoint is not a distillation: its cold-start rate is unchanged
    expect(resolveRunConfig({ flags: { init: 'runs/s/checkpoints/final' } }).sft.lr).toBe(3e-3);
    const set = { init: 'runs/s/checkpoints/final', sft: { lr: 2e-3 } };
    expect(resolveRunConfig({ distill: true, flags: set }).sft.lr).toBe(2e-3);
    expect(resolveRunConfig({ distill: true, file: set }).sft.lr).toBe(2e-3);
    expect(resolveRunConfig({ distill: true, file: { sft: { lr: 2e-3 } }, flags: { init: 'x' } }).sft.lr).toBe(2e-3);
  });

  it('trains end to end with the model on WebGPU (software adapters included)', async (ctx) => {
    const gpu = await webgpuOrSkip('the WebGPU training run');
    if (!gpu.dev) return ctx.skip();
    gpu.dev.destroy();
    const cfg = resolveRunConfig({
      preset: 'quick',
      flags: { ...small, device: 'webgpu', sft: { steps: 2 }, grpo: { steps: 1 } },
    });
    const notes: string[] = [];
    const { dir, summary } = await train(toyEnv, cfg, { runId: 'webgpu', hooks: { onNote: (n) => notes.push(n) } });
    expect(notes.find((n) => n.startsWith('model runs on'))).toMatch(/WebGPU/);
    const sft = lines(join(dir, 'metrics.jsonl')).filter((r) => r.phase === 'sft');
    expect(sft.map((r) => r.step)).toEqual([1, 2]);
    for (const r of sft) expect(r.gradNorm as number).toBeGreaterThan(0);
    // the SFT updates computed on the device reached the saved weights
    const ck = loadCheckpoint(join(dir, 'checkpoints', 'sft'));
    const init = new Transformer(ck.model.config, undefined, cfg.seed);
    expect(ck.model.params.get('layers.0.q_proj')).not.toEqual(init.params.get('layers.0.q_proj'));
    expect(summary.after.byMode.no_think?.episodes).toBe(2);
  });

  it('a non-finite loss stops training with NonFiniteError naming the step, and keeps the last good checkpoint', async () => {
    // one step at this rate takes weights to about 3e38, finite; the next forward overflows
    const cfg = resolveRunConfig({ preset: 'quick', flags: { ...small, sft: { steps: 3, lr: 3e38 } } });
    const run = train(toyEnv, cfg, { runId: 'diverged' });
    await expect(run).rejects.toThrow(NonFiniteError);
    await expect(run).rejects.toThrow(
      /SFT step 2: SFT update: the loss is \S+ and the gradient norm \S+; .*last \(sft step 1\) is the last good checkpoint: to go on, set a lower rate/,
    );
    const dir = join(root, 'diverged');
    expect(loadCheckpoint(join(dir, 'checkpoints', 'last')).meta).toMatchObject({ phase: 'sft', step: 1 });
    expect(lines(join(dir, 'metrics.jsonl')).map((r) => `${r.phase}${r.step}`)).toEqual(['sft1']);
  });

  it('resumes a stopped run from its last checkpoint without losing or repeating steps', async () => {
    const cfg = resolveRunConfig({ preset: 'quick', flags: { ...small, grpo: { steps: 3 } } });
    const dir = await trainUntil(cfg, 'resumed', 'grpo', 1);
    const ck = JSON.parse(readFileSync(join(dir, 'checkpoints', 'last', 'config.json'), 'utf8'));
    expect(ck.meta).toMatchObject({ phase: 'grpo', step: 1 });
    const { summary } = await train(toyEnv, cfg, { resume: dir });
    const m = lines(join(dir, 'metrics.jsonl'));
    expect(m.filter((r) => r.phase === 'sft').map((r) => r.step)).toEqual([1, 2, 3]);
    expect(m.filter((r) => r.phase === 'grpo').map((r) => r.step)).toEqual([1, 2, 3]);
    expect(summary.grpoSteps).toBe(3);
  });

  it("refuses an environment other than the run's, before a new run writes anything and when resuming", async () => {
    const cfg = resolveRunConfig({ preset: 'quick', flags: { ...small, env: 'code-interp' } });
    await expect(train(toyEnv, cfg, { runId: 'wrong-env' })).rejects.toThrow(
      /the run config names environment "code-interp", but the environment given is "toy"/,
    );
    expect(existsSync(join(root, 'wrong-env'))).toBe(false);
    const dir = await trainUntil(resolveRunConfig({ preset: 'quick', flags: { ...small } }), 'env-resume', 'sft', 1);
    const other = { ...toyEnv, id: 'toy-2' };
    await expect(train(other, cfg, { resume: dir })).rejects.toThrow(
      /is a run on environment "toy", but the environment given is "toy-2"/,
    );
  });

  it('a resumed run picks the same tasks and samples the same episodes as an uninterrupted one (skip state restored)', async () => {
    // checkpointEvery 1 and always skipping tasks whose last group was equal: the picks depend on run state.
    const flags = { ...small, checkpointEvery: 1, grpo: { steps: 3, skipZeroVariance: 1, maxRefillRounds: 1 } };
    const cfg = resolveRunConfig({ preset: 'quick', flags });
    await train(toyEnv, cfg, { runId: 'straight' });
    await trainUntil(cfg, 'killed', 'grpo', 2);
    await train(toyEnv, cfg, { resume: join(root, 'killed') });
    const picks = (run: string) => {
      const byStep = new Map<string, string[]>();
      for (const t of lines(join(root, run, 'trajectories', 'grpo.jsonl')) as Array<{ ids: { run: string; task: string } }>) {
        const key = t.ids.run.replace(/^.*-(s\d+r\d+)$/, '$1');
        byStep.set(key, [...(byStep.get(key) ?? []), t.ids.task]);
      }
      return byStep;
    };
    const a = picks('straight');
    const b = picks('killed');
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(b.get(k)).toEqual(v);
    const grpo = (run: string) =>
      lines(join(root, run, 'metrics.jsonl'))
        .filter((r) => r.phase === 'grpo')
        .map((r) => [r.step, r.episodes, r.reward]);
    expect(grpo('killed')).toEqual(grpo('straight'));
  });
});
