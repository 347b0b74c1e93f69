import { buildUnits, computeMetrics, countFailureKinds } from '../agent/eval/index.js';
import { syntheticEpisodes } from './eval.js';
const trajs = syntheticEpisodes(100_000, 4, 1);
for (let r = 0; r < 2; r++) {
  let t = performance.now(); const u = buildUnits(trajs); const a = performance.now() - t;
  t = performance.now(); countFailureKinds(trajs); const b = performance.now() - t;
  t = performance.now(); computeMetrics(trajs, { bootstrap: { samples: 0 } }); const c = performance.now() - t;
  t = performance.now(); computeMetrics(trajs, { bootstrap: { samples: 1000 } }); const d = performance.now() - t;
  const cpu = process.cpuUsage();
  console.log({ units: u.meta.length, buildUnits: a, failureKinds: b, noCi: c, withCi: d, cpuUserS: cpu.user / 1e6 });
}
