// One bundle as the server holds it: the open Bundle (format/) and its Summary (precompute.ts):
// stats, findings, stack use and the whole-recording timeline, computed once in a child process
// right after the bundle is opened, or read back from the cache where an earlier server left it
// (summary-cache.ts). The server keeps answering meanwhile: tools that need the
// summary wait for it (up to a limit, then ask the agent to retry), the others answer at once.
// Everything here is a pure function of the bundle, which never changes while it is served.
import { resolve } from 'node:path';
import type { Bundle, OpenOptions } from '../format/index.ts';
import { forkTs } from '../format/fork-ts.ts';
import { precompute, type StackUse, type StatsPart, type Summary } from './precompute.ts';
import type { PrecomputeRequest } from './precompute-worker.ts';
import { readCachedSummary, writeCachedSummary } from './summary-cache.ts';
import { ToolInputError } from './tool-kit.ts';

/** Meaning of events.arg0..arg3 for one op (table op_args); undefined where unused. */
export type ArgMeaning = ({ readonly name: string; readonly unit: string } | undefined)[];

export class ServedBundle {
  /** Name the agent uses for it (the file name). */
  readonly name: string;
  readonly bundle: Bundle;
  private readonly openOptions: OpenOptions;
  private readonly memos = new Map<string, unknown>();
  private summaryValue?: Summary;
  private summaryPromise?: Promise<Summary>;
  private partValue?: StatsPart;
  private partPromise?: Promise<StatsPart>;
  private summaryStarted = 0;
  private stopChild?: () => void;

  constructor(name: string, bundle: Bundle, openOptions: OpenOptions = {}) {
    this.name = name;
    this.bundle = bundle;
    this.openOptions = openOptions;
  }

  /** compute() once per key for the life of this bundle. */
  memo<T>(key: string, compute: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, compute());
    return this.memos.get(key) as T;
  }

  /** Starts computing the summary (once); resolves when it is ready. */
  startSummary(): Promise<Summary> {
    if (!this.summaryPromise) {
      this.summaryStarted = performance.now();
      const cached = readCachedSummary(this.bundle.databasePath);
      if (cached) {
        this.summaryValue = this.partValue = cached;
        this.summaryPromise = this.partPromise = Promise.resolve(cached);
        return this.summaryPromise;
      }
      let partReady: (p: StatsPart) => void = () => {};
      this.partPromise = new Promise<StatsPart>((r) => (partReady = r));
      const onPart = (p: StatsPart) => {
        this.partValue ??= p;
        partReady(p);
      };
      this.summaryPromise = this.computeInChild(onPart)
        .catch(() => precompute(this.bundle))
        .then((s) => {
          writeCachedSummary(this.bundle.databasePath, s);
          onPart(s);
          return (this.summaryValue = s);
        });
      // A failure reaches callers through summaryPromise; the part settles with it.
      this.summaryPromise.catch(() => undefined);
    }
    return this.summaryPromise;
  }

  /** The summary if it is already computed. */
  summaryIfReady(): Summary | undefined {
    return this.summaryValue;
  }

  /** Its statistics part if that is ready (it comes well before the findings). */
  statsIfReady(): StatsPart | undefined {
    return this.partValue;
  }

  /** The summary, waiting at most waitMs; then a ToolInputError asks the agent to retry. */
  summary(waitMs: number): Promise<Summary> {
    if (this.summaryValue) return Promise.resolve(this.summaryValue);
    return this.within(this.startSummary(), waitMs, 'the analysis');
  }

  /** The statistics part (stats, stack use, timeline), waiting at most waitMs. */
  stats(waitMs: number): Promise<StatsPart> {
    if (this.partValue) return Promise.resolve(this.partValue);
    const whole = this.startSummary();
    // Whichever comes first: the part, or the whole summary (or its failure).
    return this.within(Promise.race([this.partPromise!, whole]), waitMs, 'the statistics');
  }

  private async within<T>(pending: Promise<T>, waitMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const s = Math.round((performance.now() - this.summaryStarted) / 1000);
        reject(
          new ToolInputError(
            `${what} of this bundle (${this.bundle.eventCount()} events) is still running (${s} s so far); call again in a few seconds. ` +
              'Meanwhile get_bundle_info, list_events, describe_schema and run_sql answer at once.',
          ),
        );
      }, waitMs);
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stack use per op, hottest first. */
  stackUsesByOp(summary: StatsPart): Map<number, StackUse[]> {
    return this.memo('stack-uses-by-op', () => {
      const byOp = new Map<number, StackUse[]>();
      for (const u of summary.stackUses) {
        let list = byOp.get(u.op_id);
        if (!list) byOp.set(u.op_id, (list = []));
        list.push(u);
      }
      return byOp;
    });
  }

  /** Names of ops with events (from the summary when ready, else every op the bundle defines). */
  opNames(): string[] {
    const s = this.partValue;
    return s ? [...s.stats.ops].sort((a, b) => b.count - a.count).map((o) => o.op) : [...this.bundle.ops().values()].map((o) => o.name);
  }

  /** Argument names and units per op, from the bundle's own op_args table. */
  argMeanings(): Map<number, ArgMeaning> {
    return this.memo('arg-meanings', () => {
      const byOp = new Map<number, ArgMeaning>();
      for (const r of this.bundle.db.prepare('SELECT op_id, arg, name, unit FROM op_args ORDER BY op_id, arg').all() as { op_id: number; arg: number; name: string; unit: string }[]) {
        if (r.arg < 0 || r.arg > 3) continue;
        let list = byOp.get(r.op_id);
        if (!list) byOp.set(r.op_id, (list = []));
        list[r.arg] = { name: r.name, unit: r.unit };
      }
      return byOp;
    });
  }

  close(): void {
    this.stopChild?.();
    this.bundle.close();
  }

  private computeInChild(onPart: (p: StatsPart) => void): Promise<Summary> {
    return new Promise<Summary>((resolvePromise, reject) => {
      const child = forkTs(new URL('./precompute-worker.ts', import.meta.url), { stderr: 'inherit' });
      this.stopChild = () => child.kill('SIGKILL');
      child.on('message', (reply: { ok: true; part: StatsPart } | { ok: true; summary: Summary } | { ok: false; error: string }) => {
        if (reply.ok && 'part' in reply) return onPart(reply.part);
        this.stopChild = undefined;
        if (reply.ok) resolvePromise(reply.summary);
        else reject(new Error(reply.error));
      });
      child.once('exit', (code) => reject(new Error(`precompute child exited with code ${code}`)));
      child.once('error', reject);
      const req: PrecomputeRequest = { path: resolve(this.bundle.path), cacheDir: this.openOptions.cacheDir };
      child.send(req);
    });
  }
}
