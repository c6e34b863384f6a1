// What every detector gets: the bundle, its facts and stats, the thresholds, the events in memory
// (index: analyze/event-index.ts), and shared queries (slow calls, off-CPU intervals, rates)
// answered from them. explain reads the events table once, into the index, whatever the
// detectors ask; so a detector reads events through ctx.rows() / ctx.columns() (rows of the
// (node, pid, tid, op) groups it picks, in id order, optionally in an id range) or the helpers
// below, and per-group totals from ctx.index.groups (counts, time bounds, return codes). Values
// the index does not keep (arguments other than sched_switch's) come by id from columnsOf for
// the few rows that need them; a new scan of the events table costs about as much as all the
// detectors together at 10M events (bench/analyze.ts).
import type { Bundle } from '../format/index.ts';
import { procKey, processName, sampledPeriodsFor, type BundleFacts } from './bundle-facts.ts';
import { columnsOf, type EventGroup, type EventIndex } from './event-index.ts';
import type { Thresholds } from './thresholds.ts';
import type { ProcessOpStats, SampledPeriod, StatsReport } from './types.ts';

/** Layers whose ops are GPU API calls made by the traced process. */
export const GPU_LAYERS = new Set(['CUDA', 'DRIVER', 'GRAPH']);
export const SYNC_OPS = new Set(['cudaStreamSynchronize', 'cudaDeviceSynchronize', 'cudaEventSynchronize', 'cuCtxSynchronize', 'cuStreamSynchronize', 'cuEventSynchronize']);
export const LAUNCH_OPS = new Set(['cudaLaunchKernel', 'cudaLaunchKernelExC', 'cuLaunchKernel', 'cudaGraphLaunch']);
/** Calls that never sleep by design: off-CPU time inside them is time spent preempted. */
export const NON_BLOCKING_OPS = new Set([...LAUNCH_OPS, 'cudaMemcpyAsync', 'cuMemcpyAsync', 'cudaMemcpy2DAsync', 'cudaMemcpyPeerAsync', 'cuMemcpyHtoDAsync', 'cuMemcpyDtoHAsync', 'cudaMemsetAsync', 'cudaStreamWaitEvent']);

/**
 * When a process is known to have existed, on the bundle clock. `born` is its fork (a
 * process_fork row naming it as the child) or its recorded start; `died` its exit. NaN = not
 * recorded: a process seen only in a sample may have existed long before its first row.
 */
export interface Lifetime {
  readonly born: number;
  readonly died: number;
}

/** Whether a process existed in [from, to): 'no' only when its recorded fork or exit rules it out. */
export type Existence = 'yes' | 'no' | 'unknown';

/** A process that made GPU API calls. */
export interface GpuProcess {
  readonly node_id: number;
  readonly pid: number;
  readonly process: string;
  /** First call start and last call end. */
  readonly from_ns: number;
  readonly to_ns: number;
  readonly calls: number;
  readonly ops: readonly ProcessOpStats[];
}

/** What ctx.columns() can return of a row; by, byTid and state are those of sched_switch rows (NaN for others). */
export type RowColumn = 'id' | 'ts' | 'dur' | 'op' | 'pid' | 'tid' | 'by' | 'byTid' | 'state';

export interface ColumnOptions {
  /** Keeps only the rows it accepts. */
  readonly where?: (id: number, ts: number, dur: number, g: EventGroup, row: number) => boolean;
  /** At most this many rows, the first in id order. */
  readonly limit?: number;
  /** Only ids in [loId, hiId). */
  readonly loId?: number;
  readonly hiId?: number;
}

/** Calls of one op in one process, columnar, in time order. */
export interface Calls {
  readonly id: Float64Array;
  readonly ts: Float64Array;
  readonly dur: Float64Array;
  readonly tid: Float64Array;
}

/** sched_switch rows, columnar and in time order. prev_state NaN = not recorded. */
export interface OffCpu {
  readonly id: Float64Array;
  readonly ts: Float64Array;
  readonly dur: Float64Array;
  readonly tid: Float64Array;
  /** Who ran instead (next_pid, or for imports the task that ran last before switch-in); NaN when unknown. */
  readonly by: Float64Array;
  readonly byTid: Float64Array;
  readonly state: Float64Array;
}

export class AnalysisContext {
  readonly bundle: Bundle;
  readonly facts: BundleFacts;
  readonly stats: StatsReport;
  readonly th: Thresholds;
  readonly index: EventIndex;
  readonly gpuProcesses: readonly GpuProcess[];
  readonly limitations: string[] = [];
  /** The time analysed, [from, to) on the bundle clock: the whole recording unless explain was given a window. */
  readonly selection: { readonly from: number; readonly to: number };
  private readonly slowCache = new Map<string, Calls>();
  private readonly threadCache = new Map<string, number[]>();
  private lifetimes: Map<string, Lifetime> | undefined;

  constructor(bundle: Bundle, facts: BundleFacts, stats: StatsReport, th: Thresholds, index: EventIndex, selection = { from: -Infinity, to: Infinity }) {
    this.bundle = bundle;
    this.selection = selection;
    this.facts = facts;
    this.stats = stats;
    this.th = th;
    this.index = index;
    const byProc = new Map<string, ProcessOpStats[]>();
    for (const s of stats.by_process) {
      const k = procKey(s.node_id, s.pid);
      if (!byProc.has(k)) byProc.set(k, []);
      byProc.get(k)!.push(s);
    }
    const procs: GpuProcess[] = [];
    for (const ops of byProc.values()) {
      const gpu = ops.filter((o) => GPU_LAYERS.has(o.layer));
      if (gpu.length === 0) continue;
      const first = ops[0]!;
      procs.push({
        node_id: first.node_id,
        pid: first.pid,
        process: first.process,
        from_ns: Math.min(...gpu.map((o) => o.first_ns)),
        to_ns: Math.max(...gpu.map((o) => o.last_ns + o.max_ns)),
        calls: gpu.reduce((s, o) => s + o.count, 0),
        ops,
      });
    }
    this.gpuProcesses = procs.sort((a, b) => a.node_id - b.node_id || a.pid - b.pid);
  }

  /** Smallest event id starting at or after ns (bundle.idAtTime, answered from the index). */
  idAtTime(ns: number): number {
    return this.index.idAtTime(ns);
  }

  opId(name: string): number | undefined {
    return this.bundle.opIdsByName(name)[0];
  }

  /**
   * The events of the groups (node, pid, tid, op) that pick accepts, with ids in [loId, hiId),
   * in id (= start time) order: fn(id, ts, dur, group, row) for each, until it returns true. How
   * detectors read events; columns the index does not keep come from columnsOf(bundle, ids).
   */
  rows(pick: (g: EventGroup) => boolean, fn: (id: number, ts: number, dur: number, g: EventGroup, row: number) => boolean | void, loId?: number, hiId?: number): void {
    this.index.rows(this.index.select(pick), fn, loId, hiId);
  }

  /**
   * rows() as columns: the named values of each row that where accepts (all by default), the
   * first `limit` of them, as exact-size Float64Arrays in id order.
   */
  columns(pick: (g: EventGroup) => boolean, names: readonly RowColumn[], opts: ColumnOptions = {}): Float64Array[] {
    // Counted first, then filled: exact-size arrays and nothing to copy, whatever the count.
    let n = 0;
    this.walk(pick, opts, () => void n++);
    const out = names.map(() => new Float64Array(n));
    let k = 0;
    this.walk(pick, opts, (id, ts, dur, g, row) => {
      for (let i = 0; i < names.length; i++) {
        const c = names[i]!;
        out[i]![k] = c === 'id' ? id : c === 'ts' ? ts : c === 'dur' ? dur : c === 'op' ? g.op : c === 'pid' ? g.pid : c === 'tid' ? g.tid : this.switchValue(c, row);
      }
      k++;
    });
    return out;
  }

  private walk(pick: (g: EventGroup) => boolean, opts: ColumnOptions, fn: (id: number, ts: number, dur: number, g: EventGroup, row: number) => void): void {
    const limit = opts.limit ?? Infinity;
    let n = 0;
    if (limit <= 0) return;
    this.rows(
      pick,
      (id, ts, dur, g, row) => {
        if (opts.where && !opts.where(id, ts, dur, g, row)) return;
        fn(id, ts, dur, g, row);
        return ++n >= limit;
      },
      opts.loId,
      opts.hiId,
    );
  }

  private switchValue(c: 'by' | 'byTid' | 'state', row: number): number {
    const sw = this.index.switchOf(row);
    return c === 'by' ? sw.by : c === 'byTid' ? sw.byTid : sw.state;
  }

  /** Calls of a thread that returned a non-zero code (ret IS NOT NULL AND ret != 0), over all its ops. */
  failedCalls(node: number, pid: number, tid: number): number {
    let n = 0;
    for (const g of this.index.groups) if (g.node === node && g.pid === pid && g.tid === tid && g.failing) for (const f of g.failing.values()) n += f.n;
    return n;
  }

  nodeName(node: number): string {
    return this.facts.nodes.get(node) ?? String(node);
  }

  processName(node: number, pid: number): string {
    return processName(this.facts, node, pid);
  }

  /** "python3 (pid 4711)", with the node when the bundle has several. */
  label(node: number, pid: number): string {
    if (pid === 0) return 'the idle task';
    const name = this.processName(node, pid);
    const at = this.facts.nodes.size > 1 ? ` on ${this.nodeName(node)}` : '';
    return `${name || 'unnamed process'} (pid ${pid}${at})`;
  }

  /**
   * From the process's first GPU call to the last sign of it (any stored row, or its exit):
   * with sampled GPU calls the last stored call can be long before the process stopped.
   */
  activeSpan(proc: GpuProcess): readonly [number, number] {
    let last = -Infinity;
    for (const g of this.index.groups) if (g.node === proc.node_id && g.pid === proc.pid && g.maxEnd > last) last = g.maxEnd;
    const died = this.lifetime(proc.node_id, proc.pid).died;
    return [proc.from_ns, Math.max(proc.to_ns, last, Number.isNaN(died) ? -Infinity : died)];
  }

  /**
   * The wall time a share of a process's GPU calls is taken over, within the analysed time: its
   * first to last stored GPU call where every GPU call is stored. Where they are a sample, the
   * calls between the stored ones were only counted, so the span of the stored ones can be a
   * fraction of the time the process was working: it then runs to the last sign of the process.
   */
  shareSpan(proc: GpuProcess): { readonly from: number; readonly to: number; readonly sampled: boolean } {
    const sampled = proc.ops.some((o) => GPU_LAYERS.has(o.layer) && this.sampled(proc.node_id, o, proc.from_ns, proc.to_ns).length > 0);
    return { from: proc.from_ns, to: sampled ? Math.max(proc.to_ns, Math.min(this.activeSpan(proc)[1], this.selection.to)) : proc.to_ns, sampled };
  }

  /** Fork and exit times of every process the bundle names (computed once). */
  lifetime(node: number, pid: number): Lifetime {
    if (!this.lifetimes) this.lifetimes = this.readLifetimes();
    return this.lifetimes.get(procKey(node, pid)) ?? { born: NaN, died: NaN };
  }

  /**
   * Consistency check for any claim that a process caused something in [from, to): it must
   * have existed then. A fork after `to` or an exit before `from` rules it out; a process with
   * rows inside the window existed; otherwise the bundle cannot tell.
   */
  existedIn(node: number, pid: number, from: number, to: number): Existence {
    const life = this.lifetime(node, pid);
    if (life.born > to || life.died < from) return 'no';
    if (life.born <= from && !(life.died < to)) return 'yes';
    let inside = false;
    this.rows((g) => g.node === node && g.pid === pid, () => (inside = true), this.index.idAtTime(from), this.index.idAtTime(to));
    return inside ? 'yes' : 'unknown';
  }

  private readLifetimes(): Map<string, Lifetime> {
    const born = new Map<string, number>();
    const died = new Map<string, number>();
    const earliest = (m: Map<string, number>, k: string, t: number) => m.set(k, Math.min(m.get(k) ?? Infinity, t));
    const latest = (m: Map<string, number>, k: string, t: number) => m.set(k, Math.max(m.get(k) ?? -Infinity, t));
    const fork = this.opId('process_fork');
    const exit = this.opId('process_exit');
    // A fork row is made by the parent and names the child in arg0; an exit row of the main
    // thread (tid = pid) ends the process, one of another thread ends only that thread.
    if (fork !== undefined) {
      const forks: { id: number; node: number; ts: number }[] = [];
      this.rows((g) => g.op === fork, (id, ts, _d, g) => void forks.push({ id, node: g.node, ts }));
      const child = columnsOf(this.bundle, forks.map((f) => f.id), ['arg0']);
      for (const f of forks) {
        const c = child.get(f.id)?.[0];
        if (c !== null && c !== undefined) earliest(born, procKey(f.node, c), f.ts);
      }
    }
    if (exit !== undefined) this.rows((g) => g.op === exit && g.tid === g.pid, (_id, ts, _d, g) => void latest(died, procKey(g.node, g.pid), ts));
    // Recorded start and end times stand in where no fork or exit row exists; a fork row wins
    // because importers have set start_ns from other events of the process.
    const started = new Map<string, number>();
    const ended = new Map<string, number>();
    for (const r of this.bundle.db.prepare('SELECT node_id, pid, start_ns, end_ns FROM processes').all() as { node_id: number; pid: number; start_ns: number | null; end_ns: number | null }[]) {
      if (r.start_ns !== null) earliest(started, procKey(r.node_id, r.pid), r.start_ns);
      if (r.end_ns !== null) latest(ended, procKey(r.node_id, r.pid), r.end_ns);
    }
    for (const [k, t] of started) if (!born.has(k)) born.set(k, t);
    for (const [k, t] of ended) if (!died.has(k)) died.set(k, t);
    const out = new Map<string, Lifetime>();
    for (const k of new Set([...born.keys(), ...died.keys()])) out.set(k, { born: born.get(k) ?? NaN, died: died.get(k) ?? NaN });
    return out;
  }

  /** True when pid is ancestor or a descendant of it (same process tree, by ppid links in the bundle). */
  sameTree(node: number, ancestor: number, pid: number): boolean {
    if (pid === ancestor) return true;
    const up = (p: number, target: number) => {
      const seen = new Set<number>();
      let cur: number | null | undefined = p;
      while (cur !== null && cur !== undefined && cur > 1 && !seen.has(cur)) {
        if (cur === target) return true;
        seen.add(cur);
        cur = this.facts.processes.get(procKey(node, cur))?.ppid;
      }
      return false;
    };
    return up(pid, ancestor) || up(ancestor, pid);
  }

  sampled(node: number, op: ProcessOpStats | { op: string; source: string }, from: number, to: number): SampledPeriod[] {
    return sampledPeriodsFor(this.facts, node, op.op, op.source, from, to);
  }

  /** Caveat sentence for an op whose events are partly a sample, or '' when complete. */
  samplingCaveat(node: number, op: { op: string; source: string }, from: number, to: number): string {
    const periods = this.sampled(node, op, from, to);
    if (periods.length === 0) return '';
    const policies = [...new Set(periods.map((p) => p.policy))].join(', ');
    return `${op.op} events are only a sample here (${policies}): counts and percentiles describe the stored events, which over-represent slow calls.`;
  }

  /**
   * Calls of an op in a process: the stored count where every call is stored, else the complete
   * count of op_aggregates (when the bundle has one), else the stored count marked incomplete.
   */
  completeCount(s: ProcessOpStats): { readonly count: number; readonly complete: boolean } {
    if (this.sampled(s.node_id, s, s.first_ns, s.last_ns + 1).length === 0) return { count: s.count, complete: true };
    const agg = this.bundle.db.prepare('SELECT count(*) AS rows, coalesce(sum(count), 0) AS n FROM op_aggregates WHERE node_id = ? AND op_id = ? AND pid = ?').get(s.node_id, s.op_id, s.pid) as { rows: number; n: number };
    return agg.rows > 0 ? { count: Math.max(agg.n, s.count), complete: true } : { count: s.count, complete: false };
  }

  /**
   * The slow calls of an op in a process: dur ≥ max(p99, tailRatio × p50), at most maxSlowCalls
   * (the slowest), in time order. Computed once and shared by the detectors.
   */
  tailCalls(s: ProcessOpStats): Calls {
    const key = `${s.node_id}:${s.pid}:${s.op_id}`;
    let calls = this.slowCache.get(key);
    if (!calls) this.slowCache.set(key, (calls = this.slowCalls(s.node_id, s.pid, s.op_id, Math.max(s.p99_ns, this.th.tailRatio * s.p50_ns), this.th.maxSlowCalls)));
    return calls;
  }

  /**
   * Calls of an op in a process with dur ≥ minDur: the slowest `limit` (by id among equal
   * durations), in time order, so the first is where the slow calls begin.
   */
  slowCalls(node: number, pid: number, opId: number, minDur: number, limit: number): Calls {
    const least = Math.ceil(minDur);
    const [id, ts, dur, tid] = this.columns((g) => g.op === opId && g.node === node && g.pid === pid, ['id', 'ts', 'dur', 'tid'], { where: (_id, _ts, d) => d >= least });
    const kept = Array.from(id!.keys())
      .sort((a, b) => dur![b]! - dur![a]! || id![a]! - id![b]!)
      .slice(0, Math.max(0, limit))
      .sort((a, b) => a - b);
    return { id: Float64Array.from(kept, (k) => id![k]!), ts: Float64Array.from(kept, (k) => ts![k]!), dur: Float64Array.from(kept, (k) => dur![k]!), tid: Float64Array.from(kept, (k) => tid![k]!) };
  }

  /** sched_switch rows of the given threads that leave the CPU in [from, to). */
  offCpu(node: number, tids: readonly number[], from: number, to: number): OffCpu {
    const sched = this.index.schedOp;
    if (sched === undefined || tids.length === 0) return emptyOffCpu();
    const wanted = new Set(tids);
    const [id, ts, dur, tid, by, byTid, state] = this.columns((g) => g.op === sched && g.node === node && wanted.has(g.tid), ['id', 'ts', 'dur', 'tid', 'by', 'byTid', 'state'], { loId: this.index.idAtTime(from), hiId: this.index.idAtTime(to) });
    return { id: id!, ts: ts!, dur: dur!, tid: tid!, by: by!, byTid: byTid!, state: state! };
  }

  /** Threads of a process that made GPU calls, most calls first. */
  gpuThreads(node: number, pid: number): number[] {
    const key = `${node}:${pid}`;
    const cached = this.threadCache.get(key);
    if (cached) return cached;
    const gpuOps = new Set([...this.bundle.ops().values()].filter((o) => GPU_LAYERS.has(o.layer)).map((o) => o.id));
    const perTid = new Map<number, number>();
    for (const g of this.index.groups) if (g.node === node && g.pid === pid && gpuOps.has(g.op)) perTid.set(g.tid, (perTid.get(g.tid) ?? 0) + g.count);
    const tids = [...perTid.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([t]) => t);
    this.threadCache.set(key, tids);
    return tids;
  }

  /**
   * Wall time covered by at least one call of these ops in a process, among the calls starting
   * in the analysed time: the union of their [start, end) intervals. Unlike a sum of durations
   * it never exceeds the process's active time when several threads make the calls at once.
   */
  busyNs(node: number, pid: number, opIds: readonly number[]): number {
    let busy = 0;
    let end = -Infinity;
    if (opIds.length === 0) return 0;
    const lo = Number.isFinite(this.selection.from) ? this.index.idAtTime(this.selection.from) : undefined;
    const hi = Number.isFinite(this.selection.to) ? this.index.idAtTime(this.selection.to) : undefined;
    // Rows come in start order (ids follow ts_ns), so one sweep merges overlapping calls.
    const ops = new Set(opIds);
    this.rows((g) => g.node === node && g.pid === pid && ops.has(g.op), (_id, ts, dur) => {
      const stop = ts + Math.max(0, dur);
      if (stop <= end) return;
      busy += stop - Math.max(ts, end);
      end = stop;
    }, lo, hi);
    return busy;
  }

  /** Event count per window of windowNs from `from`, for one op in one process (index = window). */
  counts(node: number, pid: number, opId: number, from: number, to: number, windowNs: number): Float64Array {
    const n = Math.max(1, Math.ceil((to - from) / windowNs));
    const out = new Float64Array(n);
    this.rows(
      (g) => g.op === opId && g.node === node && g.pid === pid,
      (_id, ts) => {
        const w = Math.floor((ts - from) / windowNs);
        if (w >= 0 && w < n) out[w]!++;
      },
      this.index.idAtTime(from),
      this.index.idAtTime(to),
    );
    return out;
  }
}

function emptyOffCpu(): OffCpu {
  const e = new Float64Array(0);
  return { id: e, ts: e, dur: e, tid: e, by: e, byTid: e, state: e };
}

/** Wall time covered by a set of [start, end) intervals: overlapping ones count once. */
export function coveredNs(intervals: readonly (readonly [number, number])[]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let end = -Infinity;
  for (const [a, b] of sorted) {
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return covered;
}

/** Up to n ids spread evenly over a sorted list, ascending: evidence samples stay small. */
export function sampleIds(ids: ArrayLike<number>, n = 20): number[] {
  const out: number[] = [];
  if (ids.length <= n) {
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  } else {
    for (let i = 0; i < n; i++) out.push(ids[Math.floor((i * (ids.length - 1)) / (n - 1))]!);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}
