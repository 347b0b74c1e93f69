import { describe, expect, it } from 'vitest';
import { DuplicateEnvError, UnknownEnvError } from '../../../envs/core/errors.js';
import { extractAnswer, summarizeEnv } from '../../../envs/core/index.js';
import { EnvRegistry } from '../../../envs/core/registry.js';
import { arithEnv } from '../../fixtures/arith-env.js';

describe('extractAnswer', () => {
  it('takes the last <answer> block', () => {
    expect(extractAnswer('<answer>1</answer> then <answer> 42 </answer>')).toBe('42');
  });
  it('takes the last \\boxed{} with nested braces', () => {
    expect(extractAnswer('so \\boxed{\\frac{1}{2}} done')).toBe('\\frac{1}{2}');
  });
  it('takes a closing "Final answer:" line', () => {
    expect(extractAnswer('work...\n**Final answer:** 17')).toBe('17');
  });
  it('ignores thinking, closed or unclosed', () => {
    expect(extractAnswer('<think>maybe 3</think>\n\n5')).toBe('5');
    expect(extractAnswer('7 <think>still thinking about 9')).toBe('7');
    expect(extractAnswer('template-opened thinking</think>\n8')).toBe('8');
  });
  it('returns the trimmed text when there is no marker', () => {
    expect(extractAnswer('  hello world \n')).toBe('hello world');
  });
});

describe('EnvRegistry', () => {
  it('registers, looks up and lists environments', () => {
    const r = new EnvRegistry();
    r.register(arithEnv);
    expect(r.get('arith')).toBe(arithEnv);
    expect(r.list().map((d) => d.id)).toEqual(['arith']);
  });
  it('names the known ids and the command to run when an id is unknown', () => {
    const r = new EnvRegistry();
    r.register(arithEnv);
    expect(() => r.get('nope')).toThrow(UnknownEnvError);
    expect(() => r.get('nope')).toThrow(/Known: arith.*gym envs/);
  });
  it('refuses a second environment under the same id unless asked to replace', () => {
    const r = new EnvRegistry();
    r.register(arithEnv);
    expect(() => r.register({ ...arithEnv })).toThrow(DuplicateEnvError);
    r.register({ ...arithEnv, version: '2.0.0' }, { replace: true });
    expect(r.get('arith').version).toBe('2.0.0');
  });
  it('summarises tools, families and split sizes', () => {
    const s = summarizeEnv(arithEnv);
    expect(s.tools.map((t) => t.name)).toEqual(['add']);
    expect(s.families).toEqual([
      { name: 'sum3', description: 'Add three six-digit numbers.', splitSizes: { train: 1000, test: 200 } },
    ]);
    expect(s.splitSizes).toEqual({ train: 1000, test: 200 });
  });
});
