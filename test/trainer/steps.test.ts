import { describe, expect, it } from 'vitest';
import type { TokenSample } from '../../trainer/batch.js';
import { lossView, sequencesOf } from '../../trainer/batch.js';
import { tokenStats } from '../../trainer/grpo/logits.js';
import { frozenReference, type GrpoGroup, grpoStep, NonFiniteError } from '../../trainer/grpo/step.js';
import { ModelConfigSchema, ModelRunner, sharedPrefixRuns, Transformer } from '../../trainer/model/index.js';
import { AdamW } from '../../trainer/optim/index.js';
import { sftEval, sftStep } from '../../trainer/sft/sft.js';
import { webgpuOrSkip } from '../gpu/harness.js';
import { grpoOptions } from './fixtures/grpo-options.js';

const cfg = ModelConfigSchema.parse({
  vocabSize: 40,
  dim: 32,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  ffnDim: 64,
  maxSeqLen: 128,
  ropeTheta: 10000,
  normEps: 1e-6,
});
/** The device runner, or for 'host' the plain-loop reference model it is checked against. */
function runnerOn(m: Transformer, where: 'host' | 'cpu' | 'webgpu'): Promise<ModelRunner> {
  return where === 'host' ? Promise.resolve(ModelRunner.of(m)) : ModelRunner.create(m, where);
}
const prompt = [1, 5, 9, 12, 3, 7, 2, 30, 31, 4];

/** Sum of log-probs of the completion tokens (mask = 1) of a sample under the model. */
function seqLogp(m: Transformer, s: TokenSample): number {
  const v = lossView(s);
  const { logp } = tokenStats(m.forward(v.inputs), cfg.vocabSize, v.targets);
  let sum = 0;
  for (let t = 0; t < v.mask.length; t++) if (v.mask[t]) sum += logp[t];
  return sum;
}

function sample(m: Transformer, completion: number[]): TokenSample {
  const tokens = [...prompt, ...completion];
  const mask = tokens.map((_, i) => (i >= prompt.length ? 1 : 0));
  const s: TokenSample = { tokens, mask, logprobs: tokens.map(() => 0) };
  // behaviour log-probs = the current model's (on-policy)
  const v = lossView(s);
  const { logp } = tokenStats(m.forward(v.inputs), cfg.vocabSize, v.targets);
  s.logprobs = [0, ...Array.from(logp, (x, t) => (v.mask[t] ? x : 0))];
  return s;
}

describe('one GRPO step on the real model', () => {
  const cases = [
    ...(['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const).map((loss) => ({ loss, where: 'host' as const })),
    { loss: 'dapo' as const, where: 'cpu' as const },
  ];
  for (const { loss, where } of cases) {
    it(`raises the log-probability of above-average completions and lowers the others (${loss}, ${where})`, async () => {
      const m = new Transformer(cfg, undefined, 11);
      const runner = await runnerOn(m, where);
      const completions = [
        [20, 21, 22, 23],
        [24, 25, 26],
        [20, 27, 28, 29, 33],
        [34, 35],
      ];
      const samples = completions.map((c) => sample(m, c));
      const rewards = [1, 0, 1, 0];
      const before = samples.map((s) => seqLogp(m, s));
      const paramsBefore = Float32Array.from(m.params.get('layers.0.q_proj') as Float32Array);
      const opt = new AdamW(m.params, m.shapes);
      const r = await grpoStep(runner, opt, [{ samples, rewards }], grpoOptions({ lossType: loss }));
      const after = samples.map((s) => seqLogp(m, s));
      expect(r.tokens).toBe(14);
      expect(r.clipFrac).toBe(0);
      expect(after[0]).toBeGreaterThan(before[0]);
      expect(after[2]).toBeGreaterThan(before[2]);
      expect(after[1]).toBeLessThan(before[1]);
      expect(after[3]).toBeLessThan(before[3]);
      expect(m.params.get('layers.0.q_proj')).not.toEqual(paramsBefore);
      runner.dispose();
    });
  }

  it('leaves the weights alone when every reward in the group is equal', async () => {
    const m = new Transformer(cfg, undefined, 12);
    const samples = [sample(m, [20, 21]), sample(m, [22, 23])];
    const before = Float32Array.from(m.params.get('embed_tokens') as Float32Array);
    const r = await grpoStep(
      m,
      new AdamW(m.params, m.shapes),
      [{ samples, rewards: [1, 1] }],
      grpoOptions({ lossType: 'dapo', epsHigh: 0.2, lr: 1e-2 }),
    );
    expect(r.tokens).toBe(0);
    expect(m.params.get('embed_tokens')).toEqual(before);
  });

  it('reuses a batch for num_iterations > 1 with ratios against the behaviour log-probs', async () => {
    const m = new Transformer(cfg, undefined, 13);
    const samples = [sample(m, [20, 21, 22]), sample(m, [24, 25])];
    const r = await grpoStep(
      m,
      new AdamW(m.params, m.shapes),
      [{ samples, rewards: [1, 0] }],
      grpoOptions({ lossType: 'bnpo', scaleRewards: 'none', epsHigh: 0.2, beta: 0.05, numIterations: 3, lr: 2e-2 }),
      new Transformer(cfg, m.params),
    );
    // after two updates the policy has moved: the KL to the reference is positive
    expect(r.kl).toBeGreaterThan(0);
    expect(r.tokens).toBe(5);
  });
});

describe('SFT step', () => {
  for (const where of ['host', 'cpu'] as const)
    it(`lowers the loss on mask = 1 tokens and changes the parameters (${where})`, async () => {
      const m = new Transformer(cfg, undefined, 21);
      const runner = await runnerOn(m, where);
      const samples: TokenSample[] = [
        { tokens: [...prompt, 20, 21, 22, 23], mask: [...prompt.map(() => 0), 1, 1, 1, 1], logprobs: [] },
        { tokens: [...prompt, 24, 25, 26], mask: [...prompt.map(() => 0), 1, 1, 1], logprobs: [] },
      ];
      const opt = new AdamW(m.params, m.shapes);
      const l0 = await sftEval(runner, samples);
      const w0 = Float32Array.from(m.params.get('layers.1.down_proj') as Float32Array);
      let last = 0;
      for (let i = 0; i < 10; i++) last = (await sftStep(runner, opt, samples, { lr: 1e-2, maxGradNorm: 1 })).loss;
      expect(await sftEval(runner, samples)).toBeLessThan(l0 - 0.5);
      // the host copy the optimizer updates and the device copy agree
      expect(await sftEval(m, samples)).toBeCloseTo(await sftEval(runner, samples), 3);
      expect(last).toBeLessThan(l0);
      expect(m.params.get('layers.1.down_proj')).not.toEqual(w0);
      runner.dispose();
    });

  it('ignores prompt tokens: changing them does not change the loss count', async () => {
    const m = new Transformer(cfg, undefined, 22);
    const r = await sftStep(m, new AdamW(m.params, m.shapes), [{ tokens: [1, 2, 3, 4], mask: [0, 0, 1, 0], logprobs: [] }], {
      lr: 1e-3,
      maxGradNorm: 1,
    });
    expect(r.tokens).toBe(1);
  });
});

describe('non-finite losses and weights', () => {
  const samples: TokenSample[] = [{ tokens: [...prompt, 20, 21, 22], mask: [...prompt.map(() => 0), 1, 1, 1], logprobs: [] }];

  it('refuses an SFT update whose loss is NaN, leaving the weights and the optimizer as they were', async () => {
    const m = new Transformer(cfg, undefined, 31);
    (m.params.get('norm') as Float32Array)[0] = Number.NaN;
    const opt = new AdamW(m.params, m.shapes);
    const w0 = Float32Array.from(m.params.get('layers.0.q_proj') as Float32Array);
    await expect(sftStep(m, opt, samples, { lr: 1e-2, maxGradNorm: 1 })).rejects.toThrow(NonFiniteError);
    await expect(sftStep(m, opt, samples, { lr: 1e-2, maxGradNorm: 1 })).rejects.toThrow(
      /SFT update: the loss is NaN .*the update was not applied/,
    );
    expect(opt.step).toBe(0);
    expect(m.params.get('layers.0.q_proj')).toEqual(w0);
  });

  it('refuses a GRPO update whose loss is NaN', async () => {
    const m = new Transformer(cfg, undefined, 32);
    const group = { samples: [sample(m, [20, 21]), sample(m, [22, 23])], rewards: [1, 0] };
    (m.params.get('norm') as Float32Array)[0] = Number.NaN;
    const opt = new AdamW(m.params, m.shapes);
    await expect(grpoStep(m, opt, [group], grpoOptions({ lossType: 'dapo', epsHigh: 0.2, lr: 1e-2 }))).rejects.toThrow(
      /GRPO update: the loss is NaN/,
    );
    expect(opt.step).toBe(0);
  });

  it('stops when an update leaves a weight infinite, naming the tensor', async () => {
    const m = new Transformer(cfg, undefined, 33);
    // |w| grows by about lr per step: past float32's largest value after one
    const opt = new AdamW(m.params, m.shapes);
    await expect(sftStep(m, opt, samples, { lr: 1e39, maxGradNorm: 1 })).rejects.toThrow(
      /SFT update: the update left tensor \S+ holding -?Infinity at index \d+/,
    );
  });
});

describe('GRPO on the device against the host reference', () => {
  const opts = grpoOptions({ lossType: 'dapo', beta: 0.01, maxGradNorm: 0.5, lr: 1e-2, temperature: 0.9 });
  /** Two groups with different prompts (two shared-prefix runs), behaviour log-probs off-policy. */
  function batch(): GrpoGroup[] {
    return [0, 1].map((g) => {
      const p = prompt.map((x) => (x + 3 * g) % cfg.vocabSize);
      const samples = [
        [20, 21, 22, 23],
        [24, 25, 26],
        [20, 27, 28, 29, 33],
      ].map((c) => {
        const tokens = [...p, ...c.map((x) => x + g)];
        return { tokens, mask: tokens.map((_, i) => (i >= p.length ? 1 : 0)), logprobs: tokens.map(() => -3.5) };
      });
      return { samples, rewards: [1, 0, g] };
    });
  }
  async function step(where: 'host' | 'cpu' | 'webgpu') {
    const m = new Transformer(cfg, undefined, 5);
    const runner = await runnerOn(m, where);
    const opt = new AdamW(m.params, m.shapes);
    const ref = frozenReference(runner);
    const r = await grpoStep(runner, opt, batch(), opts, ref);
    const before = m.params.get('embed_tokens')?.slice();
    await runner.syncHost(); // what a checkpoint does before it reads the host arrays
    ref.dispose();
    runner.dispose();
    return { r, m, opt, before };
  }

  it('splits a batch into one shared-prompt run per group', () => {
    const groups = batch();
    const views = groups.flatMap((g) => g.samples.flatMap(sequencesOf).map((s) => lossView(s)));
    const runs = sharedPrefixRuns(
      views.map((v) => v.inputs),
      views.map((v) => v.targets),
    );
    expect(runs).toEqual([
      { start: 0, end: 3, P: prompt.length - 1 },
      { start: 3, end: 6, P: prompt.length - 1 },
    ]);
  });

  it('gives the loss, gradient norm, weights and moments of the host reference at step 1', async () => {
    const host = await step('host');
    const dev = await step('cpu');
    expect(dev.r.tokens).toBe(host.r.tokens);
    expect(dev.r.loss).toBeCloseTo(host.r.loss, 5);
    expect(dev.r.gradNorm).toBeCloseTo(host.r.gradNorm, 5);
    expect(dev.r.entropy).toBeCloseTo(host.r.entropy, 4);
    expect(dev.opt.step).toBe(1);
    let moved = 0;
    for (const [name, w] of host.m.params) {
      const d = dev.m.params.get(name) as Float32Array;
      const m0 = host.opt.m.get(name) as Float32Array;
      const m1 = dev.opt.m.get(name) as Float32Array;
      for (let i = 0; i < w.length; i++) {
        expect(Math.abs(d[i] - w[i])).toBeLessThan(1e-4);
        expect(Math.abs(m1[i] - m0[i])).toBeLessThan(1e-5);
      }
      moved += Number(w.some((x, i) => x !== (new Transformer(cfg, undefined, 5).params.get(name) as Float32Array)[i]));
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('gives the same bits in two identical runs on the CPU backend', async () => {
    const a = await step('cpu');
    const b = await step('cpu');
    expect(b.r).toEqual(a.r);
    for (const [name, w] of a.m.params) expect(b.m.params.get(name)).toEqual(w);
    for (const [name, v] of a.opt.v) expect(b.opt.v.get(name)).toEqual(v);
  });

  it("brings a WebGPU step's weights and moments to the host only when synced, as checkpoints do", async (ctx) => {
    const got = await webgpuOrSkip('a GRPO step on WebGPU');
    if (!got.dev) return ctx.skip(got.reason);
    got.dev.destroy();
    const cpu = await step('cpu');
    const gpu = await step('webgpu');
    expect(gpu.r.loss).toBeCloseTo(cpu.r.loss, 4);
    // before the sync the host still held the initial weights (nothing came down per step)
    expect(gpu.before).toEqual(new Transformer(cfg, undefined, 5).params.get('embed_tokens'));
    expect(gpu.opt.step).toBe(1);
    for (const [name, w] of cpu.m.params) {
      const g = gpu.m.params.get(name) as Float32Array;
      const v0 = cpu.opt.v.get(name) as Float32Array;
      const v1 = gpu.opt.v.get(name) as Float32Array;
      for (let i = 0; i < w.length; i++) {
        expect(Math.abs(g[i] - w[i])).toBeLessThan(1e-4);
        expect(Math.abs(v1[i] - v0[i])).toBeLessThan(1e-6);
      }
    }
  });
  it('finds a non-finite weight on WebGPU from one scalar, and names the tensor after reading the weights back', async (ctx) => {
    const got = await webgpuOrSkip('a non-finite weight on WebGPU');
    if (!got.dev) return ctx.skip(got.reason);
    got.dev.destroy();
    const m = new Transformer(cfg, undefined, 5);
    const runner = await runnerOn(m, 'webgpu');
    await runner.refuseNonFiniteWeights('check'); // all finite: nothing thrown
    const d = runner.device as NonNullable<typeof runner.device>;
    const w = Float32Array.from(m.params.get('norm') as Float32Array);
    w[1] = Number.POSITIVE_INFINITY;
    d.dev.write(d.params.get('norm') as NonNullable<ReturnType<typeof d.params.get>>, w);
    (runner as unknown as { hostStale: boolean }).hostStale = true; // the device moved past the host, as after a step
    await expect(runner.refuseNonFiniteWeights('GRPO update')).rejects.toThrow(/tensor norm holding Infinity at index 1/);
    runner.dispose();
  });
});
