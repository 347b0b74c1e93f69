import { buildUnits, computeMetrics, countFailureKinds, summarize, maxTrials, DEFAULT_BOOTSTRAP } from '../agent/eval/index.js';
import { syntheticEpisodes } from './eval.js';
const trajs = syntheticEpisodes(100_000, 4, 1);
function cpu<T>(label: string, f: () => T): T { const a = process.cpuUsage(); const t = performance.now(); const r = f(); const b = process.cpuUsage(a); console.log(label, `wall ${(performance.now() - t).toFixed(0)} cpu ${((b.user + b.system) / 1000).toFixed(0)}`); return r; }
for (let r = 0; r < 2; r++) {
  const u = cpu('buildUnits', () => buildUnits(trajs));
  cpu('failureKinds', () => countFailureKinds(trajs));
  cpu('summarize noCi', () => summarize(u, 4, { ...DEFAULT_BOOTSTRAP, samples: 0 }));
  cpu('summarize ci', () => summarize(u, 4, DEFAULT_BOOTSTRAP));
  cpu('computeMetrics noCi', () => computeMetrics(trajs, { bootstrap: { samples: 0 } }));
  cpu('computeMetrics ci', () => computeMetrics(trajs, {}));
}
