import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice, type Device, fill } from '../../gpu/index.js';
import { CASES } from './cases.js';
import { mismatches, webgpuOrSkip } from './harness.js';

/**
 * A device whose `empty` hands out NaN-filled tensors: an op that takes `empty` memory for an
 * output it does not fully overwrite then leaks NaN into the comparison.
 */
function poisoned(dev: Device): Device {
  return {
    kind: dev.kind,
    info: dev.info,
    alloc: (shape, dtype) => dev.alloc(shape, dtype),
    empty: (shape, dtype = 'f32') => {
      const t = dev.alloc(shape, dtype);
      if (dtype === 'f32') fill(dev, t, Number.NaN);
      return t;
    },
    upload: (data, shape, dtype) => dev.upload(data, shape, dtype),
    write: (t, data) => dev.write(t, data),
    download: (t) => dev.download(t),
    dispatch: (d) => dev.dispatch(d),
    sync: () => dev.sync(),
    free: (...ts) => dev.free(...ts),
    destroy: () => dev.destroy(),
  };
}

// Every op, run on the CPU backend (the reference) and on WebGPU (lavapipe without a GPU).
describe('webgpu kernels match the cpu backend', () => {
  let cpu: Device;
  let gpu: Device | undefined;
  let reason = '';
  beforeAll(async () => {
    cpu = await createDevice('cpu');
    const got = await webgpuOrSkip();
    gpu = got.dev;
    reason = got.reason ?? '';
  });
  afterAll(() => gpu?.destroy());

  for (const c of CASES) {
    it(`agrees on ${c.name}`, async (ctx) => {
      if (!gpu) ctx.skip(reason);
      const dev = gpu as Device;
      const want = await c.run(poisoned(cpu), 1234);
      const got = await c.run(poisoned(dev), 1234);
      const reports: string[] = [];
      for (const [k, w] of Object.entries(want)) {
        const r = mismatches(got[k] as ArrayLike<number>, w, c.tol);
        if (r) reports.push(`${k}: ${r}`);
      }
      expect(reports.join('\n'), `${c.name} on ${dev.info.name}`).toBe('');
    });
  }
});
