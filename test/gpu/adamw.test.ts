import { describe, expect, it } from 'vitest';
import * as g from '../../gpu/index.js';

// Adam's first step is ±lr whatever the gradient's scale, so clipping shows in the moments.
describe('adamwStep', () => {
  it('clips by the global norm, decays only where asked, and reports the squared norm', async () => {
    const dev = await g.createDevice('cpu');
    const params = [dev.upload([1], [1]), dev.upload([2], [1])];
    const grads = [dev.upload([3], [1]), dev.upload([4], [1])];
    const state = g.createAdamWState(dev, params);
    const normSq = g.adamwStep(dev, params, grads, state, { lr: 0.1, weightDecay: 0.5, maxGradNorm: 1, decay: [true, false] });
    expect((await dev.download(normSq))[0]).toBeCloseTo(25, 5);
    // clip factor 1/5: m = (1 - 0.9) * 0.6 and (1 - 0.9) * 0.8
    expect((await dev.download(state.m[0] as g.Tensor))[0]).toBeCloseTo(0.06, 6);
    expect((await dev.download(state.m[1] as g.Tensor))[0]).toBeCloseTo(0.08, 6);
    // p = p (1 - lr wd) - lr m̂ / (sqrt(v̂) + eps)
    expect((await dev.download(params[0] as g.Tensor))[0]).toBeCloseTo(1 * (1 - 0.05) - 0.1, 5);
    expect((await dev.download(params[1] as g.Tensor))[0]).toBeCloseTo(2 - 0.1, 5);
    expect(state.step).toBe(1);
  });

  it('leaves gradients unscaled when the norm is under the limit or no limit is set', async () => {
    const dev = await g.createDevice('cpu');
    for (const maxGradNorm of [100, 0]) {
      const p = [dev.upload([0], [1])];
      const state = g.createAdamWState(dev, p);
      g.adamwStep(dev, p, [dev.upload([3], [1])], state, { lr: 0.1, maxGradNorm });
      expect((await dev.download(state.m[0] as g.Tensor))[0]).toBeCloseTo(0.3, 6);
    }
  });

  it('moves a parameter down a quadratic bowl', async () => {
    const dev = await g.createDevice('cpu');
    const p = dev.upload([3, -2], [2]);
    const state = g.createAdamWState(dev, [p]);
    for (let i = 0; i < 200; i++) {
      const grad = g.scale(dev, p, 2); // d/dp of p²
      g.adamwStep(dev, [p], [grad], state, { lr: 0.05 });
      dev.free(grad);
    }
    const v = await dev.download(p);
    expect(Math.abs(v[0] as number)).toBeLessThan(0.1);
    expect(Math.abs(v[1] as number)).toBeLessThan(0.1);
  });
});
