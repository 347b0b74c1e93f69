/**
 * The teacher of a distillation run (`cfg.distill.teacher`): its checkpoint folder, the frozen model
 * on its device, the student's start (a checkpoint, or a fresh preset on the teacher's tokenizer:
 * the two must share one), and the teacher's own episodes, which become the off-policy data.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Trajectory } from '../../agent/index.js';
import { mixSeed } from '../../tools/index.js';
import { BuiltinPolicy, CheckpointError, type CheckpointTokenizer, loadCheckpoint, ModelRunner } from '../model/index.js';
import { ByteTokenizer } from '../tokenizer/index.js';
import { type RunConfig, RunConfigError } from './config.js';
import type { RunInfo } from './context.js';
import { demonstrations } from './episodes.js';
import { evalSampling } from './evaluate.js';

/** Teacher and student tokenizers differ: distillation compares their distributions id by id. */
export class TokenizerMismatchError extends Error {
  override name = 'TokenizerMismatchError';
}

/** A run folder (its checkpoints/final) or a checkpoint folder, as an absolute checkpoint path. */
export function resolveTeacherDir(path: string): string {
  const p = resolve(path);
  const final = join(p, 'checkpoints', 'final');
  if (existsSync(join(final, 'config.json'))) return final;
  if (existsSync(join(p, 'config.json')) && !existsSync(join(p, 'summary.json')) && !existsSync(join(p, 'checkpoints'))) return p;
  throw new CheckpointError(
    `no teacher at ${path}: pass a finished run folder (runs/<id>, with checkpoints/final) or a checkpoint folder (runs/<id>/checkpoints/<name>)`,
  );
}

function sameTokenizer(a: CheckpointTokenizer, b: ByteTokenizer): boolean {
  if (!(a instanceof ByteTokenizer)) return false;
  return a.vocabSize === b.vocabSize && JSON.stringify(a.toJSON()) === JSON.stringify(b.toJSON());
}

/** Throws TokenizerMismatchError unless the student's tokenizer is the teacher's. */
export function checkSameTokenizer(student: CheckpointTokenizer, teacher: Teacher, studentWhere: string): void {
  if (!sameTokenizer(student, teacher.tok))
    throw new TokenizerMismatchError(
      `the student ${studentWhere} and the teacher ${teacher.dir} have different tokenizers (${student.vocabSize} and ${teacher.tok.vocabSize} ids, or other merges): distillation compares their distributions id by id, so start the student from a preset (--student nano) or from a checkpoint trained with the teacher's tokenizer`,
    );
}

/** The frozen teacher of a run: its model on its device, its tokenizer and size. */
export interface Teacher {
  dir: string;
  runner: ModelRunner;
  tok: ByteTokenizer;
  params: number;
}

export async function openTeacher(cfg: RunConfig): Promise<Teacher> {
  const dir = cfg.distill.teacher;
  if (!dir) throw new RunConfigError('a distillation run needs a teacher (distill.teacher, `gym distill --teacher`)');
  const ck = loadCheckpoint(dir, { grads: false }); // frozen: no gradients
  const runner = await ModelRunner.create(ck.model, cfg.distill.teacherDevice ?? cfg.device);
  return { dir, runner, tok: ck.tokenizer, params: ck.model.numParams };
}

/**
 * The teacher's episodes on `taskIds` in one mode, sampled as its held-out evaluation samples
 * (Qwen3's settings per mode) and seeded by the run: the off-policy data before filtering.
 */
export async function teacherPlays(
  run: RunInfo,
  teacher: Teacher,
  taskIds: readonly string[],
  mode: 'think' | 'no_think',
): Promise<Trajectory[]> {
  if (taskIds.length === 0) return [];
  const policy = new BuiltinPolicy(teacher.runner, teacher.tok, {
    sampling: evalSampling(run.cfg.evalDecoding, mode),
    seed: mixSeed(run.cfg.seed, 'teacher', mode),
    spec: `builtin:${teacher.dir}`,
  });
  try {
    return await demonstrations(run, policy, taskIds, mode);
  } finally {
    policy.resetCache();
  }
}
