/**
 * `builtin:<checkpoint>`: the in-house model as an agent `Policy`. Token-level: it continues the
 * exact `promptIds` the rollout loop keeps, returns the sampled ids (with `<|im_end|>` when it
 * stopped there) and their behaviour log-probs, honours `maxTokens` (finishReason `length`) and
 * the thinking budget (finishReason `budget` once the open think block reaches it).
 * A `<tool_call>` sampled while a call is still open (before its `</tool_call>`) ends the turn
 * (finishReason `stop`, the opener kept in the ids): nested calls are never valid Qwen3 output, and a
 * model that starts repeating openers would otherwise spend the whole token budget on them. The turn
 * then fails to parse (`nested_call`: none of its calls runs), the loop closes it and the episode
 * goes on with the error observation, so the model can recover.
 * A continuation after a budget stop needs nothing extra: the loop has already appended the
 * stop-thinking text to `promptIds` (mask 0), so the policy simply continues those ids.
 *
 * KV caches of recent prefixes are kept (a small LRU), so the G samples of a GRPO group prefill the
 * shared prompt once and later turns of an episode only prefill the new tool-response tokens.
 * Sampling randomness comes from (policy seed, episode seed, sample, turn, prompt length).
 */
import type { ChatTemplate } from '../../agent/format/index.js';
import { ContextLengthError, type GenerateRequest, type GenerateResult, type Policy, type Tokenizer } from '../../agent/index.js';
import type { DeviceRequest } from '../../gpu/index.js';
import { mixSeed, Rng } from '../../tools/index.js';
import { type CheckpointMeta, loadAnyCheckpoint } from './checkpoint.js';
import { isHfFolder, loadHfChat, loadHfQwen3, loadPeftAdapter, mergeAdapter, weightBytes } from './hf/index.js';
import type { Transformer } from './reference/transformer.js';
import { type DecodeCache, ModelRunner } from './runner.js';
import { DEFAULT_SAMPLING, QWEN3_SAMPLING, type SamplingOptions, sampleToken } from './sample.js';

export interface BuiltinPolicyOptions {
  sampling?: Partial<SamplingOptions>;
  /** Sampling of thinking-mode turns (`enableThinking`), over `sampling`; absent: `sampling`. */
  thinkSampling?: Partial<SamplingOptions>;
  seed?: number;
  /** Prefix caches kept (each holds maxSeqLen keys and values per layer). */
  cacheEntries?: number;
  spec?: string;
  /** End the turn at a `<tool_call>` sampled inside an open call (default true). */
  stopOnNestedCall?: boolean;
  /** The model's own chat template (a Hugging Face folder's); absent: Qwen3's. */
  chatTemplate?: ChatTemplate;
  /** Further ids that end a turn, besides `<|im_end|>` and `<|endoftext|>` (generation_config's eos). */
  stopIds?: readonly number[];
  /** How one-token steps run (`ModelRunner.decodeRows`); absent: the runner's setting. */
  decodeRows?: 'batched' | 'single';
}

interface CacheEntry {
  ids: number[];
  cache: DecodeCache;
}

function sharedLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class BuiltinPolicy implements Policy {
  readonly spec: string;
  readonly sampling: SamplingOptions;
  /** Sampling of thinking-mode turns. */
  readonly thinkSampling: SamplingOptions;
  /** Tokens generated since creation (throughput figures). */
  generatedTokens = 0;
  private readonly entries: CacheEntry[] = [];
  readonly chatTemplate?: ChatTemplate;
  private readonly imEnd: number;
  private readonly eot: number;
  private readonly stops: ReadonlySet<number>;
  private readonly thinkOpen: number;
  private readonly thinkClose: number;
  private readonly callOpen: number;
  private readonly callClose: number;
  /** Turns ended at a nested `<tool_call>` since creation. */
  nestedCallStops = 0;
  /** Where the model runs (the host loops, or a gpu/ Device through a runner). */
  readonly model: ModelRunner;

  constructor(
    model: Transformer | ModelRunner,
    readonly tokenizer: Tokenizer,
    private readonly opts: BuiltinPolicyOptions = {},
  ) {
    this.model = ModelRunner.of(model);
    if (opts.decodeRows) this.model.decodeRows = opts.decodeRows;
    this.spec = opts.spec ?? 'builtin:memory';
    this.sampling = { ...DEFAULT_SAMPLING, ...opts.sampling };
    this.thinkSampling = { ...this.sampling, ...opts.thinkSampling };
    this.imEnd = tokenizer.specialId('<|im_end|>') as number;
    this.eot = tokenizer.specialId('<|endoftext|>') as number;
    this.thinkOpen = tokenizer.specialId('<think>') as number;
    this.thinkClose = tokenizer.specialId('</think>') as number;
    this.callOpen = tokenizer.specialId('<tool_call>') as number;
    this.callClose = tokenizer.specialId('</tool_call>') as number;
    this.chatTemplate = opts.chatTemplate;
    this.stops = new Set([this.imEnd, this.eot, ...(opts.stopIds ?? [])]);
  }

  /** Forget cached prefixes (call after the weights change). */
  resetCache(): void {
    for (const e of this.entries.splice(0)) this.model.release(e.cache);
  }

  private remember(ids: number[], cache: DecodeCache): void {
    this.entries.unshift({ ids, cache });
    if (this.entries.length > (this.opts.cacheEntries ?? 16)) this.model.release((this.entries.pop() as CacheEntry).cache);
  }

  /**
   * A cache holding all of `ids`, continued from the cached sequence sharing the longest prefix
   * with it (positions past the shared part are simply overwritten).
   *
   * At least two tokens are always recomputed: a one-row product (GEMV) differs in the last bits
   * from the same row of a larger product, so a one-token prefill would give other log-probs than
   * prefilling the whole prompt, and which of the two happened would depend on what the cache held,
   * i.e. on the timing of concurrent episodes. With two or more rows every prefilled position has
   * the same bits on every path, and a run is reproducible bit for bit.
   */
  private async prefill(ids: number[]): Promise<{ cache: DecodeCache; lastLogits: Float32Array }> {
    let best: CacheEntry | undefined;
    let bestN = 0;
    for (const e of this.entries) {
      const n = Math.min(sharedLength(e.ids, ids), e.cache.len, ids.length - 2);
      if (n > bestN) {
        best = e;
        bestN = n;
      }
    }
    const full = this.model.config.maxSeqLen;
    const cache = best ? best.cache.clone(full) : this.model.newCache();
    cache.len = bestN;
    const rest = ids.slice(cache.len);
    const lastLogits = await this.model.decode(rest, cache);
    // a remembered prefix holds only its own rows (a large model's full-length cache is ~GBs)
    this.remember(ids.slice(), cache.clone(ids.length));
    return { cache, lastLogits };
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    if (!req.promptIds || req.promptIds.length === 0) {
      throw new RangeError(
        'the builtin policy is token-level: the rollout loop must pass promptIds (it does when the policy has a tokenizer)',
      );
    }
    const prompt = req.promptIds;
    const rng = new Rng(mixSeed(this.opts.seed ?? 0, req.seed, req.episode.sample, req.turn, prompt.length, req.episode.taskId));
    const maxLen = this.model.config.maxSeqLen;
    // A prompt that leaves no room for one token: the policy has filled its own context (the loop
    // ends the episode truncated, `context_length`, and trains on it).
    if (prompt.length >= maxLen) {
      throw new ContextLengthError(
        `the conversation is ${prompt.length} tokens and the model's context is ${maxLen}: no room for another token`,
      );
    }
    // tokens inside an open think block so far (a budget counts sampled thinking tokens)
    let thinking = -1;
    for (let i = prompt.length - 1; i >= 0; i--) {
      if (prompt[i] === this.thinkClose) break;
      if (prompt[i] === this.thinkOpen) {
        thinking = 0;
        break;
      }
    }
    // a call left open in the prompt (a continuation within the turn) still counts as open
    let callOpen = false;
    for (let i = prompt.length - 1; i >= 0 && prompt[i] !== this.imEnd; i--) {
      if (prompt[i] === this.callClose) break;
      if (prompt[i] === this.callOpen) {
        callOpen = true;
        break;
      }
    }
    const stopOnNested = this.opts.stopOnNestedCall ?? true;
    const sampling = req.enableThinking ? this.thinkSampling : this.sampling;
    const { cache, lastLogits } = await this.prefill([...prompt]);
    let logits = lastLogits;
    const ids: number[] = [];
    const logprobs: number[] = [];
    let finishReason: GenerateResult['finishReason'] = 'length';
    const maxTokens = Math.min(req.maxTokens, maxLen - prompt.length);
    // Past this the window, not the turn's cap, is what stops the generation.
    const windowBound = maxTokens < req.maxTokens;
    try {
      while (ids.length < maxTokens) {
        if (req.signal.aborted) break;
        const { id, logp } = sampleToken(logits, sampling, rng);
        ids.push(id);
        logprobs.push(logp);
        if (this.stops.has(id)) {
          finishReason = 'stop';
          break;
        }
        if (id === this.callOpen) {
          if (callOpen && stopOnNested) {
            finishReason = 'stop';
            this.nestedCallStops++;
            break;
          }
          callOpen = true;
        } else if (id === this.callClose) callOpen = false;
        if (id === this.thinkOpen) thinking = 0;
        else if (id === this.thinkClose) thinking = -1;
        else if (thinking >= 0) thinking++;
        if (req.thinkingBudget !== undefined && thinking >= req.thinkingBudget) {
          finishReason = 'budget';
          break;
        }
        if (ids.length >= maxTokens) break;
        // on a device, concurrent episodes' steps run as one batch (same bits as alone)
        logits = await this.model.decodeStep(id, cache);
        // let tool calls and other episodes progress between tokens now and then
        if (ids.length % 32 === 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.model.release(cache);
    }
    if (finishReason === 'length' && windowBound && ids.length >= maxTokens) finishReason = 'context_length';
    this.generatedTokens += ids.length;
    const endsTurn = finishReason === 'stop' && this.stops.has(ids.at(-1) as number);
    const textIds = endsTurn ? ids.slice(0, -1) : ids;
    return { text: this.tokenizer.decode(textIds), tokenIds: ids, logprobs, finishReason, completionTokens: ids.length };
  }
}

/**
 * Load `builtin:<dir>` (a checkpoint folder) as a policy running on the gpu/ Device `device`
 * (`cpu`, the default, `webgpu` or `auto`).
 */
export async function loadBuiltinPolicy(
  dir: string,
  opts: BuiltinPolicyOptions & { device?: DeviceRequest; maxSeqLen?: number; adapter?: string } = {},
): Promise<{ policy: BuiltinPolicy; meta: CheckpointMeta }> {
  if (isHfFolder(dir)) return loadHfPolicy(dir, opts);
  const ck = loadAnyCheckpoint(dir);
  // a LoRA run's checkpoint on a Hugging Face folder: the folder's tokenizer, template and sampling
  if (ck.lora && isHfFolder(ck.lora.base)) {
    if (opts.adapter) mergeAdapter(ck.model.params, loadPeftAdapter(opts.adapter));
    const out = await loadHfPolicy(ck.lora.base, { ...opts, adapter: undefined, spec: opts.spec ?? `builtin:${dir}` }, ck.model);
    return { policy: out.policy, meta: ck.meta };
  }
  // an adapter trained by a LoRA run on this checkpoint (`gym train --lora-rank`)
  if (opts.adapter) mergeAdapter(ck.model.params, loadPeftAdapter(opts.adapter));
  const runner = await ModelRunner.create(ck.model, opts.device ?? 'cpu');
  // no sampling given: Qwen3's per mode, as the run's own held-out evaluation sampled
  const given = opts.sampling !== undefined && Object.keys(opts.sampling).length > 0;
  const sampling = given ? {} : { sampling: QWEN3_SAMPLING.no_think, thinkSampling: QWEN3_SAMPLING.think };
  return {
    policy: new BuiltinPolicy(runner, ck.tokenizer, { ...opts, ...sampling, spec: opts.spec ?? `builtin:${dir}` }),
    meta: ck.meta,
  };
}

/**
 * `builtin:<folder>` for a Hugging Face Qwen3 folder: its weights (an adapter merged when given),
 * its tokenizer and chat template, and the model card's sampling settings (options given win).
 * Memory: the f32 weights (`weightBytes`), no gradients, plus the KV caches of the turns in flight
 * and a few remembered prefixes, each sized to what it holds.
 */
async function loadHfPolicy(
  dir: string,
  opts: BuiltinPolicyOptions & { device?: DeviceRequest; maxSeqLen?: number; adapter?: string },
  /** The folder's weights already loaded (a LoRA checkpoint's, merged). */
  model?: Transformer,
): Promise<{ policy: BuiltinPolicy; meta: CheckpointMeta }> {
  const chat = loadHfChat(dir);
  const m = model ?? loadHfQwen3(dir, { maxSeqLen: opts.maxSeqLen, adapter: opts.adapter }).model;
  const runner = await ModelRunner.create(m, opts.device ?? 'cpu');
  const policy = new BuiltinPolicy(runner, chat.tokenizer, {
    ...opts,
    sampling: { ...chat.sampling, ...opts.sampling },
    chatTemplate: chat.template,
    stopIds: chat.stopIds,
    cacheEntries: opts.cacheEntries ?? 4,
    spec: opts.spec ?? `builtin:${dir}`,
  });
  return { policy, meta: { phase: 'hf', step: 0, state: { weightBytes: weightBytes(m.config) } } };
}
