#!/usr/bin/env node
/**
 * `gym`: the toolgym command line. Each command lives in `bin/commands/<name>.ts` and only parses,
 * builds, runs and reports; the work is done by the library folders.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerBuiltinPolicy } from '../trainer/model/index.js';
import { register as registerDistill } from './commands/distill.js';
import { register as registerEnvs } from './commands/envs.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerExport } from './commands/export.js';
import { register as registerReport } from './commands/report.js';
import { register as registerRollout } from './commands/rollout.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerTrain } from './commands/train.js';

/** The package's version, whether this file runs built (`dist/bin/`) or from source (`bin/`, tsx). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

// The built-in model is a policy like any other (`builtin:runs/<id>/checkpoints/final`) for
// `gym rollout` and `gym eval`; agent/ cannot import trainer/, so the CLI registers it.
registerBuiltinPolicy();

const program = new Command();
program
  .name('gym')
  .description('toolgym: train and evaluate tool-using language-model agents on MCP environments')
  .version(packageVersion())
  .showHelpAfterError('(run `gym <command> --help` for its flags)');
registerEnvs(program);
registerServe(program);
registerRollout(program);
registerTrain(program);
registerDistill(program);
registerEval(program);
registerReport(program);
registerExport(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`gym: ${err.message}\n`);
  process.exit(1);
});
