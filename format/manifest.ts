// The manifest: what a reader can learn from the first bytes of a bundle, without decompressing.
import { BundleError } from './errors.ts';
import { SCHEMA_VERSION } from './schema.ts';

export interface Manifest {
  readonly format: 'ingero-bundle';
  /** Schema version of the database inside (PRAGMA user_version). */
  readonly schema_version: number;
  /** Oldest schema version whose readers can still read this bundle correctly. */
  readonly min_schema_reader: number;
  readonly created_unix_ns: string;
  readonly producer: { readonly name: string; readonly version: string; readonly command: string };
  readonly host: Readonly<Record<string, unknown>>;
  readonly nodes: readonly string[];
  readonly time: {
    /** Unix time in ns of ts_ns = 0, as a decimal string (exceeds 2^53). */
    readonly origin_unix_ns: string;
    readonly start_ns: number;
    readonly end_ns: number;
  };
  readonly counts: {
    readonly events: number;
    readonly by_source: Readonly<Record<string, number>>;
    readonly processes: number;
    readonly stacks: number;
  };
  readonly capture: {
    readonly dropped: number;
    /** True when the events table is a sample (see table `sampling`). */
    readonly sampled: boolean;
  };
  readonly database: {
    readonly bytes: number;
    readonly sha256: string;
    readonly page_size: number;
  };
  readonly compression: { readonly codec: 'zstd'; readonly level: number; readonly frame_bytes: number; readonly frames: number };
}

function fail(name: string, what: string): never {
  throw new BundleError('CORRUPT', `${name}: manifest ${what} — the header is damaged or was written by a broken tool`);
}

/** Parses and sanity-checks the manifest JSON; unknown keys are kept (forward compatibility). */
export function parseManifest(name: string, json: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(json);
  } catch {
    fail(name, 'is not valid JSON');
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(name, 'is not a JSON object');
  const r = m as Record<string, any>;
  if (r.format !== 'ingero-bundle') fail(name, `names format ${JSON.stringify(r.format)}, expected "ingero-bundle"`);
  if (!Number.isInteger(r.schema_version) || r.schema_version < 1) fail(name, 'has no valid schema_version');
  if (!Number.isInteger(r.min_schema_reader) || r.min_schema_reader < 1) fail(name, 'has no valid min_schema_reader');
  if (r.min_schema_reader > SCHEMA_VERSION) {
    throw new BundleError('VERSION', `${name}: bundle schema version ${r.schema_version} needs a reader of schema ${r.min_schema_reader} or newer; this ingero reads schema ${SCHEMA_VERSION} — upgrade ingero`);
  }
  const db = r.database;
  if (typeof db !== 'object' || db === null) fail(name, 'has no database section');
  if (!Number.isSafeInteger(db.bytes) || db.bytes < 512) fail(name, 'has an invalid database size');
  if (typeof db.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(db.sha256)) fail(name, 'has an invalid database sha256');
  if (typeof r.time !== 'object' || r.time === null || typeof r.time.origin_unix_ns !== 'string' || !/^\d{1,20}$/.test(r.time.origin_unix_ns)) {
    fail(name, 'has no valid time.origin_unix_ns');
  }
  if (typeof r.counts !== 'object' || r.counts === null || !Number.isSafeInteger(r.counts.events)) fail(name, 'has no valid event count');
  // The descriptive fields (§3) are not needed to read the database, but every front end prints
  // them: ill-typed ones are refused here rather than crashing each of them.
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (typeof r.created_unix_ns !== 'string' || !/^\d{1,20}$/.test(r.created_unix_ns)) fail(name, 'has no valid created_unix_ns');
  if (!isObject(r.producer) || ['name', 'version', 'command'].some((k) => typeof r.producer[k] !== 'string')) fail(name, 'has no valid producer');
  if (!isObject(r.host)) fail(name, 'has no valid host section');
  if (!Array.isArray(r.nodes) || r.nodes.some((n: unknown) => typeof n !== 'string')) fail(name, 'has no valid node list');
  if (!Number.isSafeInteger(r.time.start_ns) || !Number.isSafeInteger(r.time.end_ns)) fail(name, 'has no valid time.start_ns and time.end_ns');
  if (!isObject(r.counts.by_source) || Object.values(r.counts.by_source).some((n) => !Number.isSafeInteger(n))) fail(name, 'has no valid counts.by_source');
  if (!Number.isSafeInteger(r.counts.processes) || !Number.isSafeInteger(r.counts.stacks)) fail(name, 'has no valid process and stack counts');
  if (!isObject(r.capture) || !Number.isSafeInteger(r.capture.dropped) || typeof r.capture.sampled !== 'boolean') fail(name, 'has no valid capture section');
  return r as Manifest;
}
