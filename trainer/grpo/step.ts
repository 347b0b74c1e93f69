/**
 * One GRPO optimisation step over a batch of groups (already sampled and scored): advantages per
 * group, aggregation weights for the whole batch, then one sequence at a time forward -> per-token
 * log-probs and entropy (T) -> policy loss -> dlogp (T) -> backward, accumulating gradients; clip;
 * AdamW. The logits, their gradient, the weights and the optimizer stay where the model runs
 * (`ModelRunner`); the loss itself is host code over T values per sequence. With `numIterations`
 * > 1 the same batch is reused, the importance ratio taken against the behaviour log-probs.
 */
import { type EpisodeSample, type LossView, lossView, sequencesOf } from '../batch.js';
import { ModelRunner, refuseNonFiniteUpdate, type Transformer } from '../model/index.js';
import type { AdamW } from '../optim/index.js';
import { groupAdvantages, type ScaleRewards } from './advantages.js';
import { applyCovControl, covSelect, type EntropyControl } from './entropy.js';
import { AGGREGATIONS, type LossType, policyLoss } from './loss.js';

export { NonFiniteError, refuseNonFiniteUpdate, refuseNonFiniteWeights } from '../model/index.js';

export interface GrpoGroup {
  /** One per episode: its sequence, or one sequence per context of a multi-context episode. */
  samples: EpisodeSample[];
  /** One per episode. */
  rewards: number[];
}

/**
 * Per-token weights with each episode as the aggregation's unit: the aggregation sees an episode's
 * contexts as one sequence (their masks end to end), so `grpo`'s per-sequence mean and `dr_grpo`'s
 * longest completion count episodes, not contexts; the weights are then cut back per context.
 */
function episodeWeights(
  lossType: LossType,
  views: readonly LossView[],
  episodes: readonly number[],
  maxCompletionLen?: number,
): Float64Array[] {
  const masks: Uint8Array[] = [];
  let k = 0;
  for (const n of episodes) {
    const parts = views.slice(k, k + n).map((v) => v.mask);
    const m = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      m.set(p, at);
      at += p.length;
    }
    masks.push(m);
    k += n;
  }
  const joined = AGGREGATIONS[lossType](masks, { maxCompletionLen });
  const out: Float64Array[] = [];
  k = 0;
  episodes.forEach((n, e) => {
    let at = 0;
    for (const v of views.slice(k, k + n)) {
      out.push(joined[e].slice(at, at + v.mask.length));
      at += v.mask.length;
    }
    k += n;
  });
  return out;
}

export interface GrpoStepOptions {
  lossType: LossType;
  scaleRewards: ScaleRewards;
  epsLow: number;
  epsHigh: number;
  beta: number;
  numIterations: number;
  maxGradNorm: number;
  lr: number;
  temperature: number;
  /** When > 0 and the token-mean entropy falls below `entropyTarget`, add -entropyCoef * H. */
  entropyCoef: number;
  entropyTarget: number;
  /** dr_grpo normaliser (tokens); defaults to the batch's longest completion. */
  maxCompletionLen?: number;
  /** Covariance-based entropy control (`entropy.ts`); default none. */
  entropyControl?: EntropyControl;
  /** Share of masked tokens Clip-Cov detaches or KL-Cov penalises. */
  covFraction?: number;
  /** Clip-Cov's covariance window. */
  covLow?: number;
  covHigh?: number;
  /** KL-Cov's penalty coefficient. */
  klCovCoef?: number;
  /** Seed of Clip-Cov's random choice (the run passes one per step). */
  covSeed?: number;
}

/** The metrics of a step that updated nothing (no informative group): every figure 0. */
export const NO_GRPO_UPDATE: Readonly<GrpoStepMetrics> = {
  loss: 0,
  kl: 0,
  entropy: 0,
  clipFrac: 0,
  gradNorm: 0,
  tokens: 0,
  seqTokens: 0,
  sequences: 0,
  advAbsMean: 0,
  covSelected: 0,
  covSelectedMean: 0,
  covMax: 0,
};

export interface GrpoStepMetrics {
  loss: number;
  kl: number;
  entropy: number;
  clipFrac: number;
  gradNorm: number;
  /** Masked (trained) tokens. */
  tokens: number;
  /** All tokens run through forward and backward. */
  seqTokens: number;
  sequences: number;
  advAbsMean: number;
  /** Tokens the entropy control detached (Clip-Cov) or penalised (KL-Cov) in the step. */
  covSelected: number;
  /** Mean centred log-prob x advantage covariance of those tokens, and the batch's largest. */
  covSelectedMean: number;
  covMax: number;
}

/** A frozen copy of the weights for the KL term (on the same device as the model). */
export function frozenReference(model: Transformer | ModelRunner): ModelRunner {
  return ModelRunner.of(model).frozenCopy();
}

export async function grpoStep(
  policyModel: Transformer | ModelRunner,
  opt: AdamW,
  groups: readonly GrpoGroup[],
  o: GrpoStepOptions,
  refModel?: Transformer | ModelRunner,
): Promise<GrpoStepMetrics> {
  const model = ModelRunner.of(policyModel);
  const ref = refModel ? ModelRunner.of(refModel) : undefined;
  const views: LossView[] = [];
  const adv: number[] = [];
  /** Sequences per episode, in order: every sequence of an episode takes the episode's advantage. */
  const episodes: number[] = [];
  for (const g of groups) {
    const a = groupAdvantages(g.rewards, { scale: o.scaleRewards });
    g.samples.forEach((s, i) => {
      const seqs = sequencesOf(s);
      for (const q of seqs) {
        views.push(lossView(q, model.config.maxSeqLen));
        adv.push(a[i]);
      }
      episodes.push(seqs.length);
    });
  }
  const weights = episodeWeights(o.lossType, views, episodes, o.maxCompletionLen);
  let refLogp: Float64Array[] | undefined;
  if (o.beta > 0 && ref) {
    const st = await ref.tokenLogprobsMany(
      views.map((v) => v.inputs),
      views.map((v) => v.targets),
      o.temperature,
    );
    refLogp = st.map((x) => x.logp);
  }
  const m: GrpoStepMetrics = {
    ...NO_GRPO_UPDATE,
    sequences: views.length,
    advAbsMean: adv.reduce((s, x) => s + Math.abs(x), 0) / Math.max(1, adv.length),
  };
  const control = o.entropyControl ?? 'none';
  const sel = covSelect(
    views.map((v) => v.oldLogp),
    views.map((v) => v.mask),
    adv,
    {
      control,
      fraction: o.covFraction ?? 0,
      covLow: o.covLow ?? 0,
      covHigh: o.covHigh ?? Infinity,
      seed: o.covSeed ?? 0,
    },
  );
  m.covSelected = sel.count;
  m.covSelectedMean = sel.covSelectedMean;
  m.covMax = sel.covMax;
  let lastEntropyMean = Infinity; // unknown until the first pass: no bonus before it
  for (let it = 0; it < o.numIterations; it++) {
    model.zeroGrad();
    let loss = 0;
    let klSum = 0;
    let entSum = 0;
    let clipped = 0;
    let tokens = 0;
    let seqTokens = 0;
    const live = views
      .map((_, i) => i)
      .filter((i) => views[i].count > 0 && !(adv[i] === 0 && o.beta === 0 && o.entropyCoef === 0));
    const bonus = o.entropyCoef > 0 && lastEntropyMean < o.entropyTarget;
    await model.tokenTrainPass(
      live.map((i) => views[i].inputs),
      live.map((i) => views[i].targets),
      o.temperature,
      (k, st) => {
        const i = live[k];
        const v = views[i];
        const r = policyLoss(
          {
            logp: [st.logp],
            oldLogp: [v.oldLogp],
            refLogp: refLogp ? [refLogp[i]] : undefined,
            mask: [v.mask],
            adv: [adv[i]],
            weights: [weights[i]],
          },
          { lossType: o.lossType, epsLow: o.epsLow, epsHigh: o.epsHigh, beta: o.beta },
        );
        let dEntropy: Float64Array | undefined;
        if (bonus) {
          dEntropy = new Float64Array(v.targets.length);
          for (let t = 0; t < dEntropy.length; t++) dEntropy[t] = -o.entropyCoef * weights[i][t];
        }
        for (let t = 0; t < v.mask.length; t++) if (v.mask[t]) entSum += st.entropy[t];
        if (sel.count > 0)
          loss += applyCovControl(control, sel.selected[i], r.dlogp[0], st.logp, v.oldLogp, weights[i], o.klCovCoef ?? 1);
        loss += r.loss;
        klSum += r.metrics.kl * r.metrics.tokens;
        clipped += r.metrics.clipFrac * r.metrics.tokens;
        tokens += r.metrics.tokens;
        seqTokens += v.inputs.length;
        return { dlogp: r.dlogp[0], dEntropy };
      },
    );
    m.gradNorm = await model.gradNorm();
    if (tokens > 0) {
      refuseNonFiniteUpdate('GRPO update', loss, m.gradNorm);
      await model.step(opt, o.lr, o.maxGradNorm);
      await model.refuseNonFiniteWeights('GRPO update');
    }
    lastEntropyMean = tokens ? entSum / tokens : 0;
    m.loss = loss;
    m.kl = tokens ? klSum / tokens : 0;
    m.entropy = lastEntropyMean;
    m.clipFrac = tokens ? clipped / tokens : 0;
    m.tokens = tokens;
    m.seqTokens = seqTokens;
  }
  return m;
}
