/** `gym export <run or checkpoint> <out> [--adapter <dir>] [--no-merge]`: write a checkpoint as a Hugging Face Qwen3 folder. */
import type { Command } from 'commander';
import { exportCheckpointToHf } from '../../trainer/model/hf/index.js';

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Write a checkpoint (a `gym train` run or checkpoint folder, or a Hugging Face Qwen3 folder) as a Hugging Face Qwen3 folder that transformers and vLLM load; a LoRA run is written with its adapter merged',
    )
    .argument('<checkpoint>', 'runs/<id> (its checkpoints/final), runs/<id>/checkpoints/<name>, or a Hugging Face model folder')
    .argument('<out>', 'folder to write (config.json, model.safetensors, tokenizer files)')
    .option('--adapter <dir>', 'a PEFT LoRA adapter folder to merge into the weights first')
    .option('--no-merge', "a LoRA run: write only its adapter (PEFT's adapter_config.json and adapter_model.safetensors)")
    .action((from: string, to: string, flags: { adapter?: string; merge: boolean }) => {
      const s = exportCheckpointToHf(from, to, { adapter: flags.adapter, noMerge: !flags.merge });
      const n = s.params.toLocaleString('en-US');
      process.stdout.write(
        s.lora?.adapterOnly
          ? `wrote ${s.to} (the LoRA adapter of ${s.from}, ${n} parameters, PEFT format) for the base ${s.lora.base}: load it with PEFT's PeftModel.from_pretrained or vllm --lora-modules, or here as builtin:${s.lora.base}#adapter=${s.to}\n`
          : `wrote ${s.to} (${n} parameters${s.merged ? `, adapter ${s.merged} merged` : ''}${s.lora ? `, the run's LoRA adapter merged into its base ${s.lora.base}` : ''}): load it with transformers' AutoModelForCausalLM.from_pretrained or vllm serve\n`,
      );
    });
}
