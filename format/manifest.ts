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

const MAX_U64 = (1n << 64n) - 1n;

/** A Unix time in ns as the manifest writes it: a decimal string that fits 64 unsigned bits. */
function isUnixNs(v: unknown): boolean {
  return typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) <= MAX_U64;
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * The first key that appears twice in one object of this (valid) JSON text, or null. JSON.parse
 * keeps the last silently; another reader may keep the first, so the two would read different
 * manifests from the same bytes.
 */
export function duplicateKey(json: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i]!;
    if (ch === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      expectKey = false;
      i = end;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      expectKey = stack.at(-1) != null;
    }
  }
  return null;
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
  if (!Number.isInteger(db.page_size) || db.page_size < 512 || db.page_size > 65536 || (db.page_size & (db.page_size - 1)) !== 0) fail(name, 'has a database.page_size that is not a power of two from 512 to 65536');
  if (typeof db.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(db.sha256)) fail(name, 'has an invalid database sha256');
  if (typeof r.time !== 'object' || r.time === null || !isUnixNs(r.time.origin_unix_ns)) fail(name, 'has no valid time.origin_unix_ns (a decimal string up to 2^64 - 1)');
  if (typeof r.counts !== 'object' || r.counts === null || !isCount(r.counts.events)) fail(name, 'has no valid event count');
  // The descriptive fields (§3) are not needed to read the database, but every front end prints
  // them: ill-typed ones are refused here rather than crashing each of them.
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isUnixNs(r.created_unix_ns)) fail(name, 'has no valid created_unix_ns');
  if (!isObject(r.producer) || ['name', 'version', 'command'].some((k) => typeof r.producer[k] !== 'string')) fail(name, 'has no valid producer');
  if (!isObject(r.host)) fail(name, 'has no valid host section');
  if (!Array.isArray(r.nodes) || r.nodes.some((n: unknown) => typeof n !== 'string')) fail(name, 'has no valid node list');
  if (!isCount(r.time.start_ns) || !isCount(r.time.end_ns) || r.time.end_ns < r.time.start_ns) fail(name, 'has no valid time.start_ns and time.end_ns (non-negative, end not before start)');
  if (!isObject(r.counts.by_source) || Object.values(r.counts.by_source).some((n) => !isCount(n))) fail(name, 'has no valid counts.by_source');
  if (!isCount(r.counts.processes) || !isCount(r.counts.stacks)) fail(name, 'has no valid process and stack counts');
  if (!isObject(r.capture) || !isCount(r.capture.dropped) || typeof r.capture.sampled !== 'boolean') fail(name, 'has no valid capture section');
  const duplicate = duplicateKey(json);
  if (duplicate !== null) fail(name, `has the key ${JSON.stringify(duplicate.slice(0, 64))} twice in one object (readers would disagree on which counts)`);
  return r as Manifest;
}
