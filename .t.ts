import * as g from './gpu/index.js';
import { CASES } from './test/gpu/cases.js';
const cpu = await g.createDevice('cpu');
const dev = await g.createDevice('webgpu');
for (const c of CASES) {
  let t0 = performance.now(); await c.run(cpu, 1); const tc = performance.now() - t0;
  t0 = performance.now(); await c.run(dev, 1); const tg = performance.now() - t0;
  t0 = performance.now(); await c.run(dev, 1); const tg2 = performance.now() - t0;
  console.log(c.name.slice(0, 30).padEnd(32), tc.toFixed(0), tg.toFixed(0), tg2.toFixed(0));
}
