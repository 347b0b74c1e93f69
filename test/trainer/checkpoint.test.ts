import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  loadLatestCheckpoint,
  presetConfig,
  previousCheckpointDir,
  saveCheckpoint,
  Transformer,
} from '../../trainer/model/index.js';
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

describe('checkpoint folders replaced as a whole', () => {
  const tok = ByteTokenizer.train(['hello hello world world', 'hello world'], 4);
  const model = new Transformer({ ...presetConfig('nano', tok.vocabSize), layers: 1, maxSeqLen: 64 }, undefined, 6);
  const save = (dir: string, step: number) =>
    saveCheckpoint(dir, { model, tokenizer: tok, meta: { phase: 'grpo', step } }, { keepPrevious: true });

  /** Rewrites a checkpoint's weights with one value of `tensor` replaced, keeping config.json consistent. */
  function poison(dir: string, tensor: string, value: number): void {
    const path = join(dir, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)));
    (tensors.get(tensor)?.data as Float32Array)[0] = value;
    const bytes = encodeSafetensors(tensors, metadata);
    writeFileSync(path, bytes);
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.files['model.safetensors'] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    writeFileSync(cfgPath, JSON.stringify(cfg));
  }

  it('keeps the replaced version as <dir>.prev and leaves no temporary folder behind', () => {
    const dir = join(root, 'keep', 'last');
    save(dir, 1);
    save(dir, 2);
    save(dir, 3);
    expect(loadCheckpoint(dir).meta.step).toBe(3);
    expect(loadCheckpoint(previousCheckpointDir(dir)).meta.step).toBe(2);
    expect(readdirSync(join(root, 'keep')).sort()).toEqual(['last', 'last.prev']);
  });

  it('clears a half-written folder that a killed writer left beside it', () => {
    const dir = join(root, 'leftover', 'last');
    save(dir, 1);
    mkdirSync(`${dir}.tmp-99999`);
    writeFileSync(join(`${dir}.tmp-99999`, 'model.safetensors'), 'half');
    save(dir, 2);
    expect(readdirSync(join(root, 'leftover')).sort()).toEqual(['last', 'last.prev']);
  });

  it('falls back to the checkpoint before, with a warning, when the latest is missing or damaged', () => {
    const dir = join(root, 'fallback', 'last');
    save(dir, 4);
    save(dir, 5);
    const warnings: string[] = [];
    const onWarning = (w: string) => warnings.push(w);
    expect(loadLatestCheckpoint(dir, { onWarning })?.meta.step).toBe(5);
    expect(warnings).toEqual([]);

    const bytes = readFileSync(join(dir, 'model.safetensors'));
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(join(dir, 'model.safetensors'), bytes);
    const ck = loadLatestCheckpoint(dir, { onWarning });
    expect(ck?.meta.step).toBe(4);
    expect(ck?.dir).toBe(previousCheckpointDir(dir));
    expect(warnings[0]).toMatch(
      /model\.safetensors .* does not match .*using the checkpoint before it, .*last\.prev \(grpo step 4\)/,
    );

    // killed between moving `last` aside and renaming the new one into place
    rmSync(dir, { recursive: true });
    expect(loadLatestCheckpoint(dir, { onWarning })?.meta.step).toBe(4);
    expect(warnings[1]).toMatch(/last is missing/);
  });

  it('throws a CheckpointError when the latest is damaged and there is none before it, and nothing when there is no checkpoint', () => {
    const dir = join(root, 'alone', 'last');
    expect(loadLatestCheckpoint(dir)).toBeUndefined();
    save(dir, 1);
    writeFileSync(join(dir, 'config.json'), '{"format": "toolgym.check');
    expect(() => loadLatestCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadLatestCheckpoint(dir)).toThrow(/not valid JSON.*no earlier checkpoint/);
  });

  it('refuses to load weights holding NaN or infinity, naming the tensor, and falls back past them', () => {
    const dir = join(root, 'nan', 'last');
    save(dir, 7);
    save(dir, 8);
    poison(dir, 'layers.0.q_proj', Number.NaN);
    expect(() => loadCheckpoint(dir)).toThrow(/tensor layers\.0\.q_proj in model\.safetensors holds NaN at index 0/);
    poison(dir, 'layers.0.q_proj', Number.NEGATIVE_INFINITY);
    expect(() => loadCheckpoint(dir)).toThrow(/layers\.0\.q_proj .* holds -Infinity/);
    const warnings: string[] = [];
    expect(loadLatestCheckpoint(dir, { onWarning: (w) => warnings.push(w) })?.meta.step).toBe(7);
    expect(warnings[0]).toMatch(/holds -Infinity/);
  });

  it('refuses to write weights holding NaN, keeping the checkpoint already on disk', () => {
    const dir = join(root, 'nan-save', 'last');
    save(dir, 1);
    const bad = new Transformer(model.config, new Map([...model.params].map(([k, v]) => [k, Float32Array.from(v)])));
    (bad.params.get('norm') as Float32Array)[3] = Number.NaN;
    expect(() =>
      saveCheckpoint(dir, { model: bad, tokenizer: tok, meta: { phase: 'grpo', step: 2 } }, { keepPrevious: true }),
    ).toThrow(/refusing to write checkpoint .*tensor norm holds NaN at index 3/);
    expect(loadCheckpoint(dir).meta.step).toBe(1);
  });
});
