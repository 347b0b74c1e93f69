/**
 * `gym export`'s library side: a toolgym checkpoint (or a Hugging Face folder, with an optional
 * LoRA adapter merged in) written as a Hugging Face Qwen3 folder.
 */
import { loadCheckpoint } from '../checkpoint.js';
import { exportHf } from './export.js';
import { isHfFolder, loadHfQwen3 } from './load.js';
import { loadPeftAdapter, mergeAdapter } from './peft.js';

export interface ExportSummary {
  from: string;
  to: string;
  params: number;
  merged?: string;
}

export function exportCheckpointToHf(from: string, to: string, opts: { adapter?: string } = {}): ExportSummary {
  if (isHfFolder(from)) {
    const src = loadHfQwen3(from, { adapter: opts.adapter });
    // keep the source's context length, not the engine's sampling cap
    const maxSeqLen = Number(src.hfConfig.max_position_embeddings);
    exportHf(to, { config: { ...src.config, maxSeqLen }, params: src.model.params, tokenizer: { folder: from } });
    return { from, to, params: src.model.numParams, merged: opts.adapter };
  }
  const ck = loadCheckpoint(from);
  if (opts.adapter) mergeAdapter(ck.model.params, loadPeftAdapter(opts.adapter));
  exportHf(to, { config: ck.model.config, params: ck.model.params, tokenizer: ck.tokenizer });
  return { from, to, params: ck.model.numParams, merged: opts.adapter };
}
