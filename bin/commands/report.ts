/** `gym report <dir> [--compare <dir2>]`: rebuild an eval's report.html, or compare two runs side by side. */
import type { Command } from 'commander';
import { rebuildReport } from '../../agent/eval/index.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Rebuild <dir>/report.html from its metrics.json and trajectories; with --compare, write <dir>/compare.html beside a second run',
    )
    .argument('<dir>', 'an eval folder written by `gym eval`')
    .option('--compare <dir2>', 'a second eval folder to compare against')
    .option('--out <file>', 'write the page here instead')
    .action((dir: string, flags: { compare?: string; out?: string }) => {
      const out = rebuildReport(dir, flags.compare, flags.out);
      process.stdout.write(`wrote ${out}\n`);
    });
}
