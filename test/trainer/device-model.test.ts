import { afterAll, describe, expect, it } from 'vitest';
import { createDevice, type Device } from '../../gpu/index.js';
import { logitsGrad, tokenStats } from '../../trainer/grpo/logits.js';
import { ModelConfigSchema } from '../../trainer/model/config.js';
import { type DeviceKVCache, DeviceTransformer } from '../../trainer/model/device-transformer.js';
import { KVCache, Transformer } from '../../trainer/model/reference/transformer.js';
import { ModelRunner } from '../../trainer/model/runner.js';
import { expectClose, webgpuOrSkip } from '../gpu/harness.js';

const cfg = ModelConfigSchema.parse({
  vocabSize: 23,
  dim: 16,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  ffnDim: 24,
  maxSeqLen: 48,
  ropeTheta: 10000,
  normEps: 1e-6,
});

/** A host model with weights large enough that every path matters. */
function hostModel(seed: number): Transformer {
  const m = new Transformer(cfg, undefined, seed);
  for (const [name, w] of m.params) {
    if (name.includes('norm')) for (let i = 0; i < w.length; i++) w[i] = 1 + 0.2 * Math.sin(i * 1.7 + name.length);
    else for (let i = 0; i < w.length; i++) w[i] *= 12;
  }
  return m;
}

const ids = [3, 17, 5, 9, 22, 0, 14, 8, 1, 11, 6];
const targets = [17, 5, 9, 22, 0, 14, 8, 1, 11, 6, 2];
const coef = targets.map((_, t) => Math.cos(t + 0.5));

const devices: { kind: string; get: () => Promise<{ dev?: Device; reason?: string }> }[] = [
  { kind: 'cpu', get: async () => ({ dev: await createDevice('cpu') }) },
  { kind: 'webgpu', get: () => webgpuOrSkip('the built-in decoder on WebGPU') },
];

for (const { kind, get } of devices) {
  describe(`built-in decoder on the ${kind} device`, async () => {
    const got = await get();
    const dev = got.dev;
    afterAll(() => dev?.destroy());
    const tol = { atol: 2e-4, rtol: 2e-3 };

    it.skipIf(!dev)('computes the same logits as the host model', async () => {
      const host = hostModel(1);
      const m = new DeviceTransformer(dev as Device, cfg, host.params);
      expectClose('logits', await m.forward(ids), host.forward(ids), tol);
      // a different model gives different logits: the comparison is not vacuous
      const other = hostModel(2);
      const diff = await m.forward(ids);
      expect(Math.max(...diff.map((x, i) => Math.abs(x - other.forward(ids)[i])))).toBeGreaterThan(0.1);
      m.dispose();
    });

    it.skipIf(!dev)('decodes through its KV cache exactly like a full forward', async () => {
      const host = hostModel(3);
      const m = new DeviceTransformer(dev as Device, cfg, host.params);
      const full = host.forward(ids);
      const V = cfg.vocabSize;
      const cache = m.newCache();
      const first = await m.forward(ids.slice(0, 4), { cache, lastOnly: true });
      expectClose('prefill row', first, full.subarray(3 * V, 4 * V), tol);
      const branch = cache.clone();
      for (let t = 4; t < ids.length; t++) {
        const row = await m.forward([ids[t]], { cache, lastOnly: true });
        expectClose(`row ${t}`, row, full.subarray(t * V, (t + 1) * V), tol);
      }
      expect(cache.len).toBe(ids.length);
      // the clone kept the prefix only and continues on its own
      const alt = await m.forward([7], { cache: branch, lastOnly: true });
      const hostCache = new KVCache(cfg, cfg.maxSeqLen);
      host.forward(ids.slice(0, 4), { cache: hostCache });
      expectClose('branch row', alt, host.forward([7], { cache: hostCache, lastOnly: true }), tol);
      cache.free();
      branch.free();
      m.dispose();
    });

    it.skipIf(!dev)('accumulates the same gradients as the host model', async () => {
      const host = hostModel(4);
      const m = new DeviceTransformer(dev as Device, cfg, host.params);
      host.zeroGrad();
      m.zeroGrad();
      for (const seq of [ids, ids.slice(2, 9)]) {
        const tg = targets.slice(0, seq.length);
        const hl = host.forward(seq, { train: true });
        host.backward(logitsGrad(hl, cfg.vocabSize, tg, coef));
        const dl = await m.forward(seq, { train: true });
        m.backward(logitsGrad(dl, cfg.vocabSize, tg, coef));
      }
      const mine = new Map([...host.grads].map(([k, v]) => [k, new Float32Array(v.length)]));
      await m.readGrads(mine);
      let nonzero = 0;
      for (const [name, want] of host.grads) {
        const g = mine.get(name) as Float32Array;
        const scale = Math.max(1e-3, ...want.map(Math.abs));
        expectClose(`grad ${name}`, g, want, { atol: 2e-3 * scale, rtol: 5e-3 });
        if (want.some((x) => x !== 0)) nonzero++;
      }
      expect(nonzero).toBe(host.grads.size);
      // zeroGrad clears the device gradients
      m.zeroGrad();
      const zero = new Map([...host.grads].map(([k, v]) => [k, new Float32Array(v.length)]));
      await m.readGrads(zero);
      expect([...zero.values()].every((a) => a.every((x) => x === 0))).toBe(true);
      m.dispose();
    });

    it.skipIf(!dev)('follows host weight updates through load', async () => {
      const host = hostModel(5);
      const m = new DeviceTransformer(dev as Device, cfg, host.params);
      const before = await m.forward(ids);
      const w = host.params.get('layers.0.q_proj') as Float32Array;
      for (let i = 0; i < w.length; i++) w[i] += 0.3 * Math.sin(i);
      m.load(host.params);
      const after = await m.forward(ids);
      expectClose('after load', after, host.forward(ids), tol);
      expect(mismatchCount(before, after)).toBeGreaterThan(0);
      const lp = tokenStats(after, cfg.vocabSize, targets).logp;
      expect(lp.every(Number.isFinite)).toBe(true);
      m.dispose();
    });

    it.skipIf(!dev)('decodes a batch of sequences, each through its own cache, with the same bits in any batch', async () => {
      const host = hostModel(7);
      const m = new DeviceTransformer(dev as Device, cfg, host.params);
      const V = cfg.vocabSize;
      // three sequences with different prefixes and lengths, each prefilled into its own cache
      const prefixes = [ids.slice(0, 5), ids.slice(3, 10), [4, 2]];
      const next = [12, 7, 19];
      const caches = async () => {
        const out = [];
        for (const p of prefixes) {
          const c = m.newCache();
          await m.forward(p, { cache: c, lastOnly: true });
          out.push(c);
        }
        return out;
      };
      const together = await caches();
      const rows = await m.decodeBatch(next, together);
      expect(rows.length).toBe(3 * V);
      for (const [b, c] of together.entries()) {
        expect(c.len).toBe(prefixes[b].length + 1);
        // the row is the host model's next-token logits for that sequence
        const want = host.forward([...prefixes[b], next[b]]).subarray(prefixes[b].length * V);
        expectClose(`row ${b}`, rows.subarray(b * V, (b + 1) * V), want, tol);
      }
      // each cache holds its new token: one more step (a batch of one) continues every sequence
      const cont = await m.decodeBatch([5], [together[1]]);
      expectClose('continued', cont, host.forward([...prefixes[1], next[1], 5]).subarray((prefixes[1].length + 1) * V), tol);
      // a row has the same bits alone, in another order, or beside other rows
      const alone = await caches();
      const single = await m.decodeBatch([next[2]], [alone[2]]);
      expect(single).toEqual(rows.subarray(2 * V, 3 * V));
      const reordered = await caches();
      const back = await m.decodeBatch([next[2], next[0]], [reordered[2], reordered[0]]);
      expect(back.subarray(0, V)).toEqual(rows.subarray(2 * V, 3 * V));
      expect(back.subarray(V, 2 * V)).toEqual(rows.subarray(0, V));
      await expect(m.decodeBatch([1, 2], [alone[0], alone[0]])).rejects.toThrow(/same cache twice/);
      await expect(m.decodeBatch([99], [alone[0]])).rejects.toThrow(/outside the vocabulary/);
      for (const c of [...together, ...alone, ...reordered]) c.free();
      m.dispose();
    });

    it.skipIf(!dev)(
      "decodes one row alone (the runner's single mode) like the host, with the same bits however steps interleave",
      async () => {
        const host = hostModel(8);
        const m = new DeviceTransformer(dev as Device, cfg, host.params);
        const runner = new ModelRunner(host, m);
        runner.decodeRows = 'single';
        const V = cfg.vocabSize;
        const prefixes = [ids.slice(0, 6), ids.slice(2, 9)];
        const next = [12, 7];
        const prefilled = async () => {
          const out = [];
          for (const p of prefixes) {
            const c = m.newCache();
            await m.forward(p, { cache: c, lastOnly: true });
            out.push(c);
          }
          return out;
        };
        // two sequences' steps in flight at once, then each alone, in the other order
        const both = await prefilled();
        const together = await Promise.all(next.map((id, b) => runner.decodeStep(id, both[b] as DeviceKVCache)));
        const apart = await prefilled();
        const second = await runner.decodeStep(next[1], apart[1] as DeviceKVCache);
        const first = await runner.decodeStep(next[0], apart[0] as DeviceKVCache);
        expect(first).toEqual(together[0]);
        expect(second).toEqual(together[1]);
        for (const [b, row] of together.entries()) {
          const want = host.forward([...prefixes[b], next[b]]).subarray(prefixes[b].length * V);
          expectClose(`row ${b}`, row, want, tol);
        }
        // each step ran alone: no batch held two rows
        expect(runner.decodeStats.rows).toBe(runner.decodeStats.steps);
        for (const c of [...both, ...apart]) c.free();
        m.dispose();
      },
    );

    it.skipIf(!dev)('refuses out-of-range ids and over-long sequences with clear errors', async () => {
      const m = new DeviceTransformer(dev as Device, cfg, hostModel(6).params);
      await expect(m.forward([1, 99])).rejects.toThrow(/outside the vocabulary/);
      await expect(m.forward(Array(cfg.maxSeqLen + 1).fill(1))).rejects.toThrow(/exceeds the model's limit/);
      expect(() => m.backward(new Float32Array(4))).toThrow(/preceding forward/);
      m.dispose();
    });
  });
}

function mismatchCount(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-4) n++;
  return n;
}
