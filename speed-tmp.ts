import { createDevice } from './gpu/index.js';
import { presetConfig } from './trainer/model/config.js';
import { DeviceTransformer } from './trainer/model/device-transformer.js';
import { Transformer } from './trainer/model/transformer.js';

const cfg = presetConfig('nano', 300);
const host = new Transformer(cfg, undefined, 1);
const dev = await createDevice('cpu');
const dm = new DeviceTransformer(dev, cfg, host.params);
const times = new Map<string, number>();
const counts = new Map<string, number>();
const orig = dev.dispatch.bind(dev);
dev.dispatch = (d) => {
  const t0 = performance.now();
  orig(d);
  const k = d.kernel.name;
  times.set(k, (times.get(k) ?? 0) + performance.now() - t0);
  counts.set(k, (counts.get(k) ?? 0) + 1);
};
const ids = Array.from({ length: 600 }, (_, i) => (i * 7) % 300);
const dc = dm.newCache();
await dm.forward(ids, { cache: dc, lastOnly: true });
times.clear();
counts.clear();
const N = 300;
const t0 = performance.now();
for (let i = 0; i < N; i++) await dm.forward([5], { cache: dc, lastOnly: true });
const tot = (performance.now() - t0) / N;
console.log('per token ms', tot.toFixed(3));
let sum = 0;
for (const [k, v] of [...times].sort((a, b) => b[1] - a[1])) {
  sum += v;
  console.log(k.padEnd(28), ((v / N) * 1000).toFixed(1), 'us x', counts.get(k)! / N);
}
console.log('dispatch total us', ((sum / N) * 1000).toFixed(1));
