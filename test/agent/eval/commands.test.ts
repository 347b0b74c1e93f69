import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readEvalRecord } from '../../../agent/eval/index.js';
import { register as registerEval } from '../../../bin/commands/eval.js';
import { register as registerReport } from '../../../bin/commands/report.js';
import { defaultRegistry } from '../../../envs/index.js';
import { toyEnv } from './toy-env.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-eval-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
if (!defaultRegistry.has('toy')) defaultRegistry.register(toyEnv);

async function gym(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerEval(program);
  registerReport(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'gym', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('gym eval and gym report', () => {
  it('evaluate, replay, rebuild and compare from the command line', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const out = await gym(
      'eval',
      '--env',
      'toy',
      '--policy',
      'oracle:err=0.3',
      '-k',
      '2',
      '--tasks',
      '6',
      '--seed',
      '3',
      '--out',
      a,
      '--no-progress',
      '--bootstrap',
      '50',
      '--max-turns',
      '5',
    );
    expect(out).toMatch(/evaluated 12 episodes over 6 task units/);
    expect(out).toMatch(/pass@2 .*pass\^2/);
    const rec = readEvalRecord(join(a, 'metrics.json'));
    expect(rec.settings.limits.maxTurns).toBe(5);
    expect(rec.rerun).toContain('--seed 3');

    await gym(
      'eval',
      '--env',
      'toy',
      '--policy',
      'oracle',
      '-k',
      '2',
      '--tasks',
      '6',
      '--seed',
      '3',
      '--out',
      b,
      '--no-progress',
      '--bootstrap',
      '0',
    );
    const replay = await gym('eval', '--replay', a, '--out', join(root, 'a2'));
    expect(replay).toMatch(/replayed 12 episodes/);
    expect(readEvalRecord(join(root, 'a2', 'metrics.json')).metrics.overall).toEqual(rec.metrics.overall);

    const cmp = await gym('report', a, '--compare', b);
    expect(cmp).toContain(join(a, 'compare.html'));
    expect(existsSync(join(a, 'report.html'))).toBe(true);
  });

  it('names what to do when the environment is unknown or the mode is wrong', async () => {
    await expect(gym('eval', '--env', 'nope', '--out', join(root, 'x'))).rejects.toThrow(/gym envs/);
    await expect(gym('eval', '--env', 'toy', '--mode', 'sometimes', '--out', join(root, 'x'))).rejects.toThrow(
      /think, no_think or mixed/,
    );
    await expect(gym('report', join(root, 'missing'))).rejects.toThrow(/gym eval/);
  });
});
