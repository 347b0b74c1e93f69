/**
 * Trajectories on disk: JSONL, one episode per line, validated against `TrajectorySchema` on read.
 *
 * `TrajectoryWriter` appends one complete line per episode with a synchronous write on an fd
 * opened for append, so a killed run loses only the episodes still in flight. A process killed
 * mid-write leaves a torn line (an unfinished record); a writer that opens such a file starts on a
 * new line, so no later episode is glued to it, and the readers skip a torn line with a warning
 * naming file:line.
 */
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
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
    /** An unfinished record (a writer was killed mid-line): always skipped by the readers. */
    readonly torn = false,
  ) {
    super(
      torn
        ? `${path}:${line}: torn line skipped (an unfinished record: the writer was stopped mid-line)`
        : `${path}:${line}: not a valid trajectory (${detail}); fix or drop that line, or re-run the episodes`,
    );
  }
}

export interface ReadOptions {
  /** Skip invalid lines instead of throwing; each is reported through `onBadLine`. */
  skipInvalid?: boolean;
  /**
   * Hears of each skipped line: invalid ones (with `skipInvalid`) and torn ones (always skipped).
   * Without it, a torn line is reported as a process warning.
   */
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
    // a record that starts but does not parse is the prefix a killed writer left
    const torn = text.trimStart().startsWith('{');
    throw new TrajectoryFileError(path, line, `invalid JSON: ${(err as Error).message}`, torn);
  }
  const res = TrajectorySchema.safeParse(value);
  if (!res.success) throw new TrajectoryFileError(path, line, describeZod(res.error));
  return res.data;
}

export function serializeTrajectory(t: Trajectory): string {
  return `${JSON.stringify(t)}\n`;
}

/** Whether the reader skips `err` (reporting it) rather than throwing. */
function skips(err: unknown, opts: ReadOptions): err is TrajectoryFileError {
  if (!(err instanceof TrajectoryFileError) || !(err.torn || opts.skipInvalid)) return false;
  if (opts.onBadLine) opts.onBadLine(err);
  else process.emitWarning(err.message, 'TornLineWarning');
  return true;
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
      if (!skips(err, opts)) throw err;
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
    let t: Trajectory;
    try {
      t = parseTrajectoryLine(text, path, n);
    } catch (err) {
      if (!skips(err, opts)) throw err;
      continue;
    }
    yield t;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** True for an empty file or one whose last byte is a newline (an append then starts a new line). */
export function endsWithNewline(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

export class TrajectoryWriter {
  private fd: number | undefined;
  private count = 0;

  constructor(
    readonly path: string,
    private readonly opts: WriterOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a+');
    // a torn last line (a writer killed mid-record) must stay on its own line, or the next episode
    // would be glued to it and lost with it
    if (!endsWithNewline(this.fd)) writeSync(this.fd, '\n');
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
