/**
 * bench/eval: the evaluator's own overhead.
 *  1. Oracle episodes/s on code-interp through `runEval` (targets >= 200/s), beside the peer: the
 *     same episodes through the bare `runBatch` (so the ratio is the evaluator's overhead); and the
 *     same evaluation with the environment in two worker threads (`envWorkers: 2`, concurrency 16).
 *  2. `computeMetrics` over 100,000 synthetic episodes, with 1000 bootstrap resamples (target <= 5 s)
 *     and without intervals.
 * Prints one JSON object. Run: `npx tsx bench/eval.ts` (`--quick` for a smoke run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { computeMetrics, renderReport, runEval, selectTasks } from '../agent/eval/index.js';
import type { ParseFailure, ToolExchange, Trajectory, Turn } from '../agent/index.js';
import { createPolicy } from '../agent/policies/index.js';
import { runBatch } from '../agent/rollout/index.js';
import { type EnvDefinition, EnvWorkerPool, getEnv } from '../envs/index.js';
import { Rng } from '../tools/index.js';
import { median } from './stats.js';

const quick = process.argv.includes('--quick');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

// ---------------------------------------------------------------------------------------------
// Synthetic episodes: realistic mixes of valid, invalid and failed calls, modes and endings.

const KINDS: ParseFailure['kind'][] = [
  'invalid_json',
  'unknown_tool',
  'schema_wrong_type',
  'schema_missing_required',
  'unclosed_tag',
];

export function syntheticEpisodes(n: number, k: number, seed: number): Trajectory[] {
  const rng = new Rng(seed);
  const out: Trajectory[] = [];
  const tasks = Math.ceil(n / k);
  for (let t = 0; t < tasks && out.length < n; t++) {
    const family = `compute.f${t % 6}`;
    const skill = rng.next();
    for (let s = 0; s < k && out.length < n; s++) {
      const nTurns = 1 + rng.int(0, 3);
      const turns: Turn[] = [];
      for (let i = 0; i < nTurns; i++) {
        const last = i === nTurns - 1;
        const failures: ParseFailure[] =
          !last && rng.bool(0.1) ? [{ kind: rng.pick(KINDS), message: 'synthetic failure', field: 'code' }] : [];
        const calls: ToolExchange[] = last
          ? []
          : [
              {
                name: 'run_code',
                arguments: { code: `print(${rng.int(0, 5)})` },
                result: 'ok',
                isError: rng.bool(0.05),
                latencyMs: 1,
              },
            ];
        const mode = rng.bool(0.5) ? 'think' : 'no_think';
        turns.push({
          index: i,
          raw: last ? '42' : '<tool_call>\n{"name": "run_code", "arguments": {"code": "x"}}\n</tool_call>',
          thinking: mode === 'think' ? 'reasoning' : '',
          mode,
          calls,
          failures,
          answer: last ? '42' : undefined,
          finishReason: 'stop',
          generationMs: 1,
          completionTokens: 20 + rng.int(0, 100),
        });
      }
      const aborted = rng.bool(0.005);
      const correct = !aborted && rng.next() < skill;
      out.push({
        format: 'toolgym.trajectory/1',
        ids: {
          run: 'bench',
          episode: `t${t}#${s}`,
          group: `t${t}`,
          task: `code-interp/${family}/test/${t}`,
          family,
          difficulty: 1 + (t % 5),
          split: 'test',
          seed: t,
          sample: s,
          env: 'code-interp',
          envVersion: '1',
          policy: 'synthetic',
        },
        messages: [],
        turns,
        reward: correct ? 1 : 0,
        components: { correct: correct ? 1 : 0 },
        correct,
        ending: aborted ? 'aborted' : rng.bool(0.03) ? 'truncated' : 'terminated',
        reason: aborted ? 'error: synthetic' : 'answer',
        metrics: { turns: nTurns, toolCalls: nTurns - 1, invalidCalls: 0, completionTokens: 60 * nTurns, wallMs: 1 },
        mode: 'mixed',
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function episodesPerSecond(def: EnvDefinition): Promise<Record<string, unknown>> {
  const tasks = quick ? 10 : 50;
  const k = 4;
  const reps = quick ? 1 : 3;
  const evalRates: number[] = [];
  const workerRates: number[] = [];
  const workerCpu: number[] = [];
  const batchRates: number[] = [];
  const cpuPerEpisode: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'toolgym-bench-eval-'));
  const pool = await new EnvWorkerPool({ env: def.id, workers: 2 }).start();
  try {
    await runEval({
      env: def,
      policy: 'oracle',
      k: 2,
      tasks: 20,
      outDir: join(dir, 'wwarm'),
      progress: false,
      envWorkers: pool,
      concurrency: 16,
    });
    // Warm-up: module loading, isolate pools, task caches and JIT, with one run of the measured
    // size (the first run of a process is ~30% slower than the steady state measured here).
    await runEval({
      env: def,
      policy: 'oracle',
      k,
      tasks,
      seed: 100,
      outDir: join(dir, 'warm'),
      progress: false,
      bootstrapSamples: 0,
    });
    for (let r = 0; r < reps; r++) {
      const c0 = process.cpuUsage();
      const res = await runEval({ env: def, policy: 'oracle', k, tasks, seed: r, outDir: join(dir, `e${r}`), progress: false });
      // Whole call: episodes, JSONL writing, metrics with 1000 resamples, report.html.
      // durationMs spans the episodes and their JSONL writing; metrics and report are timed below.
      evalRates.push((res.trajectories.length * 1000) / res.record.durationMs);
      const c = process.cpuUsage(c0);
      cpuPerEpisode.push((c.user + c.system) / 1000 / res.trajectories.length);
      // The same evaluation with the environment in two worker threads (`--env-workers 2`).
      const cw = process.cpuUsage();
      const w = await runEval({
        env: def,
        policy: 'oracle',
        k,
        tasks,
        seed: r,
        outDir: join(dir, `w${r}`),
        progress: false,
        envWorkers: pool,
        concurrency: 16,
      });
      workerRates.push((w.trajectories.length * 1000) / w.record.durationMs);
      const cwd = process.cpuUsage(cw);
      workerCpu.push((cwd.user + cwd.system) / 1000 / w.trajectories.length);
      const t0 = performance.now();
      const policy = await createPolicy('oracle', { env: def, seed: r });
      const ids = selectTasks(def, 'test', tasks, r);
      const b = await runBatch({ env: def, policy, tasks: ids, split: 'test', groupSize: k, concurrency: 8, progress: false });
      batchRates.push((b.trajectories.length * 1000) / (performance.now() - t0));
    }
    // End-to-end including metrics, report and files, once.
    const t0 = performance.now();
    const full = await runEval({ env: def, policy: 'oracle', k, tasks, seed: 99, outDir: join(dir, 'full'), progress: false });
    const fullMs = performance.now() - t0;
    // The evaluator's own share: metrics (1000 resamples) and the report page for these episodes.
    const own0 = performance.now();
    const ownCpu0 = process.cpuUsage();
    const metrics = computeMetrics(full.trajectories, { maxK: k, bootstrap: { samples: 1000, seed: 0 } });
    renderReport({ record: { ...full.record, metrics }, trajectories: full.trajectories });
    const ownCpu = process.cpuUsage(ownCpu0);
    const ownMs = performance.now() - own0;
    return {
      env: def.id,
      episodes_per_run: tasks * k,
      eval_episodes_per_s_median: median(evalRates),
      peer_runBatch_episodes_per_s_median: median(batchRates),
      ratio_eval_vs_runBatch: median(evalRates) / median(batchRates),
      eval_env_workers2_episodes_per_s_median: median(workerRates),
      eval_env_workers2_process_cpu_ms_per_episode_median: median(workerCpu),
      end_to_end_with_metrics_and_report_episodes_per_s: (full.trajectories.length * 1000) / fullMs,
      process_cpu_ms_per_episode_median: median(cpuPerEpisode),
      evaluator_own_ms_per_episode: ownMs / full.trajectories.length,
      evaluator_own_cpu_ms_per_episode: (ownCpu.user + ownCpu.system) / 1000 / full.trajectories.length,
      success: full.record.metrics.overall.metrics.avgAtK?.value,
      target_episodes_per_s: 200,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pool.close();
  }
}

function metricsTiming(): Record<string, unknown> {
  const n = quick ? 10_000 : 100_000;
  const trajs = syntheticEpisodes(n, 4, 1);
  const withCi: number[] = [];
  const noCi: number[] = [];
  const reps = quick ? 1 : 3;
  computeMetrics(trajs.slice(0, 1000)); // warm-up
  const cpu: number[] = [];
  let samplesUsed = 0;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const c0 = process.cpuUsage();
    samplesUsed = computeMetrics(trajs, { bootstrap: { samples: 1000, seed: r } }).overall.bootstrapSamples;
    const c = process.cpuUsage(c0);
    withCi.push(performance.now() - t0);
    // CPU time too: on a machine shared with other jobs, wall time measures the neighbours.
    cpu.push((c.user + c.system) / 1000);
    t0 = performance.now();
    computeMetrics(trajs, { bootstrap: { samples: 0 } });
    noCi.push(performance.now() - t0);
  }
  return {
    episodes: n,
    tasks: Math.ceil(n / 4),
    bootstrap_samples_requested: 1000,
    bootstrap_samples_used: samplesUsed,
    seconds_median: median(withCi) / 1000,
    cpu_seconds_median: median(cpu) / 1000,
    seconds_p99: quantile(withCi, 0.99) / 1000,
    seconds_without_intervals_median: median(noCi) / 1000,
    target_seconds: 5,
  };
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {
    bench: 'eval',
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    quick,
  };
  out.metrics_100k = metricsTiming();
  let def: EnvDefinition | undefined;
  try {
    def = getEnv('code-interp');
  } catch (err) {
    out.oracle_throughput = { error: `code-interp is not registered: ${(err as Error).message}` };
  }
  if (def) out.oracle_throughput = await episodesPerSecond(def);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

// Run when executed (not when another benchmark imports the generator).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
