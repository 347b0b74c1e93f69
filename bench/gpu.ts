/**
 * bench/gpu: the compute engine's speed.
 *  1. Matmul GFLOP/s on transformer-shaped problems (M x K x N = tokens x in x out) for each backend,
 *     beside the peer: onnxruntime-node's public API (InferenceSession.run on a MatMul graph) in the
 *     same run; ratio = cpu backend / peer (target >= 0.8).
 *  2. One Qwen3-style transformer block (RMSNorm, QK-norm, RoPE, GQA attention, SwiGLU, residuals)
 *     forward + backward in tokens/s, and as a fraction of the matmul-bound limit: the time its
 *     matmul FLOPs would take at the peer's measured GFLOP/s (target >= 0.4).
 *  3. The machine's estimated fp32 peak from /proc/cpuinfo (cores x SIMD lanes x 2 (FMA) x clock).
 * WebGPU figures come from whatever adapter is present (lavapipe without a GPU: correctness only).
 * Prints one JSON object. Run: `npx tsx bench/gpu.ts` (`--quick`: fewer reps; `--no-webgpu`).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../gpu/cpu/ort.js';
import * as g from '../gpu/index.js';
import { median, round, timeIt } from './stats.js';

const quick = process.argv.includes('--quick');
const withWebgpu = !process.argv.includes('--no-webgpu');
const profile = process.argv.includes('--profile');

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] as number;
}

async function interleaved(reps: number, warm: number, fns: (() => Promise<void>)[]): Promise<number[][]> {
  for (let i = 0; i < warm; i++) for (const f of fns) await f();
  const ms = fns.map(() => [] as number[]);
  for (let i = 0; i < reps; i++)
    for (const [j, f] of fns.entries()) {
      const t0 = performance.now();
      await f();
      ms[j]?.push(performance.now() - t0);
    }
  return ms;
}

function machine() {
  let flags: string[] = [];
  let mhz = 0;
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    flags = (/^flags\s*:(.*)$/m.exec(info)?.[1] ?? '').trim().split(/\s+/);
    mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? 0);
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? model;
  } catch {}
  const cores = cpus().length;
  const lanes = flags.includes('avx512f') ? 16 : flags.includes('avx') ? 8 : 4;
  const fma = flags.includes('fma') ? 2 : 1;
  const onePipe = (cores * lanes * fma * mhz) / 1000;
  return {
    model,
    cores,
    simdLanesF32: lanes,
    fma: flags.includes('fma'),
    mhz,
    peakGflopsOneFmaPipe: round(onePipe, 1),
    // Most x86 cores since Haswell/Zen2 issue two vector FMAs per cycle; turbo clocks go higher still.
    peakGflopsTwoFmaPipes: round(2 * onePipe, 1),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. matmul

const SHAPES: [number, number, number][] = [
  [4096, 256, 768],
  [4096, 768, 256],
  [4096, 256, 256],
];

async function peerSession(): Promise<ort.InferenceSession> {
  const model = encodeModel({
    nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
    inputs: [
      { name: 'A', dims: ['m', 'k'] },
      { name: 'B', dims: ['k', 'n'] },
    ],
    outputs: [{ name: 'Y', dims: ['m', 'n'] }],
  });
  return ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1 });
}

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

async function benchMatmul(cpu: g.Device, gpu: g.Device | undefined) {
  const peer = await peerSession();
  const reps = quick ? 5 : 25;
  const out = [];
  for (const [M, K, N] of SHAPES) {
    const flop = 2 * M * K * N;
    const A = rand(M * K, 1);
    const B = rand(K * N, 2);
    const gf = (ms: number[]) => ({
      medianMs: round(median(ms), 3),
      p99Ms: round(p99(ms), 3),
      gflops: round(flop / (median(ms) * 1e6), 1),
      // The fastest rep: on a shared machine, the closest figure to an idle one.
      bestGflops: round(flop / (Math.min(...ms) * 1e6), 1),
    });
    const ta = new ort.Tensor('float32', A, [M, K]);
    const tb = new ort.Tensor('float32', B, [K, N]);
    const a = cpu.upload(A, [M, K]);
    const b = cpu.upload(B, [K, N]);
    const bt = cpu.upload(B, [N, K]);
    // Interleaved, so a shared machine's load swings hit peer and backend alike.
    const [peerMs, cpuMs, cpuTMs] = await interleaved(reps, 3, [
      async () => {
        await peer.run({ A: ta, B: tb });
      },
      async () => {
        cpu.free(g.matmul(cpu, a, b));
      },
      async () => {
        cpu.free(g.matmul(cpu, a, bt, { transB: true }));
      },
    ]);
    let webgpu: object | undefined;
    if (gpu) {
      const ga = gpu.upload(A, [M, K]);
      const gb = gpu.upload(B, [K, N]);
      const ms = await timeIt(quick ? 1 : 3, 1, async () => {
        const y = g.matmul(gpu, ga, gb);
        await gpu.sync();
        gpu.free(y);
      });
      webgpu = gf(ms);
      gpu.free(ga, gb);
    }
    const peerR = gf(peerMs);
    const cpuR = gf(cpuMs);
    out.push({
      shape: `${M}x${K}x${N}`,
      peer: peerR,
      cpu: cpuR,
      cpuTransB: gf(cpuTMs),
      webgpu,
      ratioCpuToPeer: round(cpuR.gflops / peerR.gflops, 3),
      ratioCpuToPeerBest: round(cpuR.bestGflops / peerR.bestGflops, 3),
    });
  }
  await peer.release();
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. one transformer block, forward + backward

interface BlockCfg {
  B: number;
  T: number;
  d: number;
  Hq: number;
  Hkv: number;
  hd: number;
  F: number;
}

function makeBlock(dev: g.Device, c: BlockCfg) {
  const { d, Hq, Hkv, hd, F } = c;
  const w = (rows: number, cols: number, seed: number) =>
    dev.upload(
      rand(rows * cols, seed).map((v) => v / Math.sqrt(cols)),
      [rows, cols],
    );
  const ones = (n: number) => dev.upload(new Float32Array(n).fill(1), [n]);
  return {
    n1: ones(d),
    wq: w(Hq * hd, d, 3),
    wk: w(Hkv * hd, d, 4),
    wv: w(Hkv * hd, d, 5),
    qn: ones(hd),
    kn: ones(hd),
    wo: w(d, Hq * hd, 6),
    n2: ones(d),
    wg: w(F, d, 7),
    wu: w(F, d, 8),
    wd: w(d, F, 9),
  };
}
type Block = ReturnType<typeof makeBlock>;

/** Forward then backward of one block; returns the tensors it made so the caller can free them. */
function blockStep(
  dev: g.Device,
  c: BlockCfg,
  p: Block,
  grads: Partial<Record<keyof Block, g.Tensor>>,
  x: g.Tensor,
  dy: g.Tensor,
  pos: g.Tensor,
  table: g.Tensor,
): g.Tensor[] {
  const { B, T, Hq, Hkv, hd } = c;
  const N = B * T;
  const made: g.Tensor[] = [];
  const k = <T extends g.Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const keep = (...ts: g.Tensor[]) => made.push(...ts);
  const lin = (h: g.Tensor, wt: g.Tensor) => k(g.matmul(dev, h, wt, { transB: true }));
  const linBack = (h: g.Tensor, wt: g.Tensor, dyy: g.Tensor, name: keyof Block) => {
    const r = g.matmulBackward(dev, h, wt, dyy, { transB: true }, { a: true, b: true }, { db: grads[name] });
    grads[name] = r.db;
    return k(r.da as g.Tensor);
  };
  // forward
  const a1 = g.rmsnorm(dev, x, p.n1);
  keep(a1.y, a1.rstd);
  const q0 = lin(a1.y, p.wq).reshape([N * Hq, hd]);
  const k0 = lin(a1.y, p.wk).reshape([N * Hkv, hd]);
  const v = lin(a1.y, p.wv).reshape([B, T, Hkv, hd]);
  const qn = g.rmsnorm(dev, q0, p.qn);
  const kn = g.rmsnorm(dev, k0, p.kn);
  keep(qn.y, qn.rstd, kn.y, kn.rstd);
  const q = k(g.rope(dev, qn.y.reshape([N, Hq, hd]), pos, table)).reshape([B, T, Hq, hd]);
  const kk = k(g.rope(dev, kn.y.reshape([N, Hkv, hd]), pos, table)).reshape([B, T, Hkv, hd]);
  const at = g.attention(dev, q, kk, v);
  keep(at.o, at.lse);
  const o = lin(at.o.reshape([N, Hq * hd]), p.wo);
  const x2 = k(g.add(dev, x, o));
  const a2 = g.rmsnorm(dev, x2, p.n2);
  keep(a2.y, a2.rstd);
  const gate = lin(a2.y, p.wg);
  const up = lin(a2.y, p.wu);
  const h = k(g.swiglu(dev, gate, up));
  k(g.add(dev, x2, lin(h, p.wd)));
  // backward (dy flows into both residual branches)
  const dh = linBack(h, p.wd, dy, 'wd');
  const sw = g.swigluBackward(dev, gate, up, dh);
  keep(sw.dgate, sw.dup);
  const da2 = linBack(a2.y, p.wg, sw.dgate, 'wg');
  g.axpy(dev, da2, linBack(a2.y, p.wu, sw.dup, 'wu'));
  const r2 = g.rmsnormBackward(dev, x2, p.n2, a2.rstd, da2, grads.n2);
  grads.n2 = r2.dw;
  const dx2 = k(r2.dx);
  g.axpy(dev, dx2, dy);
  const dat = linBack(at.o.reshape([N, Hq * hd]), p.wo, dx2, 'wo');
  const ab = g.attentionBackward(dev, q, kk, v, at, dat.reshape([B, T, Hq, hd]));
  keep(ab.dq, ab.dk, ab.dv);
  const dqn = k(g.ropeBackward(dev, ab.dq.reshape([N, Hq, hd]), pos, table));
  const dkn = k(g.ropeBackward(dev, ab.dk.reshape([N, Hkv, hd]), pos, table));
  const rq = g.rmsnormBackward(dev, q0, p.qn, qn.rstd, dqn.reshape([N * Hq, hd]), grads.qn);
  const rk = g.rmsnormBackward(dev, k0, p.kn, kn.rstd, dkn.reshape([N * Hkv, hd]), grads.kn);
  grads.qn = rq.dw;
  grads.kn = rk.dw;
  keep(rq.dx, rk.dx);
  const da1 = linBack(a1.y, p.wq, rq.dx.reshape([N, Hq * hd]), 'wq');
  g.axpy(dev, da1, linBack(a1.y, p.wk, rk.dx.reshape([N, Hkv * hd]), 'wk'));
  g.axpy(dev, da1, linBack(a1.y, p.wv, ab.dv.reshape([N, Hkv * hd]), 'wv'));
  const r1 = g.rmsnormBackward(dev, x, p.n1, a1.rstd, da1, grads.n1);
  grads.n1 = r1.dw;
  const dx = k(r1.dx);
  g.axpy(dev, dx, dx2);
  return made;
}

/** Matmul FLOPs of one block step per token: linear layers and the two attention products, x3 for fwd+bwd. */
function blockFlopsPerToken(c: BlockCfg): number {
  const { d, Hq, Hkv, hd, F, T } = c;
  const linear = 2 * (d * Hq * hd + 2 * d * Hkv * hd + Hq * hd * d + 3 * d * F);
  const attn = 2 * 2 * T * hd * Hq; // QKᵀ and PV over the full (masked) T x T score matrix
  return 3 * (linear + attn);
}

async function benchBlock(dev: g.Device, c: BlockCfg, reps: number) {
  const N = c.B * c.T;
  const p = makeBlock(dev, c);
  const x = dev.upload(rand(N * c.d, 11), [N, c.d]);
  const dy = dev.upload(rand(N * c.d, 12), [N, c.d]);
  const pos = dev.upload(
    Int32Array.from({ length: N }, (_, i) => i % c.T),
    [N],
  );
  const table = g.ropeTable(dev, c.T, c.hd);
  const grads: Partial<Record<keyof Block, g.Tensor>> = {};
  const step = async () => {
    const made = blockStep(dev, c, p, grads, x, dy, pos, table);
    await dev.sync();
    dev.free(...made);
  };
  const ms = await timeIt(reps, 1, step);
  let kernelMs: Record<string, number> | undefined;
  if (profile && dev.kind === 'cpu') {
    // Per-kernel wall time of one step (CPU dispatches run synchronously, so this is exact).
    const acc = new Map<string, number>();
    const orig = dev.dispatch.bind(dev);
    dev.dispatch = (d) => {
      const t0 = performance.now();
      orig(d);
      acc.set(d.kernel.name, (acc.get(d.kernel.name) ?? 0) + performance.now() - t0);
    };
    const runs = 3;
    for (let i = 0; i < runs; i++) await step();
    dev.dispatch = orig;
    kernelMs = Object.fromEntries([...acc].sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, round(v / runs, 2)]));
  }
  return {
    medianMs: round(median(ms), 2),
    p99Ms: round(p99(ms), 2),
    bestMs: round(Math.min(...ms), 2),
    tokensPerS: Math.round(N / (median(ms) / 1000)),
    bestTokensPerS: Math.round(N / (Math.min(...ms) / 1000)),
    kernelMs,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const cpu = await g.createDevice('cpu');
  let gpu: g.Device | undefined;
  let webgpuNote = 'skipped (--no-webgpu)';
  if (withWebgpu) {
    try {
      gpu = await g.createDevice('webgpu');
      webgpuNote = `${gpu.info.name}${gpu.info.software ? ' (software adapter: correctness only, not a speed figure)' : ''}`;
    } catch (err) {
      webgpuNote = `unavailable: ${(err as Error).message}`;
    }
  }
  const mm = await benchMatmul(cpu, gpu);
  const cfg: BlockCfg = { B: 4, T: 256, d: 256, Hq: 4, Hkv: 2, hd: 64, F: 768 };
  const block = await benchBlock(cpu, cfg, quick ? 3 : 10);
  const peerGflops = median(mm.map((m) => m.peer.gflops));
  const fpt = blockFlopsPerToken(cfg);
  const limit = (peerGflops * 1e9) / fpt;
  const limitBest = (median(mm.map((m) => m.peer.bestGflops)) * 1e9) / fpt;
  let blockWebgpu: object | undefined;
  if (gpu) {
    const small: BlockCfg = { ...cfg, B: 1, T: 64 };
    blockWebgpu = { config: small, ...(await benchBlock(gpu, small, quick ? 1 : 2)) };
  }
  const mach = machine();
  const result = {
    bench: 'gpu',
    date: new Date().toISOString(),
    machine: mach,
    webgpuAdapter: webgpuNote,
    matmul: mm,
    block: {
      config: cfg,
      tokensPerStep: cfg.B * cfg.T,
      matmulFlopsPerToken: fpt,
      cpu: block,
      matmulBoundTokensPerS: Math.round(limit),
      matmulBoundBasis: `peer median ${round(peerGflops, 1)} GFLOP/s over the matmul shapes`,
      fractionOfMatmulBound: round(block.tokensPerS / limit, 3),
      // Best step against the peer's best matmul rate: the same ratio with the load spikes removed.
      fractionOfMatmulBoundBest: round(block.bestTokensPerS / limitBest, 3),
      cpuGflopsEffective: round((block.tokensPerS * fpt) / 1e9, 1),
      webgpu: blockWebgpu,
    },
    loadAverage: loadavg().map((x) => round(x, 2)),
    targets: {
      cpuMatmulAtLeast80PctOfPeer: mm.every((m) => m.ratioCpuToPeer >= 0.8),
      blockAtLeast40PctOfMatmulBound: block.tokensPerS / limit >= 0.4,
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  gpu?.destroy();
}

await main();
