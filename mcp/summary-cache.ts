// The precomputed summary of a bundle kept beside its decompressed database in the cache, so a
// second server on the same bundle answers at once instead of recomputing it (tens of seconds
// at 10M events). An entry is keyed by the database's SHA-256 (the cache file's own name) and by
// a digest of the analyzer's source, so any change to the analysis makes old entries unused.
// Entries are written atomically (a private temp file renamed into place) with 0600 permissions
// in the cache directory, which format/ has already checked is private; an entry that is
// damaged, foreign or for another key is ignored and replaced. Each write also removes the
// entries nobody can use any more (another analyzer's, or a database the cache has evicted) and
// then the least recently used ones beyond SUMMARY_CACHE_MAX_BYTES.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { writeFileAtomically } from '../format/atomic-file.ts';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from './precompute.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Sources whose change can change a summary. */
const ANALYZER_SOURCES = ['analyze', 'mcp/precompute.ts', 'format/bundle.ts', 'format/schema.ts', 'package.json'];

/** Bound on the summaries kept in one cache directory, together (a 10M-event summary is a few MB). */
export const SUMMARY_CACHE_MAX_BYTES = 256 * 1024 ** 2;

/** `<database sha256>.summary-<analyzer key>.json`: the name of an entry. */
const ENTRY_NAME = /^([0-9a-f]{64})\.summary-([0-9a-f]{16})\.json$/;

let analyzerKeyValue: string | undefined;

/** Digest of the analyzer's source files (names and bytes), computed once per process. */
export function analyzerKey(): string {
  if (analyzerKeyValue) return analyzerKeyValue;
  const hash = createHash('sha256');
  const add = (path: string) => {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
    } else if (st.isFile() && /\.(ts|mjs|json)$/.test(path)) {
      hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  for (const p of ANALYZER_SOURCES) add(join(ROOT, p));
  analyzerKeyValue = hash.digest('hex').slice(0, 16);
  return analyzerKeyValue;
}

interface Entry {
  readonly database_sha256: string;
  readonly analyzer: string;
  /** SHA-256 of JSON.stringify(summary), checked on read: a torn or edited file is not used. */
  readonly summary_sha256: string;
  readonly summary: Summary;
}

function databaseDigest(databasePath: string): string {
  return basename(databasePath).replace(/\.sqlite$/, '');
}

export function summaryCachePath(databasePath: string): string {
  return join(dirname(databasePath), `${databaseDigest(databasePath)}.summary-${analyzerKey()}.json`);
}

/** The cached summary of this database, or undefined when there is none usable. */
export function readCachedSummary(databasePath: string): Summary | undefined {
  const file = summaryCachePath(databasePath);
  try {
    const st = lstatSync(file);
    if (!st.isFile() || (process.getuid !== undefined && st.uid !== process.getuid()) || (st.mode & 0o077) !== 0) return undefined;
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
    const text = JSON.stringify(entry.summary);
    if (entry.database_sha256 !== databaseDigest(databasePath) || entry.analyzer !== analyzerKey() || createHash('sha256').update(text).digest('hex') !== entry.summary_sha256) return undefined;
    markUsed(file);
    return entry.summary;
  } catch {
    return undefined;
  }
}

/** Entries are evicted least recently used first: a hit moves the entry's mtime to now. */
function markUsed(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    /* a read-only cache still serves; the entry just ranks less well */
  }
}

/**
 * Stores a summary beside its database, then prunes the directory's entries (pruneSummaries).
 * Failing to write (read-only or full cache) only costs the next start.
 */
export function writeCachedSummary(databasePath: string, summary: Summary, maxBytes = SUMMARY_CACHE_MAX_BYTES): void {
  const file = summaryCachePath(databasePath);
  const text = JSON.stringify(summary);
  const entry = `{"database_sha256":${JSON.stringify(databaseDigest(databasePath))},"analyzer":${JSON.stringify(analyzerKey())},"summary_sha256":"${createHash('sha256').update(text).digest('hex')}","summary":${text}}`;
  try {
    writeFileAtomically(file, (fd) => writeSync(fd, entry));
    pruneSummaries(dirname(file), basename(file), maxBytes);
  } catch {
    /* the next server computes the summary again */
  }
}

/**
 * Removes the summaries of a cache directory that no server can use (another analyzer's, or one
 * whose database is no longer cached), then the least recently used beyond maxBytes in total,
 * never `keep` (the entry just written). Temp files of writers still at work are not entries.
 */
function pruneSummaries(dir: string, keep: string, maxBytes: number): void {
  const live: { path: string; bytes: number; used: number }[] = [];
  for (const name of readdirSync(dir)) {
    const m = ENTRY_NAME.exec(name);
    if (!m || name === keep) continue;
    const path = join(dir, name);
    if (m[2] !== analyzerKey() || !existsSync(join(dir, `${m[1]}.sqlite`))) {
      rmSync(path, { force: true });
      continue;
    }
    const st = statSync(path);
    live.push({ path, bytes: st.size, used: st.mtimeMs });
  }
  let total = statSync(join(dir, keep)).size + live.reduce((sum, e) => sum + e.bytes, 0);
  for (const e of live.sort((a, b) => a.used - b.used || (a.path < b.path ? -1 : 1))) {
    if (total <= maxBytes) break;
    rmSync(e.path, { force: true });
    total -= e.bytes;
  }
}
