/**
 * LoRA runs end to end on the toy environment: `gym train --lora-rank 4` (the real CLI) trains an
 * adapter beside frozen base weights and saves it in PEFT's format; a stopped LoRA run resumes bit
 * for bit; `gym distill --lora-rank` trains the student's adapter; `gym export` merges the adapter.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice } from '../../gpu/index.js';
import { exportCheckpointToHf, exportHf, loadHfQwen3, loadPeftAdapter } from '../../trainer/model/hf/index.js';
import {
  CheckpointError,
  DeviceTransformer,
  loadBuiltinPolicy,
  loadCheckpoint,
  presetConfig,
  saveCheckpoint,
  Transformer,
} from '../../trainer/model/index.js';
import { openSafetensorsFile } from '../../trainer/model/safetensors.js';
import { distill, type RunConfig, RunInterruptedError, resolveRunConfig, train } from '../../trainer/run/index.js';
import { webgpuOrSkip } from '../gpu/harness.js';
import { jsonLines, untimedMetrics } from './fixtures/run-snapshot.js';
import { toyEnv } from './fixtures/toy-env.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const root = mkdtempSync(join(tmpdir(), 'toolgym-lora-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** SFT and GRPO with a KL reference, a few steps each. */
function loraConfig(out: string, over: Record<string, unknown> = {}): RunConfig {
  return resolveRunConfig({
    preset: 'quick',
    flags: {
      env: 'toy',
      families: 'compute.',
      out,
      merges: 48,
      testTasks: 2,
      limits: { maxTurns: 2, maxTurnTokens: 20, thinkingBudget: 8 },
      checkpointEvery: 2,
      sft: { steps: 3, lr: 1e-2 },
      grpo: { steps: 2, beta: 0.05 },
      ...over,
    },
  });
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    d = Math.max(d, Math.abs(got[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

let cliDir: string;
let cliOut: string;
beforeAll(() => {
  const file = join(root, 'cli.json');
  writeFileSync(file, JSON.stringify(loraConfig(join(root, 'cli'))));
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repo, 'bin', 'gym.ts'),
      'train',
      '--config',
      file,
      '--env-module',
      join('test', 'trainer', 'fixtures', 'toy-env.ts'),
      '--lora-rank',
      '4',
      '--no-progress',
    ],
    { cwd: repo, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`gym train --lora-rank 4 failed (${r.status}): ${r.stderr}`);
  cliOut = r.stdout;
  cliDir = (cliOut.match(/results: (\S+)/) as RegExpMatchArray)[1];
}, 300_000);

describe('gym train --lora-rank 4', () => {
  it('records the LoRA settings in the run config, alpha defaulting to 2 r, all seven projections', () => {
    const cfg = JSON.parse(readFileSync(join(cliDir, 'config.json'), 'utf8'));
    expect(cfg.lora).toEqual({ rank: 4, alpha: 8, targets: 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj' });
    const summary = JSON.parse(readFileSync(join(cliDir, 'summary.json'), 'utf8'));
    expect(summary.lora).toMatchObject({ rank: 4, alpha: 8, base: join(cliDir, 'checkpoints', 'base') });
    // 2 layers x (A + B) over 7 projections of nano (dim 64, q 64, kv 32, ffn 176)
    const perLayer = 4 * (64 + 64) * 2 + 4 * (64 + 32) * 2 + 4 * (64 + 176) * 3;
    expect(summary.lora.trainableParams).toBe(2 * perLayer);
    // compute: forward and the backward's input gradients through base + adapters (4 (P + Pa)),
    // weight gradients for the adapters only (2 Pa); 6 (P + Pa) would charge the frozen base's
    const P = summary.params;
    const Pa = summary.lora.trainableParams;
    expect(summary.compute.sft.studentFlops).toBe((4 * P + 6 * Pa) * summary.tokensTrained.sftSequence);
    expect(summary.compute.sft.studentFlops).toBeLessThan(6 * P * summary.tokensTrained.sftSequence);
  });

  it('prints the adapter folder and how to load it', () => {
    const adapter = join(cliDir, 'checkpoints', 'final', 'adapter');
    expect(cliOut).toContain(`LoRA adapter (rank 4, alpha 8`);
    expect(cliOut).toContain(adapter);
    expect(cliOut).toContain(`builtin:${join(cliDir, 'checkpoints', 'base')}#adapter=${adapter}`);
  });

  it('prints a `gym eval` command that runs the checkpoint on the run’s own tasks, limits and sampling', () => {
    const line = (cliOut.match(/try it: {2}(.+)/) as RegExpMatchArray)[1];
    const out = join(root, 'try-it');
    // the printed command, as a shell runs it, with `gym` this checkout's CLI
    const r = spawnSync(
      'bash',
      ['-c', `gym() { "${process.execPath}" --import tsx bin/gym.ts "$@"; }; ${line} --tasks 2 -k 1 --no-progress --out ${out}`],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const rec = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    // the run's families, difficulty and turn limits, not every family at every level with 2048-token turns
    expect(rec.settings).toMatchObject({ env: 'toy', families: 'compute.', maxDifficulty: 1, mode: 'no_think' });
    expect(rec.settings.limits).toMatchObject({ maxTurns: 2, maxTurnTokens: 20 });
    // the policy's own default is Qwen3's sampling per mode, as the run's held-out evaluation's
    expect(line).toContain('/checkpoints/final#device=cpu');
    expect(line).toContain('--env-module test/trainer/fixtures/toy-env.ts');
  }, 120_000);

  it('leaves the base weights bit-identical: the seeded preset, written once, no weights in the run checkpoints', () => {
    const base = loadCheckpoint(join(cliDir, 'checkpoints', 'base'));
    const fresh = new Transformer(presetConfig('nano', base.tokenizer.vocabSize), undefined, 0);
    for (const [k, v] of fresh.params) expect(base.model.params.get(k), k).toEqual(v);
    for (const name of ['last', 'sft', 'final']) {
      expect(existsSync(join(cliDir, 'checkpoints', name, 'model.safetensors')), name).toBe(false);
      expect(existsSync(join(cliDir, 'checkpoints', name, 'adapter', 'adapter_model.safetensors')), name).toBe(true);
    }
  });

  it("saves the adapter under PEFT's tensor names and config, trained away from its zero start", () => {
    const dir = join(cliDir, 'checkpoints', 'final', 'adapter');
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, task_type: 'CAUSAL_LM', use_rslora: false });
    const st = openSafetensorsFile(join(dir, 'adapter_model.safetensors'));
    const names = [...st.tensors.keys()];
    expect(names).toHaveLength(2 * 2 * 7);
    expect(names).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(names).toContain('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight');
    const b = st.read('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight');
    expect(b.shape).toEqual([64, 4]);
    // PEFT starts B at zero: training moved it
    expect(Math.max(...Array.from(b.data as Float32Array, Math.abs))).toBeGreaterThan(0);
    st.close();
    // the SFT checkpoint's adapter differs from the final one: GRPO trained it further
    expect(sha(join(cliDir, 'checkpoints', 'sft', 'adapter', 'adapter_model.safetensors'))).not.toBe(
      sha(join(dir, 'adapter_model.safetensors')),
    );
  });

  it('loads back as builtin:<base>#adapter=<adapter> with the logits of the base with the adapter attached', async () => {
    const base = join(cliDir, 'checkpoints', 'base');
    const adapterDir = join(cliDir, 'checkpoints', 'final', 'adapter');
    const ids = [1, 5, 9, 40, 120, 7, 3, 260];
    const dev = await createDevice('cpu');
    const ck = loadCheckpoint(base, { grads: false });
    const m = new DeviceTransformer(dev, ck.model.config, ck.model.params, { shareHost: true, grads: false });
    const a = loadPeftAdapter(adapterDir);
    m.attachLora({ r: a.r, alpha: a.alpha, targets: a.targets }, { adapter: a });
    const attached = await m.forward(ids);
    const { policy } = await loadBuiltinPolicy(base, { adapter: adapterDir, device: 'cpu' });
    const merged = await policy.model.logits(ids);
    expect(relErr(merged, attached)).toBeLessThan(1e-5);
    // and the final checkpoint itself loads merged (what gym eval --policy builtin:<final> runs)
    const fin = loadCheckpoint(join(cliDir, 'checkpoints', 'final'));
    expect(relErr(fin.model.forward(ids), attached)).toBeLessThan(1e-5);
    // the adapter changed the model
    const plain = new DeviceTransformer(dev, ck.model.config, ck.model.params, { shareHost: true, grads: false });
    expect(relErr(await plain.forward(ids), attached)).toBeGreaterThan(1e-3);
    m.dispose();
    plain.dispose();
    policy.model.dispose();
    dev.destroy();
  });

  it('gym export writes the merged weights (HF layout), or with --no-merge the adapter alone', async () => {
    const merged = join(root, 'export-merged');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'bin', 'gym.ts'), 'export', cliDir, merged], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LoRA adapter merged into its base/);
    const hf = loadHfQwen3(merged);
    const fin = loadCheckpoint(join(cliDir, 'checkpoints', 'final'));
    const ids = [2, 4, 6, 8, 10, 12];
    expect(relErr(hf.model.forward(ids), fin.model.forward(ids))).toBeLessThan(1e-6);
    const only = join(root, 'export-adapter');
    const s = exportCheckpointToHf(cliDir, only, { noMerge: true });
    expect(s.lora?.adapterOnly).toBe(true);
    expect(sha(join(only, 'adapter_model.safetensors'))).toBe(
      sha(join(cliDir, 'checkpoints', 'final', 'adapter', 'adapter_model.safetensors')),
    );
    expect(existsSync(join(only, 'model.safetensors'))).toBe(false);
  });
});

/** What must match between an uninterrupted LoRA run and a stopped-then-resumed one. */
function loraSnapshot(dir: string): Record<string, unknown> {
  const f = (name: string, file: string) => sha(join(dir, 'checkpoints', name, file));
  return {
    base: f('base', 'model.safetensors'),
    adapter: ['sft', 'last', 'final'].map((n) => f(n, 'adapter/adapter_model.safetensors')),
    optimizer: f('last', 'optimizer.safetensors'),
    metrics: untimedMetrics(join(dir, 'metrics.jsonl')),
  };
}

describe('a stopped LoRA run', () => {
  it('resumes from its last checkpoint (adapter and its moments) to the same adapter, moments and metrics', async () => {
    const { dir: straight } = await train(toyEnv, loraConfig(join(root, 'straight'), { lora: { rank: 2 } }), { runId: 'r' });
    const cfg = loraConfig(join(root, 'stopped'), { lora: { rank: 2 } });
    const ac = new AbortController();
    await expect(
      train(toyEnv, cfg, {
        runId: 'r',
        hooks: { signal: ac.signal, onRecord: (r) => r.phase === 'grpo' && r.step === 1 && ac.abort() },
      }),
    ).rejects.toThrow(RunInterruptedError);
    const dir = join(root, 'stopped', 'r');
    await expect(train(toyEnv, cfg, { resume: dir, lora: { rank: 8 } })).rejects.toThrow(
      /cannot resume .* with lora.rank 8: the run was started with rank 2/,
    );
    await train(toyEnv, cfg, { resume: dir, lora: { rank: 2 } });
    const [a, b] = [loraSnapshot(dir), loraSnapshot(straight)];
    for (const k of Object.keys(b)) expect(a[k], k).toEqual(b[k]);
  }, 300_000);

  it('killed with SIGKILL between the renames of its checkpoint, falls back to the one before and still ends the same', async () => {
    const cfg = loraConfig(join(root, 'killed'), { lora: { rank: 2 } });
    const plan = { op: 'rename', file: join('checkpoints', 'last'), nth: 3 };
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repo, 'test', 'trainer', 'fixtures', 'train-child.ts'),
        JSON.stringify(cfg),
        'r',
        JSON.stringify(plan),
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const dir = join(root, 'killed', 'r');
    expect(existsSync(join(dir, 'checkpoints', 'last'))).toBe(false);
    const warnings: string[] = [];
    await train(toyEnv, cfg, { resume: dir, hooks: { onWarning: (w) => warnings.push(w) } });
    expect(warnings.join('\n')).toMatch(/using the checkpoint before it/);
    const [a, b] = [loraSnapshot(dir), loraSnapshot(join(root, 'straight', 'r'))];
    for (const k of Object.keys(b)) expect(a[k], k).toEqual(b[k]);
  }, 300_000);
});

describe('a LoRA run on WebGPU', () => {
  it('trains the adapter on the device and saves it and its moments (software adapters included)', async (ctx) => {
    const gpu = await webgpuOrSkip('the WebGPU LoRA run');
    if (!gpu.dev) return ctx.skip();
    gpu.dev.destroy();
    const cfg = loraConfig(join(root, 'webgpu'), {
      device: 'webgpu',
      sft: { steps: 2, lr: 1e-2 },
      grpo: { steps: 1, beta: 0.05 },
      checkpointEvery: 1,
      lora: { rank: 2 },
    });
    const { dir } = await train(toyEnv, cfg, { runId: 'w' });
    const sft = jsonLines(join(dir, 'metrics.jsonl')).filter((r) => r.phase === 'sft');
    for (const r of sft) expect(r.gradNorm as number).toBeGreaterThan(0);
    // the device's updates reached the saved adapter and moments (B starts at zero, so do the moments)
    const a = loadPeftAdapter(join(dir, 'checkpoints', 'sft', 'adapter'));
    expect(Math.max(...Array.from(a.layers.get('layers.0.q_proj')?.B ?? [], Math.abs))).toBeGreaterThan(0);
    const st = openSafetensorsFile(join(dir, 'checkpoints', 'last', 'optimizer.safetensors'));
    const v = st.read('v.layers.1.down_proj.lora_B').data as Float32Array;
    st.close();
    expect(Math.max(...v)).toBeGreaterThan(0);
  }, 300_000);
});

describe('gym distill --lora-rank', () => {
  it('trains an adapter on the student; the teacher (a LoRA checkpoint, loaded merged) is unchanged', async () => {
    const teacher = join(cliDir, 'checkpoints', 'final');
    const before = sha(join(teacher, 'adapter', 'adapter_model.safetensors'));
    const cfg = resolveRunConfig({
      preset: 'quick',
      distill: true,
      flags: {
        env: 'toy',
        families: 'compute.',
        out: join(root, 'distill'),
        model: 'nano',
        testTasks: 2,
        limits: { maxTurns: 2, maxTurnTokens: 20, thinkingBudget: 8 },
        // on-policy only: the student plays, the teacher scores its tokens (this teacher is barely trained)
        sft: { steps: 0 },
        distill: { teacher, steps: 2, tasksPerStep: 2, groupSize: 2 },
        lora: { rank: 4, alpha: 4, targets: 'q_proj,v_proj' },
      },
    });
    const { dir, summary } = await distill(toyEnv, cfg, { runId: 'd' });
    expect(summary.lora).toMatchObject({ rank: 4, alpha: 4, targets: ['q_proj', 'v_proj'] });
    expect(jsonLines(join(dir, 'metrics.jsonl')).filter((r) => r.phase === 'distill')).toHaveLength(2);
    const a = loadPeftAdapter(join(dir, 'checkpoints', 'final', 'adapter'));
    expect([...a.layers.keys()].sort()).toEqual(['layers.0.q_proj', 'layers.0.v_proj', 'layers.1.q_proj', 'layers.1.v_proj']);
    expect(Math.max(...Array.from(a.layers.get('layers.1.v_proj')?.B ?? [], Math.abs))).toBeGreaterThan(0);
    expect(sha(join(teacher, 'adapter', 'adapter_model.safetensors'))).toBe(before);
  }, 300_000);
});

describe('gym train --model builtin:<Hugging Face folder> --lora-rank', () => {
  it("trains an adapter on the folder's frozen weights with its own tokenizer, and the checkpoint loads as builtin:", async () => {
    // a Hugging Face Qwen3 folder with a tokenizer.json: the CLI run's base, exported
    const hfDir = join(root, 'hf-base');
    const base = loadCheckpoint(join(cliDir, 'checkpoints', 'base'));
    exportHf(hfDir, { config: base.model.config, params: base.model.params, tokenizer: base.tokenizer });
    const weights = sha(join(hfDir, 'model.safetensors'));
    const file = join(root, 'hf.json');
    writeFileSync(file, JSON.stringify(loraConfig(join(root, 'hf'), { grpo: { steps: 1 } })));
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repo, 'bin', 'gym.ts'),
        'train',
        '--config',
        file,
        '--env-module',
        join('test', 'trainer', 'fixtures', 'toy-env.ts'),
        '--model',
        `builtin:${hfDir}`,
        '--lora-rank',
        '2',
        '--lora-targets',
        'q_proj,down_proj',
        '--no-progress',
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const dir = (r.stdout.match(/results: (\S+)/) as RegExpMatchArray)[1];
    const final = join(dir, 'checkpoints', 'final');
    const cfg = JSON.parse(readFileSync(join(final, 'config.json'), 'utf8'));
    expect(cfg.lora.base).toBe(hfDir);
    expect(cfg.tokenizer).toBeNull();
    expect(existsSync(join(dir, 'checkpoints', 'base'))).toBe(false);
    expect(sha(join(hfDir, 'model.safetensors'))).toBe(weights);
    const adapter = join(final, 'adapter');
    expect(r.stdout).toContain(`builtin:${hfDir}#adapter=${adapter}`);
    const ids = [1, 5, 9, 40, 120, 7];
    const a = await loadBuiltinPolicy(final, { device: 'cpu' });
    const b = await loadBuiltinPolicy(hfDir, { adapter, device: 'cpu' });
    const c = await loadBuiltinPolicy(hfDir, { device: 'cpu' });
    const la = await a.policy.model.logits(ids);
    expect(relErr(la, await b.policy.model.logits(ids))).toBeLessThan(1e-6);
    expect(relErr(la, await c.policy.model.logits(ids))).toBeGreaterThan(1e-4);
    for (const p of [a, b, c]) p.policy.model.dispose();
    // merged export takes the folder's tokenizer files
    const out = join(root, 'hf-merged');
    exportCheckpointToHf(dir, out);
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(hfDir, 'tokenizer.json'), 'utf8'));
  }, 300_000);

  it('refuses to train every weight of a Hugging Face folder', async () => {
    const cfg = loraConfig(join(root, 'hf-full'), { init: join(root, 'hf-base') });
    await expect(train(toyEnv, cfg, { runId: 'x' })).rejects.toThrow(/a run trains LoRA adapters on it \(add --lora-rank/);
  });
});

describe('LoRA refuses', () => {
  it('an invalid rank, alpha or target name, naming the field and the valid projections', () => {
    expect(() => resolveRunConfig({ flags: { lora: { rank: -1 } } })).toThrow(/lora.rank/);
    expect(() => resolveRunConfig({ flags: { lora: { rank: 1.5 } } })).toThrow(/lora.rank must be a whole number/);
    expect(() => resolveRunConfig({ flags: { lora: { rank: 4, alpha: 0 } } })).toThrow(/lora.alpha/);
    expect(() => resolveRunConfig({ flags: { lora: { rank: 4, targets: 'q_proj,qkv_proj' } } })).toThrow(
      /"qkv_proj" is not a projection of the model: LoRA targets are q_proj, k_proj/,
    );
  });

  it('a rank the model cannot take (not below the smallest side of an adapted projection)', async () => {
    const cfg = loraConfig(join(root, 'too-big'), { lora: { rank: 32, targets: 'k_proj' } });
    await expect(train(toyEnv, cfg, { runId: 'x' })).rejects.toThrow(
      /--lora-rank 32 is not below 32, the smaller side of k_proj/,
    );
  });

  it('--no-merge on a checkpoint without an adapter', () => {
    const full = join(root, 'full');
    const base = join(cliDir, 'checkpoints', 'base');
    expect(() => exportCheckpointToHf(base, full, { noMerge: true })).toThrow(CheckpointError);
    expect(() => exportCheckpointToHf(base, full, { noMerge: true })).toThrow(/holds full weights/);
  });

  it('a LoRA checkpoint whose base changed since', () => {
    const copy = join(root, 'moved-base');
    // a run folder whose base was replaced by other weights
    rmSync(copy, { recursive: true, force: true });
    spawnSync('cp', ['-r', cliDir, copy]);
    const base = join(copy, 'checkpoints', 'base');
    const ck = loadCheckpoint(base);
    ck.model.params.get('norm')?.fill(2);
    saveCheckpoint(base, { model: ck.model, tokenizer: ck.tokenizer, meta: ck.meta });
    expect(() => loadCheckpoint(join(copy, 'checkpoints', 'final'))).toThrow(/whose weights changed since it was trained/);
  });
});
