// The SQL console's statements go through the one statement runner every front end uses
// (format/sql-statement.ts): the same guard, caps and time limit as `ingero sql`, in a child
// process, so the UI keeps answering keys while a query runs and a runaway one is killed. Esc
// cancels a running query by closing its runner; the next query starts a fresh one.
import { DEFAULT_STATEMENT_LIMITS, StatementError, StatementRunner, type StatementLimits } from '../format/index.ts';

/** The console's limits: `ingero sql`'s defaults (its guard, cell cap and time limit). */
export const SQL_LIMITS: StatementLimits = DEFAULT_STATEMENT_LIMITS;

/** A result as the table shows it: every cell as text, which columns hold numbers. */
export type SqlReply =
  | { readonly ok: true; readonly columns: string[]; readonly rows: string[][]; readonly numeric: boolean[]; readonly more: boolean; readonly elapsedMs: number }
  | { readonly ok: false; readonly error: string };

export interface SqlJob {
  readonly done: Promise<SqlReply>;
  cancel(): void;
}

/** A value as `ingero sql` prints it: NULL, x'hex' for blobs, integers exactly. */
function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return String(v);
}

export function startStatement(databasePath: string, sql: string, limits: StatementLimits = SQL_LIMITS): SqlJob {
  const runner = new StatementRunner();
  let cancelled = false;
  let stop: (r: SqlReply) => void = () => undefined;
  const stopped = new Promise<SqlReply>((resolve) => (stop = resolve));
  const ran = runner.run(databasePath, sql, limits).then(
    (r): SqlReply => ({
      ok: true,
      columns: r.columns,
      rows: r.rows.map((row) => row.map(text)),
      numeric: r.rows[0]?.map((v) => typeof v === 'bigint' || typeof v === 'number') ?? [],
      more: r.truncated !== null,
      elapsedMs: r.elapsedMs,
    }),
    (err: unknown): SqlReply => {
      if (cancelled) return { ok: false, error: 'stopped (Esc)' };
      if (err instanceof StatementError) {
        if (err.code === 'sql') return { ok: false, error: `SQL error: ${err.message}` };
        if (err.code === 'timeout') return { ok: false, error: `${err.message} — narrow it (events.id follows time: filter by id or ts_ns)` };
        return { ok: false, error: err.message };
      }
      return { ok: false, error: (err as Error).message };
    },
  );
  const done = Promise.race([ran, stopped]).finally(() => runner.close());
  return {
    done,
    cancel: () => {
      cancelled = true;
      runner.close();
      stop({ ok: false, error: 'stopped (Esc)' });
    },
  };
}
