/**
 * bench/model: the built-in model's speed where training runs it, on the gpu/ Device, beside its
 * host reference (`--device host`, plain loops with onnxruntime GEMM for the large products):
 *  1. training: forward + backward of one sequence (tokens/s) at the lengths episodes have;
 *  2. decoding: one token at a time after a prompt (ms/token), through each side's KV cache;
 *  3. batched decoding on the device: one step for B sequences at once (`decodeBatch`, what the
 *     builtin policy does for concurrent episodes), ms per token beside one sequence at a time.
 *  4. the GRPO update pass on the CPU backend: `grpoStep` over two groups of four sequences that
 *     share a prompt (forward, loss, backward, clipping, AdamW), ms per step and sequence tokens/s,
 *     without and with the KL reference (beta > 0: one more forward per sequence). onnxruntime on
 *     one thread, so the process CPU time per step (`cpuMsPerStep`) is the figure to compare on a
 *     shared machine; wall time is given beside it.
 * Same weights and inputs on both sides; the logits are checked to agree before timing. Medians.
 * Prints one JSON object. Run: `npx tsx bench/model.ts [--preset nano|micro|mini] [--webgpu] [--only grpo]`.
 */
import { parseArgs } from 'node:util';
import { createDevice, type Device } from '../gpu/index.js';
import { frozenReference, type GrpoGroup, type GrpoStepOptions, grpoStep, logitsGrad } from '../trainer/grpo/index.js';
import { sequencesOf } from '../trainer/index.js';
import {
  type DeviceKVCache,
  DeviceTransformer,
  KVCache,
  type ModelPreset,
  ModelRunner,
  presetConfig,
  Transformer,
  useDevice,
} from '../trainer/model/index.js';
import { AdamW } from '../trainer/optim/index.js';
import { median, round, timeIt } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    preset: { type: 'string', default: 'nano' },
    webgpu: { type: 'boolean' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
  },
  strict: true,
});
const preset = flags.preset as ModelPreset;
const reps = flags.quick ? 3 : 7;

const vocab = 1093; // the default run's tokenizer (bytes, specials and merges)
const cfg = presetConfig(preset, vocab);
await useDevice('cpu'); // the host reference's large products through onnxruntime, as `--device host` runs it
const host = new Transformer(cfg, undefined, 1);
const devices: { name: string; dev: Device }[] = [{ name: 'cpu', dev: await createDevice('cpu') }];
if (flags.webgpu) devices.push({ name: 'webgpu', dev: await createDevice('webgpu') });

const ids = (T: number) => Array.from({ length: T }, (_, i) => (i * 7919 + 13) % vocab);
const result: Record<string, unknown> = { bench: 'model', preset, params: host.numParams, vocab };
const training: Record<string, unknown>[] = [];
const decoding: Record<string, unknown>[] = [];
const batched: Record<string, unknown>[] = [];

/**
 * The GRPO update pass on the CPU backend: 2 groups x 4 sequences of a 256-token prompt and
 * 96..320-token completions (mask 1 on the completion), rewards 1/0 so every advantage is live.
 * Fresh weights and optimizer per measurement so every repeat does the same work.
 */
async function grpoUpdate(beta: number): Promise<Record<string, unknown>> {
  const groups: GrpoGroup[] = [0, 1].map((g) => {
    const prompt = ids(256).map((x) => (x + g * 17) % vocab);
    const samples = [96, 160, 224, 320].map((L, i) => {
      const tokens = [...prompt, ...Array.from({ length: L }, (_, t) => (t * 131 + i * 7 + g) % vocab)];
      return { tokens, mask: tokens.map((_, t) => (t >= prompt.length ? 1 : 0)), logprobs: tokens.map(() => -7) };
    });
    return { samples, rewards: [1, 0, 1, 0] };
  });
  const seqTokens = groups.reduce((s, g) => s + g.samples.flatMap(sequencesOf).reduce((a, x) => a + x.tokens.length - 1, 0), 0);
  const o: GrpoStepOptions = {
    lossType: 'dapo',
    scaleRewards: 'group',
    epsLow: 0.2,
    epsHigh: 0.28,
    beta,
    numIterations: 1,
    maxGradNorm: 1,
    lr: 1e-3,
    temperature: 1,
    entropyCoef: 0,
    entropyTarget: 0,
  };
  const model = new Transformer(cfg, undefined, 1);
  const runner = await ModelRunner.create(model, 'cpu', 1);
  const ref = beta > 0 ? frozenReference(runner) : undefined;
  const cpuMs: number[] = [];
  const times = await timeIt(reps, 1, async () => {
    const opt = new AdamW(model.params, model.shapes);
    const c0 = process.cpuUsage();
    await grpoStep(runner, opt, groups, o, ref);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  });
  ref?.dispose();
  runner.dispose();
  const ms = median(times);
  const cpu = median(cpuMs.slice(1)); // the first is the warm-up call
  return {
    beta,
    sequences: 8,
    seqTokens,
    msPerStep: round(ms, 1),
    cpuMsPerStep: round(cpu, 1),
    seqTokensPerCpuSecond: round(seqTokens / (cpu / 1000), 0),
  };
}

if (flags.only === 'grpo') {
  result.grpoUpdate = [await grpoUpdate(0), await grpoUpdate(0.001)];
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

for (const { name, dev } of devices) {
  const dm = new DeviceTransformer(dev, cfg, host.params);
  // agreement first: a fast wrong model is no result
  const probe = ids(64);
  const a = host.forward(probe);
  const b = await dm.forward(probe);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  if (!(diff < 1e-3)) throw new Error(`${name}: device logits differ from the host reference by ${diff}`);

  for (const T of [128, 512, 1024]) {
    const seq = ids(T);
    const targets = seq.slice(1).concat([0]);
    const coef = targets.map(() => 1 / T);
    const dl = logitsGrad(host.forward(seq), vocab, targets, coef);
    const hostMs = median(
      await timeIt(reps, 1, () => {
        host.forward(seq, { train: true });
        host.backward(dl);
      }),
    );
    const devMs = median(
      await timeIt(reps, 1, async () => {
        await dm.forward(seq, { train: true });
        dm.backward(dl);
        if (dev.kind !== 'cpu') await dev.sync();
      }),
    );
    training.push({
      device: name,
      tokens: T,
      hostTokensPerSecond: round(T / (hostMs / 1000), 0),
      deviceTokensPerSecond: round(T / (devMs / 1000), 0),
      ratio: round(hostMs / devMs, 2),
    });
  }
  for (const ctx of [256, 1024]) {
    const prompt = ids(ctx);
    const steps = flags.quick ? 32 : 128;
    const hc = new KVCache(cfg, cfg.maxSeqLen);
    host.forward(prompt, { cache: hc, lastOnly: true });
    const hostTimes = await timeIt(steps, 1, () => {
      host.forward([5], { cache: hc, lastOnly: true });
    });
    const dc = dm.newCache();
    await dm.forward(prompt, { cache: dc, lastOnly: true });
    const devTimes = await timeIt(steps, 1, async () => {
      await dm.forward([5], { cache: dc, lastOnly: true });
    });
    dc.free();
    const h = median(hostTimes);
    const d = median(devTimes);
    decoding.push({
      device: name,
      context: ctx,
      hostMsPerToken: round(h, 3),
      deviceMsPerToken: round(d, 3),
      ratio: round(h / d, 2),
    });
  }
  // batched decoding: B sequences at 256 tokens of context, each with its own cache
  const single = median(
    await (async () => {
      const c = dm.newCache();
      await dm.forward(ids(256), { cache: c, lastOnly: true });
      const t = await timeIt(flags.quick ? 32 : 128, 1, async () => {
        await dm.decodeBatch([5], [c]);
      });
      c.free();
      return t;
    })(),
  );
  for (const B of [1, 8, 32]) {
    const caches: DeviceKVCache[] = [];
    for (let b = 0; b < B; b++) {
      const c = dm.newCache();
      await dm.forward(ids(256 + b), { cache: c, lastOnly: true });
      caches.push(c);
    }
    const tokens = Array.from({ length: B }, (_, b) => (b * 31 + 5) % vocab);
    const step = median(
      await timeIt(flags.quick ? 16 : 64, 1, async () => {
        await dm.decodeBatch(tokens, caches);
      }),
    );
    for (const c of caches) c.free();
    batched.push({
      device: name,
      sequences: B,
      msPerStep: round(step, 3),
      msPerToken: round(step / B, 3),
      speedupOverOneAtATime: round(single / (step / B), 2),
    });
  }
  dm.dispose();
}
result.grpoUpdate = [await grpoUpdate(0), await grpoUpdate(0.001)];
result.training = training;
result.decoding = decoding;
result.batchedDecoding = batched;
result.medianTrainingRatio = median(training.filter((r) => r.device === 'cpu').map((r) => r.ratio as number));
result.medianDecodingRatio = median(decoding.filter((r) => r.device === 'cpu').map((r) => r.ratio as number));
process.stdout.write(`${JSON.stringify(result)}\n`);
for (const { dev } of devices) dev.destroy();
