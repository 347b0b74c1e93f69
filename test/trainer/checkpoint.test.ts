import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, loadCheckpoint, presetConfig, saveCheckpoint, Transformer } from '../../trainer/model/index.js';
import { AdamW } from '../../trainer/optim/index.js';
import { ByteTokenizer } from '../../trainer/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoints', () => {
  const tok = ByteTokenizer.train(['hello hello world world', 'hello world'], 4);
  const model = new Transformer({ ...presetConfig('nano', tok.vocabSize), layers: 1, maxSeqLen: 64 }, undefined, 5);
  const opt = new AdamW(model.params, model.shapes);
  for (const g of model.grads.values()) g.fill(0.01);
  opt.update(model.grads);

  it('round-trips weights, tokenizer, meta and optimizer moments exactly', () => {
    const dir = join(root, 'a');
    saveCheckpoint(dir, { model, tokenizer: tok, meta: { phase: 'sft', step: 3 }, optimizer: opt });
    const ck = loadCheckpoint(dir, { withOptimizer: true });
    expect(ck.meta).toEqual({ phase: 'sft', step: 3 });
    expect(ck.tokenizer.merges).toEqual(tok.merges);
    for (const [name, w] of model.params) expect(ck.model.params.get(name)).toEqual(w);
    expect(ck.optimizer?.step).toBe(1);
    expect(ck.optimizer?.m.get('norm')).toEqual(opt.m.get('norm'));
    const ids = tok.encode('hello world');
    expect(ck.model.forward(ids)).toEqual(model.forward(ids));
  });

  it('names a corrupt or swapped weights file in a CheckpointError', () => {
    const dir = join(root, 'b');
    saveCheckpoint(dir, { model, tokenizer: tok, meta: { phase: 'sft', step: 1 } });
    const path = join(dir, 'model.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(path, bytes);
    expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(dir)).toThrow(/corrupt/);
    writeFileSync(path, bytes.subarray(0, 20));
    expect(() => loadCheckpoint(dir)).toThrow(/model.safetensors/);
  });

  it('rejects another format version and a missing folder with what to do', () => {
    const dir = join(root, 'c');
    saveCheckpoint(dir, { model, tokenizer: tok, meta: { phase: 'sft', step: 1 } });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    cfg.format = 'toolgym.checkpoint/0';
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    expect(() => loadCheckpoint(dir)).toThrow(/this version reads toolgym.checkpoint\/1/);
    expect(() => loadCheckpoint(join(root, 'nope'))).toThrow(/config.json missing/);
  });
});
