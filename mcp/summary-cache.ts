// The precomputed summary of a bundle kept beside its decompressed database in the cache, so a
// second server on the same bundle answers at once instead of recomputing it (tens of seconds
// at 10M events). An entry is keyed by the database's SHA-256 (the cache file's own name) and by
// a digest of the analyzer's source, so any change to the analysis makes old entries unused.
// Entries are written atomically (a private temp file renamed into place) with 0600 permissions
// in the cache directory, which format/ has already checked is private; an entry that is
// damaged, foreign or for another key is ignored and replaced.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { writeFileAtomically } from '../format/atomic-file.ts';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from './precompute.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Sources whose change can change a summary. */
const ANALYZER_SOURCES = ['analyze', 'mcp/precompute.ts', 'format/bundle.ts', 'format/schema.ts', 'package.json'];

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
    return entry.summary;
  } catch {
    return undefined;
  }
}

/**
 * Stores a summary beside its database; entries of the same database for other analyzer
 * versions are removed. Failing to write (read-only or full cache) only costs the next start.
 */
export function writeCachedSummary(databasePath: string, summary: Summary): void {
  const file = summaryCachePath(databasePath);
  const text = JSON.stringify(summary);
  const entry = `{"database_sha256":${JSON.stringify(databaseDigest(databasePath))},"analyzer":${JSON.stringify(analyzerKey())},"summary_sha256":"${createHash('sha256').update(text).digest('hex')}","summary":${text}}`;
  try {
    writeFileAtomically(file, (fd) => writeSync(fd, entry));
    const prefix = `${databaseDigest(databasePath)}.summary-`;
    for (const name of readdirSync(dirname(file))) {
      if (name.startsWith(prefix) && name !== basename(file) && !name.includes('.tmp-')) rmSync(join(dirname(file), name), { force: true });
    }
  } catch {
    /* the next server computes the summary again */
  }
}
