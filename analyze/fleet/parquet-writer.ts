// One bundle as the Parquet partitions of the fleet layout (spec/parquet-layout.md): every table
// under <root>/<table>/bundle=<digest>/part-N.parquet, zstd-compressed.
//
// How rows travel: better-sqlite3 iterates the bundle's (verified, read-only) database with
// 64-bit integers kept exact, a DuckDB appender takes the values into a staging table, and
// DuckDB's built-in Parquet writer COPYs the staging table out, joining op, source and node names
// in. Events go through in parts of at most rowsPerPart rows (one Parquet row group each), so
// memory holds one part, never the bundle. DuckDB's sqlite scanner would be faster but is an
// extension that must be downloaded, which this tool cannot assume.
import type { DuckDBAppender } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BundleError, type Bundle } from '../../format/index.ts';
import { explain } from '../explain.ts';
import { type Engine, sqlString } from './engine.ts';

/** Version of the layout (spec/parquet-layout.md §8), stored in every bundles row. */
export const LAYOUT_VERSION = 1;

/** Events per Parquet file and row group: large enough for column statistics to skip well. */
export const DEFAULT_ROWS_PER_PART = 1 << 20;

/** Largest value of a Parquet INT64 column: origin + ts_ns must stay below it. */
const INT64_MAX = (1n << 63n) - 1n;

type ColumnType = 'BIGINT' | 'VARCHAR' | 'DOUBLE' | 'BOOLEAN';
interface Column {
  readonly name: string;
  readonly type: ColumnType;
}
const col = (name: string, type: ColumnType = 'BIGINT'): Column => ({ name, type });

/** A table copied from the bundle's SQLite: its columns (DuckDB types) and the SELECT giving them in order. */
interface CopiedTable {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly select: string;
}

/**
 * The dimension tables, copied row for row; ops, processes and threads carry the names that
 * joins would otherwise need. Column lists are explicit so that the Parquet schema stays the
 * documented one whatever else a bundle's schema version adds.
 */
const DIMENSIONS: readonly CopiedTable[] = [
  {
    name: 'sources',
    columns: [col('id'), col('name', 'VARCHAR'), col('layer', 'VARCHAR'), col('description', 'VARCHAR')],
    select: 'SELECT id, name, layer, description FROM sources ORDER BY id',
  },
  {
    name: 'ops',
    columns: [col('id'), col('source_id'), col('source', 'VARCHAR'), col('layer', 'VARCHAR'), col('name', 'VARCHAR'), col('description', 'VARCHAR')],
    select: "SELECT o.id, o.source_id, coalesce(s.name, 'source_' || o.source_id), coalesce(s.layer, '?'), o.name, o.description FROM ops o LEFT JOIN sources s ON s.id = o.source_id ORDER BY o.id",
  },
  {
    name: 'nodes',
    columns: [col('id'), col('name', 'VARCHAR'), col('clock_offset_ns')],
    select: 'SELECT id, name, clock_offset_ns FROM nodes ORDER BY id',
  },
  {
    name: 'processes',
    columns: [col('id'), col('node_id'), col('node', 'VARCHAR'), col('pid'), col('ppid'), col('start_ns'), col('end_ns'), col('exit_code'), col('comm', 'VARCHAR'), col('cmdline', 'VARCHAR'), col('cgroup', 'VARCHAR')],
    select: 'SELECT p.id, p.node_id, coalesce(n.name, CAST(p.node_id AS TEXT)), p.pid, p.ppid, p.start_ns, p.end_ns, p.exit_code, p.comm, p.cmdline, p.cgroup FROM processes p LEFT JOIN nodes n ON n.id = p.node_id ORDER BY p.id',
  },
  {
    name: 'threads',
    columns: [col('node_id'), col('node', 'VARCHAR'), col('tid'), col('pid'), col('first_ns'), col('comm', 'VARCHAR')],
    select: 'SELECT t.node_id, coalesce(n.name, CAST(t.node_id AS TEXT)), t.tid, t.pid, t.first_ns, t.comm FROM threads t LEFT JOIN nodes n ON n.id = t.node_id ORDER BY t.node_id, t.tid, t.first_ns',
  },
  {
    name: 'stack_frames',
    columns: [
      col('stack_id'), col('depth'), col('kind', 'VARCHAR'), col('function', 'VARCHAR'), col('system_name', 'VARCHAR'), col('file', 'VARCHAR'), col('line'),
      col('module', 'VARCHAR'), col('build_id', 'VARCHAR'), col('address'), col('rel_address'), col('offset'),
    ],
    select: `SELECT sf.stack_id, sf.depth, l.kind, f.name, f.system_name, nullif(f.filename, ''), coalesce(l.line, f.start_line), m.path, m.build_id, l.address, l.rel_address, l.offset
      FROM stack_frames sf JOIN locations l ON l.id = sf.location_id LEFT JOIN functions f ON f.id = l.function_id LEFT JOIN mappings m ON m.id = l.mapping_id
      ORDER BY sf.stack_id, sf.depth`,
  },
  {
    name: 'annotations',
    columns: [col('node_id'), col('ts_ns'), col('end_ns'), col('pid'), col('labels', 'VARCHAR')],
    select: 'SELECT node_id, ts_ns, end_ns, pid, labels FROM annotations ORDER BY ts_ns, rowid',
  },
];

const EVENT_COLUMNS: readonly Column[] = ['id', 'ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id', 'arg0', 'arg1', 'arg2', 'arg3', 'ret', 'stack_id'].map((n) => col(n));

const FINDING_COLUMNS: readonly Column[] = [
  col('origin', 'VARCHAR'), col('kind', 'VARCHAR'), col('severity', 'VARCHAR'), col('op', 'VARCHAR'), col('node_id'), col('node', 'VARCHAR'), col('pid'),
  col('process', 'VARCHAR'), col('from_ns'), col('to_ns'), col('summary', 'VARCHAR'), col('root_cause', 'VARCHAR'), col('impact_ns'), col('count'), col('p50_ns'), col('p99_ns'),
];

const BUNDLE_COLUMNS: readonly Column[] = [
  col('layout_version'), col('file', 'VARCHAR'), col('producer', 'VARCHAR'), col('producer_version', 'VARCHAR'), col('producer_command', 'VARCHAR'), col('schema_version'),
  col('created_unix_ns'), col('origin_unix_ns'), col('start_ns'), col('end_ns'), col('events'), col('dropped_events'), col('sampled', 'BOOLEAN'),
  col('nodes', 'VARCHAR'), col('hostname', 'VARCHAR'), col('kernel', 'VARCHAR'), col('os', 'VARCHAR'), col('cpu_model', 'VARCHAR'), col('gpu_model', 'VARCHAR'),
  col('gpu_count'), col('driver_version', 'VARCHAR'), col('cuda_runtime_version', 'VARCHAR'), col('host_json', 'VARCHAR'),
];

export interface BundleParquetOptions {
  /** Events per part file (one row group each). */
  readonly rowsPerPart?: number;
  /** Run the analyzer so that table findings holds its findings beside the imported ones (default true). */
  readonly analysis?: boolean;
  /** Called after each part of events with the events written so far. */
  readonly onEvents?: (written: number) => void;
}

export interface BundleParquetResult {
  /** The partition value: the SHA-256 of the bundle database (manifest database.sha256). */
  readonly digest: string;
  readonly events: number;
  /** Parquet files written, all tables. */
  readonly files: number;
}

/** The partition directory of a table for one bundle. */
export function partitionDir(root: string, table: string, digest: string): string {
  return join(root, table, `bundle=${digest}`);
}

/** Writes every table of one bundle under root. The caller owns the engine and cleans root up on failure. */
export async function writeBundleParquet(engine: Engine, bundle: Bundle, root: string, options: BundleParquetOptions = {}): Promise<BundleParquetResult> {
  const digest = bundle.manifest.database.sha256;
  const origin = BigInt(bundle.manifest.time.origin_unix_ns);
  if (origin > INT64_MAX) throw new BundleError('SCHEMA', `${bundle.path}: manifest time.origin_unix_ns ${origin} is beyond 64-bit nanoseconds (year 2262) — the bundle is damaged or hostile`);
  const rowsPerPart = Math.max(1, Math.floor(options.rowsPerPart ?? DEFAULT_ROWS_PER_PART));
  let files = 0;
  const copyOut = async (table: string, select: string, part = 0) => {
    const dir = partitionDir(root, table, digest);
    mkdirSync(dir, { recursive: true });
    await engine.run(`COPY (${select}) TO ${sqlString(join(dir, `part-${part}.parquet`))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowsPerPart})`);
    files++;
  };
  const staged = async (name: string, columns: readonly Column[], fill: (appender: DuckDBAppender) => void) => {
    await engine.run(`CREATE OR REPLACE TABLE stage_${name} (${columns.map((c) => `"${c.name}" ${c.type}`).join(', ')})`);
    const appender = await engine.connection.createAppender(`stage_${name}`);
    try {
      fill(appender);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  };
  const copyTable = async (t: CopiedTable) => {
    const rows = bundle.db.prepare(t.select).raw(true).safeIntegers(true).iterate() as IterableIterator<unknown[]>;
    await staged(t.name, t.columns, (a) => {
      for (const r of rows) appendRow(a, t.columns, r, bundle, t.name);
    });
    await copyOut(t.name, `SELECT * FROM stage_${t.name}`);
  };

  for (const t of DIMENSIONS) await copyTable(t);
  await staged('bundles', BUNDLE_COLUMNS, (a) => appendRow(a, BUNDLE_COLUMNS, bundleRow(bundle), bundle, 'bundles'));
  await copyOut('bundles', 'SELECT * FROM stage_bundles');
  const findings = options.analysis === false ? [] : explain(bundle).findings;
  const imported = bundle.db
    .prepare("SELECT i.origin, 'imported', i.severity, i.op, i.node_id, coalesce(n.name, CAST(i.node_id AS TEXT)), NULL, '', i.detected_ns, i.detected_ns, i.summary, i.root_cause, NULL, i.occurrences, i.p50_ns, i.p99_ns FROM imported_findings i LEFT JOIN nodes n ON n.id = i.node_id ORDER BY i.id")
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<unknown[]>;
  await staged('findings', FINDING_COLUMNS, (a) => {
    for (const f of findings) {
      appendRow(a, FINDING_COLUMNS, ['ingero explain', f.kind, f.severity, f.op, f.node_id, f.node, f.pid, f.process, f.from_ns, f.to_ns, f.summary, f.root_cause, f.impact_ns, f.count, f.p50_ns, f.p99_ns], bundle, 'findings');
    }
    for (const r of imported) appendRow(a, FINDING_COLUMNS, r, bundle, 'findings');
  });
  await copyOut('findings', 'SELECT * FROM stage_findings');

  // Events, part by part in id (= start-time) order; an empty bundle still gets one empty part,
  // so that every bundle's events partition exists and carries the schema.
  const select = bundle.db.prepare(`SELECT ${EVENT_COLUMNS.map((c) => c.name).join(', ')} FROM events WHERE id > ? ORDER BY id LIMIT ${rowsPerPart}`).raw(true).safeIntegers(true);
  let lastId = 0n;
  let written = 0;
  for (let part = 0; ; part++) {
    let rows = 0;
    await staged('events', EVENT_COLUMNS, (a) => {
      for (const r of select.iterate(lastId) as IterableIterator<unknown[]>) {
        appendRow(a, EVENT_COLUMNS, r, bundle, 'events');
        lastId = r[0] as bigint;
        rows++;
      }
    });
    if (rows === 0 && part > 0) break;
    await copyOut(
      'events',
      `SELECT e.id, e.ts_ns, e.ts_ns + ${origin}::BIGINT AS ts_unix_ns, e.dur_ns, e.node_id, coalesce(n.name, CAST(e.node_id AS VARCHAR)) AS node, e.pid, e.tid, e.op_id,
         coalesce(o.name, 'op_' || (e.op_id // 256) || '_' || (e.op_id % 256)) AS op, coalesce(o.source, 'source_' || (e.op_id // 256)) AS source,
         e.arg0, e.arg1, e.arg2, e.arg3, e.ret, e.stack_id
       FROM stage_events e LEFT JOIN stage_nodes n ON n.id = e.node_id LEFT JOIN stage_ops o ON o.id = e.op_id ORDER BY e.id`,
      part,
    ).catch((err: Error) => {
      if (/overflow/i.test(err.message)) throw new BundleError('SCHEMA', `${bundle.path}: an event time plus the time origin passes 64-bit nanoseconds — the bundle is damaged or hostile; run ingero verify on it`);
      throw err;
    });
    written += rows;
    options.onEvents?.(written);
    if (rows < rowsPerPart) break;
  }
  for (const t of ['events', 'findings', 'bundles', ...DIMENSIONS.map((d) => d.name)]) await engine.run(`DROP TABLE IF EXISTS stage_${t}`);
  return { digest, events: written, files };
}

/** The bundles row: identity, producer, clock and host facts of one bundle. */
function bundleRow(bundle: Bundle): unknown[] {
  const m = bundle.manifest;
  const meta = bundle.metadata();
  const text = (k: string) => (typeof meta[k] === 'string' ? (meta[k] as string) : typeof meta[k] === 'number' ? String(meta[k]) : null);
  const int = (k: string) => (Number.isSafeInteger(meta[k]) ? BigInt(meta[k] as number) : null);
  return [
    BigInt(LAYOUT_VERSION), basename(bundle.path), m.producer.name, m.producer.version, m.producer.command, BigInt(m.schema_version),
    BigInt(m.created_unix_ns), BigInt(m.time.origin_unix_ns), BigInt(m.time.start_ns), BigInt(m.time.end_ns), BigInt(bundle.eventCount()),
    BigInt(m.capture.dropped), m.capture.sampled, m.nodes.join(','), text('host.hostname'), text('host.kernel'), text('host.os'), text('host.cpu_model'),
    text('gpu.model'), int('gpu.count'), text('gpu.driver_version'), text('cuda.runtime_version'), JSON.stringify(m.host),
  ];
}

/**
 * Appends one row, checking each value against its column's type: SQLite columns hold any
 * type, and a hostile bundle's text in an integer column must be refused in words, not crash.
 */
function appendRow(a: DuckDBAppender, columns: readonly Column[], row: readonly unknown[], bundle: Bundle, table: string): void {
  for (let i = 0; i < columns.length; i++) {
    const v = row[i];
    const c = columns[i]!;
    if (v === null || v === undefined) a.appendNull();
    else if (c.type === 'BIGINT' && (typeof v === 'bigint' || Number.isSafeInteger(v))) a.appendBigInt(BigInt(v as bigint | number));
    // A fraction of a ns in a dimension table (verify accepts it; a faulty writer leaves it) is
    // rounded; events stay strict, as every reader of events is.
    else if (c.type === 'BIGINT' && table !== 'events' && typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 2 ** 63) a.appendBigInt(BigInt(Math.round(v)));
    else if (c.type === 'VARCHAR' && typeof v === 'string') a.appendVarchar(v);
    else if (c.type === 'BOOLEAN' && typeof v === 'boolean') a.appendBoolean(v);
    else if (c.type === 'DOUBLE' && (typeof v === 'number' || typeof v === 'bigint')) a.appendDouble(Number(v));
    else throw new BundleError('SCHEMA', `${bundle.path}: table ${table} holds ${typeof v === 'object' ? 'a blob' : `a ${typeof v}`} in column ${c.name}, where the schema has ${c.type === 'VARCHAR' ? 'text' : 'an integer'} — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
  }
  a.endRow();
}
