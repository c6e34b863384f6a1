// Opening an Ingero database without changing it or leaving anything beside it.
// Every Ingero file is in WAL mode (header bytes 18-19 = 2), and SQLite's read-only open of a WAL
// file still creates -wal/-shm beside it, or fails in a read-only folder. better-sqlite3 cannot
// take `immutable=1` URIs, so small files are read into memory, the copy's header is switched to
// rollback mode (bytes 18-19 = 1) and deserialized read-only. A live -wal beside the source, or a
// file too big to hold in memory, is copied to a private scratch folder and opened there.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BundleError } from '../format/index.ts';

/** Above this size the source is copied to a scratch folder instead of held in memory. */
export const DESERIALIZE_LIMIT_BYTES = 2 * 1024 ** 3;

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export interface SourceDb {
  readonly db: Database.Database;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
  /** How it was opened: in memory, or from a scratch copy (live WAL or large file). */
  readonly via: 'memory' | 'scratch-copy';
  close(): void;
}

export interface OpenSourceOptions {
  readonly deserializeLimitBytes?: number;
}

export function openSourceDb(path: string, options: OpenSourceOptions = {}): SourceDb {
  const bytes = checkIsSqliteFile(path);
  const wal = `${path}-wal`;
  const liveWal = existsSync(wal) && statSync(wal).size > 0;
  if (!liveWal && bytes <= (options.deserializeLimitBytes ?? DESERIALIZE_LIMIT_BYTES)) {
    const buf = readSource(path);
    const sha256 = createHash('sha256').update(buf).digest('hex');
    if (buf[18] === 2) buf[18] = 1;
    if (buf[19] === 2) buf[19] = 1;
    const db = guard(path, () => new Database(buf, { readonly: true }));
    checkReadable(path, db);
    return { db, path, bytes, sha256, via: 'memory', close: () => db.close() };
  }
  const scratch = mkdtempSync(join(tmpdir(), 'ingero-import-'));
  try {
    const copy = join(scratch, basename(path));
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) guard(path, () => copyFileSync(path + suffix, copy + suffix));
    }
    const sha256 = hashFile(path);
    // The copy is ours: SQLite may replay the WAL into it; the source stays untouched.
    const db = guard(path, () => new Database(copy, { fileMustExist: true }));
    db.pragma('query_only = ON');
    checkReadable(path, db);
    return {
      db,
      path,
      bytes,
      sha256,
      via: 'scratch-copy',
      close: () => {
        db.close();
        rmSync(scratch, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

/** Size of the file after checking it exists, is a regular file and starts like SQLite. */
function checkIsSqliteFile(path: string): number {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new BundleError('USAGE', `${path}: is a directory — give the path of an Ingero .db file`);
    size = st.size;
  } catch (err) {
    if (err instanceof BundleError) throw err;
    throw sourceIoError(path, err);
  }
  const head = Buffer.alloc(100);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw sourceIoError(path, err);
  }
  if (n < 100 || !head.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw new BundleError('NOT_A_BUNDLE', `${path}: not an SQLite database${n === 0 ? ' (empty file)' : ''} — give the path of a database written by Ingero (ingero trace --db ...)`);
  }
  return size;
}

function readSource(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw sourceIoError(path, err);
  }
}

function hashFile(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** quick_check reads every page once, so a damaged file fails here rather than halfway through. */
function checkReadable(path: string, db: Database.Database): void {
  let verdict: unknown;
  try {
    verdict = db.pragma('quick_check(1)', { simple: true });
  } catch (err) {
    db.close();
    throw sourceDbError(path, err);
  }
  if (verdict !== 'ok') {
    db.close();
    throw new BundleError('CORRUPT', `${path}: the SQLite database is damaged (${String(verdict).slice(0, 120)}) — use an undamaged copy`);
  }
}

function guard<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw sourceDbError(path, err);
  }
}

function sourceIoError(path: string, err: unknown): BundleError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new BundleError('NOT_FOUND', `${path}: no such file — check the path of the Ingero database`);
  if (code === 'EACCES' || code === 'EPERM') return new BundleError('IO', `${path}: permission denied reading it — check the file's permissions`);
  if (code === 'ENOSPC') return new BundleError('IO', `${path}: disk full while copying it to a scratch folder — free space in ${tmpdir()} or set TMPDIR`);
  return new BundleError('IO', `${path}: ${(err as Error)?.message ?? String(err)} while reading it`);
}

/** Maps an SQLite or filesystem failure on the source to one line. */
export function sourceDbError(path: string, err: unknown): BundleError {
  if (err instanceof BundleError) return err;
  const code = (err as { code?: string })?.code ?? '';
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_IOERR')) {
    return new BundleError('CORRUPT', `${path}: the SQLite database is damaged (${(err as Error).message}) — use an undamaged copy`);
  }
  if (code.startsWith('SQLITE_')) return new BundleError('CORRUPT', `${path}: SQLite cannot read it (${(err as Error).message})`);
  return sourceIoError(path, err);
}
