import { describe, expect, it } from 'vitest';
import { createPolicy } from '../../../agent/policies/index.js';
import { runBatch } from '../../../agent/rollout/index.js';
import { codeInterpEnv as baseEnv } from '../../../envs/code-interp/index.js';
import type { EnvDefinition } from '../../../envs/core/index.js';

// A loaded CI machine must not turn a slow sandbox run into a wrong answer: runs get 30 s here.
const codeInterpEnv: EnvDefinition = { ...baseEnv, create: (options = {}) => baseEnv.create({ ...options, timeoutMs: 30_000 }) };

// One test task of each built-in family, so every family's oracle runs through real tool calls.
const tasks = codeInterpEnv.families.map((f) => `code-interp/${f.name}/test/1`);

describe('rollouts on code-interp', () => {
  it('scores 1.0 with the oracle on every family', async () => {
    const { trajectories, summary } = await runBatch({
      env: codeInterpEnv,
      policy: await createPolicy('oracle', { env: codeInterpEnv }),
      tasks,
      concurrency: 4,
      progress: false,
    });
    expect(trajectories).toHaveLength(tasks.length);
    for (const t of trajectories) {
      expect({ task: t.ids.task, reward: t.reward, ending: t.ending, error: t.error }).toEqual({
        task: t.ids.task,
        reward: 1,
        ending: 'terminated',
        error: undefined,
      });
      expect(t.metrics.toolCalls).toBeGreaterThan(0);
      expect(t.turns.flatMap((x) => x.calls).every((c) => c.name === 'run_code')).toBe(true);
    }
    expect(summary.successRate).toBe(1);
  });

  it("records the noisy oracle's failures with the kinds of the mistakes it made", async () => {
    const policy = await createPolicy('oracle:json=0.3,type=0.3,tool=0.3,answer=0.5,seed=11', { env: codeInterpEnv });
    const { trajectories, summary } = await runBatch({
      env: codeInterpEnv,
      policy,
      tasks,
      groupSize: 4,
      concurrency: 4,
      progress: false,
    });
    const kinds = new Set<string>();
    for (const t of trajectories) {
      expect(t.ending).toBe('terminated');
      for (const turn of t.turns) {
        if (turn.failures.length === 0) continue;
        expect(turn.failures).toHaveLength(1);
        const kind = turn.failures[0].kind;
        kinds.add(kind);
        // The mistake is visible in the raw text; the recorded kind must match it.
        if (turn.raw.includes('"name": "runcode"')) expect(kind).toBe('unknown_tool');
        else if (/"code": \d/.test(turn.raw)) expect(kind).toBe('schema_wrong_type');
        else expect(kind).toBe('invalid_json');
      }
    }
    expect(kinds).toEqual(new Set(['invalid_json', 'schema_wrong_type', 'unknown_tool']));
    expect(summary.invalidCalls).toBeGreaterThan(0);
    expect(summary.successRate).toBeGreaterThan(0);
    expect(summary.successRate).toBeLessThan(1);
    // A wrong answer is the only way to fail here: every failed episode answered.
    for (const t of trajectories.filter((x) => !x.correct)) expect(t.turns.at(-1)?.answer).toBeDefined();
  });
});
