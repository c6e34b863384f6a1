// Full verification: every byte of the file (header checksum, each frame's zstd checksum and
// size, the database SHA-256), SQLite's integrity check, the schema and the invariants the spec
// promises (dense time-ordered ids, known op codes, resolvable stacks), and every manifest field
// the sealer derives from the database. The header hash is a checksum, not a signature: anyone
// can edit a manifest and recompute it, so only the database's own account is a fact.
import { isDeepStrictEqual } from 'node:util';
import { BundleError, type BundleErrorCode } from './errors.ts';
import { cachedDatabase, clockOrigin, defaultCacheDir, openReadOnlyDatabase, recordValuesPassed, removeCacheEntry, schemaVersionProblem, type OpenOptions } from './bundle.ts';
import { checkConformance } from './conformance.ts';
import { readContainer, type ContainerInfo } from './read-container.ts';
import type { Manifest } from './manifest.ts';
import { databaseFacts } from './seal.ts';

/** One problem: its spec §9 code (normative) and its one-line message, which names the file. */
export interface VerifyProblem {
  readonly code: BundleErrorCode;
  readonly message: string;
}

export interface VerifyReport {
  readonly path: string;
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  readonly manifest?: Manifest;
}

/** SQLite's integrity check is the one conformance line about damage rather than the schema (spec §9). */
const INTEGRITY_FAILURE = /^SQLite integrity check failed/;

export function verifyBundle(path: string, options: OpenOptions = {}): VerifyReport {
  let info;
  let file: string;
  try {
    info = readContainer(path, options);
    file = cachedDatabase(info, options.cacheDir ?? defaultCacheDir(), { reverify: true });
  } catch (err) {
    if (err instanceof BundleError) return { path, ok: false, problems: [{ code: err.code, message: err.message }] };
    throw err;
  }
  const problems: VerifyProblem[] = [];
  const found = (code: BundleErrorCode, message: string) => problems.push({ code, message: `${path}: ${message}` });
  let db;
  try {
    db = openReadOnlyDatabase(file);
  } catch (err) {
    removeCacheEntry(file);
    return { path, ok: false, problems: [{ code: 'CORRUPT', message: `${path}: the database inside cannot be opened (${(err as Error).message})` }], manifest: info.manifest };
  }
  try {
    for (const p of checkConformance(db, { full: true })) found(INTEGRITY_FAILURE.test(p) ? 'CORRUPT' : 'SCHEMA', p);
    if (problems.length === 0) {
      const origin = clockOrigin(db);
      for (const p of [schemaVersionProblem(db, info.manifest), typeof origin === 'string' ? origin : null]) if (p !== null) found('SCHEMA', p);
      for (const p of manifestMismatches(info, db)) found('CORRUPT', p);
    }
  } catch (err) {
    found('CORRUPT', `the database inside is damaged (${(err as Error).message})`);
  } finally {
    db.close();
  }
  // A full pass includes the open-time value checks: the next open need not repeat them.
  if (problems.length > 0) removeCacheEntry(file);
  else recordValuesPassed(file, info.manifest.database.sha256);
  return { path, ok: problems.length === 0, problems, manifest: info.manifest };
}

/** One line per manifest field that disagrees with what the database (or the seek table) says. */
function manifestMismatches(info: ContainerInfo, db: Parameters<typeof databaseFacts>[0]): string[] {
  const m = info.manifest;
  const facts = databaseFacts(db);
  const frames = info.seek.entries;
  const frameBytes = frames.length > 1 ? frames[0]!.contentBytes : m.compression?.frame_bytes;
  // schema_version is schemaVersionProblem's; the origin is compared when the metadata holds one.
  const pairs: [field: string, manifest: unknown, truth: unknown][] = [
    ['nodes', m.nodes, facts.nodes],
    ['time.origin_unix_ns', m.time.origin_unix_ns, facts.time.origin_unix_ns],
    ['time.start_ns', m.time.start_ns, facts.time.start_ns],
    ['time.end_ns', m.time.end_ns, facts.time.end_ns],
    ['counts.events', m.counts.events, facts.counts.events],
    ['counts.by_source', sorted(m.counts.by_source), sorted(facts.counts.by_source)],
    ['counts.processes', m.counts.processes, facts.counts.processes],
    ['counts.stacks', m.counts.stacks, facts.counts.stacks],
    ['capture.dropped', m.capture.dropped, facts.capture.dropped],
    ['capture.sampled', m.capture.sampled, facts.capture.sampled],
    ['database.page_size', m.database.page_size, facts.page_size],
    ['compression.frames', m.compression?.frames, frames.length],
    ['compression.frame_bytes', m.compression?.frame_bytes, frameBytes],
  ];
  const sources = { 'time.origin_unix_ns': "metadata 'clock.origin_unix_ns'", 'compression.frames': 'the seek table', 'compression.frame_bytes': 'the seek table' } as Record<string, string>;
  return pairs
    .filter(([, said, truth]) => !isDeepStrictEqual(said, truth))
    .map(([field, said, truth]) => `manifest ${field} says ${shown(said)}, ${sources[field] ?? 'the database'} says ${shown(truth)} — the manifest was edited or written by a broken tool; readers use the database's figure`);
}

function sorted(o: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function shown(v: unknown): string {
  const text = Array.isArray(v) && v.every((e) => Array.isArray(e)) ? JSON.stringify(Object.fromEntries(v as [string, unknown][])) : JSON.stringify(v);
  return text === undefined ? 'nothing' : text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
