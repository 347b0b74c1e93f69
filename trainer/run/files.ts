/**
 * The run folder's append-only files, `metrics.jsonl` and `trajectories/*.jsonl`, and how a
 * checkpoint commits them.
 *
 * Lines are appended as a step goes; the step becomes part of the run only when the `last`
 * checkpoint is written. Each checkpoint records the byte length of every append-only file at that
 * moment (flushed to the disk first), and a resume cuts each file back to its recorded length and
 * removes trajectory files made after it: what a killed or stopped run wrote past its checkpoint
 * (whole steps, half steps, torn lines) is redone, never kept twice.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { endsWithNewline } from '../../agent/trajectory/index.js';

/** Byte length of each append-only run file, by path relative to the run folder. */
export type RunFiles = Record<string, number>;

export const METRICS_FILE = 'metrics.jsonl';
const TRAJECTORIES = 'trajectories';

/** The append-only files of a run folder, relative to it. */
function appendOnlyFiles(dir: string): string[] {
  const out = existsSync(join(dir, METRICS_FILE)) ? [METRICS_FILE] : [];
  const tdir = join(dir, TRAJECTORIES);
  if (existsSync(tdir)) for (const f of readdirSync(tdir).sort()) if (f.endsWith('.jsonl')) out.push(`${TRAJECTORIES}/${f}`);
  return out;
}

/** Byte length of every append-only run file, each flushed to the disk first: what a checkpoint commits. */
export function commitRunFiles(dir: string): RunFiles {
  const out: RunFiles = {};
  for (const rel of appendOnlyFiles(dir)) {
    const fd = openSync(join(dir, rel), 'r+');
    try {
      fsyncSync(fd);
      out[rel] = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/**
 * Cuts the run files back to what a checkpoint committed: each recorded file to its recorded length,
 * trajectory files made after the checkpoint removed. Returns one line per file it cut, for the log;
 * `warn` hears of a torn line among the cut ones (naming file:line) and of a file shorter than recorded.
 */
export function restoreRunFiles(dir: string, files: RunFiles, warn: (text: string) => void): string[] {
  const cut: string[] = [];
  for (const rel of appendOnlyFiles(dir)) {
    const path = join(dir, rel);
    const keep = files[rel];
    if (keep === undefined) {
      rmSync(path, { force: true });
      cut.push(`${rel} (written after the checkpoint) removed`);
      continue;
    }
    const size = statSync(path).size;
    if (size < keep) {
      warn(`${path} holds ${size} bytes but the checkpoint recorded ${keep}: lines it had are missing (was it edited?)`);
      continue;
    }
    if (size === keep) continue;
    const text = readFileSync(path);
    const kept = text.subarray(0, keep);
    const dropped = text.subarray(keep);
    let line = 1;
    for (const b of kept) if (b === 0x0a) line++;
    const lines = dropped.toString('utf8').split('\n');
    const torn = lines.pop() as string; // after the last newline: empty unless the last line is torn
    if (torn.trim()) warn(`${path}:${line + lines.length}: torn line dropped (an unfinished record of a stopped run)`);
    truncateSync(path, keep);
    const n = lines.length + (torn.trim() ? 1 : 0);
    cut.push(`${n} line${n === 1 ? '' : 's'} of ${rel}`);
  }
  for (const rel of Object.keys(files))
    if (!existsSync(join(dir, rel)) && files[rel] > 0)
      warn(`${join(dir, rel)} is missing but the checkpoint recorded ${files[rel]} bytes of it (was it deleted?)`);
  return cut;
}

/** Removes the append-only files of a run folder that starts over (it has no checkpoint to resume from). */
export function clearRunFiles(dir: string): void {
  for (const rel of appendOnlyFiles(dir)) rmSync(join(dir, rel), { force: true });
}

/** Appends one record as one line; a torn last line (a killed writer) is ended first so the record stays whole. */
export function appendJsonLine(path: string, value: unknown): void {
  const fd = openSync(path, 'a+');
  try {
    const line = `${endsWithNewline(fd) ? '' : '\n'}${JSON.stringify(value)}\n`;
    const buf = Buffer.from(line, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
}

/** The records of a JSONL run file; a torn line is skipped, and `warn` hears of it by file:line. */
export function readJsonLines(path: string, warn: (text: string) => void): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (!text.trim()) return;
      try {
        out.push(JSON.parse(text));
      } catch (err) {
        warn(`${path}:${i + 1}: torn line skipped (${(err as Error).message})`);
      }
    });
  return out;
}

/**
 * For a checkpoint that recorded no file lengths (written by an earlier version): drop the metrics
 * lines after its phase and step. Its trajectory files cannot be cut back.
 */
export function trimMetricsToStep(dir: string, phase: string, step: number, warn: (text: string) => void): void {
  const path = join(dir, METRICS_FILE);
  if (!existsSync(path)) return;
  const order: Record<string, number> = { sft: 0, grpo: 1, done: 2 };
  const keep = readJsonLines(path, warn).filter((r) => {
    const s = r.step as number;
    if (r.phase === 'eval') return s <= (phase === 'grpo' ? step : 0) || phase === 'done';
    const rp = order[r.phase as string] ?? 0;
    const cp = order[phase] ?? 0;
    return rp < cp || (rp === cp && s <= step);
  });
  writeFileSync(path, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
  warn(
    `the checkpoint of ${dir} records no file lengths (an earlier version wrote it): trajectories/ may hold episodes of steps after it`,
  );
}
