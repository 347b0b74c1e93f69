/**
 * Cold-start SFT: teacher (oracle) episodes recorded with the built-in tokenizer, filtered as the
 * Qwen3 report describes, then cross-entropy on policy tokens only (mask = 1).
 *
 * The oracle is a text-level policy; `TokenizingPolicy` wraps it so the rollout loop records the
 * exact ids the built-in model would have to sample (the turn's text plus `<|im_end|>`), which is
 * what SFT then trains on. Nothing is re-tokenised after the episode.
 */
import type { GenerateRequest, GenerateResult, Policy, Tokenizer, Trajectory } from '../../agent/index.js';
import { lossView, type TokenSample } from '../batch.js';
import { ModelRunner, refuseNonFiniteUpdate, type Transformer } from '../model/index.js';
import type { AdamW } from '../optim/index.js';

/** A text-level teacher seen through the built-in tokenizer (behaviour log-probs recorded as 0). */
export class TokenizingPolicy implements Policy {
  readonly spec: string;
  constructor(
    private readonly inner: Policy,
    readonly tokenizer: Tokenizer,
  ) {
    this.spec = inner.spec;
  }
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const res = await this.inner.generate(req);
    const ids = this.tokenizer.encode(res.text);
    if (res.finishReason === 'stop') ids.push(this.tokenizer.specialId('<|im_end|>') as number);
    return { ...res, tokenIds: ids, logprobs: ids.map(() => 0), completionTokens: ids.length };
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

export type ColdStartDrop = 'incorrect' | 'no_tool_call' | 'invalid_call' | 'repetition' | 'not_terminated' | 'no_tokens';

/** A turn repeating an earlier turn verbatim, or a line repeated 3+ times inside one turn. */
export function hasRepetition(t: Trajectory): boolean {
  const seen = new Set<string>();
  for (const turn of t.turns) {
    if (seen.has(turn.raw)) return true;
    seen.add(turn.raw);
    const lines = new Map<string, number>();
    for (const line of turn.raw.split('\n')) {
      const l = line.trim();
      if (l.length < 8) continue;
      const n = (lines.get(l) ?? 0) + 1;
      if (n >= 3) return true;
      lines.set(l, n);
    }
  }
  return false;
}

/** Why a teacher episode is unfit for cold start, or null when it is kept. */
export function coldStartDropReason(t: Trajectory): ColdStartDrop | null {
  if (!t.tokens || !t.mask) return 'no_tokens';
  if (t.ending !== 'terminated') return 'not_terminated';
  if (!t.correct) return 'incorrect';
  if (t.metrics.toolCalls === 0) return 'no_tool_call';
  if (t.metrics.invalidCalls > 0) return 'invalid_call';
  if (hasRepetition(t)) return 'repetition';
  return null;
}

export function filterColdStart(ts: readonly Trajectory[]): {
  kept: Trajectory[];
  dropped: Partial<Record<ColdStartDrop, number>>;
} {
  const kept: Trajectory[] = [];
  const dropped: Partial<Record<ColdStartDrop, number>> = {};
  for (const t of ts) {
    const why = coldStartDropReason(t);
    if (why) dropped[why] = (dropped[why] ?? 0) + 1;
    else kept.push(t);
  }
  return { kept, dropped };
}

/** SFT cross-entropy on policy tokens only: sum m * (-logp) / sum m, with dlogp. logp, mask: (B)(T_i). */
export function sftLoss(
  logp: ArrayLike<number>[],
  mask: ArrayLike<number>[],
): { loss: number; dlogp: Float64Array[]; tokens: number } {
  let N = 0;
  for (const m of mask) for (let t = 0; t < m.length; t++) N += m[t] ? 1 : 0;
  const inv = N > 0 ? 1 / N : 0;
  let loss = 0;
  const dlogp = logp.map((lp, i) => {
    const g = new Float64Array(lp.length);
    for (let t = 0; t < lp.length; t++) {
      if (!mask[i][t]) continue;
      loss -= lp[t] * inv;
      g[t] = -inv;
    }
    return g;
  });
  return { loss, dlogp, tokens: N };
}

export interface SftStepOptions {
  lr: number;
  maxGradNorm: number;
}

export interface SftStepMetrics {
  loss: number;
  /** Masked (trained) tokens. */
  tokens: number;
  /** All tokens run through forward and backward. */
  seqTokens: number;
  gradNorm: number;
}

/** Mean token cross-entropy over mask = 1 positions of a batch (no update). */
export async function sftEval(m: Transformer | ModelRunner, samples: readonly TokenSample[]): Promise<number> {
  const model = ModelRunner.of(m);
  let nll = 0;
  let n = 0;
  for (const s of samples) {
    const v = lossView(s, model.config.maxSeqLen);
    const st = await model.tokenLogprobs(v.inputs, v.targets);
    for (let t = 0; t < v.mask.length; t++)
      if (v.mask[t]) {
        nll -= st.logp[t];
        n++;
      }
  }
  return n ? nll / n : 0;
}

/** One SFT step: token-mean cross-entropy over the whole batch on mask = 1 tokens, clip, AdamW. */
export async function sftStep(
  m: Transformer | ModelRunner,
  opt: AdamW,
  samples: readonly TokenSample[],
  o: SftStepOptions,
): Promise<SftStepMetrics> {
  const model = ModelRunner.of(m);
  const views = samples.map((s) => lossView(s, model.config.maxSeqLen));
  const total = views.reduce((s, v) => s + v.count, 0);
  model.zeroGrad();
  let loss = 0;
  const live = views.filter((v) => v.count > 0);
  let seqTokens = 0;
  await model.tokenTrainPass(
    live.map((v) => v.inputs),
    live.map((v) => v.targets),
    1,
    (k, st) => {
      const v = live[k];
      const r = sftLoss([st.logp], [v.mask]);
      // sftLoss averages over this sequence; rescale to the batch token mean
      const scale = v.count / total;
      loss += r.loss * scale;
      seqTokens += v.inputs.length;
      return { dlogp: r.dlogp[0].map((g) => g * scale) };
    },
  );
  const gradNorm = await model.gradNorm();
  if (total > 0) {
    refuseNonFiniteUpdate('SFT update', loss, gradNorm);
    await model.step(opt, o.lr, o.maxGradNorm);
    await model.refuseNonFiniteWeights('SFT update');
  }
  return { loss, tokens: total, seqTokens, gradNorm };
}
