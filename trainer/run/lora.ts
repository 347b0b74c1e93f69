/**
 * LoRA runs (`lora.rank` > 0): low-rank adapters train on the device beside the frozen base weights.
 *
 * The base is a checkpoint folder referenced by path, never copied into the run's checkpoints: the
 * `init` checkpoint (`gym distill --student <checkpoint>`, or `init` in a config file), or for a
 * fresh preset the preset's seeded weights, written once to `checkpoints/base/`. Every checkpoint of
 * the run (`last`, `sft`, `final`) holds the adapter in PEFT's layout (`adapter/`), the AdamW moments
 * of the adapter's tensors alone, and the base's path and identity (checkpoint.ts), so a resume
 * loads the base, attaches the saved adapter and its moments, and goes on bit for bit.
 */

import type { LoraAdapter } from '../model/hf/index.js';
import { type LoraOptions, loraDims, type ModelConfig, type ModelRunner } from '../model/index.js';
import { AdamW } from '../optim/index.js';
import { type LoraConfig, type RunConfig, RunConfigError } from './config.js';

/** What a LoRA run starts from: its base folder, and on a resume the saved adapter and moments. */
export interface LoraStart {
  base: string;
  adapter?: LoraAdapter;
  moments?: AdamW;
}

/** The adapter options of a run (undefined: full fine-tuning); throws RunConfigError when the model cannot take them. */
export function loraOptions(cfg: RunConfig, model: ModelConfig): LoraOptions | undefined {
  const { rank, alpha, targets } = cfg.lora;
  if (rank === 0) return undefined;
  const names = targets.split(',').map((t) => t.trim()) as LoraOptions['targets'][number][];
  let smallest = Number.POSITIVE_INFINITY;
  let which = '';
  for (const m of names) {
    const side = Math.min(...loraDims(model, m));
    if (side < smallest) [smallest, which] = [side, m];
  }
  if (rank >= smallest)
    throw new RunConfigError(
      `--lora-rank ${rank} is not below ${smallest}, the smaller side of ${which} in this model (dim ${model.dim}, ffn ${model.ffnDim}): a low-rank adapter needs r < ${smallest}; pick a smaller rank, or train every weight with --lora-rank 0`,
    );
  return { r: rank, alpha: alpha ?? 2 * rank, targets: [...new Set(names)] };
}

/** "rank 4, alpha 8, targets q_proj,..." */
export function describeLora(o: { r: number; alpha: number; targets: readonly string[] }): string {
  return `rank ${o.r}, alpha ${o.alpha}, targets ${[...o.targets].sort().join(',')}`;
}

/** Throws unless a saved adapter was trained with the run's settings (a resume with other LoRA settings). */
function checkSameLora(adapter: LoraAdapter, opts: LoraOptions, where: string): void {
  const saved = describeLora(adapter);
  const now = describeLora(opts);
  if (saved !== now || adapter.rslora)
    throw new RunConfigError(
      `cannot resume ${where} with LoRA ${now}: its adapter was trained with ${saved}; resume with the run's own settings (drop the --lora-* flags), or start a new run`,
    );
}

/**
 * Resuming with LoRA flags given on the command line: they must be the run's own (its config.json's
 * `lora`); a different rank, alpha or target set would not fit the saved adapter.
 */
export function checkResumeLoraFlags(saved: LoraConfig, flags: Partial<LoraConfig> | undefined, dir: string): void {
  if (!flags) return;
  const diff = (Object.keys(flags) as (keyof LoraConfig)[]).filter((k) => {
    const v = flags[k];
    if (v === undefined) return false;
    if (k === 'targets') return [...String(v).split(',')].sort().join() !== [...saved.targets.split(',')].sort().join();
    if (k === 'alpha') return v !== (saved.alpha ?? 2 * saved.rank);
    return v !== saved[k];
  });
  if (diff.length)
    throw new RunConfigError(
      `cannot resume ${dir} with ${diff.map((k) => `lora.${k} ${flags[k]}`).join(', ')}: the run was started with rank ${saved.rank}, alpha ${saved.alpha ?? 2 * saved.rank}, targets ${saved.targets}; resume without the --lora-* flags, or start a new run`,
    );
}

/**
 * Attaches the run's adapter to the runner's device model (new, seeded, or the resumed one) and
 * returns the optimizer over the adapter's tensors alone (the resumed moments when given).
 */
export function attachRunLora(runner: ModelRunner, cfg: RunConfig, start: LoraStart, where: string): AdamW {
  const opts = loraOptions(cfg, runner.config);
  const d = runner.device;
  if (!opts)
    throw new RunConfigError(`${where} holds a LoRA adapter but the run's config has lora.rank 0: restore its config.json`);
  if (!d) throw new RunConfigError('LoRA trains on a gpu/ device (cpu or webgpu); this runner has none');
  if (start.adapter) checkSameLora(start.adapter, opts, where);
  const lora = d.attachLora(opts, { seed: cfg.seed, adapter: start.adapter });
  const opt = new AdamW(lora.hostParams(), lora.shapes);
  if (start.moments) {
    for (const [name, m] of opt.m) {
      const sm = start.moments.m.get(name);
      const sv = start.moments.v.get(name);
      if (!sm || !sv || sm.length !== m.length)
        throw new RunConfigError(`${where}: the optimizer state has no moments for ${name}: it belongs to another adapter`);
      m.set(sm);
      (opt.v.get(name) as Float32Array).set(sv);
    }
    opt.step = start.moments.step;
  }
  return opt;
}
