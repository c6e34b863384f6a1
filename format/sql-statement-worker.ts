// The child process of StatementRunner (sql-statement-runner.ts): runs one statement at a time on
// its own read-only, query_only connection per database and answers over IPC. It never writes to
// stdout (the parent's stdout may be an MCP stdio transport or a terminal UI's screen).
// Memory is bounded on both sides of the copy: SQLite's process-wide hard heap limit stops memory
// bombs inside the engine (randomblob, group_concat), the runner caps this process's JavaScript
// heap, and runStatement refuses oversized cells before they are copied out of SQLite.
import type Database from 'better-sqlite3';
import { openReadOnlyDatabase } from './bundle.ts';
import { runStatement, StatementError, type StatementLimits, type StatementResult } from './sql-statement.ts';

export interface StatementRequest {
  readonly id: number;
  readonly databasePath: string;
  readonly sql: string;
  readonly limits: StatementLimits;
}

export type StatementReply =
  | ({ readonly id: number; readonly ok: true } & StatementResult)
  | { readonly id: number; readonly ok: false; readonly code: StatementError['code']; readonly error: string };

/** Memory SQLite may use in this process, across every connection. */
export const SQLITE_HEAP_LIMIT_BYTES = 512 * 1024 * 1024;

const connections = new Map<string, Database.Database>();

function connection(path: string): Database.Database {
  let db = connections.get(path);
  if (!db) {
    db = openReadOnlyDatabase(path);
    if (connections.size === 0) db.pragma(`hard_heap_limit = ${SQLITE_HEAP_LIMIT_BYTES}`);
    connections.set(path, db);
  }
  return db;
}

function answer(req: StatementRequest): StatementReply {
  let db: Database.Database;
  try {
    db = connection(req.databasePath);
  } catch (err) {
    // The caller opened it a moment ago: another reader that found the bundle damaged removed it from the cache.
    return { id: req.id, ok: false, code: 'crashed', error: `the bundle's database could not be opened for the query (${(err as Error).message}) — it left the cache while in use; run ingero verify on the bundle, then run again` };
  }
  try {
    return { id: req.id, ok: true, ...runStatement(db, req.sql, req.limits) };
  } catch (err) {
    if (err instanceof StatementError) return { id: req.id, ok: false, code: err.code, error: err.message };
    return { id: req.id, ok: false, code: 'sql', error: (err as Error).message };
  }
}

process.on('message', (req: StatementRequest) => {
  process.send!(answer(req));
});
process.on('disconnect', () => process.exit(0));
