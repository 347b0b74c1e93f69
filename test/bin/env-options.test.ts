/**
 * A user's own tasks and environment options reach every command that builds an environment
 * (`serve`, `rollout`, `eval`, `train`) through the same flags and the same parser. Each command is
 * run as a user runs it: the built CLI in its own process.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readTrajectories } from '../../agent/trajectory/index.js';
import { EnvFlagError, envOptions, parseEnvOptPairs, runEnvironment } from '../../bin/commands/env-options.js';
import { buildEnv } from '../../envs/index.js';
import { repoRoot, runGym } from '../fixtures/gym-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'toolgym-env-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Family `jsonl.mine`: two train and two test tasks, one of them checked by hidden tests.
const taskFile = join(dir, 'mine.jsonl');
writeFileSync(
  taskFile,
  [
    { prompt: 'What is 12345 * 6789? Reply with the number only.', answer: '83810205', split: 'train' },
    { prompt: 'What is 2 to the power 40? Reply with the number only.', answer: '1099511627776', split: 'train' },
    { prompt: 'What is the sum of the integers from 1 to 1000?', answer: '500500', split: 'test' },
    {
      prompt: 'Write a function f(x) that returns x squared.',
      tests: [{ call: 'f(3)', expected: 9 }],
      solution: 'function f(x) { return x * x; }',
      split: 'test',
    },
  ]
    .map((l) => JSON.stringify(l))
    .join('\n'),
);
const MINE = /^code-interp\/jsonl\.mine\/(train|test)\/\d+$/;

describe('the shared environment flags', () => {
  it('parses key=value pairs, JSON values where they parse, and names a pair without =', () => {
    expect(parseEnvOptPairs(['docs=300', 'browser=true', 'corpus=./my docs'])).toEqual({
      docs: 300,
      browser: true,
      corpus: './my docs',
    });
    expect(() => parseEnvOptPairs(['docs'])).toThrow(EnvFlagError);
    expect(() => parseEnvOptPairs(['docs'])).toThrow(/key=value/);
  });

  it('lets --env-opt override a shorthand flag and rejects a --docs that is not a positive integer', () => {
    expect(envOptions('search', { envOpt: ['docs=500'], docs: '200' })).toEqual({ docs: 500 });
    expect(() => envOptions('search', { envOpt: [], docs: 'many' })).toThrow(/--docs must be a positive integer/);
  });

  it("builds a resumed run's environment from its config.json, and refuses flags that disagree", () => {
    const run = join(dir, 'recorded');
    mkdirSync(run, { recursive: true });
    writeFileSync(
      join(run, 'config.json'),
      JSON.stringify({ env: 'code-interp', envOptions: { jsonl: taskFile, onlyJsonl: true } }),
    );
    const r = runEnvironment({ envOpt: [], resume: run }, 'search');
    expect(r.env).toBe('code-interp');
    expect(r.options).toEqual({ jsonl: taskFile, onlyJsonl: true });
    expect(r.def.families.map((f) => f.name)).toEqual(['jsonl.mine']);
    // the same options again are fine; others, or another environment, are refused
    expect(runEnvironment({ envOpt: [], taskFile, resume: run }, 'code-interp').env).toBe('code-interp');
    expect(() => runEnvironment({ envOpt: ['onlyJsonl=false'], resume: run }, 'code-interp')).toThrow(EnvFlagError);
    expect(() => runEnvironment({ envOpt: [], env: 'search', resume: run }, 'search')).toThrow(/not "search"/);
    // a run that predates recorded options takes the flags given
    writeFileSync(join(run, 'config.json'), JSON.stringify({ env: 'code-interp' }));
    expect(runEnvironment({ envOpt: [], taskFile, resume: run }, 'code-interp').options).toEqual({
      jsonl: taskFile,
      onlyJsonl: true,
    });
    // a new run: the flags
    expect(runEnvironment({ envOpt: ['docs=40'] }, 'search').options).toEqual({ docs: 40 });
  });

  it('refuses a search task file without its corpus, saying to add one', () => {
    expect(() => buildEnv('search', envOptions('search', { envOpt: [], taskFile: taskFile }))).toThrow(/corpus/);
  });
});

// Each case spawns the built CLI, which loads every built-in environment: slow on a busy machine.
describe('a user task file on every command', { timeout: 120_000 }, () => {
  it('gym rollout runs the tasks of --task-file and only those', async () => {
    const out = join(dir, 'rollout.jsonl');
    const r = await runGym([
      'rollout',
      '--env',
      'code-interp',
      '--task-file',
      taskFile,
      '-n',
      '2',
      '--out',
      out,
      '--no-progress',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ts = readTrajectories(out);
    expect(ts.map((t) => t.ids.task)).toEqual([expect.stringMatching(MINE), expect.stringMatching(MINE)]);
    expect(ts.every((t) => t.correct)).toBe(true);
  });

  it('gym eval draws its tasks from --task-file', async () => {
    const out = join(dir, 'eval');
    const r = await runGym(['eval', '--env', 'code-interp', '--task-file', taskFile, '--tasks', '2', '-k', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const ids = readTrajectories(join(out, 'trajectories.jsonl')).map((t) => t.ids.task);
    expect(new Set(ids)).toEqual(new Set(['code-interp/jsonl.mine/test/0', 'code-interp/jsonl.mine/test/1']));
    expect(r.stdout).toMatch(/avg@k 100\.0%/);
  });

  it('gym serve lists the tasks of --task-file to an MCP client', async () => {
    const client = new Client({ name: 'env-options-test', version: '0.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [join(repoRoot, 'dist', 'bin', 'gym.js'), 'serve', '--env', 'code-interp', '--task-file', taskFile],
        cwd: repoRoot,
        stderr: 'ignore',
      }),
    );
    try {
      const res = await client.callTool({ name: 'gym_list_tasks', arguments: { split: 'train' } });
      const tasks = (res.structuredContent as { tasks: Array<{ id: string }> }).tasks;
      expect(tasks.map((t) => t.id)).toEqual(['code-interp/jsonl.mine/train/0', 'code-interp/jsonl.mine/train/1']);
    } finally {
      await client.close();
    }
  });

  it('gym train builds its cold-start data and its GRPO episodes from --task-file', async () => {
    const out = join(dir, 'runs');
    const r = await runGym(['train', '--env', 'code-interp', '--task-file', taskFile, '--preset', 'quick', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const [run] = readdirSync(out);
    for (const f of ['sft-data.jsonl', 'grpo.jsonl', 'eval-after.jsonl']) {
      const ids = readTrajectories(join(out, run as string, 'trajectories', f)).map((t) => t.ids.task);
      expect(ids.length, f).toBeGreaterThan(0);
      expect(
        ids.filter((id) => !MINE.test(id)),
        f,
      ).toEqual([]);
    }
    // The run records its environment options, and a resume reads them back instead of the flags.
    const runDir = join(out, run as string);
    const cfg = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    expect(cfg.envOptions).toEqual({ jsonl: taskFile, onlyJsonl: true });
    const resumed = await runGym(['train', '--resume', runDir, '--preset', 'quick']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const otherEnv = await runGym(['train', '--resume', runDir, '--env', 'search']);
    expect(otherEnv.code).toBe(1);
    expect(otherEnv.stderr).toMatch(/is a run on environment "code-interp", not "search": resume it without --env/);
    const otherTasks = await runGym(['train', '--resume', runDir, '--env-opt', 'onlyJsonl=false']);
    expect(otherTasks.code).toBe(1);
    expect(otherTasks.stderr).toMatch(/was trained with environment options .*resume it without environment flags/);
  });

  it.each([
    ['rollout', ['-n', '1']],
    ['eval', ['--tasks', '1', '-k', '1', '--out', join(dir, 'never')]],
    ['train', ['--preset', 'quick', '--out', join(dir, 'never')]],
    ['serve', []],
  ])('gym %s rejects an --env-opt the environment does not take, naming it', async (command, rest) => {
    const r = await runGym([command, '--env', 'code-interp', '--env-opt', 'colour=blue', ...rest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/colour/);
  });
});
