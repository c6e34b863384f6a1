// Schema conformance: what a reader checks before it trusts a bundle database. A bundle may add
// tables and columns (forward compatibility), but it may not hide code in the schema (triggers,
// views, generated columns) nor carry oversized values that would flood a terminal or an AI
// agent's context, in any column of any table (declared types do not bind SQLite: an INTEGER
// column holds 8 MiB of text if a writer puts it there).
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { APPLICATION_ID, MAX_EVENT_ROW_BYTES, TABLES, UNKNOWN_TABLE_MAX_BYTES, type TableSpec } from './schema.ts';

export interface ConformanceOptions {
  /** Also run SQLite's integrity check and the full-table invariants (slow on large bundles). */
  readonly full: boolean;
  /** Skip the pass over every value: this checker (VALUE_CHECKER) already passed this very database. */
  readonly valuesPassed?: boolean;
}

/**
 * Names the value pass (valueProblems) and the limits it applies, for records that a database
 * passed it (the cache's marker). Raise the number whenever valueProblems changes what it refuses;
 * a change of limits changes the name by itself.
 */
export const VALUE_CHECKER = `values/1 ${createHash('sha256')
  .update(JSON.stringify([MAX_EVENT_ROW_BYTES, UNKNOWN_TABLE_MAX_BYTES, TABLES.map((t) => [t.name, t.maxTextBytes, t.columns.map((c) => c.decl)])]))
  .digest('hex')
  .slice(0, 16)}`;

/** Returns one line per problem; empty when the database conforms. */
export function checkConformance(db: Database.Database, options: ConformanceOptions): string[] {
  const problems: string[] = [];
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== APPLICATION_ID) problems.push(`database application_id is 0x${(appId >>> 0).toString(16)}, expected 0x${APPLICATION_ID.toString(16)} (not an ingero database)`);
  const objects = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as { type: string; name: string; tbl_name: string; sql: string | null }[];
  for (const o of objects) {
    const kind = o.type === 'table' && /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(o.sql ?? '') ? 'virtual table' : o.type;
    if (kind === 'trigger' || kind === 'view' || kind === 'virtual table') problems.push(`database contains a ${kind} (${JSON.stringify(o.name.slice(0, 64))}), which bundles may not carry — refusing it`);
  }
  const journal = db.pragma('journal_mode', { simple: true }) as string;
  if (journal === 'wal') problems.push('database is in WAL mode; bundles must be in rollback-journal mode (file header bytes 18 and 19 equal 1)');
  const tableNames = objects.filter((o) => o.type === 'table' && !o.name.startsWith('sqlite_')).map((o) => o.name);
  // A generated column's expression runs on every read of its row, at a cost the bundle picks
  // (trusted_schema=OFF does not stop deterministic built-ins such as zeroblob and hex).
  for (const table of tableNames) {
    for (const g of db.prepare('SELECT name FROM pragma_table_xinfo(?) WHERE hidden IN (2, 3)').all(table) as { name: string }[]) {
      const replaces = TABLES.find((t) => t.name === table)?.columns.some((c) => c.name === g.name) ? ` (it replaces the required column ${g.name})` : '';
      problems.push(`table ${table}: column ${JSON.stringify(g.name.slice(0, 64))} is a generated column${replaces}, which bundles may not carry (its expression would run on every read) — refusing it`);
    }
  }
  if (problems.length > 0) return problems;
  const tables = new Set(tableNames);
  // What a later schema added is required only of bundles of that schema or newer.
  const schema = db.pragma('user_version', { simple: true }) as number;
  const required = (since: number | undefined) => (since ?? 1) <= schema;
  for (const t of TABLES) {
    if (!tables.has(t.name)) {
      if (required(t.since)) problems.push(`table ${t.name} is missing`);
      continue;
    }
    const have = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t.name) as { name: string }[]).map((r) => r.name));
    const missing = t.columns.filter((c) => !have.has(c.name) && required(c.since)).map((c) => c.name);
    if (missing.length) {
      problems.push(`table ${t.name} lacks column(s) ${missing.join(', ')}`);
      continue;
    }
    if (t.name === 'events') {
      // Time ranges are binary searches over the rowid: id must be it (INTEGER PRIMARY KEY).
      const id = db.prepare("SELECT type, pk FROM pragma_table_info('events') WHERE name = 'id'").get() as { type: string; pk: number };
      const pkIndex = db.prepare("SELECT 1 FROM pragma_index_list('events') WHERE origin = 'pk'").get();
      if (id.pk !== 1 || id.type.toUpperCase() !== 'INTEGER' || pkIndex !== undefined) problems.push('table events: id is not the INTEGER PRIMARY KEY (rowid) the spec requires');
    }
  }
  if (problems.length > 0) return problems;
  if (!options.valuesPassed) for (const table of tableNames) problems.push(...valueProblems(db, table, TABLES.find((t) => t.name === table)));
  if (problems.length > 0 || !options.full) return problems;
  const integrity = db.pragma('integrity_check', { simple: true });
  if (integrity !== 'ok') problems.push(`SQLite integrity check failed: ${String(integrity).slice(0, 200)}`);
  // One pass over events for every invariant (each separate query read all of it again); the
  // typeof test is spelt so that an integer costs one comparison (NOT IN cost twice the scan).
  const eventColumns = new Set((db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[]).map((r) => r.name));
  const intColumns = ['ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id', 'arg0', 'arg1', 'arg2', 'arg3', 'ret', 'stack_id', 'corr_id'].filter((c) => eventColumns.has(c));
  // Orphans count distinct values, NULL among them (a NULL is "NOT IN" only an empty table).
  const orphans = (column: string, known: string) => `count(DISTINCT e.${column}) FILTER (WHERE e.${column} NOT IN (${known})) + (count(*) FILTER (WHERE e.${column} IS NULL AND e.${column} NOT IN (${known})) > 0)`;
  const ev = db
    .prepare(
      `SELECT count(*) AS n, coalesce(max(e.id), 0) AS maxId, coalesce(min(e.id), 1) AS minId,
        count(*) FILTER (WHERE e.ts_ns < p.ts_ns) AS unordered,
        count(*) FILTER (WHERE ${intColumns.map((c) => `(typeof(e.${c}) <> 'integer' AND e.${c} IS NOT NULL)`).join(' OR ')}) AS badType,
        count(*) FILTER (WHERE e.dur_ns < 0 OR e.ts_ns < 0) AS negative,
        count(*) FILTER (WHERE e.ts_ns > ${Number.MAX_SAFE_INTEGER} OR e.dur_ns > ${Number.MAX_SAFE_INTEGER} - e.ts_ns) AS beyond,
        ${orphans('op_id', 'SELECT id FROM ops')} AS orphanOps,
        count(DISTINCT e.stack_id) FILTER (WHERE e.stack_id NOT IN (SELECT stack_id FROM stack_frames)) AS orphanStacks,
        ${orphans('node_id', 'SELECT id FROM nodes')} AS orphanNodes
      FROM events e LEFT JOIN events p ON p.id = e.id - 1`,
    )
    .get() as Record<'n' | 'maxId' | 'minId' | 'unordered' | 'badType' | 'negative' | 'beyond' | 'orphanOps' | 'orphanStacks' | 'orphanNodes', number>;
  if (ev.n > 0 && (ev.minId !== 1 || ev.maxId !== ev.n)) problems.push(`events.id is not dense 1..${ev.n} (min ${ev.minId}, max ${ev.maxId})`);
  if (ev.unordered > 0) problems.push(`${ev.unordered} events are out of start-time order (events.id must follow ts_ns)`);
  if (ev.badType > 0) problems.push(`${ev.badType} events hold a non-integer value in an integer column`);
  if (ev.negative > 0) problems.push(`${ev.negative} events have a negative time or duration`);
  // Readers hold times as doubles; past 2^53 ns (104 days after the origin) they lose precision.
  if (ev.beyond > 0) problems.push(`${ev.beyond} events end beyond 2^53 ns (104 days) after the bundle origin, where times lose precision`);
  if (ev.orphanOps > 0) problems.push(`${ev.orphanOps} op code(s) used by events are missing from table ops`);
  if (ev.orphanStacks > 0) problems.push(`${ev.orphanStacks} stack id(s) used by events have no frames`);
  if (ev.orphanNodes > 0) problems.push(`${ev.orphanNodes} node id(s) used by events are missing from table nodes`);
  return problems;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Values a table may not hold: a cell (text in UTF-8 bytes, a blob in bytes) above the table's
 * limit in any column, spec'd or added, and a non-integer in a column the spec declares INTEGER.
 * Every table is read in full except events, the one table that grows with the recording: its
 * values are integers only (limit 0), so its largest row payload bounds them all, and SQLite's
 * dbstat reads that from the pages without decoding a value. Non-integers in events are
 * refused where rows are read (Bundle.events) and by the full verification.
 */
function valueProblems(db: Database.Database, table: string, spec: TableSpec | undefined): string[] {
  if (table === 'events') {
    // temp.dbstat: the eponymous virtual table itself, which a bundle table named dbstat cannot shadow.
    const row = db.prepare("SELECT coalesce(max(mx_payload), 0) AS n FROM temp.dbstat WHERE name = 'events'").get() as { n: number };
    return row.n > MAX_EVENT_ROW_BYTES ? [`table events holds a ${row.n}-byte row; events hold integers only (rows of at most ${MAX_EVENT_ROW_BYTES} bytes) — refusing smuggled data`] : [];
  }
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
  const integers = (spec?.columns ?? []).filter((c) => c.decl.startsWith('INTEGER') && columns.includes(c.name)).map((c) => c.name);
  if (columns.length === 0) return [];
  const limit = spec?.maxTextBytes ?? UNKNOWN_TABLE_MAX_BYTES;
  const sizes = columns.map((c) => `coalesce(max(octet_length(${quote(c)})), 0)`);
  const types = integers.map((c) => `count(*) FILTER (WHERE typeof(${quote(c)}) NOT IN ('integer', 'null'))`);
  const row = db.prepare(`SELECT ${[...sizes, ...types].join(', ')} FROM ${quote(table)}`).raw(true).get() as number[];
  const problems: string[] = [];
  const shown = JSON.stringify(table.slice(0, 64));
  columns.forEach((c, i) => {
    // Integers and reals print in at most 24 bytes, under every limit but events' 0.
    if (row[i]! > Math.max(limit, 24)) problems.push(`table ${shown} column ${JSON.stringify(c.slice(0, 64))} holds a ${row[i]}-byte value, above the ${limit}-byte limit for that table — refusing oversized values`);
  });
  integers.forEach((c, i) => {
    const n = row[columns.length + i]!;
    if (n > 0) problems.push(`table ${shown} column ${c} holds ${n} non-integer value(s) (text, blob or real) where the spec requires integers — refusing smuggled data`);
  });
  return problems;
}
