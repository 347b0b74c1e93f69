/**
 * The shared conformance suite: `describeConformance(def)` turns every envs/core conformance check
 * into its own vitest case. test/envs/registered.test.ts runs it for every registered environment
 * (registering one is enough to be covered); a variant built with other options (search with its
 * browser) calls it itself:
 *
 *   describeConformance(createSearchEnv({ browser: true }), { skip: { 'oracle-solves': 'reason' } });
 *
 * `describeOracleCli(def)` is its end-to-end half: the oracle policy through the real command line
 * (`gym rollout` and `gym eval`), as a new user, `gym eval` and cold-start data reach it;
 * test/e2e/oracle-cli.test.ts runs it for every registered environment.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrajectories } from '../../agent/trajectory/index.js';
import type { Trajectory } from '../../agent/types.js';
import { conformanceChecks, type EnvDefinition, runCheck } from '../../envs/core/index.js';
import { runGym } from '../fixtures/gym-cli.js';

export interface ConformanceOptions {
  /** Check name -> reason; a skipped case states its reason. */
  skip?: Record<string, string>;
  /** Per-check timeout in ms (default: the vitest config's). */
  timeout?: number;
}

export function describeConformance(def: EnvDefinition | (() => EnvDefinition), opts: ConformanceOptions = {}): void {
  const resolve = typeof def === 'function' ? def : () => def;
  const label = typeof def === 'function' ? 'environment' : `environment ${def.id}`;
  describe(`${label} conformance`, () => {
    for (const check of conformanceChecks) {
      const reason = opts.skip?.[check.name];
      if (reason) {
        it.skip(`${check.title} (skipped: ${reason})`, () => undefined);
        continue;
      }
      it(
        check.title,
        async (ctx) => {
          const r = await runCheck(check, resolve());
          if (r.skipped) {
            console.warn(`[conformance] ${check.name} skipped: ${r.message}`);
            ctx.skip(r.message);
            return;
          }
          expect(r.ok, `${check.name}: ${r.message}`).toBe(true);
        },
        opts.timeout,
      );
    }
  });
}

export interface OracleCliOptions {
  /** Rollout episodes (`-n`); default 8. */
  episodes?: number;
  /** Evaluation tasks (`--tasks`, drawn across the families); default gym eval's 20, or the whole test split when smaller. */
  evalTasks?: number;
  /** Extra environment flags for both commands (e.g. `['--env-opt', 'docs=300']`). */
  envFlags?: string[];
  /**
   * For an environment whose oracle is not deterministic: the success share it must still reach,
   * and why it cannot reach 1. A deterministic oracle (every built-in one) must solve every task.
   */
  nondeterministic?: { minSuccess: number; reason: string };
  /** Per-case timeout in ms: each case spawns the built CLI. */
  timeout?: number;
}

function failures(ts: readonly Trajectory[]): string {
  const bad = ts.filter((t) => !t.correct);
  return bad
    .slice(0, 3)
    .map(
      (t) =>
        `${t.ids.task}: ${t.ending} (${t.reason}), ${t.turns.length} turns, last ${JSON.stringify(t.turns.at(-1)?.raw ?? '').slice(0, 120)}`,
    )
    .join('; ');
}

/**
 * Spawns `gym rollout --env <id> --policy oracle` and `gym eval --env <id> --policy oracle` and
 * requires every episode to end with a verified answer (or the stated share, for an oracle that is
 * not deterministic).
 */
export function describeOracleCli(def: EnvDefinition, opts: OracleCliOptions = {}): void {
  const id = def.id;
  const min = opts.nondeterministic?.minSuccess ?? 1;
  const env = ['--env', id, ...(opts.envFlags ?? [])];
  const share = (what: string) => (min === 1 ? `every ${what}` : `at least ${min * 100}% of the ${what}s`);
  describe(`the oracle policy through the gym CLI on ${id}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `toolgym-oracle-${id}-`));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it(
      `solves ${share('rollout episode')} (gym rollout --policy oracle)`,
      async () => {
        const out = join(dir, 'rollout.jsonl');
        const n = opts.episodes ?? 8;
        const r = await runGym([
          'rollout',
          ...env,
          '--policy',
          'oracle',
          '-n',
          String(n),
          '--out',
          out,
          '--json',
          '--no-progress',
        ]);
        expect(r.code, r.stderr).toBe(0);
        const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { episodes: number; successRate: number };
        const ts = readTrajectories(out);
        expect(ts).toHaveLength(n);
        expect(summary.episodes).toBe(n);
        expect(summary.successRate, failures(ts)).toBeGreaterThanOrEqual(min);
        if (min === 1)
          expect(
            ts.every((t) => t.correct && t.ending === 'terminated'),
            failures(ts),
          ).toBe(true);
      },
      opts.timeout ?? 120_000,
    );

    it(
      `solves ${share('evaluation episode')} (gym eval --policy oracle)`,
      async () => {
        const out = join(dir, 'eval');
        const args: string[] = ['eval', ...env, '--policy', 'oracle', '--out', out, '--bootstrap', '0', '--no-progress'];
        const testTasks = def.families.reduce((n, f) => n + f.splitSizes.test, 0);
        args.push('--tasks', String(opts.evalTasks ?? Math.min(20, testTasks)));
        const r = await runGym(args);
        expect(r.code, r.stderr).toBe(0);
        const ts = readTrajectories(join(out, 'trajectories.jsonl'));
        const rec = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as {
          metrics: { overall: { metrics: { avgAtK: { value: number | null } } } };
        };
        expect(ts.length).toBeGreaterThan(0);
        expect(rec.metrics.overall.metrics.avgAtK.value ?? 0, failures(ts)).toBeGreaterThanOrEqual(min);
        expect(r.stdout).toMatch(min === 1 ? /avg@k 100\.0%/ : /avg@k /);
      },
      opts.timeout ?? 120_000,
    );
  });
}
