import { describe, expect, it } from 'vitest';
import { ChatTemplate, qwen3Tokenizer, STOP_THINKING_TEXT } from '../../../agent/format/index.js';
import { OraclePolicy } from '../../../agent/policies/index.js';
import { runEpisode } from '../../../agent/rollout/index.js';
import type { GenerateRequest, GenerateResult, Policy } from '../../../agent/types.js';
import { arithEnv } from '../fixtures/arith-env.js';

const TASK = 'arith/arith.add/train/3';

/** A token-level policy: the oracle's text, "sampled" as Qwen3 ids ending in <|im_end|>, logprob -0.25 each. */
class TokenOracle implements Policy {
  readonly spec = 'token-oracle';
  readonly tokenizer = qwen3Tokenizer();
  readonly requests: GenerateRequest[] = [];
  readonly sampled: number[][] = [];
  private readonly inner = new OraclePolicy(arithEnv);
  budgetOnFirst = false;

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.requests.push(req);
    let text = (await this.inner.generate(req)).text;
    let finishReason: GenerateResult['finishReason'] = 'stop';
    if (this.budgetOnFirst && this.requests.length === 1) {
      text = '<think>\nI should add';
      finishReason = 'budget';
    }
    const imEnd = this.tokenizer.specialId('<|im_end|>') as number;
    const ids = [...this.tokenizer.encode(text), ...(finishReason === 'stop' ? [imEnd] : [])];
    this.sampled.push(ids);
    return { text, tokenIds: ids, logprobs: ids.map(() => -0.25), finishReason };
  }
}

describe('token-level episodes', () => {
  it('keeps sampled ids exactly, masks everything else, and feeds the exact ids back as the next prompt', async () => {
    const policy = new TokenOracle();
    const t = await runEpisode({ env: arithEnv, policy, taskId: TASK });
    expect(t.correct).toBe(true);
    const tokens = t.tokens as number[];
    const mask = t.mask as number[];
    const logprobs = t.logprobs as number[];
    expect(mask).toHaveLength(tokens.length);
    expect(logprobs).toHaveLength(tokens.length);
    // The mask-1 ids, in order, are exactly the sampled ids of the two turns.
    expect(tokens.filter((_, i) => mask[i] === 1)).toEqual(policy.sampled.flat());
    expect(logprobs.every((lp, i) => (mask[i] === 1 ? lp === -0.25 : lp === 0))).toBe(true);
    // The first prompt is the template's render, tokenised once.
    const tok = qwen3Tokenizer();
    const tools = policy.requests[0].tools;
    const first = tok.encode(
      ChatTemplate.qwen3().render(t.messages.slice(0, 2), { tools, addGenerationPrompt: true, enableThinking: false }),
    );
    expect(policy.requests[0].promptIds).toEqual(first);
    // Each later prompt is a prefix of the final sequence that ends with the generation prompt.
    const second = policy.requests[1].promptIds as number[];
    expect(tokens.slice(0, second.length)).toEqual(second);
    expect(tok.decode(second)).toMatch(
      /<tool_response>\n65\n<\/tool_response><\|im_end\|>\n<\|im_start\|>assistant\n<think>\n\n<\/think>\n\n$/,
    );
  });

  it('writes the stop-thinking text with mask 0 after a budget stop', async () => {
    const policy = new TokenOracle();
    policy.budgetOnFirst = true;
    const t = await runEpisode({ env: arithEnv, policy, taskId: TASK, mode: 'think', limits: { thinkingBudget: 4 } });
    expect(t.turns[0].budgetHit).toBe(true);
    const tokens = t.tokens as number[];
    const mask = t.mask as number[];
    const tok = qwen3Tokenizer();
    const stopIds = tok.encode(STOP_THINKING_TEXT);
    const firstSampled = policy.sampled[0];
    const p0 = (policy.requests[0].promptIds as number[]).length;
    expect(tokens.slice(p0, p0 + firstSampled.length)).toEqual(firstSampled);
    expect(tokens.slice(p0 + firstSampled.length, p0 + firstSampled.length + stopIds.length)).toEqual(stopIds);
    expect(mask.slice(p0 + firstSampled.length, p0 + firstSampled.length + stopIds.length).every((m) => m === 0)).toBe(true);
    // The continuation request's prompt already holds the injected text.
    expect(policy.requests[1].promptIds?.slice(-stopIds.length)).toEqual(stopIds);
    expect(tokens.filter((_, i) => mask[i] === 1)).toEqual(policy.sampled.flat());
  });
});

describe('token-level policy contract', () => {
  it('aborts an episode whose token-level policy returns no token ids, naming the policy', async () => {
    const policy: Policy = {
      spec: 'broken',
      tokenizer: qwen3Tokenizer(),
      generate: async () => ({ text: '65', finishReason: 'stop' }),
    };
    const t = await runEpisode({ env: arithEnv, policy, taskId: TASK });
    expect(t.ending).toBe('aborted');
    expect(t.error).toMatch(/PolicyContractError: broken .*no tokenIds/);
  });
});
