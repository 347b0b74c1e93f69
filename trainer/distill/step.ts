/**
 * One on-policy distillation step over student-sampled sequences: the frozen teacher scores the
 * batch (forward only, its logits or per-token log-probs), then the student runs forward and
 * backward one sequence at a time (a shared prompt once per run of sequences, as GRPO does), the
 * loss from `loss.ts`, clip, AdamW. For the full-vocabulary divergences the teacher's (T, V) logits
 * go to the student's device and gpu/ops/distill turns both into the student's d loss / d logits
 * there; teacher and student may sit on different devices (the logits cross through the host).
 * `distillDivergence` is the same pass without the update: the student's divergence from the
 * teacher on given sequences, which is what an update should lower.
 */
import {
  type DivergenceKind,
  divergence,
  divergenceBackward,
  type Tensor,
  tokenLogprob,
  tokenLogprobBackward,
} from '../../gpu/index.js';
import { type LossView, lossView, type TokenSample } from '../batch.js';
import { type ModelRunner, refuseNonFiniteUpdate, sharedPrefixRuns } from '../model/index.js';
import type { AdamW } from '../optim/index.js';
import { type DistillLossType, distillWeights, sampledTokenLoss } from './loss.js';

export interface DistillStepOptions {
  loss: DistillLossType;
  /** JSD's teacher weight in the mixture (jsd only). */
  beta: number;
  lr: number;
  maxGradNorm: number;
}

export interface DistillStepMetrics {
  /** The loss of the batch (Σ w D): the token-mean divergence before the update. */
  loss: number;
  /** Token-mean divergence under the chosen loss (for `sampled`: the mean of r = log S - log T). */
  divergence: number;
  gradNorm: number;
  /** Masked (student-sampled) tokens that carried loss. */
  tokens: number;
  /** Tokens through the student's forward and backward. */
  seqTokens: number;
  /** Tokens through the teacher's forward. */
  teacherTokens: number;
  sequences: number;
}

/** The teacher and student must speak the same ids: the same vocabulary (tokenizers are checked where runs open). */
function checkVocab(student: ModelRunner, teacher: ModelRunner): void {
  const [s, t] = [student.config.vocabSize, teacher.config.vocabSize];
  if (s !== t)
    throw new RangeError(
      `the teacher's vocabulary has ${t} ids and the student's ${s}: distillation needs one tokenizer for both`,
    );
}

function deviceOf(r: ModelRunner, who: string) {
  if (!r.device)
    throw new RangeError(`the ${who} runs on host loops: distillation runs on a gpu/ Device (ModelRunner.create(model, 'cpu'))`);
  return r.device;
}

/**
 * The student's pass over `views` against the teacher: per sequence the divergence rows (T) and,
 * with `train`, the backward into the student's gradients. Returns Σ w D, Σ D and the counts.
 */
async function pass(
  student: ModelRunner,
  teacher: ModelRunner,
  views: readonly LossView[],
  o: { loss: DistillLossType; beta: number; train: boolean },
): Promise<{ loss: number; dSum: number; tokens: number; seqTokens: number; teacherTokens: number }> {
  checkVocab(student, teacher);
  const d = deviceOf(student, 'student');
  const dev = d.dev;
  const V = student.config.vocabSize;
  const weights = distillWeights(views.map((v) => v.mask));
  const inputs = views.map((v) => v.inputs);
  const targets = views.map((v) => v.targets);
  // the teacher scores the whole batch first, forward only
  const teacherTokens = inputs.reduce((s, x) => s + x.length, 0);
  const sampled = o.loss === 'sampled';
  const teacherLogp = sampled ? (await teacher.tokenLogprobsMany(inputs, targets, 1)).map((s) => s.logp) : undefined;
  const teacherLogits: Float32Array[] = [];
  if (!sampled) for (const x of inputs) teacherLogits.push(await teacher.logits(x));
  const kind = o.loss as DivergenceKind;
  let loss = 0;
  let dSum = 0;
  let tokens = 0;
  let seqTokens = 0;
  for (const c of sharedPrefixRuns(inputs, targets)) {
    const prefix = c.P > 0 ? d.forwardPrefix(inputs[c.start].slice(0, c.P)) : undefined;
    const from = c.P;
    let any = false;
    try {
      for (let i = c.start; i < c.end; i++) {
        const v = views[i];
        const T = v.inputs.length - from; // rows this pass computes
        const cache = prefix?.cache.clone(v.inputs.length);
        const logits = d.forwardLogits(v.inputs.slice(from), { train: o.train, cache }); // (T, V)
        const tmp: (Tensor | undefined)[] = [logits];
        seqTokens += v.inputs.length;
        try {
          let dz: Tensor;
          if (sampled) {
            const ids = dev.upload(v.targets.subarray(from), [T], 'i32');
            const fw = tokenLogprob(dev, logits, ids, { targetsOnly: true });
            tmp.push(ids, fw.out, fw.lse, fw.entropy);
            const logS = new Float64Array(v.inputs.length);
            logS.set((await dev.download(fw.out)) as Float32Array, from);
            const r = sampledTokenLoss(logS, (teacherLogp as Float64Array[])[i], v.mask, weights[i]);
            loss += r.loss;
            dSum += r.rSum;
            tokens += r.tokens;
            if (!o.train) continue;
            const dl = dev.upload(Float32Array.from(r.dlogp.subarray(from)), [T]);
            tmp.push(dl);
            dz = tokenLogprobBackward(dev, logits, ids, fw, dl, undefined, { targetsOnly: true });
          } else {
            const b = dev.upload(teacherLogits[i].subarray(from * V, (from + T) * V), [T, V]);
            const mask = dev.upload(Float32Array.from(v.mask.subarray(from)), [T]);
            const fw = divergence(dev, logits, b, mask, { kind, beta: o.beta });
            tmp.push(b, mask, fw.out, fw.aux);
            const rowsD = (await dev.download(fw.out)) as Float32Array;
            const w = weights[i];
            for (let t = 0; t < T; t++) {
              if (!v.mask[from + t]) continue;
              loss += w[from + t] * rowsD[t];
              dSum += rowsD[t];
              tokens++;
            }
            if (!o.train) continue;
            const dout = dev.upload(Float32Array.from(w.subarray(from)), [T]);
            tmp.push(dout);
            dz = divergenceBackward(dev, logits, b, mask, fw, dout, { kind, beta: o.beta });
          }
          tmp.push(dz);
          d.backward(dz, prefix);
          any = true;
        } finally {
          dev.free(...tmp);
          cache?.free();
        }
      }
    } finally {
      if (prefix) d.backwardPrefix(prefix, any && o.train);
    }
  }
  return { loss, dSum, tokens, seqTokens, teacherTokens };
}

/** Loss views of student-sampled sequences that carry loss (cut to the student's context). */
export function distillViews(samples: readonly TokenSample[], maxSeqLen: number): LossView[] {
  return samples.map((s) => lossView(s, maxSeqLen)).filter((v) => v.count > 0);
}

/** One on-policy distillation update of `student` toward the frozen `teacher` on `samples`. */
export async function distillStep(
  student: ModelRunner,
  opt: AdamW,
  teacher: ModelRunner,
  samples: readonly TokenSample[],
  o: DistillStepOptions,
): Promise<DistillStepMetrics> {
  const views = distillViews(samples, Math.min(student.config.maxSeqLen, teacher.config.maxSeqLen));
  student.zeroGrad();
  const r = await pass(student, teacher, views, { loss: o.loss, beta: o.beta, train: true });
  const gradNorm = await student.gradNorm();
  if (r.tokens > 0) {
    refuseNonFiniteUpdate('distillation update', r.loss, gradNorm);
    await student.step(opt, o.lr, o.maxGradNorm);
    await student.refuseNonFiniteWeights('distillation update');
  }
  return {
    loss: r.loss,
    divergence: r.tokens ? r.dSum / r.tokens : 0,
    gradNorm,
    tokens: r.tokens,
    seqTokens: r.seqTokens,
    teacherTokens: r.teacherTokens,
    sequences: views.length,
  };
}

/** The student's token-mean divergence from the teacher on `samples`, no update. */
export async function distillDivergence(
  student: ModelRunner,
  teacher: ModelRunner,
  samples: readonly TokenSample[],
  o: { loss: DistillLossType; beta: number },
): Promise<number> {
  const views = distillViews(samples, Math.min(student.config.maxSeqLen, teacher.config.maxSeqLen));
  const r = await pass(student, teacher, views, { ...o, train: false });
  return r.tokens ? r.dSum / r.tokens : 0;
}
