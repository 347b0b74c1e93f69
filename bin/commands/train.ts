/**
 * `gym train --env code-interp [--model nano] [--steps N] [--group-size G] [--lr X] [--loss dapo]
 * [--device cpu] [--config file.json] [--preset quick] [--resume runs/<id>] [--out runs/]`:
 * cold-start SFT then GRPO on the built-in model, with a progress bar, checkpoints, metrics and a
 * summary in runs/<id>/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadEnvModules } from '../../envs/index.js';
import { MODEL_PRESETS, registerBuiltinPolicy } from '../../trainer/model/index.js';
import { evalCommand, RunConfigError, readRunConfig, resolveRunConfig, train } from '../../trainer/run/index.js';
import { addEnvOptions, runEnvironment } from './env-options.js';
import { collect, computeLines, loraFlags, loraLines, loraOptions, num, type RunFlags, runWithProgress } from './run-progress.js';

interface TrainFlags extends RunFlags {
  env?: string;
  model?: string;
  steps?: number;
  sftSteps?: number;
  groupSize?: number;
  lr?: number;
  loss?: string;
}

/** `--model`: a preset, or `[builtin:]<folder>` (a Hugging Face Qwen3 folder or a checkpoint) to start from. */
function modelFlags(model: string | undefined): Record<string, unknown> {
  if (model === undefined) return {};
  if (model in MODEL_PRESETS) return { model };
  const dir = model.startsWith('builtin:') ? model.slice('builtin:'.length).split('#')[0] : model;
  if (!existsSync(join(dir, 'config.json')))
    throw new RunConfigError(
      `--model ${model}: neither a preset (${Object.keys(MODEL_PRESETS).join(', ')}) nor a model folder with a config.json: pass a preset, builtin:/path/to/Qwen3-folder or runs/<id>/checkpoints/<name>`,
    );
  return { init: dir };
}

export function register(program: Command): void {
  const trainCmd = loraOptions(
    program
      .command('train')
      .description('Train the built-in model: cold-start SFT on oracle traces, then GRPO; writes runs/<id>/')
      .option('--env <id>', 'environment id', undefined)
      .option(
        '--model <preset|folder>',
        'model size: nano | micro | mini, or a checkpoint to start from: builtin:<Hugging Face Qwen3 folder> (with --lora-rank) or runs/<id>/checkpoints/<name>',
      )
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
      .option('--out <dir>', 'folder for runs/<id>/'),
  )
    .option('--no-progress', 'no progress bar')
    .option('--env-module <path>', 'also load environments exported by this module (repeatable)', collect, [])
    .action(async (o: TrainFlags) => {
      await loadEnvModules(o.envModule);
      registerBuiltinPolicy();
      const file = o.config ? (JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>) : undefined;
      const flags: Record<string, unknown> = { env: o.env, ...modelFlags(o.model), device: o.device, seed: o.seed, out: o.out };
      const grpo: Record<string, unknown> = { steps: o.steps, groupSize: o.groupSize, lr: o.lr, loss: o.loss };
      if (Object.values(grpo).some((v) => v !== undefined)) flags.grpo = grpo;
      if (o.sftSteps !== undefined) flags.sft = { steps: o.sftSteps };
      const lora = loraFlags(o);
      if (lora) flags.lora = lora;
      const { def, options } = runEnvironment(o, resolveRunConfig({ preset: o.preset, file, flags }).env);
      flags.envOptions = options;
      let cfg = resolveRunConfig({ preset: o.preset, file, flags });
      if (o.taskFile !== undefined) {
        // A user's task file is what to train on: every family the environment now has (the file's),
        // at any difficulty, unless the config file chose otherwise.
        const own = { families: def.families.map((f) => f.name).join(','), maxDifficulty: 5 };
        cfg = resolveRunConfig({ preset: o.preset, file, flags: { ...own, ...file, ...flags } });
      }
      const out = await runWithProgress('train', o, (hooks) => train(def, cfg, { resume: o.resume, hooks, lora }));
      if (!out) return;
      const { dir, summary } = out;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      process.stdout.write(
        [
          `Run ${summary.runId}: ${summary.model} (${summary.params} parameters, vocabulary ${summary.vocabSize}) on ${summary.env}`,
          `  held-out success: ${pct(summary.before.success)} after cold start -> ${pct(summary.after.success)} after GRPO (${summary.improvement >= 0 ? '+' : ''}${(100 * summary.improvement).toFixed(1)} points)`,
          `  tool-call validity after GRPO: ${pct(summary.after.validity)}`,
          `  wall time ${(summary.wallMs.total / 1000).toFixed(0)} s; ${summary.tokensPerSecond.toFixed(0)} tokens/s through forward+backward`,
          ...computeLines(summary),
          `  results: ${dir} (report.html, summary.json, metrics.jsonl, checkpoints/final, trajectories/)`,
          `  try it:  ${evalCommand(readRunConfig(dir), summary.checkpoints.final, { envModules: o.envModule })}`,
          ...loraLines(summary),
          '',
        ].join('\n'),
      );
    });
  addEnvOptions(trainCmd);
}
