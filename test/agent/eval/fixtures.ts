/**
 * Trajectory builders for the evaluator's tests: small, explicit episodes whose metrics can be
 * computed by hand.
 */
import type { ParseFailure, ToolExchange, Trajectory, Turn } from '../../../agent/types.js';

export function call(name: string, args: Record<string, unknown> = {}, isError = false): ToolExchange {
  return { name, arguments: args, result: isError ? 'Error: boom' : 'ok', isError, latencyMs: 1 };
}

export function fail(kind: ParseFailure['kind'], field?: string): ParseFailure {
  return field === undefined ? { kind, message: `${kind} failure` } : { kind, message: `${kind} failure`, field };
}

/** A turn; `raw` defaults to one `<tool_call>` block per call and per call-level failure. */
export function turn(p: Partial<Turn> & { calls?: ToolExchange[]; failures?: ParseFailure[] } = {}): Turn {
  const calls = p.calls ?? [];
  const failures = p.failures ?? [];
  const blocks = calls.length + failures.filter((f) => f.kind !== 'unbalanced_think' && f.kind !== 'empty_turn').length;
  const raw =
    p.raw ??
    (blocks > 0 ? Array.from({ length: blocks }, () => '<tool_call>\n{}\n</tool_call>').join('\n') : (p.answer ?? 'answer'));
  return {
    index: p.index ?? 0,
    raw,
    thinking: p.thinking,
    mode: p.mode ?? 'no_think',
    calls,
    failures,
    answer: p.answer,
    finishReason: p.finishReason ?? 'stop',
    budgetHit: p.budgetHit,
    generationMs: 1,
    completionTokens: p.completionTokens ?? 10,
  };
}

export interface EpisodeSpec {
  task?: string;
  family?: string;
  difficulty?: number;
  sample?: number;
  correct?: boolean;
  turns?: Turn[];
  ending?: Trajectory['ending'];
  reason?: string;
  error?: string;
  budget?: number;
  mode?: Trajectory['mode'];
}

export function episode(s: EpisodeSpec = {}): Trajectory {
  const turns = (s.turns ?? [turn({ answer: '42' })]).map((t, i) => ({ ...t, index: i }));
  const correct = s.correct ?? true;
  const calls = turns.reduce((n, t) => n + t.calls.length, 0);
  const invalid = turns.reduce((n, t) => n + t.failures.length, 0);
  const tokens = turns.reduce((n, t) => n + t.completionTokens, 0);
  const task = s.task ?? 'code-interp/compute.add/test/0';
  return {
    format: 'toolgym.trajectory/1',
    ids: {
      run: 'r',
      episode: `${task}#${s.sample ?? 0}`,
      group: task,
      task,
      family: s.family ?? task.split('/')[1] ?? 'f',
      difficulty: s.difficulty ?? 1,
      split: 'test',
      seed: 1,
      sample: s.sample ?? 0,
      env: 'code-interp',
      envVersion: '1.0.0',
      policy: 'oracle',
    },
    messages: [],
    turns,
    reward: correct ? 1 : 0,
    components: { correct: correct ? 1 : 0 },
    correct,
    ending: s.ending ?? 'terminated',
    reason: s.reason ?? (s.ending === 'aborted' ? 'error: crash' : s.ending === 'truncated' ? 'max_turns' : 'answer'),
    error: s.error,
    metrics: { turns: turns.length, toolCalls: calls, invalidCalls: invalid, completionTokens: tokens, wallMs: 5 },
    mode: s.mode ?? 'no_think',
    thinkingBudget: s.budget,
  };
}

/** n trials of one task, the first c of them correct. */
export function trials(task: string, n: number, c: number, extra: EpisodeSpec = {}): Trajectory[] {
  return Array.from({ length: n }, (_, i) => episode({ ...extra, task, sample: i, correct: i < c }));
}
