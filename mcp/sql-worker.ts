// The run_sql child process. It exists so that a query can be stopped: SQLite runs a statement
// inside one native call that neither a worker_thread's terminate() nor any JavaScript timer can
// interrupt (measured: a terminated worker kept spinning on an endless recursive CTE), but the
// parent can always SIGKILL a process and fork a fresh one. Started by sql-runner.ts with an IPC
// channel; it never writes to stdout (the parent's stdout may be the MCP stdio transport).
//
// Per request: the statement-kind gate (sql-guard.ts), then prepare on this process's own
// read-only, query_only connection to the bundle database (prepare refuses several statements),
// then sqlite3_stmt_readonly() and "returns rows" must hold, then rows are streamed with row and
// byte caps. SQLite's process-wide hard heap limit bounds memory bombs (randomblob, group_concat).
import type Database from 'better-sqlite3';
import { openReadOnlyDatabase } from '../format/index.ts';
import { capUtf8 } from './sanitize.ts';
import { refuseStatementKind } from './sql-guard.ts';

export interface SqlRequest {
  readonly id: number;
  readonly databasePath: string;
  readonly sql: string;
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxCellBytes: number;
}

export type SqlReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly columns: string[];
      readonly rows: unknown[][];
      /** Why rows stopped early: the row cap, the byte cap, or null when all rows came back. */
      readonly truncated: 'rows' | 'bytes' | null;
      readonly elapsedMs: number;
    }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly code: 'refused' | 'sql' };

/** Memory SQLite may use in this process, across every connection. */
const HARD_HEAP_LIMIT_BYTES = 512 * 1024 * 1024;

const connections = new Map<string, Database.Database>();

function connection(path: string): Database.Database {
  let db = connections.get(path);
  if (!db) {
    db = openReadOnlyDatabase(path);
    if (connections.size === 0) db.pragma(`hard_heap_limit = ${HARD_HEAP_LIMIT_BYTES}`);
    connections.set(path, db);
  }
  return db;
}

function cell(v: unknown, maxCellBytes: number): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'string') return capUtf8(v, maxCellBytes);
  if (Buffer.isBuffer(v)) return capUtf8(`x'${v.toString('hex')}'`, maxCellBytes);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

export function runQuery(req: SqlRequest): SqlReply {
  const started = performance.now();
  const refusal = refuseStatementKind(req.sql);
  if (refusal) return { id: req.id, ok: false, code: 'refused', error: refusal };
  let stmt: Database.Statement;
  try {
    stmt = connection(req.databasePath).prepare(req.sql);
  } catch (err) {
    return { id: req.id, ok: false, code: 'sql', error: (err as Error).message };
  }
  if (!stmt.readonly) return { id: req.id, ok: false, code: 'refused', error: 'the statement would modify the database; the bundle is read-only — use SELECT' };
  if (!stmt.reader) return { id: req.id, ok: false, code: 'refused', error: 'the statement returns no rows; only queries that return rows are accepted — use SELECT' };
  const columns = stmt.columns().map((c) => c.name);
  const rows: unknown[][] = [];
  let bytes = 2 + JSON.stringify(columns).length;
  let truncated: 'rows' | 'bytes' | null = null;
  try {
    stmt.safeIntegers(true).raw(true);
    for (const raw of stmt.iterate() as IterableIterator<unknown[]>) {
      if (rows.length === req.maxRows) {
        truncated = 'rows';
        break;
      }
      const row = raw.map((v) => cell(v, req.maxCellBytes));
      const size = JSON.stringify(row).length + 1;
      if (bytes + size > req.maxBytes) {
        truncated = 'bytes';
        break;
      }
      bytes += size;
      rows.push(row);
    }
  } catch (err) {
    return { id: req.id, ok: false, code: 'sql', error: (err as Error).message };
  }
  return { id: req.id, ok: true, columns, rows, truncated, elapsedMs: performance.now() - started };
}

if (process.send) {
  process.on('message', (req: SqlRequest) => {
    process.send!(runQuery(req));
  });
  process.on('disconnect', () => process.exit(0));
}
