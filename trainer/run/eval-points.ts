/**
 * Where each held-out `eval` record of a run's `metrics.jsonl` sits: on which training phase's steps,
 * at which step. The run report and the distillation curves (`phaseCurve`) both read them this way.
 *
 * A phase's periodic evaluation names its phase (`of`: `sft`, `grpo`, `distill`) and that phase's
 * step. The run's `before` evaluation (taken when SFT ends) is the last point of the SFT phase and
 * step 0 of the first RL phase; its `after` is the last step of the run's last phase. Records written
 * before evaluations said which they were (no `when`, no `of`) are read the old way: the last one is
 * the `after`, one at step 0 the `before`, the others the RL phase's (the SFT phase's in a run
 * without RL steps).
 */

export type TrainPhase = 'sft' | 'grpo' | 'distill';

export interface EvalPoint {
  phase: TrainPhase;
  step: number;
  success: number;
  /** `test`, or `val` for a validation split. */
  split: string;
}

/** The records' evaluations placed on their phases' steps, in record order (a later one at the same place wins). */
export function evalPoints(records: readonly Record<string, unknown>[]): EvalPoint[] {
  const trained = (['sft', 'grpo', 'distill'] as const).filter((p) => records.some((r) => r.phase === p));
  const lastStep = (p: TrainPhase) => records.reduce((m, r) => (r.phase === p ? Math.max(m, Number(r.step)) : m), 0);
  const lastPhase = trained.at(-1);
  const firstRl = trained.find((p) => p !== 'sft');
  const evals = records.filter((r) => r.phase === 'eval');
  const marked = evals.some((r) => r.when !== undefined || r.of !== undefined);
  const out: EvalPoint[] = [];
  evals.forEach((r, i) => {
    const at = (phase: TrainPhase | undefined, step: number) => {
      if (phase) out.push({ phase, step, success: Number(r.success), split: typeof r.split === 'string' ? r.split : 'test' });
    };
    const when = marked ? r.when : i === evals.length - 1 && i > 0 ? 'after' : Number(r.step) === 0 ? 'before' : undefined;
    if (when === 'after') at(lastPhase, lastPhase ? lastStep(lastPhase) : 0);
    else if (when === 'before') {
      if (trained.includes('sft')) at('sft', lastStep('sft'));
      at(firstRl, 0);
    } else if (marked) at(r.of as TrainPhase | undefined, Number(r.step));
    else at(firstRl ?? (trained.includes('sft') ? 'sft' : undefined), Number(r.step));
  });
  return out;
}
