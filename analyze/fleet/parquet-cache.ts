// The Parquet conversion of each bundle, cached beside its decompressed database (format/'s
// cache directory, subfolder parquet-v<layout>), so that `ingero query` and `stats --dir` on
// bundles convert a recording once, not on every run.
//
// An entry is <digest>/, the bundle's partitions in the layout of spec/parquet-layout.md plus
// entry.json, which lists every file with its SHA-256. Entries are keyed by the database digest
// (the same recording, whatever its file name) and the layout version (the folder); they hold
// no analyzer findings, which follow this ingero's analyzer and are written per run. An entry is
// built in a private temporary folder and renamed into place, so that concurrent runs never see
// half of one (the loser of a race discards its copy); on every use its files are hashed against
// entry.json, and one that differs is rebuilt, never read. The cache is bounded by size, least
// recently used entries going first, never one that the current run uses.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { BundleError, isPrivateDirectory, type Bundle } from '../../format/index.ts';
import { LAYOUT_VERSION, writeBundleParquet } from './parquet-writer.ts';

/** Default bound on the Parquet cache's size; $INGERO_PARQUET_CACHE_MAX_BYTES changes it. */
export const DEFAULT_PARQUET_CACHE_MAX_BYTES = 10 * 1024 ** 3;

const ENTRY_FILE = 'entry.json';
/** A temporary build older than this was left by a run that died; it is removed. */
const STALE_BUILD_MS = 3600_000;

interface EntryRecord {
  readonly layout_version: number;
  readonly digest: string;
  /** Path (relative to the entry, '/'-separated) → SHA-256 of its bytes. */
  readonly files: Readonly<Record<string, string>>;
  readonly bytes: number;
}

/** The Parquet cache folder of the cache a bundle was opened from. */
export function parquetCacheDir(bundle: Bundle): string {
  const dir = join(dirname(bundle.databasePath), `parquet-v${LAYOUT_VERSION}`);
  if (!isPrivateDirectory(dir)) throw new BundleError('IO', `${bundle.path}: the Parquet cache ${dir} is not a private directory (missing, not writable or writable by others) — set INGERO_CACHE_DIR to a directory only you can write`);
  return dir;
}

/**
 * The root of the bundle's cached Parquet partitions, converting it first when there is no
 * entry or the entry fails its check. inUse: digests this run reads, which eviction keeps.
 */
export async function cachedParquet(bundle: Bundle, inUse: ReadonlySet<string>): Promise<string> {
  const dir = parquetCacheDir(bundle);
  const digest = bundle.manifest.database.sha256;
  const entry = join(dir, digest);
  if (entryIsSound(entry, digest)) {
    markUsed(entry);
    return entry;
  }
  discard(entry);
  const build = join(dir, `.build-${digest}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(build, { mode: 0o700 });
  try {
    await writeBundleParquet(bundle, build, { analysis: false });
    const record = describe(build, digest);
    writeFileSync(join(build, ENTRY_FILE), JSON.stringify(record) + '\n', { mode: 0o600 });
    install(build, entry, digest);
  } catch (err) {
    rmSync(build, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new BundleError('IO', `${bundle.path}: disk full while converting it into the Parquet cache ${dir} — free space or set INGERO_CACHE_DIR to a roomier place`);
    throw err;
  }
  evictLeastRecentlyUsed(dir, inUse);
  return entry;
}

/** Renames a finished build into place; when another run got there first, theirs stands if sound. */
function install(build: string, entry: string, digest: string): void {
  try {
    renameSync(build, entry);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  if (entryIsSound(entry, digest)) {
    rmSync(build, { recursive: true, force: true });
    return;
  }
  discard(entry);
  renameSync(build, entry);
}

/** Whether entry.json names exactly the files there, each with the SHA-256 it records. */
function entryIsSound(entry: string, digest: string): boolean {
  let record: EntryRecord;
  try {
    if (!lstatSync(entry).isDirectory()) return false;
    record = JSON.parse(readFileSync(join(entry, ENTRY_FILE), 'utf8')) as EntryRecord;
  } catch {
    return false;
  }
  if (record?.layout_version !== LAYOUT_VERSION || record.digest !== digest || typeof record.files !== 'object' || record.files === null) return false;
  const present = dataFiles(entry);
  if (present.length !== Object.keys(record.files).length) return false;
  return present.every((rel) => record.files[rel] === sha256File(join(entry, rel)));
}

function describe(root: string, digest: string): EntryRecord {
  const files: Record<string, string> = {};
  let bytes = 0;
  for (const rel of dataFiles(root)) {
    files[rel] = sha256File(join(root, rel))!;
    bytes += statSync(join(root, rel)).size;
  }
  return { layout_version: LAYOUT_VERSION, digest, files, bytes };
}

/** Every file under root but entry.json, as sorted '/'-separated relative paths; a link or other non-file fails the entry. */
function dataFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const rel = relative(root, join(e.parentPath, e.name)).split('\\').join('/');
    if (e.isDirectory() || rel === ENTRY_FILE) continue;
    out.push(e.isFile() ? rel : `${rel} (not a file)`);
  }
  return out.sort();
}

function sha256File(path: string): string | null {
  let fd: number;
  try {
    if (!lstatSync(path).isFile()) return null;
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Removes an entry at once as far as other runs can tell: renamed away, then deleted. */
function discard(entry: string): void {
  const gone = `${dirname(entry)}/.discard-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(entry, gone);
  } catch {
    return;
  }
  rmSync(gone, { recursive: true, force: true });
}

/** Ranks entries by last use: a hit moves entry.json's mtime to now. */
function markUsed(entry: string): void {
  try {
    const now = new Date();
    utimesSync(join(entry, ENTRY_FILE), now, now);
  } catch {
    /* a read-only cache still serves; it just ranks less well */
  }
}

function cacheMaxBytes(): number {
  const v = Number(process.env.INGERO_PARQUET_CACHE_MAX_BYTES);
  return Number.isFinite(v) && v >= 0 && process.env.INGERO_PARQUET_CACHE_MAX_BYTES !== '' ? v : DEFAULT_PARQUET_CACHE_MAX_BYTES;
}

/** Keeps the cache under its bound, least recently used first; clears builds left by dead runs. */
function evictLeastRecentlyUsed(dir: string, inUse: ReadonlySet<string>): void {
  const entries: { path: string; digest: string; bytes: number; used: number }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (/^\.(build|discard)-/.test(name)) {
      if (Date.now() - lstatSync(path).mtimeMs > STALE_BUILD_MS) rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    try {
      const record = JSON.parse(readFileSync(join(path, ENTRY_FILE), 'utf8')) as EntryRecord;
      entries.push({ path, digest: name, bytes: Number(record.bytes) || 0, used: statSync(join(path, ENTRY_FILE)).mtimeMs });
    } catch {
      discard(path);
    }
  }
  entries.sort((a, b) => a.used - b.used);
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const max = cacheMaxBytes();
  for (const e of entries) {
    if (total <= max) break;
    if (inUse.has(e.digest)) continue;
    discard(e.path);
    total -= e.bytes;
  }
}
