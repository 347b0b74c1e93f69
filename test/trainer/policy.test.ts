import { describe, expect, it } from 'vitest';
import type { GenerateRequest } from '../../agent/types.js';
import { lossView, type TokenSample, toSample } from '../../trainer/batch.js';
import { grpoStep } from '../../trainer/grpo/step.js';
import { BuiltinPolicy, ModelRunner, presetConfig, Transformer } from '../../trainer/model/index.js';
import { AdamW } from '../../trainer/optim/index.js';
import { ByteTokenizer } from '../../trainer/tokenizer/index.js';
import { grpoOptions } from './fixtures/grpo-options.js';
import { toyEpisode } from './fixtures/toy-env.js';

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

  it('batches the decoding steps of concurrent episodes on a device, sampling exactly what each samples alone', async () => {
    const runner = await ModelRunner.create(model, 'cpu');
    const prompts = ['hi', 'what is 12 + 30?', 'a longer question about the number 12345', 'x'].map((q) =>
      tok.encode(`<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n`),
    );
    const reqs = prompts.map((p, i) => req({ promptIds: p, maxTokens: 24, episode: { taskId: `t${i}`, envId: 'e', sample: i } }));
    const alone = [];
    for (const r of reqs) alone.push(await new BuiltinPolicy(runner, tok).generate(r));
    expect(runner.decodeStats.rows).toBe(runner.decodeStats.steps); // one sequence at a time: batches of one
    const before = { ...runner.decodeStats };
    const together = await Promise.all(reqs.map((r) => new BuiltinPolicy(runner, tok).generate(r)));
    const steps = runner.decodeStats.steps - before.steps;
    const rows = runner.decodeStats.rows - before.rows;
    expect(rows / steps).toBeGreaterThan(2); // the four episodes did share steps
    for (const [i, r] of together.entries()) {
      expect(r.tokenIds).toEqual(alone[i].tokenIds);
      expect(r.logprobs).toEqual(alone[i].logprobs);
    }
    runner.dispose();
  });

  // Hand-set weights that greedily write `<tool_call>` after any token: the blocks add nothing
  // (zero output projections), every embedding points along dimension 0, and `<tool_call>`'s the most.
  const open = tok.specialId('<tool_call>') as number;
  function openerModel(maxSeqLen: number): Transformer {
    const cfg = { ...presetConfig('nano', tok.vocabSize), layers: 1, maxSeqLen };
    const m = new Transformer(cfg, undefined, 1);
    m.params.get('layers.0.o_proj')?.fill(0);
    m.params.get('layers.0.down_proj')?.fill(0);
    const emb = m.params.get('embed_tokens') as Float32Array;
    emb.fill(0);
    for (let v = 0; v < cfg.vocabSize; v++) emb[v * cfg.dim] = v === open ? 2 : 1;
    return m;
  }

  it('ends the turn at a <tool_call> sampled inside an open call, and only with the option on', async () => {
    const opener = openerModel(64);
    const prompt = tok.encode('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');

    const stopping = new BuiltinPolicy(opener, tok, { sampling: { temperature: 0 } });
    const r = await stopping.generate(req({ promptIds: prompt, maxTokens: 20 }));
    expect(r.tokenIds).toEqual([open, open]);
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe('<tool_call><tool_call>');
    expect(r.logprobs).toHaveLength(2);
    expect(stopping.nestedCallStops).toBe(1);

    // a call already open in the prompt (a continuation of the same turn) stops at the first opener
    const cont = await stopping.generate(req({ promptIds: [...prompt, open, ...tok.encode('\n{')], maxTokens: 20 }));
    expect(cont.tokenIds).toEqual([open]);
    // a closed call in an earlier turn does not
    const later = await stopping.generate(
      req({
        promptIds: [...tok.encode('<|im_start|>assistant\n<tool_call>\n{}\n</tool_call><|im_end|>\n'), ...prompt],
        maxTokens: 20,
      }),
    );
    expect(later.tokenIds).toEqual([open, open]);

    const off = await new BuiltinPolicy(opener, tok, { sampling: { temperature: 0 }, stopOnNestedCall: false }).generate(
      req({ promptIds: prompt, maxTokens: 20 }),
    );
    expect(off.finishReason).toBe('length');
    expect(off.tokenIds).toEqual(new Array(20).fill(open));
  });

  it('lets the episode go on after a nested <tool_call>: the loop closes the turn and answers with the error', async () => {
    const policy = new BuiltinPolicy(openerModel(2048), tok, { sampling: { temperature: 0 } });
    const t = await toyEpisode(policy, { maxTurns: 3, maxTurnTokens: 40 });
    // three short failed turns instead of one turn that spends its whole budget on openers
    expect(t.turns).toHaveLength(3);
    for (const turn of t.turns) {
      expect(turn.finishReason).toBe('stop');
      expect(turn.raw).toBe('<tool_call><tool_call>');
      expect(turn.failures.map((f) => f.kind)).toEqual(['nested_call']);
    }
    expect(t.ending).toBe('truncated');
    // each turn: the two sampled openers (mask 1), then the loop's `<|im_end|>` (mask 0)
    const tokens = t.tokens ?? [];
    const mask = t.mask ?? [];
    const imEnd = tok.specialId('<|im_end|>') as number;
    const sampledAt = mask.flatMap((m, i) => (m ? [i] : []));
    expect(sampledAt).toHaveLength(6);
    for (const i of sampledAt) expect(tokens[i]).toBe(open);
    for (let k = 1; k < 6; k += 2) {
      expect(tokens[sampledAt[k] + 1]).toBe(imEnd);
      expect(mask[sampledAt[k] + 1]).toBe(0);
    }
    expect(policy.nestedCallStops).toBe(3);
  });
  it('ends an episode truncated (context_length) when the window fills mid-turn, and GRPO trains on it', async () => {
    // The first prompt's length, from a run with room to spare.
    const roomy = new BuiltinPolicy(openerModel(2048), tok, { sampling: { temperature: 0 }, stopOnNestedCall: false });
    const probe = await toyEpisode(roomy, { maxTurns: 1, maxTurnTokens: 4 });
    const promptLen = (probe.mask ?? []).indexOf(1);
    expect(promptLen).toBeGreaterThan(0);

    const window = promptLen + 12;
    const model = openerModel(window);
    const policy = new BuiltinPolicy(model, tok, { sampling: { temperature: 0 }, stopOnNestedCall: false });
    const t = await toyEpisode(policy, { maxTurns: 3, maxTurnTokens: 200 });
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('context_length');
    expect(t.turns).toHaveLength(1);
    expect(t.turns[0].finishReason).toBe('context_length');
    expect((t.mask ?? []).filter((m) => m === 1)).toHaveLength(12);

    // It becomes a training sample with its 12 sampled tokens, and a GRPO step moves the weights on it.
    const s = toSample(t);
    expect(s).not.toBeNull();
    expect(lossView(s as TokenSample, window).count).toBe(12);
    const before = Float32Array.from(model.params.get('embed_tokens') as Float32Array);
    const shorter = { ...(s as TokenSample), mask: (s as TokenSample).mask.map((m, i) => (i < window - 6 ? m : 0)) };
    const r = await grpoStep(
      model,
      new AdamW(model.params, model.shapes),
      [{ samples: [s as TokenSample, shorter], rewards: [-0.5, 0.5] }],
      grpoOptions({ lr: 1e-2 }),
    );
    expect(r.sequences).toBe(2);
    expect(r.tokens).toBe(12 + 6);
    const after = model.params.get('embed_tokens') as Float32Array;
    expect(after.some((v, i) => v !== before[i])).toBe(true);
  });

  it('ends an episode truncated (context_length), not aborted, when repeated failed turns fill the context', async () => {
    const roomy = new BuiltinPolicy(openerModel(2048), tok, { sampling: { temperature: 0 } });
    const probe = await toyEpisode(roomy, { maxTurns: 3, maxTurnTokens: 40 });
    // each failed turn samples two openers; the third turn's prompt starts where its first opener is
    const sampledAt = (probe.mask ?? []).flatMap((m, i) => (m ? [i] : []));
    const thirdPrompt = sampledAt[4] as number;
    // room for two turns; the third turn's prompt (turns and their error observations) outgrows it
    const policy = new BuiltinPolicy(openerModel(thirdPrompt - 1), tok, { sampling: { temperature: 0 } });
    const t = await toyEpisode(policy, { maxTurns: 50, maxTurnTokens: 40 });
    expect(t.ending).toBe('truncated');
    expect(t.reason).toBe('context_length');
    expect(t.error).toMatch(/context/);
    expect(t.turns).toHaveLength(2);
    expect(toSample(t)).not.toBeNull();
  });
});
