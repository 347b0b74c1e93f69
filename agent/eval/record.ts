/**
 * `metrics.json`: the metrics of one eval run together with every setting and version needed to
 * rerun it. Schema first, so a stored record is checked on read (a `gym report` over a folder from
 * another version fails with a clear message instead of drawing nonsense).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EvalMetrics } from './metrics.js';

export const EvalModeSchema = z.enum(['think', 'no_think', 'mixed']);
export type EvalMode = z.infer<typeof EvalModeSchema>;

export const EvalSettingsSchema = z.object({
  env: z.string(),
  policy: z.string(),
  /** Trials per task (per thinking budget). */
  k: z.number().int().positive(),
  split: z.enum(['train', 'test']),
  /** Number of tasks drawn. */
  tasks: z.number().int().positive(),
  mode: EvalModeSchema,
  /** Thinking budgets; each task runs k times per budget. Empty: no budget. */
  budgets: z.array(z.number().int().nonnegative()),
  /** Drives the task draw, the episodes' randomness and the bootstrap. */
  seed: z.number().int(),
  limits: z.record(z.string(), z.unknown()),
  concurrency: z.number().int().positive(),
  /** The drawn tasks in run order (the same settings always draw these). */
  taskIds: z.array(z.string()),
  bootstrapSamples: z.number().int().nonnegative(),
  /** The environment's options (a user's task file, corpus, ...), so a rerun builds the same environment. */
  envOptions: z.record(z.string(), z.unknown()).optional(),
  /** Environment modules loaded before the run (`--env-module`). */
  envModules: z.array(z.string()).optional(),
  /** Only families whose name starts with one of these (comma-separated; unset: every family). */
  families: z.string().optional(),
  /** Only tasks at or below this difficulty (unset: every level). */
  maxDifficulty: z.number().int().min(1).max(5).optional(),
});
export type EvalSettings = z.infer<typeof EvalSettingsSchema>;

export const EvalVersionsSchema = z.object({
  toolgym: z.string(),
  env: z.string(),
  envVersion: z.string(),
  node: z.string(),
  platform: z.string(),
  /** Versions of the packages that shape results (MCP SDK, zod, chart.js for the report). */
  packages: z.record(z.string(), z.string()),
});
export type EvalVersions = z.infer<typeof EvalVersionsSchema>;

export const EvalRecordSchema = z.object({
  format: z.literal('toolgym.eval/1'),
  id: z.string(),
  createdAt: z.string(),
  /** Wall time of the episodes (0 for a replay). */
  durationMs: z.number(),
  /** Metrics recomputed from stored trajectories, without calling the policy. */
  replay: z.boolean(),
  episodesPerSecond: z.number().optional(),
  settings: EvalSettingsSchema,
  versions: EvalVersionsSchema,
  /** A command line that reruns this evaluation. */
  rerun: z.string(),
  metrics: z.custom<EvalMetrics>(
    (v) => typeof v === 'object' && v !== null && (v as { format?: unknown }).format === 'toolgym.eval-metrics/1',
    {
      message: 'metrics must be a toolgym.eval-metrics/1 object',
    },
  ),
});
export type EvalRecord = z.infer<typeof EvalRecordSchema>;

export class EvalRecordError extends Error {
  override name = 'EvalRecordError';
}

/** JSON has no NaN: metrics that counted nothing are stored as null and read back as NaN. */
export function reviveNaN(value: unknown): unknown {
  if (value === null) return Number.NaN;
  if (Array.isArray(value)) return value.map(reviveNaN);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = reviveNaN(v);
    return out;
  }
  return value;
}

export function readEvalRecord(path: string): EvalRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new EvalRecordError(
      `cannot read ${path}: ${(err as Error).message}; point \`gym report\` at a folder written by \`gym eval\``,
    );
  }
  const obj = raw as Record<string, unknown>;
  const parsed = EvalRecordSchema.safeParse(
    typeof obj === 'object' && obj !== null ? { ...obj, metrics: reviveNaN(obj.metrics) } : raw,
  );
  if (!parsed.success) {
    throw new EvalRecordError(
      `${path} is not a toolgym eval record (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); rerun \`gym eval\` to regenerate it`,
    );
  }
  return parsed.data;
}
