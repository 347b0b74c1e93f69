/**
 * The run context: what every phase of a run works with (the run folder, config, environment, task
 * pools, model, tokenizer, optimizer, the runner the model runs on, and the typed run state), and
 * the few things every phase does the same way: write a metrics record, write a checkpoint, and end
 * in a stop or a divergence with a message that says how to go on.
 */
import { join } from 'node:path';
import type { EnvDefinition } from '../../envs/core/index.js';
import { NonFiniteError } from '../grpo/index.js';
import { type CheckpointTokenizer, type ModelRunner, saveCheckpoint, type Transformer } from '../model/index.js';
import type { AdamW } from '../optim/index.js';
import type { RunConfig } from './config.js';
import { appendJsonLine, commitRunFiles, METRICS_FILE } from './files.js';
import { type RunPhase, type RunState, runStateMeta } from './state.js';
import { type RunHooks, RunInterruptedError, type StepRecord } from './types.js';

/** What running episodes needs of a run: enough for the teacher before the model exists. */
export interface RunInfo {
  dir: string;
  cfg: RunConfig;
  def: EnvDefinition;
  runId: string;
  hooks: RunHooks;
}

/** A phase and a step of it: where a checkpoint stands. */
export interface RunPoint {
  phase: RunPhase;
  step: number;
}

export class RunContext implements RunInfo {
  readonly dir: string;
  readonly cfg: RunConfig;
  readonly def: EnvDefinition;
  readonly runId: string;
  readonly hooks: RunHooks;
  readonly trainIds: readonly string[];
  readonly testIds: readonly string[];
  /** Validation tasks of the periodic evaluations (empty: they use the test tasks). */
  readonly valIds: readonly string[];
  /** The tasks GRPO draws from: the train pool, or the RL query set once `phase-rl.ts` has built it. */
  rlIds: readonly string[];
  readonly model: Transformer;
  readonly tok: CheckpointTokenizer;
  readonly opt: AdamW;
  readonly runner: ModelRunner;
  /** Saved whole with every checkpoint; the phases read and write their slices of it. */
  readonly state: RunState;
  /** Where the run started in this process: the `last` checkpoint it resumed from, or sft 0. */
  readonly start: RunPoint;
  /** Whether this process resumed from a checkpoint (its files are the run's so far). */
  readonly resumed: boolean;
  /** A LoRA run's base checkpoint folder (its checkpoints hold the adapter and refer to it). */
  readonly loraBase: string | undefined;
  /** The `last` checkpoint on disk (what a resume would continue from); none before the first. */
  committed: RunPoint | undefined;
  private readonly t0: number;
  private readonly wallMsBefore: number;

  constructor(o: {
    info: RunInfo;
    trainIds: readonly string[];
    testIds: readonly string[];
    valIds?: readonly string[];
    model: Transformer;
    tok: CheckpointTokenizer;
    opt: AdamW;
    runner: ModelRunner;
    state: RunState;
    resumed: boolean;
    loraBase?: string;
    /** `performance.now()` when this process began the run. */
    startedAt: number;
  }) {
    ({ dir: this.dir, cfg: this.cfg, def: this.def, runId: this.runId, hooks: this.hooks } = o.info);
    this.trainIds = o.trainIds;
    this.testIds = o.testIds;
    this.valIds = o.valIds ?? [];
    this.rlIds = o.trainIds;
    this.model = o.model;
    this.tok = o.tok;
    this.opt = o.opt;
    this.runner = o.runner;
    this.state = o.state;
    this.resumed = o.resumed;
    this.loraBase = o.loraBase;
    this.start = { phase: o.state.phase, step: o.state.step };
    this.committed = o.resumed ? this.start : undefined;
    this.wallMsBefore = o.state.wallMs;
    this.t0 = o.startedAt;
  }

  note(text: string): void {
    this.hooks.onNote?.(text);
  }

  warn(text: string): void {
    warnVia(this.hooks, text);
  }

  get stopRequested(): boolean {
    return this.hooks.signal?.aborted === true;
  }

  /** SFT's last step: `sft.steps`, or the step a cold-start probe ended it at. */
  get sftEnd(): number {
    return this.state.sft.stoppedAt ?? this.cfg.sft.steps;
  }

  /** Wall time of the run so far, the processes before this one included. */
  elapsedMs(): number {
    return this.wallMsBefore + (performance.now() - this.t0);
  }

  /** Appends a metrics line and tells the caller. */
  record(r: StepRecord): void {
    appendJsonLine(join(this.dir, METRICS_FILE), { time: new Date().toISOString(), ...r });
    this.hooks.onRecord?.(r);
  }

  /**
   * Writes checkpoint `name` standing for `at`, with the run state. `last` commits the steps before
   * it: the state records the run files' lengths, and a resume continues from `at`.
   */
  async checkpoint(name: 'last' | 'sft' | 'final', at: RunPoint, withOptimizer: boolean): Promise<void> {
    await this.runner.syncHost(); // WebGPU: the host copies follow the device only when saved
    this.state.files = commitRunFiles(this.dir);
    this.state.wallMs = this.elapsedMs();
    const lora = this.runner.device?.lora;
    saveCheckpoint(
      join(this.dir, 'checkpoints', name),
      {
        model: this.model,
        tokenizer: this.tok,
        meta: runStateMeta(this.state, at),
        optimizer: withOptimizer ? this.opt : undefined,
        lora: this.loraBase && lora ? { adapter: lora.toPeft(), base: this.loraBase } : undefined,
      },
      { keepPrevious: name === 'last' },
    );
    if (name === 'last') {
      this.state.phase = at.phase;
      this.state.step = at.step;
      this.committed = at;
    }
  }

  /** The error a stop request ends the run with, saying what was kept and how to go on. */
  stopped(): RunInterruptedError {
    const kept = this.committed;
    return new RunInterruptedError(
      kept
        ? `stopped with ${kept.phase} step ${kept.step} checkpointed; continue with \`${this.command} --resume ${this.dir}\``
        : `stopped before the first checkpoint; \`${this.command} --resume ${this.dir}\` starts it over`,
    );
  }

  /** The command that resumes this run. */
  get command(): string {
    return this.cfg.distill.teacher ? 'gym distill' : 'gym train';
  }

  /** A NonFiniteError of a step, with where it happened and what the run kept; other errors as they are. */
  diverged(err: unknown, where: string): unknown {
    if (!(err instanceof NonFiniteError)) return err;
    const kept = this.committed;
    const last = kept
      ? `${join(this.dir, 'checkpoints', 'last')} (${kept.phase} step ${kept.step}) is the last good checkpoint`
      : 'no checkpoint was written yet';
    return new NonFiniteError(
      `${where}: ${err.message}. Training stopped; ${last}: to go on, set a lower rate in ${join(this.dir, 'config.json')} and run \`${this.command} --resume ${this.dir}\`, or start a new run with a lower --lr`,
    );
  }
}

/** A handled problem: to the caller's `onWarning`, else a process warning. */
export function warnVia(hooks: RunHooks, text: string): void {
  if (hooks.onWarning) hooks.onWarning(text);
  else process.emitWarning(text);
}

export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}
