/**
 * Trajectories on disk: JSONL, one episode per line, validated against `TrajectorySchema` on read.
 *
 * `TrajectoryWriter` appends one complete line per episode with a synchronous write on an fd
 * opened for append, so a killed run loses only the episodes still in flight; a torn last line (the
 * process died mid-write) is reported by `readTrajectories` with its line number.
 */
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { type Trajectory, TrajectorySchema } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Types

export class TrajectoryFileError extends Error {
  override name = 'TrajectoryFileError';
  constructor(
    readonly path: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${path}:${line}: not a valid trajectory (${detail}); fix or drop that line, or re-run the episodes`);
  }
}

export interface ReadOptions {
  /** Skip invalid lines instead of throwing; each is reported through `onBadLine`. */
  skipInvalid?: boolean;
  onBadLine?: (err: TrajectoryFileError) => void;
}

export interface WriterOptions {
  /** fsync after every episode (durable against power loss, slower). Default: false (a write per line survives a killed process). */
  fsync?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Pure functions

function describeZod(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parses and validates one JSONL line; throws `TrajectoryFileError` naming the line. */
export function parseTrajectoryLine(text: string, path: string, line: number): Trajectory {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TrajectoryFileError(path, line, `invalid JSON: ${(err as Error).message}`);
  }
  const res = TrajectorySchema.safeParse(value);
  if (!res.success) throw new TrajectoryFileError(path, line, describeZod(res.error));
  return res.data;
}

export function serializeTrajectory(t: Trajectory): string {
  return `${JSON.stringify(t)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Reads a whole JSONL file of trajectories (blank lines ignored). */
export function readTrajectories(path: string, opts: ReadOptions = {}): Trajectory[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Trajectory[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      out.push(parseTrajectoryLine(text, path, i + 1));
    } catch (err) {
      if (!opts.skipInvalid || !(err instanceof TrajectoryFileError)) throw err;
      opts.onBadLine?.(err);
    }
  });
  return out;
}

/** Streams trajectories one at a time (files too large to hold at once). */
export async function* streamTrajectories(path: string, opts: ReadOptions = {}): AsyncGenerator<Trajectory> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const text of rl) {
    n++;
    if (text.trim() === '') continue;
    try {
      yield parseTrajectoryLine(text, path, n);
    } catch (err) {
      if (!opts.skipInvalid || !(err instanceof TrajectoryFileError)) throw err;
      opts.onBadLine?.(err);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

export class TrajectoryWriter {
  private fd: number | undefined;
  private count = 0;

  constructor(
    readonly path: string,
    private readonly opts: WriterOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  get written(): number {
    return this.count;
  }

  /** Appends one episode as one line, written through before returning. */
  write(t: Trajectory): void {
    if (this.fd === undefined) throw new TrajectoryFileError(this.path, this.count + 1, 'the writer is closed');
    const buf = Buffer.from(serializeTrajectory(t), 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    if (this.opts.fsync) fsyncSync(this.fd);
    this.count++;
  }

  /** Safe to call twice. */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
