/**
 * Opening a run: its folder (new, with the resolved config written, or an existing one whose
 * config is read back), then its model, tokenizer, optimizer and run state, either restored from
 * the `last` checkpoint (the run files cut back to what it committed) or made fresh (whatever an
 * earlier attempt under this id wrote is cleared).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isHfFolder, loadHfQwen3 } from '../model/hf/index.js';
import {
  type CheckpointTokenizer,
  loadAnyCheckpoint,
  loadCheckpoint,
  loadLatestCheckpoint,
  presetConfig,
  saveCheckpoint,
  Transformer,
} from '../model/index.js';
import { AdamW } from '../optim/index.js';
import { type ByteTokenizer, HfTokenizer } from '../tokenizer/index.js';
import { type LoraConfig, type RunConfig, RunConfigError, RunConfigSchema } from './config.js';
import { type RunInfo, warnVia } from './context.js';
import { buildTokenizer } from './episodes.js';
import { clearRunFiles, restoreRunFiles, trimMetricsToStep } from './files.js';
import { checkResumeLoraFlags, type LoraStart } from './lora.js';
import { initialRunState, type RunState, readRunState } from './state.js';

/** Writes JSON whole: a reader sees the old or the new file (rename is atomic on one filesystem). */
export function writeJson(path: string, data: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 1)}\n`);
  renameSync(tmp, path);
}

/**
 * A run folder's resolved config (`config.json`): what the run trained with, whatever flags a later
 * command is given. `what` opens the error (a missing or invalid file is a RunConfigError).
 */
export function readRunConfig(dir: string, what = 'cannot read'): RunConfig {
  const p = join(dir, 'config.json');
  if (!existsSync(p))
    throw new RunConfigError(`${what} ${dir}: it has no config.json (pass a runs/<id> folder written by \`gym train\`)`);
  const r = RunConfigSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
  if (!r.success) throw new RunConfigError(`${what} ${dir}: its config.json is invalid (${r.error.issues[0]?.message})`);
  return r.data;
}

/** The run folder and its config: `resume` reads the folder's config back; otherwise a new folder. */
export function openRunFolder(
  cfgIn: RunConfig,
  /** `lora`: the --lora-* flags given with --resume, which must be the run's own. */
  opts: { resume?: string; runId?: string; lora?: Partial<LoraConfig> },
): { dir: string; cfg: RunConfig } {
  let cfg = cfgIn;
  let dir: string;
  if (opts.resume) {
    dir = opts.resume;
    cfg = readRunConfig(dir, 'cannot resume');
    checkResumeLoraFlags(cfg.lora, opts.lora, dir);
  } else {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    dir = join(cfg.out, opts.runId ?? `${cfg.env}-${cfg.model}-${stamp}`);
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, 'config.json'), cfg);
  }
  mkdirSync(join(dir, 'trajectories'), { recursive: true });
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  return { dir, cfg };
}

/**
 * A new run's model and tokenizer: the `init` checkpoint's, or a fresh `model` preset on the
 * teacher's tokenizer, the `tokenizer` checkpoint's, or merges learned from the train tasks'
 * template text.
 */
async function freshModel(
  run: RunInfo,
  trainIds: readonly string[],
  teacherTok?: ByteTokenizer,
): Promise<{ model: Transformer; tok: CheckpointTokenizer; base?: string }> {
  const { cfg } = run;
  // a LoRA run's base stays frozen: no weight gradients (the memory a large base cannot spare)
  const lora = cfg.lora.rank > 0;
  if (cfg.init && isHfFolder(cfg.init)) {
    if (!lora)
      throw new RunConfigError(
        `${cfg.init} is a Hugging Face folder: a run trains LoRA adapters on it (add --lora-rank 8, say); training every weight of it is not supported`,
      );
    // its own tokenizer (tokenizer.json); episodes render with Qwen3's chat template
    const tok = HfTokenizer.fromFolder(cfg.init);
    return { model: loadHfQwen3(cfg.init, { grads: false }).model, tok, base: cfg.init };
  }
  if (cfg.init) {
    const ck = loadAnyCheckpoint(cfg.init, { grads: !lora });
    if (!lora && ck.tokenizer instanceof HfTokenizer)
      throw new RunConfigError(
        `${cfg.init} is a LoRA adapter on a Hugging Face folder: a run trains LoRA adapters on it (add --lora-rank 8, say); training every weight of it is not supported`,
      );
    return { model: ck.model, tok: ck.tokenizer, ...(lora && { base: cfg.init }) };
  }
  let tok: ByteTokenizer | undefined = teacherTok ?? (cfg.tokenizer ? loadCheckpoint(cfg.tokenizer).tokenizer : undefined);
  if (!tok) {
    run.hooks.onNote?.('learning the tokenizer merges from template text');
    tok = await buildTokenizer(run, trainIds);
  }
  const model = new Transformer({ ...presetConfig(cfg.model, tok.vocabSize) }, undefined, cfg.seed, { grads: !lora });
  if (!lora) return { model, tok };
  // the preset's seeded weights, once: every checkpoint of the run refers to them
  const base = join(run.dir, 'checkpoints', 'base');
  saveCheckpoint(base, { model, tokenizer: tok, meta: { phase: 'base', step: 0 } });
  return { model, tok, base };
}

export interface RunStart {
  model: Transformer;
  tok: CheckpointTokenizer;
  /** The optimizer over every weight (undefined in a LoRA run: `attachRunLora` makes the adapter's). */
  opt?: AdamW;
  /** A LoRA run's base folder, and on a resume its saved adapter and moments. */
  lora?: LoraStart;
  state: RunState;
  /** Restored from a checkpoint (false: a fresh start, the run files cleared). */
  resumed: boolean;
}

/**
 * The run's model, tokenizer, optimizer and state: from the `last` checkpoint when resuming (a
 * damaged one set aside as `last.damaged`, its predecessor used), else fresh, the tokenizer's merges
 * learned from the train tasks' template text.
 */
export async function restoreOrInit(
  run: RunInfo,
  trainIds: readonly string[],
  resume: boolean,
  /** A distillation run's teacher tokenizer: a fresh student takes it. */
  teacherTok?: ByteTokenizer,
): Promise<RunStart> {
  const { dir } = run;
  const warn = (text: string) => warnVia(run.hooks, text);
  const note = (text: string) => run.hooks.onNote?.(text);
  const lastDir = join(dir, 'checkpoints', 'last');
  const lora = run.cfg.lora.rank > 0;
  const ck = resume
    ? loadLatestCheckpoint(lastDir, { withOptimizer: true, onWarning: warn, merge: false, grads: !lora })
    : undefined;
  if (ck) {
    const state = readRunState(ck.meta, ck.dir);
    if (lora !== (ck.lora !== undefined))
      throw new RunConfigError(
        lora
          ? `cannot resume ${dir} with LoRA (lora.rank ${run.cfg.lora.rank}): its checkpoint ${ck.dir} holds full weights; set lora.rank back to 0 in ${join(dir, 'config.json')}`
          : `cannot resume ${dir} without LoRA: its checkpoint ${ck.dir} holds a LoRA adapter; restore lora in ${join(dir, 'config.json')}`,
      );
    if (ck.dir !== lastDir && existsSync(lastDir)) {
      // set the damaged one aside: the next save would otherwise rotate it into `last.prev`, over the good one
      rmSync(`${lastDir}.damaged`, { recursive: true, force: true });
      renameSync(lastDir, `${lastDir}.damaged`);
      warn(`moved the damaged checkpoint to ${lastDir}.damaged`);
    }
    if (state.files) {
      const cut = restoreRunFiles(dir, state.files, warn);
      if (cut.length) note(`dropped what was written after the checkpoint: ${cut.join(', ')}`);
    } else trimMetricsToStep(dir, state.phase, state.step, warn);
    note(`resuming ${dir} at ${state.phase} step ${state.step}`);
    if (ck.lora)
      return {
        model: ck.model,
        tok: ck.tokenizer,
        lora: { base: ck.lora.base, adapter: ck.lora.adapter, moments: ck.optimizer },
        state,
        resumed: true,
      };
    const opt = ck.optimizer ?? new AdamW(ck.model.params, ck.model.shapes);
    return { model: ck.model, tok: ck.tokenizer, opt, state, resumed: true };
  }
  // a new run, or one stopped before its first checkpoint: whatever it wrote is redone
  if (resume) note(`${dir} has no checkpoint yet: starting it over`);
  clearRunFiles(dir);
  // checkpoints of an earlier run under this id must not pass for this one's
  rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
  mkdirSync(join(dir, 'checkpoints'));
  const { model, tok, base } = await freshModel(run, trainIds, teacherTok);
  if (base) return { model, tok, lora: { base }, state: initialRunState(), resumed: false };
  return { model, tok, opt: new AdamW(model.params, model.shapes), state: initialRunState(), resumed: false };
}
