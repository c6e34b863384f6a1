// Child process of the SQL console (sql-console.ts): runs one statement over the bundle
// database with the checks `ingero sql` makes (its own read-only connection; prepare, which
// refuses several statements; the statement must return rows), sends the first rows back as
// text and exits. A separate process so that a runaway query can be stopped: SQLite runs inside
// one native call that no JavaScript timer interrupts, but the parent can always kill a process.
import { openReadOnlyDatabase } from '../format/index.ts';

export interface SqlRequest {
  readonly databasePath: string;
  readonly sql: string;
  readonly maxRows: number;
}

export type SqlReply =
  | { readonly ok: true; readonly columns: string[]; readonly rows: string[][]; readonly numeric: boolean[]; readonly more: boolean; readonly elapsedMs: number }
  | { readonly ok: false; readonly error: string };

/** A value as `ingero sql` prints it: NULL, x'hex' for blobs, integers exactly. */
function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return String(v);
}

export function runStatement(req: SqlRequest): SqlReply {
  const started = performance.now();
  const db = openReadOnlyDatabase(req.databasePath);
  try {
    let stmt;
    try {
      stmt = db.prepare(req.sql);
    } catch (err) {
      return { ok: false, error: `SQL error: ${(err as Error).message}` };
    }
    if (!stmt.reader) return { ok: false, error: 'the statement returns no rows; bundles are read-only, use SELECT' };
    stmt.safeIntegers(true).raw(true);
    const columns = stmt.columns().map((c) => c.name);
    const rows: string[][] = [];
    let numeric: boolean[] = [];
    let more = false;
    for (const r of stmt.iterate() as IterableIterator<unknown[]>) {
      if (rows.length === req.maxRows) {
        more = true;
        break;
      }
      if (!rows.length) numeric = r.map((v) => typeof v === 'bigint' || typeof v === 'number');
      rows.push(r.map(text));
    }
    return { ok: true, columns, rows, numeric, more, elapsedMs: performance.now() - started };
  } catch (err) {
    return { ok: false, error: `SQL error: ${(err as Error).message}` };
  } finally {
    db.close();
  }
}

if (process.send) {
  process.once('message', (req: SqlRequest) => process.send!(runStatement(req), () => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
}
