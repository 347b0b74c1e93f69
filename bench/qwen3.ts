/**
 * bench/qwen3: a Qwen3 model of Qwen3-0.6B's dimensions (random weights: speed does not depend on
 * them) on the gpu/ CPU backend, against the machine's own limits measured in the same run:
 *  1. memory bandwidth: onnxruntime streaming a 512 MiB tensor (ReduceSum, all cores) and a
 *     512 MiB copy; the larger is the bound;
 *  2. matmul GFLOP/s: the CPU backend's product at a 1k-token projection shape (1024 x 1024 x 3072);
 *  3. prefill of a 1,024-token prompt (tokens/s) beside the matmul bound (its forward FLOPs at that
 *     GFLOP/s), and decoding at 1k context (tokens/s, the builtin policy's `decodeBatch` path, one
 *     row alone and a padded batch of one, interleaved) beside the bandwidth bound (f32 weights
 *     plus the KV cache read once per token);
 *  4. peak memory (max RSS) beside the f32 weights' size.
 * The PyTorch peer (bench/qwen3/torch-peer-h200.json) was measured on a lent H200 machine without
 * Node, so WebGPU on that GPU could not be measured beside it: the JSON says so rather than
 * inventing a figure. Prints one JSON object. `npx tsx bench/qwen3.ts [--quick] [--grpo-lora]`
 * (`--quick`: 2 layers, a smoke run; `--grpo-lora`: instead, GRPO steps that train a rank-16 LoRA
 * adapter on every projection of the frozen 0.6B-shaped model: seconds per step and peak memory).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../gpu/cpu/ort.js';
import { createDevice, matmul } from '../gpu/index.js';
import { type GrpoGroup, type GrpoStepOptions, grpoStep } from '../trainer/grpo/index.js';
import { flopsPerToken, ModelConfigSchema, paramShapes } from '../trainer/model/config.js';
import { DeviceTransformer } from '../trainer/model/device-transformer.js';
import { LINEAR_MODULES, weightBytes } from '../trainer/model/hf/index.js';
import { ModelRunner, Transformer } from '../trainer/model/index.js';
import { AdamW } from '../trainer/optim/index.js';
import { median, round } from './stats.js';

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean' }, 'grpo-lora': { type: 'boolean' } },
  strict: true,
});
const CTX = 1024;

// Qwen3-0.6B's config.json
const config = ModelConfigSchema.parse({
  vocabSize: 151936,
  dim: 1024,
  layers: flags.quick ? 2 : 28,
  heads: 16,
  kvHeads: 8,
  headDim: 128,
  ffnDim: 3072,
  maxSeqLen: CTX + 16,
  ropeTheta: 1_000_000,
  normEps: 1e-6,
  tiedEmbeddings: true,
});

/** Random-looking weights fast: a 1M-value block of small values, tiled (norms at one). */
function weights(): Map<string, Float32Array> {
  const block = new Float32Array(1 << 20);
  let s = 12345;
  for (let i = 0; i < block.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    block[i] = (s / 2 ** 32 - 0.5) * 0.04;
  }
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    if (shape.length === 1) w.fill(1);
    else for (let o = 0; o < n; o += block.length) w.set(block.subarray(0, Math.min(block.length, n - o)), o);
    out.set(name, w);
  }
  return out;
}

async function bandwidth(): Promise<{ ortReduceGBs: number; copyGBs: number }> {
  const n = 128 << 20; // 512 MiB of f32
  const a = new Float32Array(n).fill(1);
  const model = encodeModel({
    nodes: [{ op: 'ReduceSum', inputs: ['X'], outputs: ['Y'], attrs: { keepdims: 0 } }],
    inputs: [{ name: 'X', dims: [n] }],
    outputs: [{ name: 'Y', dims: [] }],
  });
  const sess = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  const x = new ort.Tensor('float32', a, [n]);
  const reduce: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    await sess.run({ X: x });
    if (r > 0) reduce.push((n * 4) / ((performance.now() - t0) / 1000) / 1e9);
  }
  const b = new Float32Array(n);
  const copy: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    b.set(a);
    if (r > 0) copy.push((2 * n * 4) / ((performance.now() - t0) / 1000) / 1e9); // read + write
  }
  await sess.release();
  return { ortReduceGBs: median(reduce), copyGBs: median(copy) };
}

const dev = await createDevice('cpu');

/** GRPO with LoRA: 2 groups x 2 samples, 64-token prompts and 32-token completions, 2 steps. */
async function grpoLora(): Promise<Record<string, unknown>> {
  const params = weights();
  const host = new Transformer(config, params, 0, { grads: false });
  const m = new DeviceTransformer(dev, config, params, { shareHost: true, grads: false });
  const lora = m.attachLora({ r: 16, alpha: 32, targets: [...LINEAR_MODULES] }, { seed: 1 });
  const runner = new ModelRunner(host, m);
  const opt = new AdamW(lora.hostParams(), lora.shapes);
  const groups: GrpoGroup[] = [0, 1].map((g) => {
    const prompt = Array.from({ length: 64 }, (_, i) => (i * 7919 + 13 + g) % config.vocabSize);
    const samples = [0, 1].map((k) => {
      const tokens = [...prompt, ...Array.from({ length: 32 }, (_, t) => (t * 131 + k * 7 + g) % config.vocabSize)];
      return { tokens, mask: tokens.map((_, t) => (t >= prompt.length ? 1 : 0)), logprobs: tokens.map(() => -12) };
    });
    return { samples, rewards: [1, 0] };
  });
  const o: GrpoStepOptions = {
    lossType: 'dapo',
    scaleRewards: 'group',
    epsLow: 0.2,
    epsHigh: 0.28,
    beta: 0,
    numIterations: 1,
    maxGradNorm: 1,
    lr: 1e-4,
    temperature: 1,
    entropyCoef: 0,
    entropyTarget: 0,
  };
  const stepS: number[] = [];
  const loss: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const r = await grpoStep(runner, opt, groups, o);
    stepS.push((performance.now() - t0) / 1000);
    loss.push(r.loss);
  }
  let adapterParams = 0;
  for (const t of lora.params.values()) adapterParams += t.size;
  const rss = process.resourceUsage().maxRSS * 1024;
  runner.dispose();
  return {
    sequences: 4,
    seqTokens: 4 * 95,
    adapter: { r: 16, alpha: 32, targets: 'all 7 projections', params: adapterParams },
    secondsPerStep: stepS.map((x) => round(x, 1)),
    loss: loss.map((x) => round(x, 5)),
    peakRssBytes: rss,
    within24GB: rss < 24 * 2 ** 30,
  };
}

if (flags['grpo-lora']) {
  console.log(
    JSON.stringify({
      bench: 'qwen3',
      shape: flags.quick ? 'Qwen3-0.6B dims, 2 layers (--quick)' : 'Qwen3-0.6B',
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x, 2)) },
      weightsBytes: weightBytes(config),
      grpoLora: await grpoLora(),
    }),
  );
  dev.destroy();
  process.exit(0);
}

async function matmulGflops(): Promise<number> {
  const [M, K, N] = [1024, 1024, 3072];
  const a = dev.upload(new Float32Array(M * K).fill(0.01), [M, K]);
  const b = dev.upload(new Float32Array(K * N).fill(0.01), [K, N]);
  const g: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const y = matmul(dev, a, b);
    await dev.download(y);
    if (r > 0) g.push((2 * M * K * N) / ((performance.now() - t0) / 1000) / 1e9);
    dev.free(y);
  }
  dev.free(a, b);
  return median(g);
}

const bw = await bandwidth();
const gflops = await matmulGflops();
const t0 = performance.now();
const params = weights();
const model = new DeviceTransformer(dev, config, params, { shareHost: true, grads: false });
const buildS = (performance.now() - t0) / 1000;

const ids = (T: number) => Array.from({ length: T }, (_, i) => (i * 7919 + 13) % config.vocabSize);
// warm-up: every graph shape of a short prompt and a decode step
{
  const c = model.newCache(64);
  await model.forward(ids(16), { cache: c, lastOnly: true });
  await model.decodeBatch([5], [c]);
  c.free();
}
const cache = model.newCache();
let t = performance.now();
await model.forward(ids(CTX), { cache, lastOnly: true });
const prefillS = (performance.now() - t) / 1000;
// Both decoding paths, interleaved step by step on the same cache: one row alone (what a run
// with --concurrency 1 uses: onnxruntime's matrix-vector path) and a batch of one padded to two
// rows (what concurrent episodes use, so a row's bits never depend on the batch).
const decodeMs: number[] = [];
const paddedMs: number[] = [];
for (let i = 0; i < (flags.quick ? 4 : 8); i++) {
  for (const pad of [false, true]) {
    t = performance.now();
    await model.decodeBatch([(i * 31) % config.vocabSize], [cache], { padRows: pad });
    (pad ? paddedMs : decodeMs).push(performance.now() - t);
  }
}
const rssPeak = process.resourceUsage().maxRSS * 1024;

const wBytes = weightBytes(config);
const kvBytes = 2 * config.layers * CTX * config.kvHeads * config.headDim * 4;
const bwBound = Math.max(bw.ortReduceGBs, bw.copyGBs);
const decodeTps = 1000 / median(decodeMs);
const decodeBoundTps = (bwBound * 1e9) / (wBytes + kvBytes);
let prefillFlops = 0;
for (let p = 1; p <= CTX; p++) prefillFlops += flopsPerToken(config, p);
const prefillTps = CTX / prefillS;
const prefillBoundTps = CTX / (prefillFlops / (gflops * 1e9));

let peer: Record<string, unknown> | undefined;
try {
  peer = JSON.parse(readFileSync(join(import.meta.dirname, 'qwen3', 'torch-peer-h200.json'), 'utf8'));
} catch {
  peer = undefined;
}

console.log(
  JSON.stringify({
    bench: 'qwen3',
    shape: flags.quick ? 'Qwen3-0.6B dims, 2 layers (--quick)' : 'Qwen3-0.6B',
    params: wBytes / 4,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x, 2)) },
    limits: {
      bandwidthGBs: round(bwBound, 2),
      ortReduceGBs: round(bw.ortReduceGBs, 2),
      copyGBs: round(bw.copyGBs, 2),
      matmulGflops: round(gflops, 1),
    },
    cpu: {
      buildSeconds: round(buildS, 1),
      prefill1k: {
        tokensPerS: round(prefillTps, 1),
        seconds: round(prefillS, 2),
        matmulBoundTokensPerS: round(prefillBoundTps, 1),
        ofBound: round(prefillTps / prefillBoundTps, 3),
      },
      decodeAt1k: {
        tokensPerS: round(decodeTps, 2),
        msPerToken: round(median(decodeMs), 1),
        bytesPerToken: wBytes + kvBytes,
        bandwidthBoundTokensPerS: round(decodeBoundTps, 2),
        ofBound: round(decodeTps / decodeBoundTps, 3),
        path: 'one row alone (ModelRunner.decodeRows single: --concurrency 1)',
        paddedBatchOfOne: {
          tokensPerS: round(1000 / median(paddedMs), 2),
          msPerToken: round(median(paddedMs), 1),
          ofBound: round(1000 / median(paddedMs) / decodeBoundTps, 3),
          path: 'batched decoding, a batch of one padded to two rows (concurrent episodes)',
        },
      },
      memory: {
        weightsBytes: wBytes,
        kvCacheBytes: kvBytes,
        peakRssBytes: rssPeak,
        peakOverWeights: round(rssPeak / wBytes, 2),
      },
    },
    webgpu:
      'not measured: the lent GPU machine (H200) has no Node runtime, so the WGSL kernels could not run beside PyTorch there; lavapipe here shows correctness only',
    peer: peer && { ...peer, note: 'PyTorch on an H200 (another machine): its figures, not a ratio to this CPU' },
  }),
);
model.dispose();
dev.destroy();
