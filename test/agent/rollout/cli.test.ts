import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readTrajectories } from '../../../agent/trajectory/index.js';
import { register } from '../../../bin/commands/rollout.js';
import { defaultRegistry } from '../../../envs/index.js';
import { arithEnv } from '../fixtures/arith-env.js';

if (!defaultRegistry.has('arith')) defaultRegistry.register(arithEnv);

async function gym(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  register(program);
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

afterEach(() => vi.restoreAllMocks());

describe('gym rollout', () => {
  it('runs n tasks x G episodes, writes them to --out and prints the summary', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'cli-')), 'runs', 'x.jsonl');
    const text = await gym([
      'rollout',
      '--env',
      'arith',
      '--policy',
      'oracle:err=0.3,seed=1',
      '-n',
      '4',
      '-G',
      '3',
      '--out',
      out,
      '--no-progress',
      '--mode',
      'mixed',
    ]);
    expect(text).toMatch(/episodes\s+12 in 4 groups/);
    expect(text).toMatch(/success rate/);
    expect(text).toMatch(/mean turns/);
    expect(text).toMatch(/invalid calls/);
    expect(text).toMatch(/endings\s+terminated/);
    const trajs = readTrajectories(out);
    expect(trajs).toHaveLength(12);
    expect(new Set(trajs.map((t) => t.ids.group)).size).toBe(4);
    expect(trajs[0].ids.run).toBe('x');
    expect(trajs[0].ids.policy).toBe('oracle:err=0.3,seed=1');
  });

  it('prints the summary as JSON and applies the limits', async () => {
    const text = await gym([
      'rollout',
      '--env',
      'arith',
      '--policy',
      'oracle:json=1',
      '-n',
      '2',
      '--max-turns',
      '1',
      '--split',
      'test',
      '--json',
      '--no-progress',
    ]);
    const s = JSON.parse(text);
    expect(s.episodes).toBe(2);
    expect(s.endings.truncated).toBe(2);
    expect(s.reasons).toEqual({ max_turns: 2 });
  });

  it('rejects a bad mode with a message that says what is allowed', async () => {
    await expect(gym(['rollout', '--env', 'arith', '--mode', 'loud'])).rejects.toThrow(/think, no_think or mixed/);
  });
});
