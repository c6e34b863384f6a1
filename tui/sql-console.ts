// Runs the SQL console's statements in a child process (sql-worker.ts), one at a time: the UI
// keeps answering keys while a query runs, Esc cancels it, and one that outlives the time limit
// is killed, so no statement can freeze the terminal.
import { forkTs } from '../analyze/fork-ts.ts';
import type { SqlReply, SqlRequest } from './sql-worker.ts';

/** How long one statement may run before it is stopped. */
export const SQL_TIME_LIMIT_MS = 10_000;

/** Rows kept for the result table; the header says when a query returned more. */
export const SQL_MAX_ROWS = 10_000;

export interface SqlJob {
  readonly done: Promise<SqlReply>;
  cancel(): void;
}

export function startStatement(databasePath: string, sql: string, timeLimitMs = SQL_TIME_LIMIT_MS): SqlJob {
  const child = forkTs(new URL('./sql-worker.ts', import.meta.url), { stderr: 'ignore' });
  let settle: (r: SqlReply) => void = () => undefined;
  const done = new Promise<SqlReply>((resolve) => {
    let settled = false;
    settle = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(r);
    };
    const timer = setTimeout(() => settle({ ok: false, error: `the query ran past the ${timeLimitMs / 1000} s limit and was stopped; narrow it (WHERE ts_ns BETWEEN …, LIMIT)` }), timeLimitMs);
    child.once('message', (r: SqlReply) => settle(r));
    child.once('exit', (code, signal) => settle({ ok: false, error: `the query process ended early (${signal ?? `exit code ${code}`})` }));
    child.once('error', (err) => settle({ ok: false, error: `the query process failed to start: ${err.message}` }));
  });
  const req: SqlRequest = { databasePath, sql, maxRows: SQL_MAX_ROWS };
  child.send(req);
  return { done, cancel: () => settle({ ok: false, error: 'stopped (Esc)' }) };
}
