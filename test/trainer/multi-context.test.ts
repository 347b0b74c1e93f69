/**
 * Episodes of several contexts in the trainer: the memory environment's sessions recorded with
 * exact tokens per context, and a GRPO step that gives every context of an episode its advantage.
 */
import { describe, expect, it } from 'vitest';
import { OraclePolicy } from '../../agent/policies/index.js';
import { runBatch } from '../../agent/rollout/index.js';
import type { Trajectory } from '../../agent/types.js';
import { memoryEnv, type Scenario } from '../../envs/memory/index.js';
import { episodeSamples, lossView, type TokenSample, toSample } from '../../trainer/batch.js';
import { tokenStats } from '../../trainer/grpo/logits.js';
import { grpoStep } from '../../trainer/grpo/step.js';
import { ModelConfigSchema, Transformer } from '../../trainer/model/index.js';
import { AdamW } from '../../trainer/optim/index.js';
import { TokenizingPolicy } from '../../trainer/sft/index.js';
import { ByteTokenizer } from '../../trainer/tokenizer/index.js';
import { grpoOptions } from './fixtures/grpo-options.js';

describe('a memory episode recorded for the trainer', () => {
  it('keeps each session as its own exact token sequence: prompt masked, only the sampled turns trained', async () => {
    const tok = new ByteTokenizer();
    const policy = new TokenizingPolicy(new OraclePolicy(memoryEnv), tok);
    const id = 'memory/update/train/2';
    const { trajectories } = await runBatch({ env: memoryEnv, policy, tasks: [id], progress: false, keep: true });
    const t = trajectories[0] as Trajectory;
    const s = memoryEnv.getTask(id).reference as Scenario;
    expect(t.correct).toBe(true);
    const seqs = episodeSamples(t) as TokenSample[];
    expect(seqs).toHaveLength(s.sessions.length + 1);
    expect(toSample(t)?.tokens).toEqual(seqs.at(-1)?.tokens);
    const contexts = [...(t.contexts ?? []), { messages: t.messages }];
    seqs.forEach((q, i) => {
      const text = tok.decode(q.tokens);
      expect(text.startsWith('<|im_start|>system\n')).toBe(true);
      expect(text).toContain(`[Session ${i + 1} of ${s.sessions.length + 1}`);
      // What the mask trains on is exactly what the policy produced in this context, turn by turn.
      const sampled = tok.decode(q.tokens.filter((_, k) => q.mask[k] === 1));
      const raws = t.turns.filter((x) => (x.context ?? 0) === i).map((x) => `${x.raw}<|im_end|>`);
      expect(sampled).toBe(raws.join(''));
      expect(contexts[i].messages.filter((m) => m.role === 'assistant')).toHaveLength(raws.length);
    });
  });
});

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

function seqLogp(m: Transformer, s: TokenSample): number {
  const v = lossView(s);
  const { logp } = tokenStats(m.forward(v.inputs), cfg.vocabSize, v.targets);
  let sum = 0;
  for (let t = 0; t < v.mask.length; t++) if (v.mask[t]) sum += logp[t];
  return sum;
}

function sample(m: Transformer, prompt: number[], completion: number[]): TokenSample {
  const tokens = [...prompt, ...completion];
  const s: TokenSample = { tokens, mask: tokens.map((_, i) => (i >= prompt.length ? 1 : 0)), logprobs: tokens.map(() => 0) };
  const v = lossView(s);
  const { logp } = tokenStats(m.forward(v.inputs), cfg.vocabSize, v.targets);
  s.logprobs = [0, ...Array.from(logp, (x, t) => (v.mask[t] ? x : 0))];
  return s;
}

describe('GRPO on episodes of several contexts', () => {
  it("gives every context of an episode the episode's advantage", async () => {
    const m = new Transformer(cfg, undefined, 21);
    // Episode 0 (reward 1) has two contexts; episode 1 (reward 0) has one.
    const good = [sample(m, [1, 5, 9, 2], [20, 21, 22]), sample(m, [1, 6, 3], [24, 25])];
    const bad = sample(m, [1, 5, 9, 2], [26, 27, 28]);
    const before = [...good, bad].map((s) => seqLogp(m, s));
    const r = await grpoStep(m, new AdamW(m.params, m.shapes), [{ samples: [good, bad], rewards: [1, 0] }], grpoOptions());
    const after = [...good, bad].map((s) => seqLogp(m, s));
    expect(r.sequences).toBe(3);
    expect(r.tokens).toBe(8);
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
    expect(after[2]).toBeLessThan(before[2]);
  });

  it('weighs an episode as one sequence under the grpo aggregation, however its tokens are split into contexts', async () => {
    // The same completion tokens as one context or as two: the per-episode mean gives the same loss.
    const a = new Transformer(cfg, undefined, 22);
    const whole = [sample(a, [1, 5], [20, 21, 22, 23]), sample(a, [1, 5], [30, 31])];
    const split = [[sample(a, [1, 5], [20, 21]), sample(a, [1, 5, 20, 21], [22, 23])], whole[1]];
    const one = await grpoStep(
      new Transformer(cfg, a.params),
      new AdamW(a.params, a.shapes),
      [{ samples: whole, rewards: [1, 0] }],
      {
        ...grpoOptions(),
        lr: 0,
      },
    );
    const two = await grpoStep(
      new Transformer(cfg, a.params),
      new AdamW(a.params, a.shapes),
      [{ samples: split, rewards: [1, 0] }],
      {
        ...grpoOptions(),
        lr: 0,
      },
    );
    expect(two.loss).toBeCloseTo(one.loss, 6);
    expect(two.sequences).toBe(3);
  });
});
