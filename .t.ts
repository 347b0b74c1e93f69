import * as g from './gpu/index.js';
import { CASES } from './test/gpu/cases.js';
function poisoned(dev: g.Device): g.Device {
  const p = Object.create(dev) as g.Device;
  p.empty = (shape, dtype = 'f32') => { const t = dev.alloc(shape, dtype); if (dtype === 'f32') g.fill(dev, t, Number.NaN); return t; };
  return p;
}
const c = CASES.find((x) => x.name.startsWith('rope'))!;
const cpu = await g.createDevice('cpu');
const gpu = await g.createDevice('webgpu');
const a = await c.run(cpu, 1), b = await c.run(poisoned(cpu), 1), d = await c.run(gpu, 1), e = await c.run(poisoned(gpu), 1);
console.log(a.y.slice(28, 34), b.y.slice(28, 34), d.y.slice(28, 34), e.y.slice(28,34));
