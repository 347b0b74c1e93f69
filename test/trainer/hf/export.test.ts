import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDevice } from '../../../gpu/index.js';
import { presetConfig } from '../../../trainer/model/config.js';
import { DeviceTransformer } from '../../../trainer/model/device-transformer.js';
import { exportCheckpointToHf, exportHf, loadHfChat, loadHfQwen3 } from '../../../trainer/model/hf/index.js';
import { Transformer } from '../../../trainer/model/reference/transformer.js';
import { openSafetensorsFile } from '../../../trainer/model/safetensors.js';
import { ByteTokenizer, HfTokenizer } from '../../../trainer/tokenizer/index.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/qwen3-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'gym-hf-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const headerOf = (path: string) => {
  const st = openSafetensorsFile(path);
  st.close();
  return new Map([...st.tensors].map(([k, v]) => [k, v.shape.join('x')]));
};

describe('export in the Hugging Face layout', () => {
  it('writes a loaded checkpoint back with transformers’ tensor names, shapes and values', () => {
    const src = loadHfQwen3(join(FIXTURE, 'untied-f32'));
    const out = join(tmp, 'untied');
    exportHf(out, { config: src.config, params: src.model.params, tokenizer: { folder: join(FIXTURE, 'untied-f32') } });
    expect(headerOf(join(out, 'model.safetensors'))).toEqual(headerOf(join(FIXTURE, 'untied-f32/model.safetensors')));
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ architectures: ['Qwen3ForCausalLM'], head_dim: 32, tie_word_embeddings: false, eos_token_id: 2 });
    const again = loadHfQwen3(out, { maxSeqLen: src.config.maxSeqLen });
    expect(again.config).toEqual(src.config);
    for (const [name, w] of src.model.params) expect(again.model.params.get(name), name).toEqual(w);
  });

  it('round-trips a built-in checkpoint: same logits and the same token ids through tokenizer.json', async () => {
    const corpus = ['<|im_start|>system\nYou call tools.<|im_end|>\n<|im_start|>user\nAdd 12 and 30<|im_end|>\n'];
    const tok = ByteTokenizer.train(corpus.concat(corpus.map((s) => s.toUpperCase())), 40);
    const model = new Transformer(presetConfig('nano', tok.vocabSize), undefined, 7);
    const out = join(tmp, 'builtin');
    exportHf(out, {
      config: model.config,
      params: model.params,
      tokenizer: tok,
      sampling: { temperature: 0.7, topP: 0.8, topK: 20 },
    });

    const hf = HfTokenizer.fromFolder(out);
    for (const text of [
      corpus[0],
      'plain text with  spaces\tand ünïcödé 🙂 and 12345',
      '<tool_call>\n{"name": "x"}\n</tool_call>',
    ]) {
      const ids = tok.encode(text);
      expect(hf.encode(text), text).toEqual(ids);
      expect(hf.decode(ids)).toBe(text);
    }
    expect(hf.specialId('<|im_end|>')).toBe(tok.specialId('<|im_end|>'));
    // The special tokens sit in the BPE vocabulary at their ids too: the Rust tokenizers library
    // (transformers) moves an added token that is not in it to the end of the vocabulary.
    const vocab = (JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } })
      .model.vocab;
    for (const s of ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_response>'])
      expect(vocab[s], s).toBe(tok.specialId(s));

    const back = loadHfQwen3(out, { maxSeqLen: model.config.maxSeqLen });
    expect(back.config).toEqual({ ...model.config, tiedEmbeddings: true });
    const chat = loadHfChat(out);
    expect(chat.sampling).toEqual({ temperature: 0.7, topP: 0.8, topK: 20 });
    expect(chat.stopIds).toContain(tok.specialId('<|im_end|>'));

    const dev = await createDevice('cpu');
    const a = new DeviceTransformer(dev, model.config, model.params, { grads: false });
    const b = new DeviceTransformer(dev, back.config, back.model.params, { grads: false });
    const ids = tok.encode(corpus[0]);
    expect(await b.forward(ids)).toEqual(await a.forward(ids));
    a.dispose();
    b.dispose();
    dev.destroy();
  });

  it('merges a PEFT adapter on export (gym export --adapter)', async () => {
    const out = join(tmp, 'merged');
    const r = exportCheckpointToHf(join(FIXTURE, 'untied-f32'), out, { adapter: join(FIXTURE, 'lora') });
    expect(r.merged).toBe(join(FIXTURE, 'lora'));
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).max_position_embeddings).toBe(512);
    const st = openSafetensorsFile(join(FIXTURE, 'expected.safetensors'));
    const ids = Array.from((st.read('input_ids').data as Int32Array).subarray(0, 16));
    const want = st.read('lora_merged.logits').data as Float32Array;
    st.close();
    const back = loadHfQwen3(out);
    const dev = await createDevice('cpu');
    const m = new DeviceTransformer(dev, back.config, back.model.params, { grads: false });
    const got = await m.forward(ids);
    let d = 0;
    let mx = 0;
    for (let i = 0; i < got.length; i++) {
      d = Math.max(d, Math.abs(got[i] - want[i]));
      mx = Math.max(mx, Math.abs(want[i]));
    }
    expect(d / mx).toBeLessThan(1e-4);
    m.dispose();
    dev.destroy();
  });
});
