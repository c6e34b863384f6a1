// One bundle as the Parquet partitions of the fleet layout (spec/parquet-layout.md): every table
// under <root>/<table>/bundle=<digest>/part-N.parquet, zstd-compressed.
//
// How rows travel: better-sqlite3 iterates the bundle's (verified, read-only) database with
// 64-bit integers kept exact; each value is checked against its column's type and stored in the
// typed-array columns of one row group (parquet-file.ts), which is written out as one file.
// Events go through in parts of at most rowsPerPart rows, refilling the same buffers, so memory
// holds one part, never the bundle. DuckDB is not in this path: its appender costs a native call
// per value and its Parquet writer holds a second copy of the part.
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { BundleError, type Bundle } from '../../format/index.ts';
import { explain } from '../explain.ts';
import { ParquetRowGroup, type ParquetColumn, type ParquetType } from './parquet-file.ts';

/** Version of the layout (spec/parquet-layout.md §8), stored in every bundles row. */
export const LAYOUT_VERSION = 1;

/** Events per Parquet file and row group: large enough for column statistics to skip well. */
export const DEFAULT_ROWS_PER_PART = 1 << 20;

/** Largest value of a Parquet INT64 column: origin + ts_ns must stay below it. */
const INT64_MAX = (1n << 63n) - 1n;

type Column = ParquetColumn;
const col = (name: string, type: ParquetType = 'BIGINT'): Column => ({ name, type });

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

/** The events columns read from the bundle, and the columns of the Parquet events (names joined in). */
const SQLITE_EVENT_COLUMNS = ['id', 'ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id', 'arg0', 'arg1', 'arg2', 'arg3', 'ret', 'stack_id'];
const EVENT_COLUMNS: readonly Column[] = [
  col('id'), col('ts_ns'), col('ts_unix_ns'), col('dur_ns'), col('node_id'), col('node', 'VARCHAR'), col('pid'), col('tid'), col('op_id'),
  col('op', 'VARCHAR'), col('source', 'VARCHAR'), col('arg0'), col('arg1'), col('arg2'), col('arg3'), col('ret'), col('stack_id'),
];

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

/** Writes every table of one bundle under root. The caller cleans root up on failure. */
export async function writeBundleParquet(bundle: Bundle, root: string, options: BundleParquetOptions = {}): Promise<BundleParquetResult> {
  const digest = bundle.manifest.database.sha256;
  const origin = BigInt(bundle.manifest.time.origin_unix_ns);
  if (origin > INT64_MAX) throw new BundleError('SCHEMA', `${bundle.path}: manifest time.origin_unix_ns ${origin} is beyond 64-bit nanoseconds (year 2262) — the bundle is damaged or hostile`);
  const rowsPerPart = Math.max(1, Math.floor(options.rowsPerPart ?? DEFAULT_ROWS_PER_PART));
  const compressor = zstd();
  let files = 0;
  const write = (table: string, group: ParquetRowGroup, part = 0) => {
    writeTableFile(root, table, digest, group, compressor, part);
    files++;
  };
  const copyTable = (t: CopiedTable) => {
    const group = new ParquetRowGroup(t.columns);
    for (const r of bundle.db.prepare(t.select).raw(true).safeIntegers(true).iterate() as IterableIterator<unknown[]>) appendRow(group, t.columns, r, bundle, t.name);
    write(t.name, group);
  };

  for (const t of DIMENSIONS) copyTable(t);
  const bundles = new ParquetRowGroup(BUNDLE_COLUMNS);
  appendRow(bundles, BUNDLE_COLUMNS, bundleRow(bundle), bundle, 'bundles');
  write('bundles', bundles);
  writeFindingsParquet(bundle, root, options.analysis !== false, compressor);
  files++;

  // Events, part by part in id (= start-time) order; an empty bundle still gets one empty part,
  // so that every bundle's events partition exists and carries the schema. Names and the Unix
  // time are joined in here, from the small tables.
  const nodeNames = new Map(bundle.db.prepare('SELECT id, name FROM nodes').raw(true).safeIntegers(true).all() as [bigint, string][]);
  // Names as the ops partition has them (the tables were checked by being copied above).
  const opNames = new Map((bundle.db.prepare("SELECT o.id, o.name, coalesce(s.name, 'source_' || o.source_id) FROM ops o LEFT JOIN sources s ON s.id = o.source_id").raw(true).safeIntegers(true).all() as [bigint, string | null, string][]).map(([id, name, source]) => [id, { name, source }]));
  const select = bundle.db.prepare(`SELECT ${SQLITE_EVENT_COLUMNS.join(', ')} FROM events WHERE id > ? ORDER BY id LIMIT ${rowsPerPart}`).raw(true).safeIntegers(true);
  const eventRow = (r: unknown[]): unknown[] => {
    const [id, ts, dur, nodeId, pid, tid, opId, arg0, arg1, arg2, arg3, ret, stackId] = r;
    let unix: unknown = ts;
    if (typeof ts === 'bigint') {
      unix = ts + origin;
      if ((unix as bigint) > INT64_MAX) throw new BundleError('SCHEMA', `${bundle.path}: an event time plus the time origin passes 64-bit nanoseconds — the bundle is damaged or hostile; run ingero verify on it`);
    }
    // A wrongly typed id is left in place for appendRow to refuse in words, under its own column.
    const node = typeof nodeId === 'bigint' ? (nodeNames.get(nodeId) ?? String(nodeId)) : nodeId;
    const op = typeof opId === 'bigint' ? opNames.get(opId) : undefined;
    const opName = typeof opId === 'bigint' ? (op?.name ?? `op_${opId / 256n}_${opId % 256n}`) : opId;
    const source = typeof opId === 'bigint' ? (op ? op.source : `source_${opId / 256n}`) : opId;
    return [id, ts, unix, dur, nodeId, node, pid, tid, opId, opName, source, arg0, arg1, arg2, arg3, ret, stackId];
  };
  const events = new ParquetRowGroup(EVENT_COLUMNS);
  let lastId = 0n;
  let written = 0;
  for (let part = 0; ; part++) {
    events.clear();
    for (const r of select.iterate(lastId) as IterableIterator<unknown[]>) {
      appendRow(events, EVENT_COLUMNS, eventRow(r), bundle, 'events');
      lastId = r[0] as bigint;
    }
    if (events.rows === 0 && part > 0) break;
    write('events', events, part);
    written += events.rows;
    options.onEvents?.(written);
    // Between parts, so that a caller's signal or progress can run.
    await new Promise<void>((done) => setImmediate(done));
    if (events.rows < rowsPerPart) break;
  }
  return { digest, events: written, files };
}

/**
 * The findings partition of one bundle: its imported findings and, with analysis, the ingero
 * analyzer's (the part of an export that depends on this ingero's analyzer, not only on the
 * recording).
 */
export function writeFindingsParquet(bundle: Bundle, root: string, analysis: boolean, compressor = zstd()): void {
  const findings = analysis ? explain(bundle).findings : [];
  const imported = bundle.db
    .prepare("SELECT i.origin, 'imported', i.severity, i.op, i.node_id, coalesce(n.name, CAST(i.node_id AS TEXT)), NULL, '', i.detected_ns, i.detected_ns, i.summary, i.root_cause, NULL, i.occurrences, i.p50_ns, i.p99_ns FROM imported_findings i LEFT JOIN nodes n ON n.id = i.node_id ORDER BY i.id")
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<unknown[]>;
  const rows = new ParquetRowGroup(FINDING_COLUMNS);
  for (const f of findings) {
    appendRow(rows, FINDING_COLUMNS, ['ingero explain', f.kind, f.severity, f.op, f.node_id, f.node, f.pid, f.process, f.from_ns, f.to_ns, f.summary, f.root_cause, f.impact_ns, f.count, f.p50_ns, f.p99_ns], bundle, 'findings');
  }
  for (const r of imported) appendRow(rows, FINDING_COLUMNS, r, bundle, 'findings');
  writeTableFile(root, 'findings', bundle.manifest.database.sha256, rows, compressor);
}

function zstd(): Compressor {
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: 3 });
  return compressor;
}

function writeTableFile(root: string, table: string, digest: string, group: ParquetRowGroup, compressor: Compressor, part = 0): void {
  const dir = partitionDir(root, table, digest);
  mkdirSync(dir, { recursive: true });
  group.write(join(dir, `part-${part}.parquet`), compressor);
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
function appendRow(group: ParquetRowGroup, columns: readonly Column[], row: readonly unknown[], bundle: Bundle, table: string): void {
  const r = group.addRow();
  for (let i = 0; i < columns.length; i++) {
    const v = row[i];
    const c = columns[i]!;
    if (v === null || v === undefined) continue;
    // better-sqlite3's bigints are 64-bit already; numbers come from the analyzer and metadata.
    if (c.type === 'BIGINT' && (typeof v === 'bigint' || Number.isSafeInteger(v))) group.set(r, i, BigInt(v as bigint | number));
    // A fraction of a ns in a dimension table (verify accepts it; a faulty writer leaves it) is
    // rounded; events stay strict, as every reader of events is.
    else if (c.type === 'BIGINT' && table !== 'events' && typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 2 ** 63) group.set(r, i, BigInt(Math.round(v)));
    else if (c.type === 'VARCHAR' && typeof v === 'string') group.set(r, i, v);
    else if (c.type === 'BOOLEAN' && typeof v === 'boolean') group.set(r, i, v);
    else throw new BundleError('SCHEMA', `${bundle.path}: table ${table} holds ${typeof v === 'object' ? 'a blob' : `a ${typeof v}`} in column ${c.name}, where the schema has ${c.type === 'VARCHAR' ? 'text' : 'an integer'} — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
  }
}
