// openBundle and the Bundle object that every front end (CLI, analyzer, TUI, MCP) shares.
// Opening verifies the container, decompresses into a content-addressed cache (keyed by the
// database's SHA-256, so the second open of the same bundle skips all of it), then opens the
// database read-only with SQLite's defensive settings and checks schema conformance.
import Database from 'better-sqlite3';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.ts';
import { checkConformance, VALUE_CHECKER } from './conformance.ts';
import { BundleError, ioError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { inflateDatabase } from './parallel-inflate.ts';
import { readContainer, type ContainerInfo, type ContainerLimits } from './read-container.ts';
import { readSchemaDocs, type TableDoc } from './schema-docs.ts';
import { idAtTimeBySteps } from './sorted-search.ts';

export interface OpenOptions extends ContainerLimits {
  /** Where decompressed databases are cached. Default: $INGERO_CACHE_DIR, else $XDG_CACHE_HOME/ingero, else ~/.cache/ingero. */
  readonly cacheDir?: string;
}

export function defaultCacheDir(): string {
  if (process.env.INGERO_CACHE_DIR) return process.env.INGERO_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ingero', 'bundles');
}

/**
 * Whether a cache directory can be trusted: a real directory owned by this user that no one else
 * can write into (anyone who can plant a file there could substitute the database a bundle names).
 */
export function isPrivateDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function usableCacheDir(name: string, preferred: string): string {
  if (isPrivateDirectory(preferred)) return preferred;
  const fallback = join(tmpdir(), `ingero-cache-${process.getuid?.() ?? 'user'}`);
  if (isPrivateDirectory(fallback)) return fallback;
  throw new BundleError('IO', `${name}: no private cache directory (${preferred} and ${fallback} are missing, not writable or writable by others) — set INGERO_CACHE_DIR to a directory only you can write`);
}

/**
 * The database file of a bundle in the cache, decompressing and verifying it first if needed.
 * Entries are named by the database's SHA-256 and only ever created by a decompression whose
 * digest matched, so an entry holds exactly the bytes its name says (see spec §9 on bundles
 * whose manifest names another bundle's digest).
 */
export function cachedDatabase(info: ContainerInfo, cacheDir: string, options: { readonly reverify?: boolean } = {}): string {
  const dir = usableCacheDir(info.name, cacheDir);
  const file = join(dir, `${info.manifest.database.sha256}.sqlite`);
  try {
    const st = lstatSync(file);
    if (st.isFile() && st.size === info.manifest.database.bytes && (process.getuid === undefined || st.uid === process.getuid())) {
      // A cache hit proves nothing about this file's bytes; verify checks them all the same.
      if (options.reverify) inflateDatabase(info, null);
      markUsed(file);
      return file;
    }
  } catch {
    /* not cached yet */
  }
  // A fresh entry is checked in full at its first open, whatever an older record says.
  removeCacheEntry(file);
  try {
    writeFileAtomically(file, (fd) => inflateDatabase(info, fd));
    evictLeastRecentlyUsed(dir, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new BundleError('IO', `${info.name}: disk full while decompressing into the cache ${dir} — free space or set INGERO_CACHE_DIR to a roomier place`);
    }
    if (err instanceof BundleError) throw err;
    throw ioError(file, err, 'decompressing into the cache');
  }
  return file;
}

/** Removes a cache entry: the database and the record that it passed the value checks. */
export function removeCacheEntry(file: string): void {
  rmSync(file, { force: true });
  rmSync(conformanceRecord(file), { force: true });
}

// The open-time value pass reads every page of events (1 s at 10M events), so that a cache
// entry which passed it once is not read again at each open: a record beside the entry names its
// digest and the checker (VALUE_CHECKER), written once the checks passed. A missing record or
// one naming another digest or checker means: check again.
const conformanceRecord = (file: string) => file.replace(/\.sqlite$/, '.conformance');
const recordText = (sha256: string) => `${VALUE_CHECKER} ${sha256}\n`;

/** Whether the cache entry's record says this checker passed the values of this database. */
export function valuesPassed(file: string, sha256: string): boolean {
  const record = conformanceRecord(file);
  try {
    const st = lstatSync(record);
    const text = recordText(sha256);
    return st.isFile() && st.size === Buffer.byteLength(text) && (process.getuid === undefined || st.uid === process.getuid()) && readFileSync(record, 'utf8') === text;
  } catch {
    return false;
  }
}

/** Records that the database passed the value checks (nothing recorded in a read-only cache: the next open checks again). */
export function recordValuesPassed(file: string, sha256: string): void {
  try {
    writeFileAtomically(conformanceRecord(file), (fd) => writeSync(fd, recordText(sha256)));
  } catch {
    /* unrecorded: the checks run again next time */
  }
}

/** Default bound on the cache's size; $INGERO_CACHE_MAX_BYTES changes it. */
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;

function cacheMaxBytes(): number {
  const v = Number(process.env.INGERO_CACHE_MAX_BYTES);
  return Number.isFinite(v) && v >= 0 && process.env.INGERO_CACHE_MAX_BYTES !== '' ? v : DEFAULT_CACHE_MAX_BYTES;
}

/** Cache entries are ranked by last use: a hit moves the entry's mtime to now. */
function markUsed(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    /* a read-only cache still serves; it just ranks less well */
  }
}

/**
 * Keeps the cache under its size bound by deleting the least recently used databases, never the
 * one just added. Deleting a database another process has open is safe on POSIX: its connection
 * keeps the inode until it closes.
 */
function evictLeastRecentlyUsed(dir: string, keep: string): void {
  const entries = readdirSync(dir)
    .filter((n) => /^[0-9a-f]{64}\.sqlite$/.test(n))
    .map((n) => {
      const path = join(dir, n);
      const st = statSync(path);
      return { path, bytes: st.size, used: st.mtimeMs };
    })
    .sort((a, b) => a.used - b.used);
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const max = cacheMaxBytes();
  for (const e of entries) {
    if (total <= max) break;
    if (e.path === keep) continue;
    removeCacheEntry(e.path);
    total -= e.bytes;
  }
}

/** Opens a database file read-only with the settings that make hostile content inert. */
export function openReadOnlyDatabase(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('trusted_schema = OFF');
  db.pragma('query_only = ON');
  db.pragma('cell_size_check = ON');
  db.pragma('mmap_size = 0');
  return db;
}

export interface ResolvedFrame {
  readonly depth: number;
  readonly kind: string;
  /** Display name, or a hex address when unresolved. Traced data. */
  readonly function: string | null;
  readonly systemName: string | null;
  readonly file: string | null;
  readonly line: number | null;
  readonly module: string | null;
  readonly buildId: string | null;
  readonly address: bigint | null;
  readonly relAddress: bigint | null;
  readonly offset: number | null;
}

export interface EventRecord {
  readonly id: number;
  readonly ts_ns: number;
  readonly dur_ns: number;
  readonly node_id: number;
  readonly pid: number;
  readonly tid: number;
  readonly op_id: number;
  readonly arg0: bigint | null;
  readonly arg1: bigint | null;
  readonly arg2: bigint | null;
  readonly arg3: bigint | null;
  readonly ret: number | null;
  readonly stack_id: number | null;
}

export interface EventFilter {
  /** Events starting at or after this time (ns since origin). */
  readonly fromNs?: number;
  /** Events starting before this time. */
  readonly toNs?: number;
  readonly opIds?: readonly number[];
  readonly pids?: readonly number[];
  readonly tids?: readonly number[];
  readonly nodeId?: number;
  readonly minDurNs?: number;
  /** 'time' (default): start-time order; 'latest': reverse start-time order (newest first);
   *  'slowest': longest first, ties by id. */
  readonly order?: 'time' | 'latest' | 'slowest';
  /** Only events with id greater than this (cursor pagination in time order). */
  readonly afterId?: number;
  /** Only events with id less than this (cursor pagination backwards, with order 'latest'). */
  readonly beforeId?: number;
  /** Only events after this one in slowest-first order (cursor pagination in that order). */
  readonly afterSlowest?: { readonly dur_ns: number; readonly id: number };
  readonly limit?: number;
}

export interface OpInfo {
  readonly id: number;
  readonly sourceId: number;
  readonly source: string;
  readonly layer: string;
  readonly name: string;
  readonly description: string;
}

/** idAtTime keeps the start time of every TIME_STEP-th event in memory. */
const TIME_STEP = 1024;

export class Bundle {
  /** The bundle file as given to openBundle. */
  readonly path: string;
  readonly manifest: Manifest;
  /** The verified database file in the cache; open it read-only for separate connections (e.g. SQL workers). */
  readonly databasePath: string;
  /** Read-only connection. */
  readonly db: Database.Database;
  private opCache?: Map<number, OpInfo>;
  private countCache?: number;
  private docCache?: Map<string, TableDoc>;
  private endCache?: number;
  private timeSteps?: { readonly maxId: number; readonly at: Database.Statement; readonly steps: Float64Array };
  /** Unix ns of ts_ns = 0, from the database's metadata (checked at open). */
  readonly originUnixNs: bigint;

  constructor(path: string, manifest: Manifest, databasePath: string, db: Database.Database, originUnixNs: bigint) {
    this.path = path;
    this.manifest = manifest;
    this.databasePath = databasePath;
    this.db = db;
    this.originUnixNs = originUnixNs;
  }

  close(): void {
    this.db.close();
  }

  // Facts come from the database, never from the manifest: its header hash is a checksum anyone
  // can recompute after editing it (verify reports each manifest field that disagrees).

  /** Start of the first event (events are stored in start-time order), 0 when there are none. */
  startNs(): number {
    return this.time('start', this.db.prepare('SELECT ts_ns FROM events ORDER BY id LIMIT 1').pluck().get() ?? 0);
  }

  /** Latest end of any event (ts_ns + dur_ns), 0 when there are none; a scan of events, done once. */
  endNs(): number {
    this.endCache ??= this.time('end', this.db.prepare('SELECT coalesce(max(ts_ns + dur_ns), 0) FROM events').pluck().get());
    return this.endCache;
  }

  private time(which: string, v: unknown): number {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    throw new BundleError('SCHEMA', `${this.path}: the events' ${which} time is not an integer below 2^53 ns — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
  }

  /** Ops as named by this bundle (unknown codes included), keyed by op id. */
  ops(): Map<number, OpInfo> {
    if (!this.opCache) {
      const rows = this.db
        .prepare('SELECT o.id, o.source_id AS sourceId, coalesce(s.name, \'source_\' || o.source_id) AS source, coalesce(s.layer, \'?\') AS layer, o.name, o.description FROM ops o LEFT JOIN sources s ON s.id = o.source_id ORDER BY o.id')
        .all() as OpInfo[];
      this.opCache = new Map(rows.map((r) => [r.id, r]));
    }
    return this.opCache;
  }

  opName(opId: number): string {
    return this.ops().get(opId)?.name ?? `op_${Math.floor(opId / 256)}_${opId % 256}`;
  }

  /** Op ids whose name matches exactly (several only for hostile duplicates). */
  opIdsByName(name: string): number[] {
    return [...this.ops().values()].filter((o) => o.name === name).map((o) => o.id);
  }

  /** What the bundle says of its tables and columns (its DDL comments); bundle text, so data only. */
  schemaDocs(): Map<string, TableDoc> {
    this.docCache ??= readSchemaDocs(this.db);
    return this.docCache;
  }

  metadata(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const r of this.db.prepare('SELECT key, value FROM metadata ORDER BY key').all() as { key: string; value: string }[]) {
      try {
        out[r.key] = JSON.parse(r.value);
      } catch {
        out[r.key] = r.value;
      }
    }
    return out;
  }

  eventCount(): number {
    this.countCache ??= (this.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    return this.countCache;
  }

  /**
   * Smallest event id whose ts_ns >= ns (the last id + 1 when none). Events are stored in
   * start-time order, so this is a binary search over the primary key: no time index is needed.
   */
  idAtTime(ns: number): number {
    // Analyses ask this tens of thousands of times on a large bundle: the statement, the id range
    // and every TIME_STEP-th start time are read once (the database is read-only), so a call is
    // an in-memory search down to TIME_STEP ids and then about log2(TIME_STEP) primary-key reads.
    if (!this.timeSteps) {
      const maxId = (this.db.prepare('SELECT coalesce(max(id), 0) FROM events').pluck().get() as number) ?? 0;
      const at = this.db.prepare('SELECT ts_ns FROM events WHERE id = ?').pluck();
      const steps = new Float64Array(Math.floor(Math.max(0, maxId - 1) / TIME_STEP) + 1);
      for (let k = 0; k < steps.length; k++) steps[k] = (at.get(1 + k * TIME_STEP) as number | undefined) ?? Infinity;
      this.timeSteps = { maxId, at, steps };
    }
    const { maxId, at, steps } = this.timeSteps;
    return idAtTimeBySteps(ns, maxId, TIME_STEP, steps, (id) => at.get(id) as number);
  }

  /**
   * The SQL condition (with its parameters) selecting the events a filter matches, for callers
   * that aggregate over events in SQL of their own; order and limit are not part of it.
   */
  eventWhere(filter: EventFilter = {}): { readonly sql: string; readonly params: readonly unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    let lowId = filter.fromNs !== undefined ? this.idAtTime(filter.fromNs) : 1;
    if (filter.afterId !== undefined) lowId = Math.max(lowId, filter.afterId + 1);
    where.push('id >= ?');
    params.push(lowId);
    if (filter.toNs !== undefined || filter.beforeId !== undefined) {
      where.push('id < ?');
      params.push(Math.min(filter.toNs !== undefined ? this.idAtTime(filter.toNs) : Infinity, filter.beforeId ?? Infinity));
    }
    if (filter.opIds) {
      where.push(`op_id IN (${filter.opIds.map(() => '?').join(',') || 'NULL'})`);
      params.push(...filter.opIds);
    }
    if (filter.pids) {
      where.push(`pid IN (${filter.pids.map(() => '?').join(',') || 'NULL'})`);
      params.push(...filter.pids);
    }
    if (filter.tids) {
      where.push(`tid IN (${filter.tids.map(() => '?').join(',') || 'NULL'})`);
      params.push(...filter.tids);
    }
    if (filter.nodeId !== undefined) {
      where.push('node_id = ?');
      params.push(filter.nodeId);
    }
    if (filter.minDurNs !== undefined) {
      where.push('dur_ns >= ?');
      params.push(filter.minDurNs);
    }
    if (filter.afterSlowest) {
      where.push('(dur_ns < ? OR (dur_ns = ? AND id > ?))');
      params.push(filter.afterSlowest.dur_ns, filter.afterSlowest.dur_ns, filter.afterSlowest.id);
    }
    return { sql: where.join(' AND '), params };
  }

  /** Iterates matching events (start-time order unless asked otherwise) without loading them all. */
  *events(filter: EventFilter = {}): IterableIterator<EventRecord> {
    const { sql, params } = this.eventWhere(filter);
    const order = filter.order === 'slowest' ? 'dur_ns DESC, id' : filter.order === 'latest' ? 'id DESC' : 'id';
    const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const stmt = this.db.prepare(`SELECT id, ts_ns, dur_ns, node_id, pid, tid, op_id, arg0, arg1, arg2, arg3, ret, stack_id FROM events WHERE ${sql} ORDER BY ${order}${limit}`);
    stmt.safeIntegers(true);
    for (const r of stmt.iterate(...params) as IterableIterator<Record<string, bigint | null>>) {
      if (!isIntegerRow(r)) {
        throw new BundleError('SCHEMA', `${this.path}: event ${String(r.id)} holds text, a blob or a real number in an integer column — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
      }
      yield {
        id: Number(r.id),
        ts_ns: Number(r.ts_ns),
        dur_ns: Number(r.dur_ns),
        node_id: Number(r.node_id),
        pid: Number(r.pid),
        tid: Number(r.tid),
        op_id: Number(r.op_id),
        arg0: r.arg0,
        arg1: r.arg1,
        arg2: r.arg2,
        arg3: r.arg3,
        ret: r.ret === null ? null : Number(r.ret),
        stack_id: r.stack_id === null ? null : Number(r.stack_id),
      };
    }
  }

  /** Frames of a stack, leaf first, with names, modules and raw addresses. */
  stack(stackId: number): ResolvedFrame[] {
    const stmt = this.db.prepare(`
      SELECT sf.depth, l.kind, f.name AS function, f.system_name AS systemName, nullif(f.filename, '') AS file,
             coalesce(l.line, f.start_line) AS line, m.path AS module, m.build_id AS buildId,
             l.address, l.rel_address AS relAddress, l.offset
      FROM stack_frames sf JOIN locations l ON l.id = sf.location_id
      LEFT JOIN functions f ON f.id = l.function_id LEFT JOIN mappings m ON m.id = l.mapping_id
      WHERE sf.stack_id = ? ORDER BY sf.depth`);
    stmt.safeIntegers(true);
    return (stmt.all(stackId) as Record<string, unknown>[]).map((r) => ({
      depth: Number(r.depth),
      kind: String(r.kind),
      function: (r.function as string | null) ?? null,
      systemName: (r.systemName as string | null) ?? null,
      file: (r.file as string | null) ?? null,
      line: r.line === null ? null : Number(r.line),
      module: (r.module as string | null) ?? null,
      buildId: (r.buildId as string | null) ?? null,
      address: (r.address as bigint | null) ?? null,
      relAddress: (r.relAddress as bigint | null) ?? null,
      offset: r.offset === null ? null : Number(r.offset),
    }));
  }
}

const REQUIRED_INTEGERS = ['ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id'] as const;
const OPTIONAL_INTEGERS = ['arg0', 'arg1', 'arg2', 'arg3', 'ret', 'stack_id'] as const;

/**
 * Whether an event row (read with safeIntegers) holds integers where the schema says so. A plain
 * open does not scan every row (verify does), so a hostile value is caught where rows are read:
 * as Number() it would become NaN, or a string where callers expect a number.
 */
function isIntegerRow(r: Record<string, unknown>): boolean {
  for (const c of REQUIRED_INTEGERS) if (typeof r[c] !== 'bigint') return false;
  for (const c of OPTIONAL_INTEGERS) if (r[c] !== null && typeof r[c] !== 'bigint') return false;
  return true;
}

/**
 * Opens a bundle for reading: checks magic, versions and checksums, decompresses into the cache
 * (once), opens the database read-only and defensively, and checks schema conformance.
 * Every failure is a one-line BundleError.
 */
export function openBundle(path: string, options: OpenOptions = {}): Bundle {
  const info = readContainer(path, options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const file = cachedDatabase(info, cacheDir);
  const sha256 = info.manifest.database.sha256;
  // A database the reader refuses does not stay in the cache: refusing leaves nothing behind.
  const refuse = (err: BundleError, db?: Database.Database): never => {
    db?.close();
    removeCacheEntry(file);
    throw err;
  };
  let db: Database.Database | undefined;
  for (let attempt = 1; !db; attempt++) {
    try {
      db = openReadOnlyDatabase(file);
    } catch (err) {
      // Another process refusing the same bundle removes the entry, and it may do so between this
      // process's cache hit and its open: decompress it again rather than call the bundle damaged.
      if (attempt < 3 && !existsSync(file)) {
        cachedDatabase(info, cacheDir);
        continue;
      }
      return refuse(new BundleError('CORRUPT', `${path}: the database inside cannot be opened (${(err as Error).message}) — the bundle is damaged`));
    }
  }
  let problems: string[];
  const passed = valuesPassed(file, sha256);
  try {
    problems = checkConformance(db, { full: false, valuesPassed: passed });
  } catch (err) {
    return refuse(new BundleError('CORRUPT', `${path}: the database inside is damaged (${(err as Error).message}) — get a fresh copy`), db);
  }
  if (problems.length > 0) refuse(new BundleError('SCHEMA', `${path}: ${problems[0]}`), db);
  const mismatch = schemaVersionProblem(db, info.manifest);
  if (mismatch) return refuse(new BundleError('SCHEMA', `${path}: ${mismatch}`), db);
  const origin = clockOrigin(db);
  if (typeof origin === 'string') return refuse(new BundleError('SCHEMA', `${path}: ${origin}`), db);
  if (!passed) recordValuesPassed(file, sha256);
  return new Bundle(path, info.manifest, file, db, origin);
}

/** §7: the database's user_version is the manifest's schema_version; null when it is. */
export function schemaVersionProblem(db: Database.Database, manifest: Manifest): string | null {
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  return userVersion === manifest.schema_version
    ? null
    : `the database is schema ${userVersion} (PRAGMA user_version) but the manifest says ${manifest.schema_version} — the bundle was altered or written by a broken tool; get a fresh copy`;
}

const MAX_U64 = (1n << 64n) - 1n;

/** metadata clock.origin_unix_ns (a JSON string of a decimal up to 2^64 - 1), or what is wrong with it. */
export function clockOrigin(db: Database.Database): bigint | string {
  const row = db.prepare("SELECT value FROM metadata WHERE key = 'clock.origin_unix_ns'").get() as { value: unknown } | undefined;
  let text: unknown;
  try {
    text = row && typeof row.value === 'string' ? JSON.parse(row.value) : undefined;
  } catch {
    /* reported below */
  }
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text) || BigInt(text) > MAX_U64) {
    return "metadata 'clock.origin_unix_ns' is missing or not a JSON string of a decimal Unix time in ns up to 2^64 - 1 — the bundle's clock is unknown; get a fresh copy";
  }
  return BigInt(text);
}
