import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CpuDevice, createDevice, type Device } from '../../../gpu/index.js';
import { DeviceTransformer } from '../../../trainer/model/device-transformer.js';
import { LINEAR_MODULES, loadHfQwen3, loadPeftAdapter, savePeftAdapter } from '../../../trainer/model/hf/index.js';
import { ModelRunner } from '../../../trainer/model/runner.js';
import { openSafetensorsFile } from '../../../trainer/model/safetensors.js';
import { AdamW } from '../../../trainer/optim/index.js';
import { webgpuOrSkip } from '../../gpu/harness.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/qwen3-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'gym-lora-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const st = openSafetensorsFile(join(FIXTURE, 'expected.safetensors'));
const ids = st.read('input_ids').data as Int32Array;
const loraLogits = st.read('lora.logits').data as Float32Array;
st.close();
const row = (r: number) => Array.from(ids.subarray(r * 16, r * 16 + 16));

function relErr(got: ArrayLike<number>, ref: ArrayLike<number>, off = 0): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    d = Math.max(d, Math.abs(got[i] - ref[off + i]));
    m = Math.max(m, Math.abs(ref[off + i]));
  }
  return d / m;
}

/** The fixture's base on `dev` with no gradients of its own. */
function base(dev: Device) {
  const hf = loadHfQwen3(join(FIXTURE, 'untied-f32'));
  return { hf, m: new DeviceTransformer(dev, hf.config, hf.model.params, { shareHost: true, grads: false }) };
}

const devices: { kind: string; get: () => Promise<{ dev?: Device; reason?: string }> }[] = [
  { kind: 'cpu', get: async () => ({ dev: await createDevice('cpu') }) },
  { kind: 'webgpu', get: () => webgpuOrSkip('LoRA on WebGPU') },
];

for (const { kind, get } of devices) {
  describe(`a PEFT adapter beside frozen weights on the ${kind} device`, async () => {
    const { dev } = await get();
    afterAll(() => dev?.destroy());

    it.skipIf(!dev)('gives PEFT’s logits without merging', async () => {
      const { m } = base(dev as Device);
      const a = loadPeftAdapter(join(FIXTURE, 'lora'));
      m.attachLora({ r: a.r, alpha: a.alpha, targets: a.targets }, { adapter: a });
      const V = m.config.vocabSize;
      for (let r = 0; r < 2; r++) expect(relErr(await m.forward(row(r)), loraLogits, r * 16 * V)).toBeLessThan(1e-4);
      m.dispose();
    });
  });
}

describe('training a LoRA adapter on the CPU backend', async () => {
  const dev = await createDevice('cpu');
  afterAll(() => dev.destroy());

  it('computes the adapter’s gradients (checked by finite differences) and none for the base', async () => {
    const { m } = base(dev);
    const a = loadPeftAdapter(join(FIXTURE, 'lora'));
    const lora = m.attachLora({ r: a.r, alpha: a.alpha, targets: a.targets }, { adapter: a });
    const x = row(1).slice(0, 10);
    const V = m.config.vocabSize;
    const coef = Float32Array.from({ length: 10 * V }, (_, i) => Math.sin(i * 0.37));
    const loss = async () => (await m.forward(x)).reduce((s, z, i) => s + z * coef[i], 0);
    m.zeroGrad();
    await m.forward(x, { train: true });
    m.backward(coef);
    expect(m.grads.size).toBe(0);
    for (const name of [
      'layers.0.q_proj.lora_A',
      'layers.1.down_proj.lora_B',
      'layers.0.v_proj.lora_B',
      'layers.1.o_proj.lora_A',
    ]) {
      const w = (dev as CpuDevice).view(lora.params.get(name) as never) as Float32Array;
      const g = (await dev.download(lora.grads.get(name) as never)) as Float32Array;
      for (const i of [0, 7, w.length - 1]) {
        const keep = w[i];
        const h = 1e-2;
        w[i] = keep + h;
        const up = await loss();
        w[i] = keep - h;
        const down = await loss();
        w[i] = keep;
        const fd = (up - down) / (2 * h);
        expect(Math.abs(g[i] - fd), `${name}[${i}]: ${g[i]} vs ${fd}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
      }
    }
    m.dispose();
  });

  it('lowers the loss by training only the adapter, leaves the base as it was, and saves it in PEFT’s format', async () => {
    const { hf, m } = base(dev);
    const before = new Map([...hf.model.params].map(([k, v]) => [k, Float32Array.from(v)]));
    const lora = m.attachLora({ r: 4, alpha: 8, targets: [...LINEAR_MODULES] }, { seed: 3 });
    const runner = new ModelRunner(hf.model, m);
    const opt = new AdamW(lora.hostParams(), lora.shapes, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const inputs = [row(0).slice(0, 15), row(1).slice(0, 15)];
    const targets = [Int32Array.from(row(0).slice(1)), Int32Array.from(row(1).slice(1))];
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      runner.zeroGrad();
      let total = 0;
      await runner.tokenTrainPass(inputs, targets, 1, (_, s) => {
        total -= s.logp.reduce((a, b) => a + b, 0) / s.logp.length / inputs.length;
        return { dlogp: Array.from(s.logp, () => -1 / s.logp.length / inputs.length) };
      });
      losses.push(total);
      await runner.step(opt, 1e-2, 1);
    }
    expect(losses[5]).toBeLessThan(losses[0] - 0.05);
    for (const [k, v] of hf.model.params) expect(v, k).toEqual(before.get(k));
    await runner.refuseNonFiniteWeights('the adapter');

    const dir = join(tmp, 'adapter');
    savePeftAdapter(dir, lora.toPeft(), 'test/fixtures/qwen3-tiny/untied-f32');
    const merged = loadHfQwen3(join(FIXTURE, 'untied-f32'), { adapter: dir });
    const mm = new DeviceTransformer(dev, merged.config, merged.model.params, { grads: false });
    expect(relErr(await mm.forward(inputs[0]), await m.forward(inputs[0]))).toBeLessThan(1e-4);
    mm.dispose();
    runner.dispose();
  });
});
