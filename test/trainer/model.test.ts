import { describe, expect, it } from 'vitest';
import { logitsGrad, tokenStats } from '../../trainer/grpo/logits.js';
import { ModelConfigSchema } from '../../trainer/model/config.js';
import { sharedPrefixPass } from '../../trainer/model/reference/shared-prefix.js';
import { KVCache, Transformer } from '../../trainer/model/reference/transformer.js';

const tiny = ModelConfigSchema.parse({
  vocabSize: 11,
  dim: 8,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  ffnDim: 12,
  maxSeqLen: 32,
  ropeTheta: 10000,
  normEps: 1e-6,
});

describe('built-in decoder', () => {
  it('matches finite differences of the whole model through backward', () => {
    const m = new Transformer(tiny, undefined, 3);
    // larger weights than the init so every path carries gradient
    for (const [name, w] of m.params)
      if (!name.includes('norm') && !name.includes('layernorm')) for (let i = 0; i < w.length; i++) w[i] *= 15;
    for (const [name, w] of m.params)
      if (name.includes('norm')) for (let i = 0; i < w.length; i++) w[i] = 1 + 0.1 * Math.sin(i + name.length);
    const ids = [1, 4, 2, 9, 7, 3];
    const targets = [4, 2, 9, 7, 3, 5];
    const coef = targets.map((_, t) => Math.cos(t));
    const objective = (): number => {
      const lg = m.forward(ids);
      const { logp } = tokenStats(lg, tiny.vocabSize, targets);
      return logp.reduce((s, x, t) => s + coef[t] * x, 0);
    };
    m.zeroGrad();
    const lg = m.forward(ids, { train: true });
    m.backward(logitsGrad(lg, tiny.vocabSize, targets, coef));
    const mismatches: string[] = [];
    let checked = 0;
    for (const [name, w] of m.params) {
      const g = m.grads.get(name) as Float32Array;
      const n = Math.min(w.length, 6);
      for (let j = 0; j < n; j++) {
        const i = (j * 7919) % w.length;
        const h = 1e-2;
        const old = w[i];
        w[i] = old + h;
        const fp = objective();
        w[i] = old - h;
        const fm = objective();
        w[i] = old;
        const num = (fp - fm) / (2 * h);
        checked++;
        if (Math.abs(num - g[i]) > 2e-2 * Math.max(1, Math.abs(num)))
          mismatches.push(`${name}[${i}] analytic ${g[i]} numeric ${num}`);
      }
    }
    if (mismatches.length) console.warn(mismatches.slice(0, 5).join('\n'));
    expect(checked).toBeGreaterThan(100);
    expect(mismatches).toEqual([]);
  });

  it('gives the same last logits through the KV cache as through a full forward', () => {
    const m = new Transformer(tiny, undefined, 1);
    const ids = [3, 1, 4, 1, 5, 9, 2];
    const full = m.forward(ids);
    const cache = new KVCache(tiny, 16);
    m.forward(ids.slice(0, 4), { cache });
    m.forward(ids.slice(4, 6), { cache });
    const last = m.forward(ids.slice(6), { cache, lastOnly: true });
    const V = tiny.vocabSize;
    for (let v = 0; v < V; v++) expect(last[v]).toBeCloseTo(full[6 * V + v], 4);
  });
});

describe('shared-prefix training pass', () => {
  it('accumulates exactly the gradients of separate passes', () => {
    const V = tiny.vocabSize;
    const seqs = [
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 3],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 2],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 4, 6],
    ];
    const lossGrad = (i: number, logits: Float32Array) => {
      const T = logits.length / V;
      const targets = Array.from({ length: T }, (_, t) => (t >= 6 ? (t * 3 + i) % V : -1));
      return logitsGrad(
        logits,
        V,
        targets,
        targets.map((_, t) => 0.1 * (t + 1) * (i + 1)),
      );
    };
    const a = new Transformer(tiny, undefined, 7);
    for (const w of a.params.values()) for (let i = 0; i < w.length; i++) w[i] *= 10;
    const b = new Transformer(tiny, a.params, 7);
    a.zeroGrad();
    for (const [i, s] of seqs.entries()) a.backward(lossGrad(i, a.forward(s, { train: true })));
    b.zeroGrad();
    sharedPrefixPass(b, seqs, lossGrad, 4);
    for (const [name, g] of a.grads) {
      const h = b.grads.get(name) as Float32Array;
      const scale = Math.max(1, ...Array.from(g, Math.abs));
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(h[i] - g[i]) / scale);
      expect(worst, name).toBeLessThan(1e-5);
    }
  });
});

describe('matrix products on the gpu/ CPU device', () => {
  it('give the same logits and gradients as the host loops', async () => {
    const { useDevice, setMatmulEngine } = await import('../../trainer/model/index.js');
    const cfg = { ...tiny, dim: 32, ffnDim: 64, heads: 4, kvHeads: 2, headDim: 8, vocabSize: 50 };
    const ids = Array.from({ length: 24 }, (_, i) => (i * 7) % 50);
    const run = () => {
      const m = new Transformer(cfg, undefined, 9);
      m.zeroGrad();
      const lg = m.forward(ids, { train: true });
      m.backward(
        logitsGrad(
          lg,
          50,
          ids.map((x) => (x + 1) % 50),
          ids.map(() => 0.3),
        ),
      );
      return { lg, g: m.grads.get('layers.0.gate_proj') as Float32Array };
    };
    const host = run();
    const used = await useDevice('cpu', 1);
    expect(used.engine).toMatch(/onnxruntime/);
    try {
      const dev = run();
      for (let i = 0; i < host.lg.length; i++) expect(dev.lg[i]).toBeCloseTo(host.lg[i], 4);
      for (let i = 0; i < host.g.length; i++) expect(dev.g[i]).toBeCloseTo(host.g[i], 4);
    } finally {
      setMatmulEngine(undefined);
    }
  });
});
