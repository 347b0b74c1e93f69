/**
 * On-policy distillation steps on the device (gpu/ CPU backend): the student samples sequences
 * (prompt and a tool-output stretch masked out), a larger frozen teacher scores them, and one update
 * must lower the student's divergence from the teacher on those very prefixes, for every loss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../tools/index.js';
import type { TokenSample } from '../../../trainer/batch.js';
import { DISTILL_LOSSES, distillDivergence, distillStep, sampledTokenLoss } from '../../../trainer/distill/index.js';
import { ModelRunner, presetConfig, sampleToken, Transformer } from '../../../trainer/model/index.js';
import { AdamW, DEFAULT_ADAMW } from '../../../trainer/optim/index.js';

const V = 300;
let teacher: ModelRunner;

beforeAll(async () => {
  // a teacher with opinions: its final norm scaled up makes its distributions peaked (a random
  // model's are near uniform, and so close to the student's that one step's noise could hide the signal)
  const t = new Transformer(presetConfig('micro', V), undefined, 11);
  (t.params.get('norm') as Float32Array).forEach((x, i, a) => {
    a[i] = x * 3;
  });
  teacher = await ModelRunner.create(t, 'cpu');
});
afterAll(() => teacher.dispose());

/**
 * A student and its optimizer. `sgd`: AdamW with eps 1 moves each weight by about lr * g, a plain
 * gradient step (Adam's first step moves every weight by lr in the sign of its gradient, which for a
 * one-sample estimate turns the noise of weights with little signal into full-size steps).
 */
async function freshStudent(sgd = false): Promise<{ student: ModelRunner; opt: AdamW }> {
  const m = new Transformer(presetConfig('nano', V), undefined, 5);
  const opt = new AdamW(m.params, m.shapes, { ...DEFAULT_ADAMW, ...(sgd ? { eps: 1 } : {}) });
  return { student: await ModelRunner.create(m, 'cpu'), opt };
}

/**
 * Sequences the student samples at T 1: a shared 12-token prompt (mask 0), 10 sampled tokens, a
 * 6-token "tool output" (mask 0, not sampled), 10 more sampled tokens.
 */
async function studentSamples(student: ModelRunner, n: number, seed: number): Promise<TokenSample[]> {
  const rng = new Rng(seed);
  const prompt = Array.from({ length: 12 }, (_, i) => (i * 37) % V);
  const out: TokenSample[] = [];
  for (let k = 0; k < n; k++) {
    const tokens = [...prompt];
    const mask = prompt.map(() => 0);
    const sample = async (count: number) => {
      for (let j = 0; j < count; j++) {
        const logits = await student.logits(tokens);
        const { id } = sampleToken(logits.subarray(logits.length - V), { temperature: 1, topP: 1, topK: 0 }, rng);
        tokens.push(id);
        mask.push(1);
      }
    };
    await sample(10);
    for (let j = 0; j < 6; j++) {
      tokens.push((k * 13 + j * 7) % V);
      mask.push(0);
    }
    await sample(10);
    out.push({ tokens, mask, logprobs: tokens.map(() => 0) });
  }
  return out;
}

describe('on-policy distillation step', () => {
  for (const loss of DISTILL_LOSSES) {
    it(`lowers the student's divergence from the teacher on its own sampled prefixes (${loss})`, async () => {
      const { student, opt } = await freshStudent(loss === 'sampled');
      try {
        // the one-sample estimate is noisy per token: more sequences and a smaller step for it
        const samples = await studentSamples(student, loss === 'sampled' ? 64 : 3, 1);
        // the sampled estimate is judged by the full reverse KL it estimates
        const judge = { loss: loss === 'sampled' ? ('reverse_kl' as const) : loss, beta: 0.5 };
        const before = await distillDivergence(student, teacher, samples, judge);
        const w0 = Float32Array.from(student.params.get('layers.0.q_proj') as Float32Array);
        const m = await distillStep(student, opt, teacher, samples, {
          loss,
          beta: 0.5,
          lr: loss === 'sampled' ? 1 : 1e-2,
          maxGradNorm: 0,
        });
        const after = await distillDivergence(student, teacher, samples, judge);
        expect(m.tokens).toBe(samples.length * 20); // prompt and tool output carry no loss
        expect(m.teacherTokens).toBe(samples.reduce((s, x) => s + x.tokens.length - 1, 0));
        if (loss !== 'sampled') expect(m.divergence).toBeCloseTo(before, 5);
        expect(before).toBeGreaterThan(0);
        expect(after).toBeLessThan(before);
        expect(student.params.get('layers.0.q_proj')).not.toEqual(w0);
      } finally {
        student.dispose();
      }
    });
  }

  it('leaves the student unchanged when no position carries loss (all prompt and tool output)', async () => {
    const { student, opt } = await freshStudent();
    try {
      const [s] = await studentSamples(student, 1, 2);
      const masked = { ...s, mask: s.mask.map(() => 0) };
      const w0 = Float32Array.from(student.params.get('layers.1.down_proj') as Float32Array);
      const m = await distillStep(student, opt, teacher, [masked], { loss: 'reverse_kl', beta: 0.5, lr: 1e-2, maxGradNorm: 1 });
      expect(m.tokens).toBe(0);
      expect(student.params.get('layers.1.down_proj')).toEqual(w0);
    } finally {
      student.dispose();
    }
  });

  it('refuses a teacher whose vocabulary differs from the student', async () => {
    const { student, opt } = await freshStudent();
    const other = await ModelRunner.create(new Transformer(presetConfig('nano', V + 8), undefined, 1), 'cpu');
    try {
      const samples = await studentSamples(student, 1, 3);
      await expect(
        distillStep(student, opt, other, samples, { loss: 'reverse_kl', beta: 0.5, lr: 1e-2, maxGradNorm: 1 }),
      ).rejects.toThrow(/one tokenizer for both/);
    } finally {
      student.dispose();
      other.dispose();
    }
  });
});

describe('the sampled-token estimate (Tinker)', () => {
  it('is the masked mean of log S - log T, with d loss / d log S = w * r', () => {
    const logS = [-1, -2, -0.5, -3];
    const logT = [-1.5, -1, -0.5, -9];
    const mask = [1, 1, 1, 0];
    const w = [1 / 3, 1 / 3, 1 / 3, 0];
    const r = sampledTokenLoss(logS, logT, mask, w);
    expect(r.loss).toBeCloseTo((0.5 - 1 + 0) / 3, 12);
    expect(Array.from(r.dlogp)).toEqual([expect.closeTo(0.5 / 3, 12), expect.closeTo(-1 / 3, 12), 0, 0]);
    expect(r.tokens).toBe(3);
  });
});
