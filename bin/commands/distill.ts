/**
 * `gym distill --teacher <run or checkpoint> --student <preset or checkpoint> --env <id> [--steps N]
 * [--off-policy-steps N] [--loss reverse_kl|forward_kl|jsd|sampled] [--beta B] [--lr X]
 * [--decoding qwen3|full] [--temperature T] [--top-k K] [--top-p P]
 * [--device cpu] [--teacher-device cpu] [--config file.json] [--preset quick] [--resume runs/<id>]`:
 * strong-to-weak distillation of the built-in model. Off-policy phase (SFT on the teacher's verified
 * episodes in /think and /no_think), then on-policy (the student plays, the frozen teacher scores its
 * tokens), with the progress bar, checkpoints, metrics, summary (with FLOPs per phase) and interrupt
 * safety of `gym train`.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadEnvModules } from '../../envs/index.js';
import { MODEL_PRESETS, registerBuiltinPolicy } from '../../trainer/model/index.js';
import {
  distill,
  evalCommand,
  RunConfigError,
  readRunConfig,
  resolveRunConfig,
  resolveTeacherDir,
} from '../../trainer/run/index.js';
import { addEnvOptions, runEnvironment } from './env-options.js';
import {
  collect,
  computeLines,
  flops,
  loraFlags,
  loraLines,
  loraOptions,
  num,
  type RunFlags,
  runWithProgress,
} from './run-progress.js';

interface DistillFlags extends RunFlags {
  env?: string;
  teacher?: string;
  student?: string;
  steps?: number;
  offPolicySteps?: number;
  offPolicyLr?: number;
  loss?: string;
  beta?: number;
  lr?: number;
  decoding?: string;
  temperature?: number;
  topK?: number;
  topP?: number;
  teacherDevice?: string;
}

/** `--student`: a preset name, or a checkpoint folder (a run folder means its checkpoints/final). */
function studentFlags(student: string | undefined): Record<string, unknown> {
  if (student === undefined) return {};
  if (student in MODEL_PRESETS) return { model: student };
  // `builtin:<folder>`, as a policy spec names it
  if (student.startsWith('builtin:')) student = student.slice('builtin:'.length).split('#')[0];
  if (!existsSync(student))
    throw new RunConfigError(
      `--student ${student}: neither a preset (${Object.keys(MODEL_PRESETS).join(', ')}) nor a folder: pass a preset or runs/<id>[/checkpoints/<name>]`,
    );
  return { init: resolveTeacherDir(student) };
}

export function register(program: Command): void {
  const cmd = loraOptions(
    program
      .command('distill')
      .description(
        "Distill a teacher into the built-in student: SFT on the teacher's episodes, then on-policy KL; writes runs/<id>/",
      )
      .option('--teacher <dir>', 'teacher: a finished run folder (runs/<id>) or a checkpoint folder')
      .option(
        '--student <preset|dir>',
        "student: a model preset (nano | micro | mini), or a checkpoint or Hugging Face folder (with --lora-rank) with the teacher's tokenizer",
      )
      .option('--env <id>', 'environment id', undefined)
      .option('--steps <n>', 'on-policy distillation steps', num('steps'))
      .option('--off-policy-steps <n>', "SFT steps on the teacher's episodes", num('off-policy-steps'))
      .option(
        '--off-policy-lr <x>',
        "SFT learning rate on the teacher's episodes (default 1e-3 for a checkpoint student, 3e-3 for a preset)",
        num('off-policy-lr'),
      )
      .option('--loss <type>', 'per-token loss: reverse_kl | forward_kl | jsd | sampled')
      .option('--beta <b>', "JSD's teacher weight in the mixture", num('beta'))
      .option('--lr <x>', 'on-policy learning rate', num('lr'))
      .option('--decoding <kind>', "student's on-policy sampling: qwen3 (the evaluation's, per mode) | full (T 1, untruncated)")
      .option('--temperature <t>', 'student sampling temperature, both modes (overrides --decoding)', num('temperature'))
      .option('--top-k <k>', 'student sampling top-k, both modes, 0 off (overrides --decoding)', num('top-k'))
      .option('--top-p <p>', 'student sampling top-p, both modes, 1 off (overrides --decoding)', num('top-p'))
      .option('--device <kind>', 'where the student runs: cpu | webgpu | auto')
      .option('--teacher-device <kind>', "where the teacher runs (default: the student's device)")
      .option('--seed <n>', 'run seed', num('seed'))
      .option('--config <file>', 'JSON run config (unknown keys are an error)')
      .option('--preset <name>', 'run preset: default | quick')
      .option('--resume <dir>', 'continue a run folder from its last checkpoint')
      .option('--out <dir>', 'folder for runs/<id>/'),
  )
    .option('--no-progress', 'no progress bar')
    .option('--env-module <path>', 'also load environments exported by this module (repeatable)', collect, [])
    .action(async (o: DistillFlags) => {
      await loadEnvModules(o.envModule);
      registerBuiltinPolicy();
      if (!o.teacher && !o.resume)
        throw new RunConfigError('gym distill needs --teacher <run or checkpoint folder> (or --resume runs/<id>)');
      const file = o.config ? (JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>) : undefined;
      const student = studentFlags(o.student);
      const d: Record<string, unknown> = {
        teacher: o.teacher === undefined ? undefined : resolveTeacherDir(o.teacher),
        teacherDevice: o.teacherDevice,
        steps: o.steps,
        loss: o.loss,
        beta: o.beta,
        lr: o.lr,
        decoding: o.decoding,
        temperature: o.temperature,
        topK: o.topK,
        topP: o.topP,
      };
      const flags: Record<string, unknown> = {
        env: o.env,
        model: student.model,
        init: student.init,
        device: o.device,
        seed: o.seed,
        out: o.out,
        distill: d,
      };
      if (o.offPolicySteps !== undefined || o.offPolicyLr !== undefined)
        flags.sft = { steps: o.offPolicySteps, lr: o.offPolicyLr };
      const lora = loraFlags(o);
      if (lora) flags.lora = lora;
      const { def, options } = runEnvironment(o, resolveRunConfig({ preset: o.preset, file, flags, distill: true }).env);
      const cfg = resolveRunConfig({ preset: o.preset, file, flags: { ...flags, envOptions: options }, distill: true });
      const out = await runWithProgress('distill', o, (hooks) => distill(def, cfg, { resume: o.resume, hooks, lora }));
      if (!out) return;
      const { dir, summary } = out;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      const mode = (m: 'think' | 'no_think') => {
        const e = summary.after.byMode[m];
        return e ? `${m} ${pct(e.success)} (compliance ${pct(e.compliance)})` : `${m} -`;
      };
      process.stdout.write(
        [
          `Run ${summary.runId}: student ${summary.model} (${summary.params} parameters) from teacher ${summary.distill?.teacher} (${summary.distill?.teacherParams} parameters) on ${summary.env}`,
          `  held-out success: ${pct(summary.before.success)} after off-policy -> ${pct(summary.after.success)} after on-policy ${summary.distill?.loss} (${summary.improvement >= 0 ? '+' : ''}${(100 * summary.improvement).toFixed(1)} points)`,
          `  by mode after: ${mode('no_think')}, ${mode('think')}`,
          `  wall time ${(summary.wallMs.total / 1000).toFixed(0)} s; total ${flops(summary.compute.total.studentFlops + summary.compute.total.teacherFlops)}`,
          ...computeLines(summary),
          `  results: ${dir} (summary.json, metrics.jsonl, checkpoints/final, trajectories/)`,
          `  try it:  ${evalCommand(readRunConfig(dir), summary.checkpoints.final, { envModules: o.envModule })}`,
          ...loraLines(summary),
          '',
        ].join('\n'),
      );
    });
  addEnvOptions(cmd);
}
