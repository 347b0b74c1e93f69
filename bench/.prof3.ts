import { computeMetrics } from '../agent/eval/index.js';
import { syntheticEpisodes } from './eval.js';
const trajs = syntheticEpisodes(100_000, 4, 1);
for (let r = 0; r < 3; r++) computeMetrics(trajs, { bootstrap: { samples: 0 } });
