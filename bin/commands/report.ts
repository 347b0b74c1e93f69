/**
 * `gym report <dir> [--compare <dir2> ...]`: rebuild an eval's report.html (or compare two evals), or,
 * for a training run folder (`gym train` output), rebuild its report.html with the training curves
 * (and the arms of the learning experiment when `learn.json` is there), or compare several runs.
 */
import type { Command } from 'commander';
import { rebuildReport } from '../../agent/eval/index.js';
import { isTrainingRun, writeTrainingReport } from '../../trainer/run/index.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Rebuild <dir>/report.html: an eval folder (gym eval) from its metrics.json and trajectories, or a training run (gym train) from its metrics.jsonl; with --compare, write <dir>/compare.html beside other runs',
    )
    .argument('<dir>', 'an eval folder written by `gym eval`, or a run folder written by `gym train`')
    .option('--compare <dirs...>', 'folders to compare against (eval: one; training runs: any number)')
    .option('--out <file>', 'write the page here instead')
    .action((dir: string, flags: { compare?: string[]; out?: string }) => {
      const others = flags.compare ?? [];
      if (isTrainingRun(dir)) {
        for (const o of others)
          if (!isTrainingRun(o)) throw new Error(`--compare ${o}: not a training run folder (no metrics.jsonl and config.json)`);
        process.stdout.write(`wrote ${writeTrainingReport(dir, others, flags.out)}\n`);
        return;
      }
      if (others.length > 1) throw new Error('an eval report compares against one other eval folder: pass one --compare');
      const out = rebuildReport(dir, others[0], flags.out);
      process.stdout.write(`wrote ${out}\n`);
    });
}
