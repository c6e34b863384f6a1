// Full verification: every byte of the file (header checksum, each frame's zstd checksum and
// size, the database SHA-256), SQLite's integrity check, the schema and the invariants the spec
// promises (dense time-ordered ids, known op codes, resolvable stacks), and the manifest's counts.
import { rmSync } from 'node:fs';
import { BundleError } from './errors.ts';
import { cachedDatabase, defaultCacheDir, openReadOnlyDatabase, type OpenOptions } from './bundle.ts';
import { checkConformance } from './conformance.ts';
import { readContainer } from './read-container.ts';
import type { Manifest } from './manifest.ts';

export interface VerifyReport {
  readonly path: string;
  readonly ok: boolean;
  /** One line per problem. */
  readonly problems: readonly string[];
  readonly manifest?: Manifest;
}

export function verifyBundle(path: string, options: OpenOptions = {}): VerifyReport {
  let info;
  let file: string;
  try {
    info = readContainer(path);
    file = cachedDatabase(info, options.cacheDir ?? defaultCacheDir(), { reverify: true });
  } catch (err) {
    if (err instanceof BundleError) return { path, ok: false, problems: [err.message] };
    throw err;
  }
  const problems: string[] = [];
  let db;
  try {
    db = openReadOnlyDatabase(file);
  } catch (err) {
    rmSync(file, { force: true });
    return { path, ok: false, problems: [`${path}: the database inside cannot be opened (${(err as Error).message})`], manifest: info.manifest };
  }
  try {
    problems.push(...checkConformance(db, { full: true }).map((p) => `${path}: ${p}`));
    if (problems.length === 0) {
      const n = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      if (n !== info.manifest.counts.events) problems.push(`${path}: manifest says ${info.manifest.counts.events} events, the database holds ${n}`);
    }
  } catch (err) {
    problems.push(`${path}: the database inside is damaged (${(err as Error).message})`);
  } finally {
    db.close();
  }
  if (problems.length > 0) rmSync(file, { force: true });
  return { path, ok: problems.length === 0, problems, manifest: info.manifest };
}
