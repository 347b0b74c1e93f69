/**
 * `gym train --env code-interp [--model nano] [--steps N] [--group-size G] [--lr X] [--loss dapo]
 * [--device cpu] [--config file.json] [--preset quick] [--resume runs/<id>] [--out runs/]`:
 * cold-start SFT then GRPO on the built-in model, with a progress bar, checkpoints, metrics and a
 * summary in runs/<id>/.
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadEnvModules } from '../../envs/index.js';
import { registerBuiltinPolicy } from '../../trainer/model/index.js';
import { RunConfigError, RunInterruptedError, resolveRunConfig, type StepRecord, train } from '../../trainer/run/index.js';
import { addEnvOptions, type EnvOptionFlags, envFromFlags } from './env-options.js';

interface TrainFlags extends EnvOptionFlags {
  env?: string;
  model?: string;
  steps?: number;
  sftSteps?: number;
  groupSize?: number;
  lr?: number;
  loss?: string;
  device?: string;
  seed?: number;
  config?: string;
  preset?: string;
  resume?: string;
  out?: string;
  progress?: boolean;
  envModule: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new RunConfigError(`--${name} must be a number, got "${v}"`);
    return n;
  };
}

function fmt(x: unknown, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

export function register(program: Command): void {
  const trainCmd = program
    .command('train')
    .description('Train the built-in model: cold-start SFT on oracle traces, then GRPO; writes runs/<id>/')
    .option('--env <id>', 'environment id', undefined)
    .option('--model <preset>', 'model size: nano | micro | mini')
    .option('--steps <n>', 'GRPO steps', num('steps'))
    .option('--sft-steps <n>', 'cold-start SFT steps', num('sft-steps'))
    .option('--group-size <n>', 'GRPO group size G', num('group-size'))
    .option('--lr <x>', 'GRPO learning rate', num('lr'))
    .option('--loss <type>', 'loss aggregation: grpo | bnpo | dr_grpo | dapo')
    .option('--device <kind>', 'where the model runs: cpu | webgpu | auto')
    .option('--seed <n>', 'run seed', num('seed'))
    .option('--config <file>', 'JSON run config (unknown keys are an error)')
    .option('--preset <name>', 'run preset: default | quick | learn (the recipe of bench/learn.ts --recipe)')
    .option('--resume <dir>', 'continue a run folder from its last checkpoint')
    .option('--out <dir>', 'folder for runs/<id>/')
    .option('--no-progress', 'no progress bar')
    .option('--env-module <path>', 'also load environments exported by this module (repeatable)', collect, [])
    .action(async (o: TrainFlags) => {
      await loadEnvModules(o.envModule);
      registerBuiltinPolicy();
      const file = o.config ? (JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>) : undefined;
      const flags: Record<string, unknown> = { env: o.env, model: o.model, device: o.device, seed: o.seed, out: o.out };
      const grpo: Record<string, unknown> = { steps: o.steps, groupSize: o.groupSize, lr: o.lr, loss: o.loss };
      if (Object.values(grpo).some((v) => v !== undefined)) flags.grpo = grpo;
      if (o.sftSteps !== undefined) flags.sft = { steps: o.sftSteps };
      let cfg = resolveRunConfig({ preset: o.preset, file, flags });
      const def = envFromFlags(cfg.env, o);
      if (o.taskFile !== undefined) {
        // A user's task file is what to train on: every family the environment now has (the file's),
        // at any difficulty, unless the config file chose otherwise.
        const own = { families: def.families.map((f) => f.name).join(','), maxDifficulty: 5 };
        cfg = resolveRunConfig({ preset: o.preset, file, flags: { ...own, ...file, ...flags } });
      }
      const tty = o.progress !== false && process.stderr.isTTY;
      const bar = tty
        ? new cliProgress.SingleBar(
            {
              format:
                ' {phase} {bar} {value}/{total} | reward {reward} | KL {kl} | H {entropy} | {tps} tok/s | ETA {eta_formatted}',
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
      // First SIGINT/SIGTERM: finish the step under way, checkpoint, stop. Second: quit at once. Either
      // way the run folder holds only whole steps (a step counts once its checkpoint is written).
      const ac = new AbortController();
      let runDir = o.resume;
      let exitCode = 0;
      const onSig = (sig: NodeJS.Signals) => {
        bar?.stop();
        const again = sig === 'SIGINT' ? 'Ctrl-C' : `${sig}`;
        if (!ac.signal.aborted) {
          exitCode = sig === 'SIGTERM' ? 143 : 130;
          ac.abort();
          process.stderr.write(`\ngym train: ${sig}: stopping after the current step (${again} again to quit at once)\n`);
          return;
        }
        const resume = runDir ? `continue with \`gym train --resume ${runDir}\`` : 'the run had not started';
        process.stderr.write(`gym train: ${sig} again: quitting now, dropping the step under way; ${resume}\n`);
        process.exit(exitCode);
      };
      process.on('SIGINT', onSig);
      process.on('SIGTERM', onSig);
      try {
        const { dir, summary } = await train(def, cfg, {
          resume: o.resume,
          hooks: {
            signal: ac.signal,
            onDir: (d) => {
              runDir = d;
            },
            onWarning: (s) => process.stderr.write(`${bar ? '\n' : ''}gym train: warning: ${s}\n`),
            onStart: (total, already) => {
              done = already;
              bar?.start(total, already, payload);
            },
            onNote: (s) => {
              payload.phase = s.split(' ')[0];
              log(`gym train: ${s}`);
            },
            onRecord: (r: StepRecord) => {
              if (r.phase === 'eval') {
                log(`gym train: held-out success ${fmt(r.success)} (validity ${fmt(r.validity)}) at GRPO step ${r.step}`);
                return;
              }
              if (r.phase === 'rl-set') {
                log(`gym train: RL query set: ${r.kept} of ${r.candidates} candidate tasks kept`);
                return;
              }
              if (r.phase === 'probe') {
                log(`gym train: cold-start probe at SFT step ${r.step}: train-task success ${fmt(r.success)}`);
                return;
              }
              done++;
              payload.phase = r.phase;
              payload.reward = r.phase === 'grpo' ? fmt(r.reward) : `loss ${fmt(r.loss)}`;
              payload.kl = fmt(r.kl, 4);
              payload.entropy = fmt(r.entropy, 2);
              payload.tps = fmt(r.tokensPerSecond, 0);
              if (bar) bar.update(done, { ...payload });
              else
                process.stderr.write(
                  `${r.phase} ${r.step}: ${r.phase === 'grpo' ? `reward ${fmt(r.reward)} success ${fmt(r.success)} KL ${payload.kl} H ${payload.entropy}` : `loss ${fmt(r.loss)}`} ${payload.tps} tok/s\n`,
                );
            },
          },
        });
        bar?.stop();
        const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
        process.stdout.write(
          [
            `Run ${summary.runId}: ${summary.model} (${summary.params} parameters, vocabulary ${summary.vocabSize}) on ${summary.env}`,
            `  held-out success: ${pct(summary.before.success)} after cold start -> ${pct(summary.after.success)} after GRPO (${summary.improvement >= 0 ? '+' : ''}${(100 * summary.improvement).toFixed(1)} points)`,
            `  tool-call validity after GRPO: ${pct(summary.after.validity)}`,
            `  wall time ${(summary.wallMs.total / 1000).toFixed(0)} s; ${summary.tokensPerSecond.toFixed(0)} tokens/s through forward+backward`,
            `  results: ${dir} (report.html, summary.json, metrics.jsonl, checkpoints/final, trajectories/)`,
            `  try it:  gym eval --env ${summary.env} --policy builtin:${summary.checkpoints.final}`,
            '',
          ].join('\n'),
        );
      } catch (err) {
        if (!(err instanceof RunInterruptedError)) throw err;
        bar?.stop();
        process.stderr.write(`gym train: ${err.message}\n`);
        process.exitCode = exitCode || 130;
      } finally {
        bar?.stop();
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
      }
    });
  addEnvOptions(trainCmd);
}
