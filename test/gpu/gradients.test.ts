/**
 * Every backward pass checked by central finite differences on the CPU reference. The pure JS
 * references run in float64 here (they are written over indexable arrays), so the check is tight;
 * the onnxruntime paths (matmul, attention) are compared against those float64 references.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FUSE_MIN, rmsnormBackwardOrt, rmsnormOrt, swigluBackwardOrt, swigluOrt } from '../../gpu/cpu/fused.js';
import * as g from '../../gpu/index.js';
import { type AttnDims, attentionBackwardRef, attentionRef } from '../../gpu/ops/attention.js';
import { embeddingBackwardCpu, embeddingCpu } from '../../gpu/ops/embedding.js';
import { klBackwardCpu, klCpu } from '../../gpu/ops/kl.js';
import { logprobBackwardCpu, logprobCpu } from '../../gpu/ops/logprob.js';
import { matmulGeometry, matmulNaive } from '../../gpu/ops/matmul.js';
import { rmsnormBackwardCpu, rmsnormCpu, rmsnormDwCpu } from '../../gpu/ops/rmsnorm.js';
import { ropeCpu, ropeTableHost } from '../../gpu/ops/rope.js';
import { softmaxBackwardCpu, softmaxCpu } from '../../gpu/ops/softmax.js';
import { swigluBackwardCpu, swigluCpu } from '../../gpu/ops/swiglu.js';
import { expectClose, randInts, randn, rng } from './harness.js';

type F = Float32Array; // the references' declared type; float64 arrays are passed through it
const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const as32 = (a: Float64Array) => a as unknown as F;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

/** Central differences of `loss` at `x` on a sample of coordinates, compared with `grad`. */
function checkGrad(
  what: string,
  x: Float64Array,
  grad: ArrayLike<number>,
  loss: () => number,
  samples = 24,
  eps = 1e-6,
  tol = 1e-6,
): void {
  const r = rng(99);
  const idx = x.length <= samples ? [...x.keys()] : Array.from({ length: samples }, () => Math.floor(r() * x.length));
  const num: number[] = [];
  const ana: number[] = [];
  for (const i of idx) {
    const x0 = x[i] as number;
    x[i] = x0 + eps;
    const up = loss();
    x[i] = x0 - eps;
    const down = loss();
    x[i] = x0;
    num.push((up - down) / (2 * eps));
    ana.push(grad[i] as number);
  }
  expectClose(`${what} (analytic vs finite differences)`, ana, num, { atol: tol, rtol: 1e-4 });
}

describe('backward passes agree with finite differences of the forward', () => {
  it('embedding scatter-add is the gradient of the gather', () => {
    const r = rng(1);
    const [V, D, N] = [7, 5, 9];
    const table = f64(randn(r, V * D));
    const ids = randInts(r, N, -1, V);
    const w = f64(randn(r, N * D));
    const out = new Float64Array(N * D);
    const dt = new Float64Array(V * D);
    embeddingBackwardCpu(ids, as32(w), as32(dt), N, D, V);
    checkGrad('dtable', table, dt, () => {
      embeddingCpu(as32(table), ids, as32(out), N, D, V);
      return dot(out, w);
    });
  });

  it('rmsnorm gives dx and dw', () => {
    const r = rng(2);
    const [R, D] = [4, 9];
    const x = f64(randn(r, R * D));
    const w = f64(randn(r, D));
    const wy = f64(randn(r, R * D));
    const y = new Float64Array(R * D);
    const rs = new Float64Array(R);
    const loss = () => {
      rmsnormCpu(as32(x), as32(w), as32(y), as32(rs), R, D, 1e-5);
      return dot(y, wy);
    };
    loss();
    const dx = new Float64Array(R * D);
    const dw = new Float64Array(D);
    rmsnormBackwardCpu(as32(x), as32(w), as32(rs), as32(wy), as32(dx), R, D);
    rmsnormDwCpu(as32(x), as32(rs), as32(wy), as32(dw), R, D);
    checkGrad('dx', x, dx, loss);
    checkGrad('dw', w, dw, loss);
  });

  it('rope backward is the gradient of rope', () => {
    const r = rng(3);
    const [N, H, hd] = [5, 2, 8];
    const table = f64(ropeTableHost(32, hd, 10000));
    const pos = randInts(r, N, 0, 32);
    const x = f64(randn(r, N * H * hd));
    const wy = f64(randn(r, N * H * hd));
    const y = new Float64Array(x.length);
    const dx = new Float64Array(x.length);
    ropeCpu(as32(wy), pos, as32(table), as32(dx), N, H, hd, 32, -1);
    checkGrad('dx', x, dx, () => {
      ropeCpu(as32(x), pos, as32(table), as32(y), N, H, hd, 32, 1);
      return dot(y, wy);
    });
  });

  for (const s of [
    { B: 2, T: 4, S: 4, Hq: 4, Hkv: 2, hd: 3, kvLen: 4 },
    { B: 1, T: 3, S: 7, Hq: 2, Hkv: 1, hd: 4, kvLen: 6 },
  ]) {
    it(`attention gives dq, dk, dv (T${s.T} kvLen${s.kvLen} of S${s.S}, Hq${s.Hq}/Hkv${s.Hkv})`, () => {
      const u: AttnDims = { ...s, scale: 0.7 };
      const r = rng(4);
      const q = f64(randn(r, s.B * s.T * s.Hq * s.hd));
      const k = f64(randn(r, s.B * s.S * s.Hkv * s.hd));
      const v = f64(randn(r, k.length));
      const wo = f64(randn(r, q.length));
      const o = new Float64Array(q.length);
      const lse = new Float64Array(s.B * s.Hq * s.T);
      const loss = () => {
        attentionRef(as32(q), as32(k), as32(v), as32(o), as32(lse), u);
        return dot(o, wo);
      };
      loss();
      const [dq, dk, dv] = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(k.length)];
      attentionBackwardRef(as32(q), as32(k), as32(v), as32(o), as32(lse), as32(wo), as32(dq), as32(dk), as32(dv), u);
      checkGrad('dq', q, dq, loss);
      checkGrad('dk', k, dk, loss);
      checkGrad('dv', v, dv, loss);
    });
  }

  it('softmax and log-softmax backward', () => {
    for (const log of [false, true]) {
      const r = rng(5);
      const [R, C] = [3, 6];
      const x = f64(randn(r, R * C, 3));
      const wy = f64(randn(r, R * C));
      const y = new Float64Array(x.length);
      const loss = () => {
        softmaxCpu(as32(x), as32(y), R, C, log);
        return dot(y, wy);
      };
      loss();
      const dx = new Float64Array(x.length);
      softmaxBackwardCpu(as32(y), as32(wy), as32(dx), R, C, log);
      checkGrad(log ? 'log-softmax dx' : 'softmax dx', x, dx, loss);
    }
  });

  it('swiglu gives dgate and dup', () => {
    const r = rng(6);
    const n = 11;
    const gt = f64(randn(r, n, 4));
    const up = f64(randn(r, n));
    const wh = f64(randn(r, n));
    const h = new Float64Array(n);
    const loss = () => {
      swigluCpu(as32(gt), as32(up), as32(h), n);
      return dot(h, wh);
    };
    const [dg, du] = [new Float64Array(n), new Float64Array(n)];
    swigluBackwardCpu(as32(gt), as32(up), as32(wh), as32(dg), as32(du), n);
    checkGrad('dgate', gt, dg, loss);
    checkGrad('dup', up, du, loss);
  });

  for (const sign of [1, -1]) {
    it(`${sign > 0 ? 'token log-prob' : 'cross-entropy'} backward covers the target term and the entropy term at a temperature`, () => {
      const r = rng(7);
      const [N, V] = [4, 7];
      const z = f64(randn(r, N * V, 3));
      const ids = randInts(r, N, 0, V);
      ids[1] = -1;
      const [w1, w2] = [f64(randn(r, N)), f64(randn(r, N))];
      const [out, lse, ent] = [new Float64Array(N), new Float64Array(N), new Float64Array(N)];
      const it_ = 1 / 0.8;
      const loss = () => {
        logprobCpu(as32(z), ids, as32(out), as32(lse), as32(ent), N, V, it_, sign);
        return dot(out, w1) + dot(ent, w2);
      };
      loss();
      const dz = new Float64Array(N * V);
      logprobBackwardCpu(as32(z), ids, as32(lse), as32(ent), as32(w1), as32(w2), as32(dz), {
        N,
        V,
        invTemp: it_,
        sign,
        hasDH: 1,
      });
      checkGrad('dlogits', z, dz, loss);
    });
  }

  it('kl backward gives the gradient for both distributions', () => {
    const r = rng(8);
    const [N, V] = [3, 6];
    const a = f64(randn(r, N * V, 2));
    const b = f64(randn(r, N * V, 2));
    const w = f64(randn(r, N));
    const k = new Float64Array(N);
    const loss = () => {
      klCpu(as32(a), as32(b), as32(k), N, V);
      return dot(k, w);
    };
    loss();
    const [da, db] = [new Float64Array(a.length), new Float64Array(a.length)];
    klBackwardCpu(as32(a), as32(b), as32(k), as32(w), as32(da), as32(db), N, V);
    checkGrad('da', a, da, loss);
    checkGrad('db', b, db, loss);
  });
});

describe('the onnxruntime paths of the cpu backend', () => {
  let dev: g.Device;
  beforeAll(async () => {
    dev = await g.createDevice('cpu');
  });

  for (const [tA, tB, shared] of [
    [false, false, false],
    [true, false, false],
    [false, true, true],
    [true, true, false],
  ] as const) {
    it(`matmulBackward matches finite differences of a float64 product (transA=${tA} transB=${tB} sharedB=${shared})`, async () => {
      const r = rng(9);
      const [batch, M, K, N] = [2, 5, 4, 3];
      const A = f64(randn(r, batch * M * K));
      const B = f64(randn(r, (shared ? 1 : batch) * K * N));
      const a = dev.upload(Float32Array.from(A), tA ? [batch, K, M] : [batch, M, K]);
      const bShape = tB ? [N, K] : [K, N];
      const b = dev.upload(Float32Array.from(B), shared ? bShape : [batch, ...bShape]);
      const geo = matmulGeometry(a, b, tA, tB);
      const W = f64(randn(r, batch * M * N));
      const y = await dev.download(g.matmul(dev, a, b, { transA: tA, transB: tB, alpha: 1.5 }));
      expectClose(
        'forward',
        y,
        Array.from(matmulNaive(A, B, geo, tA, tB), (v) => 1.5 * v),
        { atol: 1e-5, rtol: 1e-5 },
      );
      const grads = g.matmulBackward(dev, a, b, dev.upload(Float32Array.from(W), [batch, M, N]), {
        transA: tA,
        transB: tB,
        alpha: 1.5,
      });
      const loss = () => 1.5 * dot(matmulNaive(A, B, geo, tA, tB), W);
      checkGrad('dA', A, await dev.download(grads.da as g.Tensor), loss, 24, 1e-6, 1e-4);
      checkGrad('dB', B, await dev.download(grads.db as g.Tensor), loss, 24, 1e-6, 1e-4);
    });
  }

  it('fused attention graphs match the float64 reference, forward and backward, with a partly filled cache', async () => {
    const s = { B: 2, T: 5, S: 9, Hq: 6, Hkv: 2, hd: 8, kvLen: 7 };
    const r = rng(10);
    const q = randn(r, s.B * s.T * s.Hq * s.hd);
    const k = randn(r, s.B * s.S * s.Hkv * s.hd);
    const v = randn(r, k.length);
    const dO = randn(r, q.length);
    const u: AttnDims = { ...s, scale: 1 / Math.sqrt(s.hd) };
    const [o, lse] = [new Float64Array(q.length), new Float64Array(s.B * s.Hq * s.T)];
    attentionRef(as32(f64(q)), as32(f64(k)), as32(f64(v)), as32(o), as32(lse), u);
    const [dq, dk, dv] = [new Float64Array(q.length), new Float64Array(k.length), new Float64Array(k.length)];
    attentionBackwardRef(
      as32(f64(q)),
      as32(f64(k)),
      as32(f64(v)),
      as32(o),
      as32(lse),
      as32(f64(dO)),
      as32(dq),
      as32(dk),
      as32(dv),
      u,
    );
    const [Q, Kt, Vt] = [
      dev.upload(q, [s.B, s.T, s.Hq, s.hd]),
      dev.upload(k, [s.B, s.S, s.Hkv, s.hd]),
      dev.upload(v, [s.B, s.S, s.Hkv, s.hd]),
    ];
    const fwd = g.attention(dev, Q, Kt, Vt, { kvLen: s.kvLen });
    const tol = { atol: 1e-5, rtol: 1e-4 };
    expectClose('o', await dev.download(fwd.o), o, tol);
    expectClose('lse', await dev.download(fwd.lse), lse, tol);
    const gr = g.attentionBackward(dev, Q, Kt, Vt, fwd, dev.upload(dO, [s.B, s.T, s.Hq, s.hd]), { kvLen: s.kvLen });
    expectClose('dq', await dev.download(gr.dq), dq, tol);
    expectClose('dk', await dev.download(gr.dk), dk, tol);
    expectClose('dv', await dev.download(gr.dv), dv, tol);
  });

  it('fused swiglu and rmsnorm graphs match their JS references on tensors large enough to use them', () => {
    const r = rng(11);
    const n = FUSE_MIN + 37;
    const [gt, up, dh] = [randn(r, n, 4), randn(r, n), randn(r, n)];
    const [h1, h2, dg1, dg2, du1, du2] = Array.from({ length: 6 }, () => new Float32Array(n));
    swigluCpu(gt, up, h1, n);
    swigluOrt(gt, up, h2, n);
    swigluBackwardCpu(gt, up, dh, dg1, du1, n);
    swigluBackwardOrt(gt, up, dh, dg2, du2, n);
    const tol = { atol: 1e-6, rtol: 1e-5 };
    expectClose('swiglu h', h2, h1, tol);
    expectClose('swiglu dgate', dg2, dg1, tol);
    expectClose('swiglu dup', du2, du1, tol);
    const [R, D] = [67, 301];
    const [x, w, dy] = [randn(r, R * D), randn(r, D), randn(r, R * D)];
    const [y1, y2, dx1, dx2] = Array.from({ length: 4 }, () => new Float32Array(R * D));
    const [r1, r2, dw1, dw2] = [
      new Float32Array(R),
      new Float32Array(R),
      new Float32Array(D).fill(1),
      new Float32Array(D).fill(1),
    ];
    rmsnormCpu(x, w, y1, r1, R, D, 1e-6);
    rmsnormOrt(x, w, y2, r2, R, D, 1e-6);
    expectClose('rmsnorm y', y2, y1, tol);
    expectClose('rmsnorm rstd', r2, r1, tol);
    rmsnormBackwardCpu(x, w, r1, dy, dx1, R, D);
    rmsnormDwCpu(x, r1, dy, dw1, R, D);
    rmsnormBackwardOrt(x, w, r1, dy, dx2, dw2, R, D);
    expectClose('rmsnorm dx', dx2, dx1, tol);
    expectClose('rmsnorm dw (accumulated)', dw2, dw1, { atol: 1e-4, rtol: 1e-5 });
  });

  it('a wrong gradient is caught by the finite-difference check', () => {
    const x = f64([1, 2, 3]);
    expect(() => checkGrad('x²', x, [2, 4, 7], () => dot(x, x))).toThrow(/\[2\] got 7/);
  });
});
