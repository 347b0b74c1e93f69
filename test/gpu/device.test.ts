import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../gpu/index.js';
import type { WebGpuDevice } from '../../gpu/webgpu/backend.js';
import { webgpuOrSkip } from './harness.js';

// One seam suite that every backend runs.
const backends: { kind: 'cpu' | 'webgpu'; get: () => Promise<{ dev?: g.Device; reason?: string }> }[] = [
  { kind: 'cpu', get: async () => ({ dev: await g.createDevice('cpu') }) },
  { kind: 'webgpu', get: webgpuOrSkip },
];

for (const b of backends) {
  describe(`the ${b.kind} device seam`, () => {
    let dev: g.Device | undefined;
    let reason = '';
    beforeAll(async () => {
      const got = await b.get();
      dev = got.dev;
      reason = got.reason ?? '';
    });
    afterAll(() => dev?.destroy());
    const need = (ctx: { skip: (r: string) => void }): g.Device => {
      if (!dev) ctx.skip(reason);
      return dev as g.Device;
    };

    it('round-trips f32 and i32 data and keeps the dtype', async (ctx) => {
      const d = need(ctx);
      const f = d.upload(new Float32Array([1.5, -2, 3e-8]), [3]);
      const i = d.upload(new Int32Array([7, -1, 2 ** 30]), [3]);
      expect(Array.from(await d.download(f))).toEqual([1.5, -2, Math.fround(3e-8)]);
      const back = await d.download(i);
      expect(back).toBeInstanceOf(Int32Array);
      expect(Array.from(back)).toEqual([7, -1, 2 ** 30]);
    });

    it('allocates zeros, also when reusing a freed buffer', async (ctx) => {
      const d = need(ctx);
      const t = d.upload(new Float32Array(100).fill(9), [10, 10]);
      await d.sync();
      d.free(t);
      d.free(t);
      const z = d.alloc([10, 10]);
      expect((await d.download(z)).every((v) => v === 0)).toBe(true);
      await expect(d.download(t)).rejects.toThrow(/freed/);
    });

    it('views a tensor under another shape without copying', async (ctx) => {
      const d = need(ctx);
      const t = d.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
      const v = t.reshape([3, -1]);
      expect(v.shape).toEqual([3, 2]);
      g.fill(d, v, 4);
      expect(Array.from(await d.download(t))).toEqual([4, 4, 4, 4, 4, 4]);
      expect(() => t.reshape([4, 2])).toThrow(g.ShapeError);
    });

    it('orders a write after the dispatches recorded before it', async (ctx) => {
      const d = need(ctx);
      const x = d.upload(new Float32Array([1, 2]), [2]);
      const y = g.scale(d, x, 10);
      d.write(x, new Float32Array([5, 6]));
      const z = g.scale(d, x, 10);
      expect(Array.from(await d.download(y))).toEqual([10, 20]);
      expect(Array.from(await d.download(z))).toEqual([50, 60]);
    });

    it('copies a range of elements between tensors of different shapes, and refuses one out of bounds', async (ctx) => {
      const d = need(ctx);
      const src = d.upload(
        Float32Array.from({ length: 12 }, (_, i) => i + 1),
        [3, 4],
      );
      const dst = d.upload(new Float32Array(10).fill(-1), [2, 5]);
      g.copyRange(d, src, dst, { srcOffset: 4, dstOffset: 3, n: 5 });
      expect(Array.from(await d.download(dst))).toEqual([-1, -1, -1, 5, 6, 7, 8, 9, -1, -1]);
      expect(() => g.copyRange(d, src, dst, { srcOffset: 10, dstOffset: 0, n: 3 })).toThrow(/reads \[10, 13\) of 12/);
      expect(() => g.copyRange(d, src, dst, { srcOffset: 0, dstOffset: 8, n: 3 })).toThrow(/writes \[8, 11\) of 10/);
      expect(() => g.copyRange(d, src, dst, { srcOffset: -1, dstOffset: 0, n: 1 })).toThrow(/non-negative integer/);
    });

    it('rejects mismatched shapes with a ShapeError naming them', (ctx) => {
      const d = need(ctx);
      const a = d.alloc([2, 3]);
      const b = d.alloc([4, 5]);
      expect(() => g.matmul(d, a, b)).toThrow(/inner dims differ/);
      expect(() => d.upload([1, 2, 3], [2, 2])).toThrow(g.ShapeError);
      expect(() => g.embedding(d, a, a)).toThrow(/i32/);
    });
  });
}

describe('the cpu device', () => {
  it('wraps a caller array without copying and never recycles it', async () => {
    const dev = new g.CpuDevice();
    const mine = new Float32Array(2048).fill(1);
    const t = dev.wrap(mine, [2048]);
    g.axpy(dev, t, t, 1);
    expect(mine[7]).toBe(2);
    expect(dev.view(t)).toBe(mine);
    dev.free(t);
    const fresh = dev.alloc([2048]);
    expect(dev.view(fresh)).not.toBe(mine);
    expect(mine[0]).toBe(2);
  });

  it('gives a row the same bits in a tensor of any size with stableRows (the fused graphs do not)', async () => {
    const dev = new g.CpuDevice();
    const D = 176;
    const R = 200; // R * D is past the size where the fused onnxruntime graphs take over
    const data = Float32Array.from({ length: R * D }, (_, i) => Math.sin(i * 0.37) * 3);
    const up = Float32Array.from({ length: R * D }, (_, i) => Math.cos(i * 0.11));
    const w = dev.upload(
      Float32Array.from({ length: D }, (_, i) => 1 + i / D),
      [D],
    );
    const lastRows = async (rows: number, stableRows: boolean) => {
      const x = dev.upload(data.slice((R - rows) * D), [rows, D]);
      const u = dev.upload(up.slice((R - rows) * D), [rows, D]);
      const y = (await dev.download(g.rmsnorm(dev, x, w, 1e-6, { stableRows }).y)) as Float32Array;
      const h = (await dev.download(g.swiglu(dev, x, u, { stableRows }))) as Float32Array;
      return { norm: Array.from(y.slice(-2 * D)), gate: Array.from(h.slice(-2 * D)) };
    };
    expect(await lastRows(R, true)).toEqual(await lastRows(2, true));
    // the fast path is what training uses; it is allowed to differ, and does here
    expect(await lastRows(R, false)).not.toEqual(await lastRows(2, false));
  });
});

describe('webgpu command batching', () => {
  it('records many dispatches into one submission and reads back only on download', async (ctx) => {
    const got = await webgpuOrSkip();
    if (!got.dev) return ctx.skip(got.reason ?? '');
    const dev = got.dev as WebGpuDevice;
    const y = dev.upload(new Float32Array(1000), [1000]);
    const x = dev.upload(new Float32Array(1000).fill(1), [1000]);
    await dev.sync();
    const before = { ...dev.submitted };
    for (let i = 0; i < 200; i++) g.axpy(dev, y, x, 0.5);
    expect(dev.submitted.batches).toBe(before.batches);
    const out = await dev.download(y);
    expect(dev.submitted.batches - before.batches).toBe(1);
    expect(dev.submitted.dispatches - before.dispatches).toBe(200);
    expect(out.every((v) => v === 100)).toBe(true);
    dev.destroy();
  });
});

describe('device selection', () => {
  it('reads GYM_DEVICE and rejects unknown values', () => {
    expect(g.requestedDevice({})).toBe('auto');
    expect(g.requestedDevice({ GYM_DEVICE: ' CPU ' })).toBe('cpu');
    expect(g.requestedDevice({ GYM_DEVICE: 'webgpu' })).toBe('webgpu');
    expect(() => g.requestedDevice({ GYM_DEVICE: 'cuda' })).toThrow(/not one of cpu, webgpu, auto/);
  });

  it('auto picks a hardware adapter or falls back to cpu, never a software adapter', async () => {
    const dev = await g.createDevice('auto');
    if (dev.kind === 'webgpu') expect(dev.info.software).toBe(false);
    else expect(dev.info.kind).toBe('cpu');
    dev.destroy();
  });
});
