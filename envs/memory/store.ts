/**
 * The memory store: files of text under `/memories`, in SQLite (better-sqlite3), with an FTS5 index
 * for `memory_search` (BM25-ranked). Training episodes use one in-memory database each; `gym serve
 * --env memory --db <path>` opens a file in WAL mode, shared by every session and process that opens it.
 *
 * Durability: in WAL mode a transaction is in the log (in the operating system's hands) before the
 * call returns, so a process killed with SIGKILL loses no acknowledged write. `synchronous=NORMAL`
 * does not fsync each commit: an operating-system crash or power loss may lose the last commits
 * (`durable: true` sets FULL, an fsync per commit).
 *
 * Every operation that fails throws `MemoryError` whose message shows the state needed to recover:
 * the file's current text, or the paths that exist.
 */
import Database from 'better-sqlite3';

// ---------------------------------------------------------------------------------------------
// Types

export interface MemoryStoreOptions {
  /** A database file (created if missing, WAL mode), or `:memory:` (the default) for one episode. */
  path?: string;
  /** Characters the store may hold in total (every file's text); past it a write is refused. */
  capacity?: number;
  /** fsync every commit (survives power loss, slower); default off (survives a killed process). */
  durable?: boolean;
  /** How long a write waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
}

export interface MemoryFile {
  path: string;
  text: string;
}

export interface SearchHit {
  path: string;
  snippet: string;
  score: number;
}

/** A failed memory operation; its message says what exists now and what to do. */
export class MemoryError extends Error {
  override name = 'MemoryError';
}

export const ROOT = '/memories';
export const DEFAULT_CAPACITY = 100_000_000;
const MAX_PATH = 256;

// ---------------------------------------------------------------------------------------------
// Pure helpers

/**
 * A path normalised to `/memories/...`: a relative path is taken under `/memories`, `.` and empty
 * segments are dropped, and `..` or leaving the root is refused (the store is the only place a
 * memory tool can reach).
 */
export function normalizePath(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed.length === 0) throw new MemoryError(`Empty path: paths live under ${ROOT}, e.g. "${ROOT}/notes.md".`);
  if (trimmed.length > MAX_PATH) throw new MemoryError(`Path is ${trimmed.length} characters, over the limit of ${MAX_PATH}.`);
  const abs = trimmed.startsWith('/') ? trimmed : `${ROOT}/${trimmed}`;
  const parts = abs.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new MemoryError(`Path "${raw}" uses "..": give a path under ${ROOT}, e.g. "${ROOT}/notes.md".`);
  if (parts[0] !== ROOT.slice(1)) throw new MemoryError(`Path "${raw}" is outside ${ROOT}: every memory lives under ${ROOT}/.`);
  return `/${parts.join('/')}`;
}

/** Lines numbered as the memory tool's `view` shows them (6-wide number, a tab, the line). */
export function numbered(text: string, from = 1): string {
  if (text === '') return '(empty file)';
  return text
    .split('\n')
    .map((l, i) => `${String(i + from).padStart(6)}\t${l}`)
    .join('\n');
}

/**
 * An FTS5 query from free text: each word quoted (so punctuation and FTS operators in the text are
 * plain characters), joined by OR so BM25 ranks files by how many and how rare the matched words are.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const uniq = [...new Set(words)].slice(0, 32);
  return uniq.length === 0 ? undefined : uniq.map((w) => `"${w}"`).join(' OR ');
}

// ---------------------------------------------------------------------------------------------
// The store

export class MemoryStore {
  readonly path: string;
  readonly capacity: number;
  readonly #db: Database.Database;
  readonly #q: {
    get: Database.Statement<[string], { text: string }>;
    upsert: Database.Statement<[string, string]>;
    update: Database.Statement<[string, string]>;
    del: Database.Statement<[string]>;
    delPrefix: Database.Statement<[string, string, string]>;
    list: Database.Statement<[string, string, string], { path: string; chars: number }>;
    under: Database.Statement<[string, string], { n: number }>;
    all: Database.Statement<[], MemoryFile>;
    total: Database.Statement<[], { n: number | null }>;
    rename: Database.Statement<[string, string]>;
    search: Database.Statement<[string, number], { path: string; snippet: string; score: number }>;
    count: Database.Statement<[], { n: number }>;
  };
  #closed = false;

  constructor(opts: MemoryStoreOptions = {}) {
    this.path = opts.path ?? ':memory:';
    this.capacity = opts.capacity ?? DEFAULT_CAPACITY;
    this.#db = new Database(this.path, { timeout: opts.busyTimeoutMs ?? 5000 });
    if (this.path !== ':memory:') {
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${opts.durable ? 'FULL' : 'NORMAL'}`);
    }
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL
      );
      CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(path, text, content='files', content_rowid='id');
      -- Characters stored, kept by the triggers: the capacity check must not scan every file.
      CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY CHECK (id = 0), chars INTEGER NOT NULL);
      INSERT OR IGNORE INTO usage VALUES (0, (SELECT coalesce(sum(length(text)), 0) FROM files));
      CREATE TRIGGER IF NOT EXISTS files_ai AFTER INSERT ON files BEGIN
        INSERT INTO files_fts(rowid, path, text) VALUES (new.id, new.path, new.text);
        UPDATE usage SET chars = chars + length(new.text) WHERE id = 0;
      END;
      CREATE TRIGGER IF NOT EXISTS files_ad AFTER DELETE ON files BEGIN
        INSERT INTO files_fts(files_fts, rowid, path, text) VALUES ('delete', old.id, old.path, old.text);
        UPDATE usage SET chars = chars - length(old.text) WHERE id = 0;
      END;
      CREATE TRIGGER IF NOT EXISTS files_au AFTER UPDATE ON files BEGIN
        INSERT INTO files_fts(files_fts, rowid, path, text) VALUES ('delete', old.id, old.path, old.text);
        INSERT INTO files_fts(rowid, path, text) VALUES (new.id, new.path, new.text);
        UPDATE usage SET chars = chars - length(old.text) + length(new.text) WHERE id = 0;
      END;
    `);
    const db = this.#db;
    this.#q = {
      get: db.prepare('SELECT text FROM files WHERE path = ?'),
      upsert: db.prepare('INSERT INTO files(path, text) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET text = excluded.text'),
      update: db.prepare('UPDATE files SET text = ? WHERE path = ?'),
      del: db.prepare('DELETE FROM files WHERE path = ?'),
      // A directory's files are the paths in [dir + '/', dir + '0'): '0' follows '/', so the
      // range is an index scan of exactly the paths under dir.
      delPrefix: db.prepare('DELETE FROM files WHERE path = ? OR (path >= ? AND path < ?)'),
      list: db.prepare(
        'SELECT path, length(text) AS chars FROM files WHERE path = ? OR (path >= ? AND path < ?) ORDER BY path LIMIT 1000',
      ),
      under: db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM files WHERE path >= ? AND path < ? LIMIT 1)'),
      all: db.prepare('SELECT path, text FROM files ORDER BY path'),
      total: db.prepare('SELECT chars AS n FROM usage WHERE id = 0'),
      rename: db.prepare('UPDATE files SET path = ? WHERE path = ?'),
      search: db.prepare(
        "SELECT f.path AS path, snippet(files_fts, 1, '**', '**', '...', 12) AS snippet, bm25(files_fts) AS score FROM files_fts JOIN files f ON f.id = files_fts.rowid WHERE files_fts MATCH ? ORDER BY score LIMIT ?",
      ),
      count: db.prepare('SELECT count(*) AS n FROM files'),
    };
  }

  // -- reads ---------------------------------------------------------------------------------

  /** The file's text, or undefined. */
  read(path: string): string | undefined {
    return this.#q.get.get(normalizePath(path))?.text;
  }

  /** Files at or under `dir` (path and size), in path order. */
  list(dir: string = ROOT): Array<{ path: string; chars: number }> {
    const p = normalizePath(dir);
    return this.#q.list.all(p, `${p}/`, `${p}0`);
  }

  /** Every file (for verifiers and tests). */
  files(): MemoryFile[] {
    return this.#q.all.all();
  }

  count(): number {
    return this.#q.count.get()?.n ?? 0;
  }

  /** Characters stored in total. */
  used(): number {
    return this.#q.total.get()?.n ?? 0;
  }

  /** The paths that exist, for error messages (a few, and how many more). */
  existing(limit = 20): string {
    const all = this.list(ROOT);
    if (all.length === 0) return `${ROOT} is empty: create a file first, e.g. ${ROOT}/notes.md.`;
    const shown = all.slice(0, limit).map((f) => `${f.path} (${f.chars} chars)`);
    return `Existing files: ${shown.join(', ')}${all.length > limit ? `, and ${all.length - limit} more` : ''}.`;
  }

  /**
   * `view`: a file's numbered lines (optionally a 1-based inclusive line range, end -1 for the last
   * line), or a directory's listing.
   */
  view(path: string, range?: [number, number]): string {
    const p = normalizePath(path);
    const text = this.#q.get.get(p)?.text;
    if (text !== undefined) {
      if (!range) return `${p}:\n${numbered(text)}`;
      const lines = text.split('\n');
      const [from, toRaw] = range;
      const to = toRaw === -1 ? lines.length : toRaw;
      if (from < 1 || from > lines.length || to < from || to > lines.length)
        throw new MemoryError(
          `view_range [${from}, ${toRaw}] is outside ${p}, which has ${lines.length} lines: give [first, last] with 1 <= first <= last <= ${lines.length} (last -1 means the end).`,
        );
      return `${p} (lines ${from}-${to} of ${lines.length}):\n${numbered(lines.slice(from - 1, to).join('\n'), from)}`;
    }
    const under = this.list(p);
    if (under.length === 0) {
      if (p === ROOT) return `${ROOT} is empty (0 of ${this.capacity} characters used).`;
      throw new MemoryError(`No file or directory ${p}. ${this.existing()}`);
    }
    const used = this.used();
    return [
      `Directory ${p} (${under.length} files; ${used} of ${this.capacity} characters used):`,
      ...under.map((f) => `- ${f.path} (${f.chars} chars)`),
    ].join('\n');
  }

  /** `memory_search`: the `k` best files for `query` by BM25, with a highlighted snippet each. */
  search(query: string, k = 5): SearchHit[] {
    const q = ftsQuery(query);
    if (!q) return [];
    return this.#q.search.all(q, k).map((h) => ({ path: h.path, snippet: h.snippet, score: -h.score }));
  }

  // -- writes --------------------------------------------------------------------------------

  /** `create`: writes a file (a new one, or overwriting an existing one, as the memory tool does). */
  create(path: string, text: string): string {
    const p = normalizePath(path);
    if (p === ROOT) throw new MemoryError(`${ROOT} is the root directory: create a file under it, e.g. ${ROOT}/notes.md.`);
    return this.#tx(() => {
      const old = this.#q.get.get(p)?.text;
      if (old === undefined && this.#isDir(p))
        throw new MemoryError(`${p} is a directory (${this.list(p).length} files under it): choose a file path.`);
      this.#fits(text.length - (old?.length ?? 0), p);
      this.#q.upsert.run(p, text);
      return old === undefined ? `Created ${p} (${text.length} chars).` : `Overwrote ${p} (${text.length} chars).`;
    });
  }

  /** `str_replace`: replaces the one occurrence of `oldStr` in the file with `newStr`. */
  strReplace(path: string, oldStr: string, newStr: string): string {
    const p = normalizePath(path);
    return this.#tx(() => {
      const text = this.#mustRead(p);
      if (oldStr === '')
        throw new MemoryError(`old_str is empty: give the exact text to replace. Current text of ${p}:\n${numbered(text)}`);
      const at = text.indexOf(oldStr);
      if (at < 0)
        throw new MemoryError(
          `No match for old_str in ${p} (it must match exactly, whitespace included). Current text of ${p}:\n${numbered(text)}`,
        );
      const again = text.indexOf(oldStr, at + 1);
      if (again >= 0) {
        const lines = linesOf(text, oldStr);
        throw new MemoryError(
          `old_str occurs ${lines.length > 1 ? `on lines ${lines.join(', ')}` : 'more than once'} of ${p}: include more of the surrounding text so it matches once. Current text of ${p}:\n${numbered(text)}`,
        );
      }
      const next = text.slice(0, at) + newStr + text.slice(at + oldStr.length);
      this.#fits(next.length - text.length, p);
      this.#q.update.run(next, p);
      return `Edited ${p}:\n${numbered(next)}`;
    });
  }

  /** `insert`: inserts `text` after line `line` (0 inserts at the top). */
  insert(path: string, line: number, text: string): string {
    const p = normalizePath(path);
    return this.#tx(() => {
      const cur = this.#mustRead(p);
      const lines = cur === '' ? [] : cur.split('\n');
      if (!Number.isInteger(line) || line < 0 || line > lines.length)
        throw new MemoryError(
          `insert_line ${line} is outside ${p}, which has ${lines.length} lines: use 0 (top) to ${lines.length} (end). Current text of ${p}:\n${numbered(cur)}`,
        );
      const next = [...lines.slice(0, line), ...text.split('\n'), ...lines.slice(line)].join('\n');
      this.#fits(next.length - cur.length, p);
      this.#q.update.run(next, p);
      return `Inserted ${text.split('\n').length} line(s) into ${p} after line ${line}:\n${numbered(next)}`;
    });
  }

  /** `delete`: removes a file, or a directory and everything under it. */
  delete(path: string): string {
    const p = normalizePath(path);
    return this.#tx(() => {
      if (p === ROOT) {
        const n = this.count();
        this.#db.exec('DELETE FROM files');
        return `Deleted every file under ${ROOT} (${n}).`;
      }
      const n = this.#q.delPrefix.run(p, `${p}/`, `${p}0`).changes;
      if (n === 0) throw new MemoryError(`No file or directory ${p}. ${this.existing()}`);
      return `Deleted ${p}${n > 1 ? ` (${n} files)` : ''}.`;
    });
  }

  /** `rename`: moves a file to a new path (which must not exist). */
  rename(oldPath: string, newPath: string): string {
    const a = normalizePath(oldPath);
    const b = normalizePath(newPath);
    return this.#tx(() => {
      if (this.#q.get.get(a) === undefined) throw new MemoryError(`No file ${a}. ${this.existing()}`);
      if (b === ROOT || this.#q.get.get(b) !== undefined || this.#isDir(b))
        throw new MemoryError(`${b} already exists: pick another name, or delete it first. ${this.existing()}`);
      this.#q.rename.run(b, a);
      return `Renamed ${a} to ${b}.`;
    });
  }

  /** Runs `fn` (store calls) as one transaction: a bulk load commits once instead of per write. */
  batch<T>(fn: () => T): T {
    return this.#tx(fn);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  // -- internals -----------------------------------------------------------------------------

  #isDir(p: string): boolean {
    return (this.#q.under.get(`${p}/`, `${p}0`)?.n ?? 0) > 0;
  }

  #mustRead(p: string): string {
    const text = this.#q.get.get(p)?.text;
    if (text === undefined) throw new MemoryError(`No file ${p}. ${this.existing()}`);
    return text;
  }

  /** Refuses a write that grows the store past its capacity, saying what takes the room. */
  #fits(delta: number, p: string): void {
    if (delta <= 0) return;
    const used = this.used();
    if (used + delta <= this.capacity) return;
    throw new MemoryError(
      `Writing ${p} needs ${delta} more characters, but the store holds ${used} of its ${this.capacity}: consolidate first (merge or shorten files, delete what is no longer true). ${this.existing()}`,
    );
  }

  /** One write, atomic: BEGIN IMMEDIATE takes the write lock first, so concurrent processes queue. */
  #tx<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }
}

function linesOf(text: string, needle: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (l.includes(needle)) out.push(i + 1);
  });
  return out;
}
