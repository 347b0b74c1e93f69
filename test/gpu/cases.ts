/**
 * One list of op cases, each a function of (device, seed) returning named host outputs. The
 * backend suite runs every case on cpu and on webgpu and compares the outputs; shapes are small
 * and deliberately odd (not multiples of the 64-wide matmul tile or the 256-thread workgroups).
 */

import type { Device, HostArray } from '../../gpu/index.js';
import * as g from '../../gpu/index.js';
import { randInts, randn, rng, type Tolerance } from './harness.js';

export interface OpCase {
  name: string;
  tol: Tolerance;
  run: (dev: Device, seed: number) => Promise<Record<string, HostArray>>;
}

const TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };

async function dl(dev: Device, ts: Record<string, g.Tensor>): Promise<Record<string, HostArray>> {
  const out: Record<string, HostArray> = {};
  for (const [k, t] of Object.entries(ts)) out[k] = await dev.download(t);
  return out;
}

function matmulCase(tA: boolean, tB: boolean, batch: number, M: number, K: number, N: number, shared: boolean): OpCase {
  return {
    name: `matmul ${batch}x${M}x${K}x${N}${tA ? ' Aᵀ' : ''}${tB ? ' Bᵀ' : ''}${shared ? ' shared B' : ''}`,
    tol: { atol: 1e-4, rtol: 1e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const a = dev.upload(randn(r, batch * M * K), tA ? [batch, K, M] : [batch, M, K]);
      const bShape = tB ? [N, K] : [K, N];
      const b = dev.upload(randn(r, (shared ? 1 : batch) * K * N), shared ? bShape : [batch, ...bShape]);
      const y = g.matmul(dev, a, b, { transA: tA, transB: tB, alpha: 0.5 });
      const acc = dev.upload(randn(r, batch * M * N), [batch, M, N]);
      g.matmul(dev, a, b, { transA: tA, transB: tB, out: acc });
      const dy = dev.upload(randn(r, batch * M * N), [batch, M, N]);
      const grads = g.matmulBackward(dev, a, b, dy, { transA: tA, transB: tB, alpha: 0.5 }, { a: true, b: !(shared && tA) });
      return dl(dev, { y, acc, da: grads.da as g.Tensor, ...(grads.db ? { db: grads.db } : {}) });
    },
  };
}

export const CASES: OpCase[] = [
  matmulCase(false, false, 1, 67, 33, 70, false),
  matmulCase(false, true, 3, 17, 65, 9, true),
  matmulCase(true, false, 2, 30, 19, 66, false),
  matmulCase(true, true, 2, 5, 130, 7, false),
  matmulCase(false, false, 1, 1, 1, 1, false),
  {
    name: 'embedding gather and scatter-add with repeated and out-of-range ids',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const V = 37;
      const D = 70;
      const ids = randInts(r, 53, -1, V + 2);
      ids[3] = ids[7] as number;
      const table = dev.upload(randn(r, V * D), [V, D]);
      const idT = dev.upload(ids, [53]);
      const out = g.embedding(dev, table, idT);
      const dtable = g.embeddingBackward(dev, idT, dev.upload(randn(r, 53 * D), [53, D]), V, dev.upload(randn(r, V * D), [V, D]));
      return dl(dev, { out, dtable });
    },
  },
  {
    name: 'rmsnorm forward and backward on rows wider than a workgroup',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const [R, D] = [13, 300];
      const x = dev.upload(randn(r, R * D), [R, D]);
      const w = dev.upload(randn(r, D), [D]);
      const { y, rstd } = g.rmsnorm(dev, x, w, 1e-5);
      const { dx, dw } = g.rmsnormBackward(dev, x, w, rstd, dev.upload(randn(r, R * D), [R, D]));
      return dl(dev, { y, rstd, dx, dw });
    },
  },
  {
    name: 'rope forward and inverse on odd head counts',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const [N, H, hd] = [11, 3, 10];
      const table = g.ropeTable(dev, 64, hd, 10000);
      const pos = dev.upload(randInts(r, N, 0, 64), [N]);
      const x = dev.upload(randn(r, N * H * hd), [N, H, hd]);
      const y = g.rope(dev, x, pos, table);
      const back = g.ropeBackward(dev, y, pos, table);
      return dl(dev, { y, back });
    },
  },
  ...[
    { B: 2, T: 7, S: 7, Hq: 4, Hkv: 2, hd: 12, kvLen: 7 },
    { B: 1, T: 3, S: 11, Hq: 3, Hkv: 1, hd: 8, kvLen: 9 },
    { B: 2, T: 1, S: 6, Hq: 2, Hkv: 2, hd: 5, kvLen: 4 },
  ].map(
    (s): OpCase => ({
      name: `attention B${s.B} T${s.T} S${s.S} Hq${s.Hq} Hkv${s.Hkv} hd${s.hd} kvLen${s.kvLen}`,
      tol: { atol: 2e-5, rtol: 2e-4 },
      run: async (dev, seed) => {
        const r = rng(seed);
        const q = dev.upload(randn(r, s.B * s.T * s.Hq * s.hd), [s.B, s.T, s.Hq, s.hd]);
        const k = dev.upload(randn(r, s.B * s.S * s.Hkv * s.hd), [s.B, s.S, s.Hkv, s.hd]);
        const v = dev.upload(randn(r, s.B * s.S * s.Hkv * s.hd), [s.B, s.S, s.Hkv, s.hd]);
        const fwd = g.attention(dev, q, k, v, { kvLen: s.kvLen });
        const dO = dev.upload(randn(r, s.B * s.T * s.Hq * s.hd), [s.B, s.T, s.Hq, s.hd]);
        const { dq, dk, dv } = g.attentionBackward(dev, q, k, v, fwd, dO, { kvLen: s.kvLen });
        return dl(dev, { o: fwd.o, lse: fwd.lse, dq, dk, dv });
      },
    }),
  ),
  {
    name: 'kv cache write then decode attention over the cache',
    tol: { atol: 2e-5, rtol: 2e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const [B, S, H, hd] = [2, 9, 2, 6];
      const kc = dev.alloc([B, S, H, hd]);
      const vc = dev.alloc([B, S, H, hd]);
      g.kvCacheWrite(dev, kc, dev.upload(randn(r, B * 5 * H * hd), [B, 5, H, hd]), 0);
      g.kvCacheWrite(dev, vc, dev.upload(randn(r, B * 5 * H * hd), [B, 5, H, hd]), 0);
      g.kvCacheWrite(dev, kc, dev.upload(randn(r, B * H * hd), [B, 1, H, hd]), 5);
      g.kvCacheWrite(dev, vc, dev.upload(randn(r, B * H * hd), [B, 1, H, hd]), 5);
      const q = dev.upload(randn(r, B * 4 * hd), [B, 1, 4, hd]);
      const { o } = g.attention(dev, q, kc, vc, { kvLen: 6 });
      return dl(dev, { kc, o });
    },
  },
  {
    name: 'softmax and log-softmax forward and backward',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const [R, C] = [9, 517];
      const x = dev.upload(randn(r, R * C, 4), [R, C]);
      const dy = dev.upload(randn(r, R * C), [R, C]);
      const y = g.softmax(dev, x);
      const ly = g.logSoftmax(dev, x);
      return dl(dev, { y, ly, dx: g.softmaxBackward(dev, y, dy), ldx: g.logSoftmaxBackward(dev, ly, dy) });
    },
  },
  {
    name: 'swiglu forward and backward',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const n = 1031;
      const gate = dev.upload(randn(r, n, 4), [n]);
      const up = dev.upload(randn(r, n), [n]);
      const h = g.swiglu(dev, gate, up);
      const { dgate, dup } = g.swigluBackward(dev, gate, up, dev.upload(randn(r, n), [n]));
      return dl(dev, { h, dgate, dup });
    },
  },
  {
    name: 'residual add, axpy, scale, fill and copyRange',
    tol: TOL,
    run: async (dev, seed) => {
      const r = rng(seed);
      const n = 777;
      const a = dev.upload(randn(r, n), [n]);
      const b = dev.upload(randn(r, n), [n]);
      const s = g.add(dev, a, b);
      g.axpy(dev, s, a, -0.25);
      const sc = g.scale(dev, s, 3);
      const f = g.fill(dev, dev.alloc([5]), 2.5);
      const cp = g.copyRange(dev, a, dev.alloc([3, 200]), { srcOffset: 300, dstOffset: 17, n: 333 });
      return dl(dev, { s, sc, f, cp });
    },
  },
  {
    name: 'token log-prob and cross-entropy with entropy, temperature and ignored targets',
    tol: { atol: 2e-5, rtol: 2e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const [N, V] = [7, 301];
      const logits = dev.upload(randn(r, N * V, 5), [N, V]);
      const ids = randInts(r, N, 0, V);
      ids[2] = -1;
      const idT = dev.upload(ids, [N]);
      const lp = g.tokenLogprob(dev, logits, idT, { temperature: 0.7 });
      const dl1 = g.tokenLogprobBackward(dev, logits, idT, lp, dev.upload(randn(r, N), [N]), dev.upload(randn(r, N), [N]), {
        temperature: 0.7,
      });
      const ce = g.crossEntropy(dev, logits, idT);
      const dl2 = g.crossEntropyBackward(dev, logits, idT, ce, dev.upload(randn(r, N), [N]));
      return dl(dev, { logp: lp.out, ent: lp.entropy, dl1, ce: ce.out, dl2 });
    },
  },
  {
    name: 'token log-prob over targeted rows only, with rows whose gradient is zero',
    tol: { atol: 2e-5, rtol: 2e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const [N, V] = [6, 301];
      const logits = dev.upload(randn(r, N * V, 5), [N, V]);
      const ids = randInts(r, N, 0, V);
      ids[0] = -1;
      ids[3] = -1;
      const idT = dev.upload(ids, [N]);
      const opts = { temperature: 0.9, targetsOnly: true };
      const lp = g.tokenLogprob(dev, logits, idT, opts);
      const dout = randn(r, N);
      dout[4] = 0; // a targeted row that takes no gradient
      const dH = randn(r, N);
      for (const n of [0, 3, 4]) dH[n] = 0;
      const dz = g.tokenLogprobBackward(dev, logits, idT, lp, dev.upload(dout, [N]), dev.upload(dH, [N]), opts);
      return dl(dev, { logp: lp.out, lse: lp.lse, ent: lp.entropy, dz });
    },
  },
  {
    name: 'per-token KL between two distributions and its gradients',
    tol: { atol: 2e-5, rtol: 2e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const [N, V] = [6, 263];
      const a = dev.upload(randn(r, N * V, 3), [N, V]);
      const b = dev.upload(randn(r, N * V, 3), [N, V]);
      const k = g.kl(dev, a, b);
      const { da, db } = g.klBackward(dev, a, b, k, dev.upload(randn(r, N), [N]));
      return dl(dev, { k, da, db });
    },
  },
  ...(['reverse_kl', 'forward_kl', 'jsd'] as const).map(
    (kind): OpCase => ({
      name: `distillation divergence ${kind} over masked rows and its student gradient`,
      tol: { atol: 2e-5, rtol: 2e-4 },
      run: async (dev, seed) => {
        const r = rng(seed);
        const [N, V] = [5, 263];
        const a = dev.upload(randn(r, N * V, 3), [N, V]);
        const b = dev.upload(randn(r, N * V, 3), [N, V]);
        const mask = dev.upload(Float32Array.from([1, 0, 1, 1, 1]), [N]);
        const o = { kind, beta: 0.3 };
        const fw = g.divergence(dev, a, b, mask, o);
        const dout = randn(r, N);
        dout[3] = 0; // a masked-in row that takes no gradient
        const da = g.divergenceBackward(dev, a, b, mask, fw, dev.upload(dout, [N]), o);
        return dl(dev, { out: fw.out, aux: fw.aux, da });
      },
    }),
  ),
  {
    name: 'adamw steps with global-norm clipping and per-parameter decay',
    tol: { atol: 1e-6, rtol: 1e-4 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const params = [dev.upload(randn(r, 300), [300]), dev.upload(randn(r, 7 * 5), [7, 5])];
      const state = g.createAdamWState(dev, params);
      let norm = dev.alloc([1]);
      for (let s = 0; s < 3; s++) {
        const grads = [dev.upload(randn(r, 300, 2), [300]), dev.upload(randn(r, 35, 2), [7, 5])];
        norm = g.adamwStep(dev, params, grads, state, { lr: 0.01, weightDecay: 0.1, maxGradNorm: 1, decay: [true, false] });
      }
      return dl(dev, {
        p0: params[0] as g.Tensor,
        p1: params[1] as g.Tensor,
        m0: state.m[0] as g.Tensor,
        v1: state.v[1] as g.Tensor,
        norm,
      });
    },
  },
  {
    name: 'a whole transformer block, forward and backward, composed from the ops',
    tol: { atol: 1e-4, rtol: 1e-3 },
    run: async (dev, seed) => {
      const r = rng(seed);
      const [B, T, d, Hq, Hkv, hd, F] = [2, 5, 16, 2, 1, 8, 24];
      const N = B * T;
      const w = (rows: number, cols: number) => dev.upload(randn(r, rows * cols, 1 / Math.sqrt(cols)), [rows, cols]);
      const [wq, wk, wv, wo, wg, wu, wd] = [
        w(Hq * hd, d),
        w(Hkv * hd, d),
        w(Hkv * hd, d),
        w(d, Hq * hd),
        w(F, d),
        w(F, d),
        w(d, F),
      ];
      const norm = dev.upload(randn(r, d), [d]);
      const x = g.embedding(dev, w(31, d), dev.upload(randInts(r, N, 0, 31), [N]));
      const pos = dev.upload(
        Int32Array.from({ length: N }, (_, i) => i % T),
        [N],
      );
      const table = g.ropeTable(dev, T, hd);
      // forward: pre-norm attention then SwiGLU MLP, both residual
      const a = g.rmsnorm(dev, x, norm);
      const q = g.rope(dev, g.matmul(dev, a.y, wq, { transB: true }).reshape([N, Hq, hd]), pos, table).reshape([B, T, Hq, hd]);
      const k = g.rope(dev, g.matmul(dev, a.y, wk, { transB: true }).reshape([N, Hkv, hd]), pos, table).reshape([B, T, Hkv, hd]);
      const v = g.matmul(dev, a.y, wv, { transB: true }).reshape([B, T, Hkv, hd]);
      const at = g.attention(dev, q, k, v);
      const x2 = g.add(dev, x, g.matmul(dev, at.o.reshape([N, Hq * hd]), wo, { transB: true }));
      const gate = g.matmul(dev, x2, wg, { transB: true });
      const up = g.matmul(dev, x2, wu, { transB: true });
      const h = g.swiglu(dev, gate, up);
      const y = g.add(dev, x2, g.matmul(dev, h, wd, { transB: true }));
      const targets = dev.upload(randInts(r, N, 0, d), [N]);
      const ce = g.crossEntropy(dev, y.reshape([N, d]), targets);
      // backward from the mean cross-entropy
      const dlogits = g.crossEntropyBackward(dev, y, targets, ce, dev.upload(new Float32Array(N).fill(1 / N), [N]));
      const mw = g.matmulBackward(dev, h, wd, dlogits, { transB: true });
      const sw = g.swigluBackward(dev, gate, up, mw.da as g.Tensor);
      const dx2 = g.matmulBackward(dev, x2, wg, sw.dgate, { transB: true }).da as g.Tensor;
      g.axpy(dev, dx2, g.matmulBackward(dev, x2, wu, sw.dup, { transB: true }).da as g.Tensor);
      g.axpy(dev, dx2, dlogits);
      const dat = g.matmulBackward(dev, at.o.reshape([N, Hq * hd]), wo, dx2, { transB: true });
      const ab = g.attentionBackward(dev, q, k, v, at, (dat.da as g.Tensor).reshape([B, T, Hq, hd]));
      const dq = g.ropeBackward(dev, ab.dq.reshape([N, Hq, hd]), pos, table).reshape([N, Hq * hd]);
      const dwq = g.matmulBackward(dev, a.y, wq, dq, { transB: true });
      const dn = g.rmsnormBackward(dev, x, norm, a.rstd, dwq.da as g.Tensor);
      return dl(dev, {
        y,
        ce: ce.out,
        dwd: mw.db as g.Tensor,
        dwo: dat.db as g.Tensor,
        dk: ab.dk,
        dv: ab.dv,
        dwq: dwq.db as g.Tensor,
        dx: dn.dx,
        dnorm: dn.dw,
      });
    },
  },
];
