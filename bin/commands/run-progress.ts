/**
 * What `gym train` and `gym distill` share around a run: the progress bar (rate and ETA), the log
 * lines without a terminal, and interrupt safety (first SIGINT/SIGTERM: finish the step under way,
 * checkpoint, exit 130/143 with the command that resumes; second: quit at once; either way the run
 * folder holds only whole steps). The run itself is trainer/run's.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { RunConfigError, type RunHooks, RunInterruptedError, type RunSummary, type StepRecord } from '../../trainer/run/index.js';
import type { EnvOptionFlags } from './env-options.js';

export function fmt(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** The record's headline for the bar and the log: reward for GRPO, divergence for distillation, loss for SFT. */
function headline(r: StepRecord): string {
  if (r.phase === 'grpo') return fmt(r.reward);
  if (r.phase === 'distill') return `D ${fmt(r.divergence, 4)}`;
  return `loss ${fmt(r.loss)}`;
}

/**
 * Runs `run` with the bar and the signal handling; prints nothing on success (the caller prints its
 * summary). Returns undefined when the run was stopped (exit status set).
 */
export async function runWithProgress(
  command: 'train' | 'distill',
  o: { progress?: boolean; resume?: string },
  run: (hooks: RunHooks) => Promise<{ dir: string; summary: RunSummary }>,
): Promise<{ dir: string; summary: RunSummary } | undefined> {
  const tty = o.progress !== false && process.stderr.isTTY;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: ' {phase} {bar} {value}/{total} | reward {reward} | KL {kl} | H {entropy} | {tps} tok/s | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 8,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let done = 0;
  const payload = { phase: 'setup', reward: '-', kl: '-', entropy: '-', tps: '-' };
  const log = (s: string) => {
    if (bar) bar.update(done, { ...payload });
    else process.stderr.write(`${s}\n`);
  };
  const ac = new AbortController();
  let runDir = o.resume;
  let exitCode = 0;
  const onSig = (sig: NodeJS.Signals) => {
    bar?.stop();
    const again = sig === 'SIGINT' ? 'Ctrl-C' : `${sig}`;
    if (!ac.signal.aborted) {
      exitCode = sig === 'SIGTERM' ? 143 : 130;
      ac.abort();
      process.stderr.write(`\ngym ${command}: ${sig}: stopping after the current step (${again} again to quit at once)\n`);
      return;
    }
    const resume = runDir ? `continue with \`gym ${command} --resume ${runDir}\`` : 'the run had not started';
    process.stderr.write(`gym ${command}: ${sig} again: quitting now, dropping the step under way; ${resume}\n`);
    process.exit(exitCode);
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  try {
    const out = await run({
      signal: ac.signal,
      onDir: (d) => {
        runDir = d;
      },
      onWarning: (s) => process.stderr.write(`${bar ? '\n' : ''}gym ${command}: warning: ${s}\n`),
      onStart: (total, already) => {
        done = already;
        bar?.start(total, already, payload);
      },
      onNote: (s) => {
        payload.phase = s.split(' ')[0];
        log(`gym ${command}: ${s}`);
      },
      onRecord: (r: StepRecord) => {
        if (r.phase === 'eval') {
          log(`gym ${command}: held-out success ${fmt(r.success)} (validity ${fmt(r.validity)}) at step ${r.step}`);
          return;
        }
        if (r.phase === 'rl-set') {
          log(`gym ${command}: RL query set: ${r.kept} of ${r.candidates} candidate tasks kept`);
          return;
        }
        if (r.phase === 'probe') {
          log(`gym ${command}: cold-start probe at SFT step ${r.step}: train-task success ${fmt(r.success)}`);
          return;
        }
        done++;
        payload.phase = r.phase;
        payload.reward = headline(r);
        payload.kl = fmt(r.kl, 4);
        payload.entropy = fmt(r.entropy, 2);
        payload.tps = fmt(r.tokensPerSecond, 0);
        if (bar) bar.update(done, { ...payload });
        else {
          const detail =
            r.phase === 'grpo'
              ? `reward ${fmt(r.reward)} success ${fmt(r.success)} KL ${payload.kl} H ${payload.entropy}`
              : r.phase === 'distill'
                ? `divergence ${fmt(r.divergence, 4)} success ${fmt(r.success)}`
                : `loss ${fmt(r.loss)}`;
          process.stderr.write(`${r.phase} ${r.step}: ${detail} ${payload.tps} tok/s\n`);
        }
      },
    });
    bar?.stop();
    return out;
  } catch (err) {
    if (!(err instanceof RunInterruptedError)) throw err;
    bar?.stop();
    process.stderr.write(`gym ${command}: ${err.message}\n`);
    process.exitCode = exitCode || 130;
    return undefined;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}

/** "1.23e12 FLOPs": a compute figure for people. */
export function flops(x: number): string {
  return `${x.toExponential(2)} FLOPs`;
}

/** The compute lines of a run's printed summary. */
export function computeLines(s: RunSummary): string[] {
  const c = s.compute;
  const phase = (name: string, p: RunSummary['compute']['sft']) =>
    `    ${name}: student ${flops(p.studentFlops)}, teacher ${flops(p.teacherFlops)}, ${(p.wallMs / 1000).toFixed(0)} s`;
  return [
    '  compute (model FLOPs: forward 2P per token, backward 2x forward; evaluations not counted):',
    phase('sft', c.sft),
    ...(c.grpo.studentFlops > 0 ? [phase('grpo', c.grpo)] : []),
    ...(c.distill.studentFlops > 0 ? [phase('distill', c.distill)] : []),
    phase('total', c.total),
  ];
}

/** The flags `gym train` and `gym distill` both take (besides the environment's). */
export interface RunFlags extends EnvOptionFlags {
  device?: string;
  seed?: number;
  config?: string;
  preset?: string;
  resume?: string;
  out?: string;
  progress?: boolean;
  envModule: string[];
  loraRank?: number;
  loraAlpha?: number;
  loraTargets?: string;
}

/** Commander's collector for a repeatable flag. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Commander's parser for a numeric flag: a clear error naming the flag. */
export function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new RunConfigError(`--${name} must be a number, got "${v}"`);
    return n;
  };
}

/** The flags that choose LoRA training (`loraFlags` reads them back). */
export function loraOptions(cmd: Command): Command {
  return cmd
    .option(
      '--lora-rank <r>',
      'train rank-r LoRA adapters on the frozen weights instead of every weight (0: full fine-tuning)',
      num('lora-rank'),
    )
    .option('--lora-alpha <a>', 'LoRA alpha: the adapter is scaled by alpha / r (default 2 r)', num('lora-alpha'))
    .option(
      '--lora-targets <list>',
      'projections that get adapters (default q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)',
    );
}

/** The `lora` part of a run config from `--lora-rank`, `--lora-alpha`, `--lora-targets` (undefined: none given). */
export function loraFlags(o: {
  loraRank?: number;
  loraAlpha?: number;
  loraTargets?: string;
}): { rank?: number; alpha?: number; targets?: string } | undefined {
  const lora = { rank: o.loraRank, alpha: o.loraAlpha, targets: o.loraTargets };
  return Object.values(lora).some((v) => v !== undefined)
    ? Object.fromEntries(Object.entries(lora).filter(([, v]) => v !== undefined))
    : undefined;
}

/** A LoRA run's lines of the printed summary: the adapter folder and how to load it. */
export function loraLines(s: RunSummary): string[] {
  const l = s.lora;
  if (!l) return [];
  return [
    `  LoRA adapter (rank ${l.rank}, alpha ${l.alpha}, ${l.trainableParams} trainable parameters; PEFT format): ${l.adapter}`,
    `    on its base ${l.base}: builtin:${l.base}#adapter=${l.adapter}; merged weights: gym export ${s.checkpoints.final} <out>`,
  ];
}
