/** `gym export <checkpoint> <out> [--adapter <dir>]`: write a checkpoint as a Hugging Face Qwen3 folder. */
import type { Command } from 'commander';
import { exportCheckpointToHf } from '../../trainer/model/hf/index.js';

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Write a checkpoint (a `gym train` folder, or a Hugging Face Qwen3 folder) as a Hugging Face Qwen3 folder that transformers and vLLM load',
    )
    .argument('<checkpoint>', 'runs/<id>/checkpoints/<name>, or a Hugging Face model folder')
    .argument('<out>', 'folder to write (config.json, model.safetensors, tokenizer files)')
    .option('--adapter <dir>', 'a PEFT LoRA adapter folder to merge into the weights first')
    .action((from: string, to: string, flags: { adapter?: string }) => {
      const s = exportCheckpointToHf(from, to, flags);
      process.stdout.write(
        `wrote ${s.to} (${s.params.toLocaleString('en-US')} parameters${s.merged ? `, adapter ${s.merged} merged` : ''}): load it with transformers' AutoModelForCausalLM.from_pretrained or vllm serve\n`,
      );
    });
}
