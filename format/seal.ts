// Sealing: turns a staging database into the final bundle file.
//  1. If events were appended out of start-time order, copy everything into a fresh database
//     with events sorted, so that events.id order is time order (readers rely on it).
//  2. Fill in what only the end knows (unknown op codes, time span, indexes) and compute the
//     manifest from the database itself, so recovering a staging file gives the same bundle.
//  3. Compress into independent zstd frames, write header + frames + seek table to a temp file,
//     fsync, rename over the output, fsync the directory. A crash leaves the old state.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Compressor } from 'zstd-napi';
import { unknownOp, opById } from './catalog.ts';
import { DEFAULT_FRAME_CONTENT_BYTES, MAX_FRAME_CONTENT_BYTES, encodeHeader, encodeSeekTable, type HeaderFields, type SeekEntry } from './container.ts';
import { BundleError, ioError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { INDEXES, SCHEMA_VERSION, TABLES, tableDDL } from './schema.ts';

export interface SealOptions {
  /** zstd level; 3 is the default (fast, see platform.md §4.2). */
  readonly compressionLevel?: number;
  /** Uncompressed bytes per zstd frame. */
  readonly frameBytes?: number;
  /** Host summary copied into the manifest. */
  readonly host?: Readonly<Record<string, unknown>>;
  /** Creation time written into the manifest (unix ns); default now. Fixed for reproducible bundles. */
  readonly createdUnixNs?: bigint;
}

export interface SealResult {
  readonly path: string;
  readonly bytes: number;
  readonly databaseBytes: number;
  readonly events: number;
  readonly manifest: Manifest;
}

export function removeStaging(stagingPath: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(stagingPath + suffix, { force: true });
}

/** Databases up to this size are rewritten compactly (VACUUM) before compression. */
const COMPACT_BELOW_BYTES = 64 << 20;

/** Seals the staging database at stagingPath into outPath. The staging files are removed on success only. */
export async function sealStaging(stagingPath: string, outPath: string, options: SealOptions = {}): Promise<SealResult> {
  if (!existsSync(stagingPath)) throw new BundleError('NOT_FOUND', `${stagingPath}: no staging database here — nothing to seal`);
  const sortedPath = `${outPath}.sorting.tmp`;
  let dbPath = stagingPath;
  try {
    const staging = new Database(stagingPath);
    let unsorted: boolean;
    try {
      staging.pragma('journal_mode = DELETE'); // folds the WAL in; the sealed file needs no side files
      unsorted = staging.prepare("SELECT 1 FROM metadata WHERE key = 'staging.unsorted'").get() !== undefined;
      if (!unsorted) {
        finishDatabase(staging);
        // Tables filled side by side interleave their pages; rewriting a small database table by
        // table saves ~3 % of a small bundle. Large ones are mostly events appended in order, and
        // rewriting them would cost seconds for nothing (an unsorted one is rewritten below anyway).
        if (statSync(stagingPath).size <= COMPACT_BELOW_BYTES) staging.exec('VACUUM');
      }
    } finally {
      staging.close();
    }
    if (unsorted) {
      rmSync(sortedPath, { force: true });
      copySorted(stagingPath, sortedPath);
      dbPath = sortedPath;
    }
    const result = await compressDatabase(dbPath, outPath, options);
    removeStaging(stagingPath);
    return result;
  } catch (err) {
    if (err instanceof BundleError) throw err;
    const e = err as NodeJS.ErrnoException & { code?: string };
    if (e?.code === 'SQLITE_CORRUPT' || e?.code === 'SQLITE_NOTADB') {
      throw new BundleError('CORRUPT', `${stagingPath}: staging database is damaged (${e.message}) — nothing can be sealed from it`);
    }
    if (e?.code === 'SQLITE_FULL') throw new BundleError('IO', `${outPath}: disk full while sealing — staging data kept at ${stagingPath}; free space and run: ingero recover ${stagingPath}`);
    throw ioError(outPath, err, `sealing (staging data kept at ${stagingPath})`);
  } finally {
    rmSync(sortedPath, { force: true });
    rmSync(`${sortedPath}-journal`, { force: true });
  }
}

function copySorted(stagingPath: string, sortedPath: string): void {
  const db = new Database(sortedPath);
  try {
    db.pragma('page_size = 4096');
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.prepare('ATTACH DATABASE ? AS src').run(stagingPath);
    db.pragma(`application_id = ${db.pragma('src.application_id', { simple: true })}`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.transaction(() => {
      for (const t of TABLES) {
        db.exec(tableDDL(t));
        const cols = t.columns.map((c) => c.name).filter((n) => !(t.name === 'events' && n === 'id'));
        const order = t.name === 'events' ? ' ORDER BY ts_ns, id' : '';
        db.exec(`INSERT INTO main.${t.name} (${cols.join(',')}) SELECT ${cols.join(',')} FROM src.${t.name}${order}`);
      }
      db.exec("DELETE FROM main.metadata WHERE key = 'staging.unsorted'");
    })();
    db.exec('DETACH DATABASE src');
    finishDatabase(db);
  } finally {
    db.close();
  }
}

/** Adds what only the end of a recording knows. Idempotent, so recovering twice is harmless. */
function finishDatabase(db: Database.Database): void {
  db.transaction(() => {
    // The enum tables describe the ops this bundle uses, not the whole catalog: the catalog's
    // text would otherwise dominate small bundles (about 3.5 KB of their ~10 KB fixed cost).
    const addOp = db.prepare('INSERT OR IGNORE INTO ops (id, source_id, name, description) VALUES (?, ?, ?, ?)');
    const addArg = db.prepare('INSERT OR IGNORE INTO op_args (op_id, arg, name, unit, description) VALUES (?, ?, ?, ?, ?)');
    const used = db.prepare(`SELECT op_id FROM (SELECT DISTINCT op_id FROM events UNION SELECT op_id FROM op_aggregates UNION SELECT op_id FROM sampling WHERE op_id IS NOT NULL) WHERE op_id NOT IN (SELECT id FROM ops) ORDER BY op_id`);
    for (const op_id of used.pluck().all() as number[]) {
      const def = opById(op_id) ?? unknownOp(op_id);
      addOp.run(def.id, def.sourceId, def.name, def.description);
      def.args.forEach((a, i) => a && addArg.run(def.id, i, a.name, a.unit, a.description));
    }
    for (const sql of INDEXES) db.exec(sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
    db.exec("DELETE FROM metadata WHERE key = 'staging.unsorted'");
  })();
}

function metadataValue(db: Database.Database, key: string): unknown {
  const row = db.prepare('SELECT value FROM metadata WHERE key = ?').get(key) as { value: string } | undefined;
  return row ? JSON.parse(row.value) : undefined;
}

/** The manifest fields a sealer derives from the database; verify recomputes and compares them. */
export interface DatabaseFacts {
  readonly schema_version: number;
  readonly nodes: readonly string[];
  readonly time: Manifest['time'];
  readonly counts: Manifest['counts'];
  readonly capture: Manifest['capture'];
  readonly page_size: number;
}

export function databaseFacts(db: Database.Database): DatabaseFacts {
  const span = db.prepare('SELECT min(ts_ns) AS start, max(ts_ns + dur_ns) AS end, count(*) AS n FROM events').get() as { start: number | null; end: number | null; n: number };
  const bySource: Record<string, number> = {};
  const rows = db.prepare('SELECT coalesce(s.name, \'source_\' || (e.op_id / 256)) AS source, count(*) AS n FROM events e LEFT JOIN sources s ON s.id = e.op_id / 256 GROUP BY 1 ORDER BY 1').all() as { source: string; n: number }[];
  for (const r of rows) bySource[r.source] = r.n;
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    schema_version: db.pragma('user_version', { simple: true }) as number,
    nodes: (db.prepare('SELECT name FROM nodes ORDER BY id').all() as { name: string }[]).map((r) => r.name),
    time: { origin_unix_ns: String(metadataValue(db, 'clock.origin_unix_ns') ?? '0'), start_ns: span.start ?? 0, end_ns: span.end ?? 0 },
    counts: { events: span.n, by_source: bySource, processes: count('processes'), stacks: (db.prepare('SELECT count(DISTINCT stack_id) AS n FROM stack_frames').get() as { n: number }).n },
    capture: { dropped: (db.prepare('SELECT coalesce(sum(dropped), 0) AS n FROM capture_loss').get() as { n: number }).n, sampled: count('sampling') > 0 },
    page_size: db.pragma('page_size', { simple: true }) as number,
  };
}

function buildManifest(db: Database.Database, options: SealOptions, sha256: string, bytes: number, frameBytes: number, frames: number): Manifest {
  const facts = databaseFacts(db);
  const producer = (metadataValue(db, 'bundle.producer') as Manifest['producer'] | undefined) ?? { name: 'unknown', version: '', command: '' };
  return {
    format: 'ingero-bundle',
    schema_version: SCHEMA_VERSION,
    min_schema_reader: 1,
    created_unix_ns: (options.createdUnixNs ?? BigInt(Date.now()) * 1_000_000n).toString(),
    producer,
    host: options.host ?? hostSummary(db),
    nodes: facts.nodes,
    time: facts.time,
    counts: facts.counts,
    capture: facts.capture,
    database: { bytes, sha256, page_size: facts.page_size },
    compression: { codec: 'zstd', level: options.compressionLevel ?? 3, frame_bytes: frameBytes, frames },
  };
}

/** The manifest's host summary: the metadata keys under host., gpu. and cuda. */
function hostSummary(db: Database.Database): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of db.prepare("SELECT key, value FROM metadata WHERE key LIKE 'host.%' OR key LIKE 'gpu.%' OR key LIKE 'cuda.%' ORDER BY key").all() as { key: string; value: string }[]) {
    const v = JSON.parse(r.value);
    if (typeof v !== 'object' || v === null || JSON.stringify(v).length <= 512) out[r.key] = v;
  }
  return out;
}

function hashFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

async function compressDatabase(dbPath: string, outPath: string, options: SealOptions): Promise<SealResult> {
  const frameBytes = options.frameBytes ?? DEFAULT_FRAME_CONTENT_BYTES;
  const level = options.compressionLevel ?? 3;
  if (!Number.isInteger(frameBytes) || frameBytes < 4096 || frameBytes > MAX_FRAME_CONTENT_BYTES) {
    throw new BundleError('USAGE', `frameBytes must be an integer from 4096 to ${MAX_FRAME_CONTENT_BYTES}, got ${frameBytes}`);
  }
  const dbBytes = statSync(dbPath).size;
  const sha256 = hashFile(dbPath);
  const frames = Math.ceil(dbBytes / frameBytes);
  const ro = new Database(dbPath, { readonly: true });
  let manifest: Manifest;
  try {
    manifest = buildManifest(ro, options, sha256, dbBytes, frameBytes, frames);
  } finally {
    ro.close();
  }
  const written = writeContainer(dbPath, outPath, JSON.stringify(manifest), { compressionLevel: level, frameBytes });
  return { path: outPath, bytes: written, databaseBytes: dbBytes, events: manifest.counts.events, manifest };
}

export interface ContainerOptions {
  readonly compressionLevel: number;
  readonly frameBytes: number;
  /** Header fields other than the current version: for the test vectors only. */
  readonly header?: HeaderFields;
}

/**
 * Writes [header][data frames][seek table] for the database file at dbPath to outPath
 * atomically (temp file, fsync, rename, fsync of the directory); returns the bytes written.
 * The manifest JSON is taken as given. Not part of the public API: spec/vectors/generate.ts
 * uses it to wrap hand-made (hostile) databases in valid containers.
 */
export function writeContainer(dbPath: string, outPath: string, manifestJson: string, options: ContainerOptions): number {
  const { frameBytes } = options;
  const dbBytes = statSync(dbPath).size;
  const tmpPath = `${outPath}.tmp-${process.pid}`;
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: options.compressionLevel, checksumFlag: true, contentSizeFlag: true });
  const inFd = openSync(dbPath, 'r');
  let outFd: number | undefined;
  try {
    outFd = openSync(tmpPath, 'w', 0o644);
    let written = writeAll(outFd, encodeHeader(manifestJson, options.header));
    const entries: SeekEntry[] = [];
    const buf = Buffer.allocUnsafe(frameBytes);
    for (let pos = 0; pos < dbBytes; pos += frameBytes) {
      const n = readSync(inFd, buf, 0, Math.min(frameBytes, dbBytes - pos), pos);
      const frame = compressor.compress(buf.subarray(0, n));
      written += writeAll(outFd, frame);
      entries.push({ compressedBytes: frame.length, contentBytes: n });
    }
    written += writeAll(outFd, encodeSeekTable(entries));
    fsyncSync(outFd);
    closeSync(outFd);
    outFd = undefined;
    renameSync(tmpPath, outPath);
    syncDirectory(dirname(outPath));
    return written;
  } catch (err) {
    if (outFd !== undefined) closeSync(outFd);
    rmSync(tmpPath, { force: true });
    throw err;
  } finally {
    closeSync(inFd);
  }
}

function writeAll(fd: number, buf: Buffer): number {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  return buf.length;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
