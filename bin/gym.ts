#!/usr/bin/env node
/**
 * The `gym` CLI entry (temporary: registers the environment commands; the full CLI wires the rest).
 */
import { Command } from 'commander';
import { register as registerEnvs } from './commands/envs.js';
import { register as registerServe } from './commands/serve.js';

const program = new Command();
program.name('gym').description('toolgym: a gym for tool-using language-model agents');
registerEnvs(program);
registerServe(program);
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`gym: ${err.message}\n`);
  process.exit(1);
});
