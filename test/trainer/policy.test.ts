import { describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../../agent/types.js';
import { BuiltinPolicy, ModelRunner, presetConfig, Transformer } from '../../trainer/model/index.js';
import { ByteTokenizer } from '../../trainer/tokenizer/index.js';

const tok = new ByteTokenizer();
const model = new Transformer({ ...presetConfig('nano', tok.vocabSize), layers: 1, maxSeqLen: 256 }, undefined, 4);

function req(over: Partial<GenerateRequest>): GenerateRequest {
  return {
    messages: [],
    tools: [],
    promptIds: tok.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'),
    maxTokens: 10,
    enableThinking: false,
    seed: 1,
    turn: 0,
    episode: { taskId: 't', envId: 'e', sample: 0 },
    signal: new AbortController().signal,
    ...over,
  };
}

describe('builtin policy', () => {
  it('returns exact ids with their log-probs and stops at maxTokens', async () => {
    const p = new BuiltinPolicy(model, tok);
    const r = await p.generate(req({ maxTokens: 7 }));
    if (r.finishReason === 'length') expect(r.tokenIds).toHaveLength(7);
    else expect(r.tokenIds?.at(-1)).toBe(tok.specialId('<|im_end|>'));
    expect(r.logprobs).toHaveLength(r.tokenIds?.length ?? -1);
    for (const lp of r.logprobs ?? []) expect(lp).toBeLessThan(0);
    if (r.finishReason === 'length') expect(tok.decode(r.tokenIds ?? [])).toBe(r.text);
  });

  it('samples the same ids for the same seed and different ids for another sample index', async () => {
    const p = new BuiltinPolicy(model, tok);
    const a = await p.generate(req({}));
    const b = await p.generate(req({}));
    const c = await p.generate(req({ episode: { taskId: 't', envId: 'e', sample: 1 } }));
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(c.tokenIds).not.toEqual(a.tokenIds);
  });

  it('stops an open think block at the thinking budget with finishReason budget', async () => {
    const p = new BuiltinPolicy(model, tok);
    const think = tok.specialId('<think>') as number;
    const r = await p.generate(
      req({
        promptIds: [...tok.encode('<|im_start|>assistant\n'), think],
        thinkingBudget: 4,
        maxTokens: 50,
        enableThinking: true,
      }),
    );
    // the untrained model rarely closes the block: either it used the budget or it ended the thought/turn first
    if (r.finishReason === 'budget') expect(r.tokenIds).toHaveLength(4);
    else expect(r.tokenIds?.some((id) => id === tok.specialId('</think>') || id === tok.specialId('<|im_end|>'))).toBe(true);
  });

  it('matches the greedy argmax at temperature 0', async () => {
    const p = new BuiltinPolicy(model, tok, { sampling: { temperature: 0 } });
    const prompt = req({}).promptIds as number[];
    const r = await p.generate(req({ maxTokens: 1 }));
    const logits = model.forward(prompt);
    const V = tok.vocabSize;
    const row = logits.subarray((prompt.length - 1) * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    expect(r.tokenIds).toEqual([best]);
  });

  it('samples the same ids and log-probs on the gpu/ CPU device as with the host loops', async () => {
    const host = new BuiltinPolicy(model, tok, { sampling: { temperature: 0 } });
    const runner = await ModelRunner.create(model, 'cpu');
    const dev = new BuiltinPolicy(runner, tok, { sampling: { temperature: 0 } });
    const a = await host.generate(req({ maxTokens: 12 }));
    const b = await dev.generate(req({ maxTokens: 12 }));
    expect(b.tokenIds).toEqual(a.tokenIds);
    for (const [i, lp] of (b.logprobs ?? []).entries()) expect(lp).toBeCloseTo((a.logprobs ?? [])[i], 4);
    // the second call continues from the device cache of the shared prompt
    const c = await dev.generate(req({ maxTokens: 12 }));
    expect(c.tokenIds).toEqual(a.tokenIds);
    dev.resetCache();
    runner.dispose();
  });

  it('gives bit-identical log-probs whatever its prefix cache holds (runs are reproducible)', async () => {
    const runner = await ModelRunner.create(model, 'cpu');
    // long enough that a whole-prompt prefill is past the size where the CPU backend's fused graphs take over
    const prompt = tok.encode(
      `<|im_start|>user\n${'a question about the number 12345, '.repeat(6)}<|im_end|>\n<|im_start|>assistant\n`,
    );
    const long = (over: Partial<GenerateRequest>) => req({ promptIds: prompt, ...over });
    // a fresh cache prefills the whole prompt; a warm one holds this very prompt, or a longer
    // sequence that shares it, as another episode of the group would have left it
    const fresh = await new BuiltinPolicy(runner, tok).generate(long({}));
    const same = new BuiltinPolicy(runner, tok);
    await same.generate(long({ episode: { taskId: 'other', envId: 'e', sample: 3 } }));
    const warm = await same.generate(long({}));
    const longer = new BuiltinPolicy(runner, tok);
    await longer.generate(long({ promptIds: [...prompt, ...tok.encode('more text')] }));
    const shared = await longer.generate(long({}));
    for (const r of [warm, shared]) {
      expect(r.tokenIds).toEqual(fresh.tokenIds);
      expect(r.logprobs).toEqual(fresh.logprobs);
    }
    runner.dispose();
  });
});
