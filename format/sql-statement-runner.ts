// Runs statements (sql-statement.ts) in a child process, one at a time, so that the time limit
// holds even inside one native call: SQLite runs a step inside a single call that neither a
// worker_thread's terminate() nor any JavaScript timer can interrupt (measured: a terminated
// worker kept spinning on an endless recursive CTE), but a process can always be SIGKILLed. A
// statement that outlives its limit gets its process killed and the next one starts a fresh
// process, so a runaway statement costs at most the limit and the caller keeps serving.
import type { ChildProcess } from 'node:child_process';
import { forkTs } from './fork-ts.ts';
import { StatementError, timeoutError, type StatementLimits, type StatementResult } from './sql-statement.ts';
import type { StatementReply, StatementRequest } from './sql-statement-worker.ts';

/** The child's JavaScript heap: rows in flight are bounded by maxBytes, far below this. */
const WORKER_HEAP_MIB = 512;

export class StatementRunner {
  private child?: ChildProcess;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts the child ahead of the first statement, so that statement does not pay for the start. */
  warm(): void {
    this.process();
  }

  /** Runs one statement over the database file; rejects with a StatementError. */
  run(databasePath: string, sql: string, limits: StatementLimits): Promise<StatementResult> {
    const result = this.queue.then(() => this.runNow(databasePath, sql, limits));
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.closed = true;
    this.kill();
  }

  private process(): ChildProcess {
    if (this.closed) throw new Error('the statement runner is closed');
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      this.child = forkTs(new URL('./sql-statement-worker.ts', import.meta.url), { stderr: 'inherit', maxHeapMiB: WORKER_HEAP_MIB });
      keepAlive(this.child, false);
    }
    return this.child;
  }

  private kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    this.child = undefined;
  }

  private runNow(databasePath: string, sql: string, limits: StatementLimits): Promise<StatementResult> {
    const id = this.nextId++;
    const child = this.process();
    const request: StatementRequest = { id, databasePath, sql, limits };
    return new Promise<StatementResult>((resolve, reject) => {
      const finish = (outcome: StatementResult | StatementError) => {
        keepAlive(child, false);
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (outcome instanceof StatementError) reject(outcome);
        else resolve(outcome);
      };
      const onMessage = (reply: StatementReply) => {
        if (reply.id !== id) return;
        if (!reply.ok) return finish(new StatementError(reply.code, reply.error));
        // Structured clone delivers Buffers as plain Uint8Arrays.
        const rows = reply.rows.map((r) => r.map((v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v)));
        finish({ columns: reply.columns, rows, truncated: reply.truncated, elapsedMs: reply.elapsedMs });
      };
      const onExit = () => {
        this.child = undefined;
        finish(new StatementError('crashed', 'the query process died (probably out of memory); the next query starts a fresh one'));
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        this.kill();
        finish(timeoutError(limits.timeoutMs));
      }, limits.timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      keepAlive(child, true);
      child.send(request);
    });
  }
}

/** An idle child must not keep its parent alive on its own; a child running a statement must. */
function keepAlive(child: ChildProcess, on: boolean): void {
  if (on) {
    child.ref();
    child.channel?.ref();
  } else {
    child.unref();
    child.channel?.unref();
  }
}
