/**
 * `gym export`'s library side: a toolgym checkpoint (or a Hugging Face folder, with an optional
 * LoRA adapter merged in) written as a Hugging Face Qwen3 folder. A LoRA run's checkpoint is
 * written with its adapter merged into its base's weights, or with `noMerge` as the PEFT adapter
 * folder alone (for serving beside the base: vLLM `--lora-modules`, PEFT `PeftModel.from_pretrained`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HfTokenizer } from '../../tokenizer/index.js';
import { CheckpointError, loadAnyCheckpoint } from '../checkpoint.js';
import { exportHf } from './export.js';
import { isHfFolder, loadHfQwen3 } from './load.js';
import { loadPeftAdapter, mergeAdapter, savePeftAdapter } from './peft.js';

export interface ExportSummary {
  from: string;
  to: string;
  params: number;
  merged?: string;
  /** A LoRA checkpoint: the base it adapts, and whether only the adapter was written (`noMerge`). */
  lora?: { base: string; adapterOnly: boolean };
}

/** A run folder means its final checkpoint; anything else is taken as a checkpoint folder. */
function checkpointOf(from: string): string {
  const final = join(from, 'checkpoints', 'final');
  return existsSync(join(final, 'config.json')) ? final : from;
}

export function exportCheckpointToHf(
  fromIn: string,
  to: string,
  opts: { adapter?: string; noMerge?: boolean } = {},
): ExportSummary {
  if (isHfFolder(fromIn)) {
    if (opts.noMerge)
      throw new CheckpointError(`--no-merge writes a LoRA run's adapter; ${fromIn} is a Hugging Face model folder`);
    const src = loadHfQwen3(fromIn, { adapter: opts.adapter });
    // keep the source's context length, not the engine's sampling cap
    const maxSeqLen = Number(src.hfConfig.max_position_embeddings);
    exportHf(to, { config: { ...src.config, maxSeqLen }, params: src.model.params, tokenizer: { folder: fromIn } });
    return { from: fromIn, to, params: src.model.numParams, merged: opts.adapter };
  }
  const from = checkpointOf(fromIn);
  const ck = loadAnyCheckpoint(from, { grads: false, merge: !opts.noMerge });
  if (opts.noMerge) {
    if (!ck.lora)
      throw new CheckpointError(
        `--no-merge writes a LoRA run's adapter, but ${from} holds full weights (a run without --lora-rank): export it without --no-merge`,
      );
    savePeftAdapter(to, ck.lora.adapter, ck.lora.base);
    const params = [...ck.lora.adapter.layers.values()].reduce((s, p) => s + p.A.length + p.B.length, 0);
    return { from, to, params, lora: { base: ck.lora.base, adapterOnly: true } };
  }
  if (opts.adapter) mergeAdapter(ck.model.params, loadPeftAdapter(opts.adapter));
  // a LoRA run on a Hugging Face folder: that folder's tokenizer files
  const tokenizer = ck.tokenizer instanceof HfTokenizer ? { folder: ck.lora?.base as string } : ck.tokenizer;
  exportHf(to, { config: ck.model.config, params: ck.model.params, tokenizer });
  return {
    from,
    to,
    params: ck.model.numParams,
    merged: opts.adapter,
    ...(ck.lora && { lora: { base: ck.lora.base, adapterOnly: false } }),
  };
}
