// Processes and threads, keyed by (node, pid): merged databases reuse pids across nodes.
// Gathered while events stream past (first sighting, exit, fork parent, cgroup, comm), then
// completed from Ingero's `process_names` and `cgroup_metadata`.
//  - Names: events.comm (v0.10+) of the main thread wins. Otherwise process_names, which Ingero
//    keys by pid only (last write wins across merged nodes): a name is given to the node whose
//    session covers its seen_at, or to every node when no session says.
//  - cgroup: Ingero's cgroup_id on sched_switch/sched_wakeup rows is the scheduler context's, not
//    the task's, so a process's cgroup is the most frequent one on its other rows.
//  - A process_names pid with no events (e.g. a DataLoader worker that only forked) still
//    becomes a process; a fork child that only ever appears as a thread id does not.
import { clampText, type BundleWriter } from '../format/index.ts';
import { SHORT_TEXT_BYTES } from './source-rows.ts';

interface ProcessState {
  readonly node: number;
  readonly pid: number;
  first: number;
  exit: number | null;
  ppid: number | null;
  comm: string;
  readonly cgroups: Map<bigint, number>;
}

interface ThreadState {
  readonly node: number;
  readonly tid: number;
  readonly pid: number;
  first: number;
  comm: string;
}

export interface ProcessName {
  readonly pid: number;
  readonly name: string;
  /** Node the name was recorded on, or null when it cannot be told. */
  readonly node: number | null;
}

export interface CgroupInfo {
  readonly path: string;
  readonly container: string;
  readonly pod: string;
  readonly namespace: string;
}

const HOST_SOURCE = 3;
const SCHED_OPS = new Set([1, 2]);
const FORK_OP = 7;
const EXIT_OP = 6;

export class ProcessTracker {
  private readonly processes = new Map<string, ProcessState>();
  private readonly threads = new Map<string, ThreadState>();
  /** (node, child pid) → parent pid, from fork events. */
  private readonly parents = new Map<string, number>();
  private readonly forkedAt = new Map<string, number>();

  observe(node: number, pid: number, tid: number, source: number, op: number, tsNs: number, cgroup: bigint, comm: string, arg1: bigint): void {
    const key = `${node}:${pid}`;
    let p = this.processes.get(key);
    if (!p) {
      p = { node, pid, first: tsNs, exit: null, ppid: null, comm: '', cgroups: new Map() };
      this.processes.set(key, p);
    } else if (tsNs < p.first) p.first = tsNs;
    const sched = source === HOST_SOURCE && SCHED_OPS.has(op);
    if (cgroup !== 0n) p.cgroups.set(cgroup, (p.cgroups.get(cgroup) ?? 0) + (sched ? 1 : 1 << 20));
    if (comm && tid === pid) p.comm = comm;
    if (source === HOST_SOURCE && op === EXIT_OP && tid === pid) p.exit = tsNs;
    if (source === HOST_SOURCE && op === FORK_OP && arg1 > 0n) {
      this.parents.set(`${node}:${arg1}`, pid);
      // The child's start: its fork, not its first own row (which can be much later, e.g. when
      // it forks a child of its own).
      const child = `${node}:${arg1}`;
      this.forkedAt.set(child, Math.min(this.forkedAt.get(child) ?? Infinity, tsNs));
    }
    const tkey = `${node}:${tid}`;
    const t = this.threads.get(tkey);
    if (!t) this.threads.set(tkey, { node, tid, pid, first: tsNs, comm });
    else {
      if (tsNs < t.first) t.first = tsNs;
      if (comm) t.comm = comm;
    }
  }

  /** Writes processes and threads; returns how many of each. */
  write(w: BundleWriter, names: readonly ProcessName[], nodeCount: number, cgroups: ReadonlyMap<bigint, CgroupInfo>): { processes: number; threads: number } {
    for (const n of names) {
      const nodes = n.node !== null ? [n.node] : Array.from({ length: nodeCount }, (_, i) => i);
      for (const node of nodes) {
        const key = `${node}:${n.pid}`;
        const p = this.processes.get(key);
        if (p) {
          if (!p.comm) p.comm = n.name;
        } else if (n.node !== null || nodeCount === 1) {
          this.processes.set(key, { node, pid: n.pid, first: -1, exit: null, ppid: null, comm: n.name, cgroups: new Map() });
        }
      }
    }
    const list = [...this.processes.values()].sort((a, b) => a.node - b.node || a.pid - b.pid);
    for (const p of list) {
      w.addProcess({
        node_id: p.node,
        pid: p.pid,
        ppid: this.parents.get(`${p.node}:${p.pid}`) ?? null,
        start_ns: startOf(p.first, this.forkedAt.get(`${p.node}:${p.pid}`)),
        end_ns: p.exit,
        comm: clampText(p.comm, SHORT_TEXT_BYTES),
        cgroup: clampText(cgroupText(p.cgroups, cgroups), SHORT_TEXT_BYTES),
      });
    }
    const threads = [...this.threads.values()].sort((a, b) => a.node - b.node || a.tid - b.tid);
    for (const t of threads) {
      const comm = t.comm || (t.tid === t.pid ? (this.processes.get(`${t.node}:${t.pid}`)?.comm ?? '') : '');
      w.addThread({ node_id: t.node, tid: t.tid, pid: t.pid, first_ns: t.first, comm: clampText(comm, SHORT_TEXT_BYTES) });
    }
    return { processes: list.length, threads: threads.length };
  }
}

/** The process's dominant cgroup as a path (with container and pod when known). */
function cgroupText(seen: ReadonlyMap<bigint, number>, cgroups: ReadonlyMap<bigint, CgroupInfo>): string {
  let best: bigint | null = null;
  let bestWeight = 0;
  for (const [id, weight] of seen) {
    if (weight > bestWeight || (weight === bestWeight && best !== null && id < best)) {
      best = id;
      bestWeight = weight;
    }
  }
  if (best === null) return '';
  const info = cgroups.get(best);
  if (!info) return `cgroup-id:${best}`;
  const extras = [info.container && `container ${info.container}`, info.pod && `pod ${info.namespace ? `${info.namespace}/` : ''}${info.pod}`].filter(Boolean);
  return (info.path || `cgroup-id:${best}`) + (extras.length ? ` (${extras.join(', ')})` : '');
}

/** Fork time when recorded, else the first sighting, else unknown. */
function startOf(first: number, forked: number | undefined): number | null {
  if (forked !== undefined) return first >= 0 ? Math.min(first, forked) : forked;
  return first >= 0 ? first : null;
}
