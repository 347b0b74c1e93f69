import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendJsonLine, commitRunFiles, readJsonLines, restoreRunFiles, trimMetricsToStep } from '../../trainer/run/files.js';

const root = mkdtempSync(join(tmpdir(), 'toolgym-runfiles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'trajectories'), { recursive: true });
  return dir;
}

describe('run files and the checkpoint that commits them', () => {
  it('cuts each file back to the length its checkpoint recorded and removes trajectory files made after it', () => {
    const dir = runDir('cut');
    appendJsonLine(join(dir, 'metrics.jsonl'), { phase: 'sft', step: 1 });
    writeFileSync(join(dir, 'trajectories', 'grpo.jsonl'), '{"a":1}\n');
    const files = commitRunFiles(dir);
    expect(files).toEqual({ 'metrics.jsonl': 25, 'trajectories/grpo.jsonl': 8 });
    appendJsonLine(join(dir, 'metrics.jsonl'), { phase: 'sft', step: 2 });
    writeFileSync(join(dir, 'trajectories', 'grpo.jsonl'), '{"a":1}\n{"a":2}\n{"a":3}\n');
    writeFileSync(join(dir, 'trajectories', 'eval-step2.jsonl'), '{"e":1}\n');
    const warnings: string[] = [];
    const cut = restoreRunFiles(dir, files, (w) => warnings.push(w));
    expect(cut).toEqual([
      '1 line of metrics.jsonl',
      'trajectories/eval-step2.jsonl (written after the checkpoint) removed',
      '2 lines of trajectories/grpo.jsonl',
    ]);
    expect(warnings).toEqual([]);
    expect(readJsonLines(join(dir, 'metrics.jsonl'), () => {})).toEqual([{ phase: 'sft', step: 1 }]);
    expect(readFileSync(join(dir, 'trajectories', 'grpo.jsonl'), 'utf8')).toBe('{"a":1}\n');
    expect(existsSync(join(dir, 'trajectories', 'eval-step2.jsonl'))).toBe(false);
  });

  it('warns, naming file and line, when the part it cuts ends in a torn line, and when a file lost lines it had', () => {
    const dir = runDir('torn');
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\n{"step":2}\n');
    writeFileSync(join(dir, 'trajectories', 'sft-data.jsonl'), '{"a":1}\n{"a":2}\n');
    const files = commitRunFiles(dir);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\n{"step":2}\n{"step":3}\n{"st');
    writeFileSync(join(dir, 'trajectories', 'sft-data.jsonl'), '{"a":1}\n');
    const warnings: string[] = [];
    expect(restoreRunFiles(dir, files, (w) => warnings.push(w))).toEqual(['2 lines of metrics.jsonl']);
    expect(warnings).toEqual([
      `${join(dir, 'metrics.jsonl')}:4: torn line dropped (an unfinished record of a stopped run)`,
      `${join(dir, 'trajectories', 'sft-data.jsonl')} holds 8 bytes but the checkpoint recorded 16: lines it had are missing (was it edited?)`,
    ]);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe('{"step":1}\n{"step":2}\n');
  });

  it('appends a record on a new line after a torn one, and reading skips the torn line with a warning naming file:line', () => {
    const dir = runDir('append');
    const path = join(dir, 'metrics.jsonl');
    writeFileSync(path, '{"step":1}\n{"step":2,"lo');
    appendJsonLine(path, { step: 2 });
    const warnings: string[] = [];
    expect(readJsonLines(path, (w) => warnings.push(w))).toEqual([{ step: 1 }, { step: 2 }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/metrics\.jsonl:2: torn line skipped/);
  });

  it('trims the metrics of a checkpoint that recorded no lengths by phase and step, dropping a torn line', () => {
    const dir = runDir('legacy');
    const path = join(dir, 'metrics.jsonl');
    const rec = (phase: string, step: number) => `${JSON.stringify({ phase, step })}\n`;
    writeFileSync(path, `${rec('sft', 1)}${rec('sft', 2)}${rec('eval', 0)}${rec('grpo', 1)}${rec('grpo', 2)}{"phase":"gr`);
    const warnings: string[] = [];
    trimMetricsToStep(dir, 'grpo', 1, (w) => warnings.push(w));
    expect(readJsonLines(path, () => {}).map((r) => `${r.phase}${r.step}`)).toEqual(['sft1', 'sft2', 'eval0', 'grpo1']);
    expect(warnings[0]).toMatch(/metrics\.jsonl:6: torn line skipped/);
  });
});
