// The parent side of run_sql: one child process (sql-worker.ts) that runs queries one at a time.
// A query that outlives the time limit gets its process killed (SIGKILL, which works even while
// SQLite is inside one long native call) and the next query starts a fresh process, so a runaway
// query costs at most the time limit and the server keeps serving.
import type { ChildProcess } from 'node:child_process';
import { forkTs } from '../analyze/fork-ts.ts';
import type { SqlReply, SqlRequest } from './sql-worker.ts';

export interface SqlLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxCellBytes: number;
  readonly timeoutMs: number;
}

export type SqlOutcome = SqlReply | { readonly id: number; readonly ok: false; readonly code: 'timeout' | 'crashed'; readonly error: string };

export class SqlRunner {
  private child?: ChildProcess;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts the child ahead of the first query, so that query does not pay for the start. */
  warm(): void {
    this.process();
  }

  run(databasePath: string, sql: string, limits: SqlLimits): Promise<SqlOutcome> {
    const result = this.queue.then(() => this.runNow(databasePath, sql, limits));
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.closed = true;
    this.kill();
  }

  private process(): ChildProcess {
    if (this.closed) throw new Error('the SQL runner is closed');
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      this.child = forkTs(new URL('./sql-worker.ts', import.meta.url), { stderr: 'inherit' });
      keepAlive(this.child, false);
    }
    return this.child;
  }

  private kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.child = undefined;
  }

  private runNow(databasePath: string, sql: string, limits: SqlLimits): Promise<SqlOutcome> {
    const id = this.nextId++;
    const child = this.process();
    const request: SqlRequest = { id, databasePath, sql, maxRows: limits.maxRows, maxBytes: limits.maxBytes, maxCellBytes: limits.maxCellBytes };
    return new Promise<SqlOutcome>((resolve) => {
      const finish = (outcome: SqlOutcome) => {
        keepAlive(child, false);
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(outcome);
      };
      const onMessage = (reply: SqlReply) => {
        if (reply.id === id) finish(reply);
      };
      const onExit = () => {
        this.child = undefined;
        finish({ id, ok: false, code: 'crashed', error: 'the query process died (probably out of memory); the next query starts a fresh one' });
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        this.kill();
        finish({ id, ok: false, code: 'timeout', error: `the query ran past the ${limits.timeoutMs} ms limit and was stopped` });
      }, limits.timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      keepAlive(child, true);
      child.send(request);
    });
  }
}

/** An idle child must not keep the server alive on its own; a child running a query must. */
function keepAlive(child: ChildProcess, on: boolean): void {
  if (on) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}
