// Facts about a bundle that every analysis needs: names of nodes, processes and threads, the
// time span, and what the capture lost or sampled. Read from the bundle only, never from the
// machine doing the analysis.
import type { Bundle } from '../format/index.ts';
import type { EventIndex } from './event-index.ts';
import type { CaptureLoss, DataQuality, SampledPeriod } from './types.ts';

export interface ProcessInfo {
  readonly node_id: number;
  readonly pid: number;
  readonly ppid: number | null;
  readonly comm: string;
  readonly cmdline: string;
}

export interface BundleFacts {
  readonly events: number;
  readonly from_ns: number;
  readonly to_ns: number;
  readonly nodes: ReadonlyMap<number, string>;
  /** Keyed by procKey(node, pid); the earliest incarnation with a name wins. */
  readonly processes: ReadonlyMap<string, ProcessInfo>;
  /** Thread names keyed by procKey(node, tid). */
  readonly threads: ReadonlyMap<string, string>;
  /** Pids that named several processes during the recording (reused after an exit), by start. */
  readonly reusedPids: readonly ReusedPid[];
  readonly dataQuality: DataQuality;
}

export interface ReusedPid {
  readonly node_id: number;
  readonly pid: number;
  /** comm of each incarnation in start order ('' when unknown); traced data. */
  readonly comms: readonly string[];
}

export const procKey = (node: number, pid: number): string => `${node}:${pid}`;

/** index: every event already in memory (analyze/event-index.ts), which saves reading them for the count and span. */
export function readFacts(bundle: Bundle, index?: EventIndex): BundleFacts {
  const db = bundle.db;
  const events = index ? index.rowCount : bundle.eventCount();
  const span = index
    ? { first: index.rowCount ? index.firstTs : null, last: index.rowCount ? index.lastEnd : null }
    : (db.prepare('SELECT (SELECT ts_ns FROM events ORDER BY id LIMIT 1) AS first, (SELECT max(ts_ns + dur_ns) FROM events) AS last').get() as { first: number | null; last: number | null });
  const nodes = new Map<number, string>();
  for (const r of db.prepare('SELECT id, name FROM nodes ORDER BY id').all() as { id: number; name: string }[]) nodes.set(r.id, r.name);
  const processes = new Map<string, ProcessInfo>();
  const procRows = db
    .prepare("SELECT node_id, pid, ppid, comm, cmdline FROM processes ORDER BY node_id, pid, comm = '', start_ns IS NOT NULL, start_ns, id")
    .all() as ProcessInfo[];
  for (const p of procRows) if (!processes.has(procKey(p.node_id, p.pid))) processes.set(procKey(p.node_id, p.pid), p);
  const reusedPids: ReusedPid[] = [];
  const incarnations = db.prepare('SELECT node_id, pid, comm FROM processes WHERE (node_id, pid) IN (SELECT node_id, pid FROM processes GROUP BY node_id, pid HAVING count(*) > 1) ORDER BY node_id, pid, start_ns IS NULL, start_ns, id');
  for (const r of incarnations.all() as { node_id: number; pid: number; comm: string }[]) {
    const last = reusedPids.at(-1);
    if (last && last.node_id === r.node_id && last.pid === r.pid) (last.comms as string[]).push(r.comm);
    else reusedPids.push({ node_id: r.node_id, pid: r.pid, comms: [r.comm] });
  }
  const threads = new Map<string, string>();
  for (const t of db.prepare("SELECT node_id, tid, comm FROM threads WHERE comm != '' ORDER BY node_id, tid, first_ns").all() as { node_id: number; tid: number; comm: string }[]) {
    if (!threads.has(procKey(t.node_id, t.tid))) threads.set(procKey(t.node_id, t.tid), t.comm);
  }
  return { events, from_ns: span.first ?? 0, to_ns: span.last ?? 0, nodes, processes, threads, reusedPids, dataQuality: readDataQuality(bundle) };
}

function readDataQuality(bundle: Bundle): DataQuality {
  const db = bundle.db;
  const sourceName = (id: number | null) => (id === null ? null : ((db.prepare('SELECT name FROM sources WHERE id = ?').pluck().get(id) as string | undefined) ?? `source_${id}`));
  const losses: CaptureLoss[] = (db.prepare('SELECT node_id, probe, source_id, emitted, dropped, note FROM capture_loss ORDER BY node_id, probe, source_id, rowid').all() as Record<string, any>[]).map((r) => ({
    node_id: r.node_id,
    probe: r.probe,
    source: sourceName(r.source_id),
    emitted: r.emitted,
    dropped: r.dropped,
    note: r.note,
  }));
  const sampled_periods: SampledPeriod[] = (db.prepare('SELECT node_id, source_id, op_id, from_ns, to_ns, policy, note FROM sampling ORDER BY node_id, from_ns, source_id, op_id, rowid').all() as Record<string, any>[]).map((r) => ({
    node_id: r.node_id,
    op: r.op_id === null ? null : bundle.opName(r.op_id),
    source: sourceName(r.source_id ?? (r.op_id === null ? null : Math.floor(r.op_id / 256))),
    from_ns: r.from_ns,
    to_ns: r.to_ns,
    policy: r.policy,
    note: r.note,
  }));
  return {
    dropped_events: losses.reduce((s, l) => s + l.dropped, 0),
    losses,
    sampled: sampled_periods.length > 0,
    sampled_periods,
  };
}

/** Display name of a process: its comm, else '' (traced data: print through cli printable()). */
export function processName(facts: BundleFacts, node: number, pid: number): string {
  return facts.processes.get(procKey(node, pid))?.comm ?? '';
}

/** True when the events of this op (on this node, in [from, to)) are only a sample. */
export function sampledPeriodsFor(facts: BundleFacts, node: number, opName: string, sourceName: string, from: number, to: number): SampledPeriod[] {
  return facts.dataQuality.sampled_periods.filter(
    (s) => s.node_id === node && (s.op === null || s.op === opName) && (s.source === null || s.source === sourceName) && s.from_ns < to && (s.to_ns === null || s.to_ns > from),
  );
}
