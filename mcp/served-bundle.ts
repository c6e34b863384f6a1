// One bundle as the server holds it: the open Bundle (format/) and what the summary tools need,
// computed once and kept in memory, so repeated calls answer from memory instead of rescanning
// millions of events (bench/mcp.ts measures both). Everything here is a pure function of the
// bundle, which never changes while it is served.
import { computeStats, explain } from '../analyze/index.ts';
import type { ExplainReport, StatsReport } from '../analyze/index.ts';
import type { Bundle } from '../format/index.ts';

export interface StackUse {
  readonly stack_id: number;
  readonly op_id: number;
  readonly count: number;
  readonly total_dur_ns: number;
  readonly max_dur_ns: number;
}

/** Meaning of events.arg0..arg3 for one op (table op_args); undefined where unused. */
export type ArgMeaning = ({ readonly name: string; readonly unit: string } | undefined)[];

export class ServedBundle {
  /** Name the agent uses for it (the file name). */
  readonly name: string;
  readonly bundle: Bundle;
  private readonly memos = new Map<string, unknown>();

  constructor(name: string, bundle: Bundle) {
    this.name = name;
    this.bundle = bundle;
  }

  /** compute() once per key for the life of this bundle. */
  memo<T>(key: string, compute: () => T): T {
    if (!this.memos.has(key)) this.memos.set(key, compute());
    return this.memos.get(key) as T;
  }

  /** Exact per-op statistics (analyze/ computeStats). */
  stats(): StatsReport {
    return this.memo('stats', () => computeStats(this.bundle));
  }

  /** The analyzer's findings (analyze/ explain). */
  explain(): ExplainReport {
    return this.memo('explain', () => explain(this.bundle, { stats: this.stats() }));
  }

  /** Ops that have events here, with their counts, busiest first. */
  presentOps(): { name: string; op_id: number; count: number }[] {
    return this.stats()
      .ops.map((o) => ({ name: o.op, op_id: o.op_id, count: o.count }))
      .sort((a, b) => b.count - a.count || a.op_id - b.op_id);
  }

  /** Per op, the stacks its events captured, by total time (then count), over the whole bundle. */
  stackUses(): Map<number, StackUse[]> {
    return this.memo('stack-uses', () => {
      const rows = this.bundle.db
        .prepare('SELECT op_id, stack_id, count(*) AS count, sum(dur_ns) AS total_dur_ns, max(dur_ns) AS max_dur_ns FROM events WHERE stack_id IS NOT NULL GROUP BY op_id, stack_id')
        .all() as StackUse[];
      const byOp = new Map<number, StackUse[]>();
      for (const r of rows) {
        let list = byOp.get(r.op_id);
        if (!list) byOp.set(r.op_id, (list = []));
        list.push(r);
      }
      for (const list of byOp.values()) list.sort(hottestFirst);
      return byOp;
    });
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
    this.bundle.close();
  }
}

export function hottestFirst(a: StackUse, b: StackUse): number {
  return b.total_dur_ns - a.total_dur_ns || b.count - a.count || a.stack_id - b.stack_id;
}
