/** `gym envs [--json]`: the registered environments with their tools, task families and split sizes. */
import type { Command } from 'commander';
import { listEnvs, loadEnvModules, summarizeEnv } from '../../envs/index.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('envs')
    .description('List the environments: id, version, tools, task families and split sizes')
    .option('--json', 'print JSON instead of a table')
    .option('--env-module <path>', 'also load environments exported by this module (repeatable)', collect, [])
    .action(async (opts: { json?: boolean; envModule: string[] }) => {
      await loadEnvModules(opts.envModule);
      const summaries = listEnvs().map(summarizeEnv);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
        return;
      }
      if (summaries.length === 0) {
        process.stdout.write('No environments registered.\n');
        return;
      }
      const lines: string[] = [];
      for (const s of summaries) {
        lines.push(`${s.id}  v${s.version}  (train ${s.splitSizes.train}, test ${s.splitSizes.test})`);
        lines.push(`  ${s.description}`);
        lines.push(`  tools:    ${s.tools.map((t) => t.name).join(', ')}`);
        lines.push('  families:');
        const w = Math.max(...s.families.map((f) => f.name.length));
        for (const f of s.families)
          lines.push(
            `    ${f.name.padEnd(w)}  train ${String(f.splitSizes.train).padStart(6)}  test ${String(f.splitSizes.test).padStart(5)}  ${f.description}`,
          );
        lines.push('');
      }
      process.stdout.write(lines.join('\n'));
    });
}
