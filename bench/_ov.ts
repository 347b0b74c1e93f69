import { OraclePolicy, runBatch } from '../agent/index.js';
import { z } from 'zod';
import { defineToolEnv, textResult, type TaskFamily } from '../envs/index.js';
const turns = 21;
const family: TaskFamily<{ word: string }> = {
  name: 'echo', description: 'e', splitSizes: { train: 1000, test: 100 },
  generate: (split, index) => ({ id: `bench-echo/echo/${split}/${index}`, family: 'echo', split, difficulty: 1, prompt: 'p', seed: index, reference: { word: `w${index}` } }),
  verify: async () => ({ reward: 1, components: {}, correct: true }),
  oracle: (task, history) => history.length < turns - 1 ? { kind: 'tool_calls', calls: [{ name: 'echo', arguments: { text: task.reference.word } }] } : { kind: 'answer', answer: task.reference.word },
};
const env = defineToolEnv<Record<string, never>>({ id: 'bench-echo', version: '1', description: 'd', families: [family], systemPrompt: 's', createEpisode: () => ({}),
  tools: [{ name: 'echo', description: 'r', inputSchema: { text: z.string().describe('t') }, handler: async (a: { text: string }) => textResult(a.text) }] });
const policy = new OraclePolicy(env);
await runBatch({ env, policy, count: 20, concurrency: 1, progress: false, limits: { maxTurns: 30 } });
const t0 = performance.now();
await runBatch({ env, policy, count: 200, concurrency: 1, progress: false, keep: false, limits: { maxTurns: 30 } });
console.log('ms/turn', (performance.now() - t0) / (200 * 21));
