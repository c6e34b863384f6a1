// Where the threads that feed the GPU spend their time. findStalls ranks the longest stretches
// in which such a thread did not feed the GPU: off-CPU intervals (sched_switch rows), gaps
// between its GPU API calls, and on-CPU stretches without GPU calls (CPU work of its own); each
// with what happened just before and after it and what the data cannot show there.
// threadActivity accounts a thread's time per window: on-CPU, off-CPU by prev_state, and inside
// GPU calls. Pure functions of the bundle; times are ns on the bundle clock.
//
// A gap is only a gap where the bundle recorded every event it needs: inside a sampled period
// (table `sampling`) missing rows prove nothing, so such stretches are never ranked as gaps; the
// longest of them is named so a reader knows where the data is silent.
import type { Bundle } from '../format/index.ts';
import { procKey, processName, readFacts, sampledPeriodsFor, type BundleFacts } from './bundle-facts.ts';
import { GPU_LAYERS, SYNC_OPS } from './context.ts';
import type { EventGroup, EventIndex } from './event-index.ts';
import { scanRows } from './scan.ts';
import type { SampledPeriod } from './types.ts';
import { bytes, dur } from './words.ts';

export type StallKind = 'off-cpu' | 'no-gpu-calls' | 'on-cpu-no-gpu-calls';
/** Why a thread was off-CPU, from sched_switch prev_state (0 = runnable = preempted). */
export type OffCpuState = 'preempted' | 'blocked' | 'unknown';

export interface StallOptions {
  /** Only stretches starting in [fromNs, toNs). */
  readonly fromNs?: number;
  readonly toNs?: number;
  readonly pid?: number;
  readonly nodeId?: number;
  readonly tid?: number;
  readonly kinds?: readonly StallKind[];
  /** Stalls returned, longest first (default 10). */
  readonly limit?: number;
  /** How far before and after a stall to look for what surrounded it (default 1 s). */
  readonly contextNs?: number;
}

/** A process a thread ran beside or forked, resolved from table processes. */
export interface ProcessRef {
  readonly pid: number;
  /** comm, '' when unknown; traced data. */
  readonly process: string;
}

export interface ForkChild extends ProcessRef {
  /** Exit time on the bundle clock, null when it outlived the recording or is unknown. */
  readonly end_ns: number | null;
  readonly exit_code: number | null;
}

/** An event near a stall that may explain it. */
export interface NeighbourEvent {
  readonly id: number;
  readonly ts_ns: number;
  readonly dur_ns: number;
  readonly pid: number;
  readonly tid: number;
  readonly op: string;
  /** One line with the numbers; names in it are traced data. */
  readonly what: string;
  /** For process_fork: the child. */
  readonly child?: ForkChild;
}

export interface Stall {
  readonly kind: StallKind;
  readonly node_id: number;
  readonly pid: number;
  readonly tid: number;
  /** Process and thread names; traced data. */
  readonly process: string;
  readonly thread: string;
  readonly from_ns: number;
  readonly dur_ns: number;
  /** off-cpu: from prev_state; null for the other kinds. */
  readonly state: OffCpuState | null;
  /** off-cpu: the task that had the CPU (next_pid, or for imports the last one before switch-in). */
  readonly ran_instead: (ProcessRef & { readonly tid: number | null }) | null;
  /** no-gpu-calls: off-CPU time inside the gap (from sched_switch rows), null when not recorded. */
  readonly off_cpu_ns: number | null;
  /** The sched_switch row of an off-cpu stall; for gaps, the GPU call that ended the gap. */
  readonly event_id: number;
  /** Nearest events before the stall and after its end, nearest first; the first ones inside it. */
  readonly before: readonly NeighbourEvent[];
  readonly during: readonly NeighbourEvent[];
  readonly after: readonly NeighbourEvent[];
  /** What the data cannot show about this stall, in words. */
  readonly cannot_show: readonly string[];
}

/** A thread that made GPU API calls in the range. */
export interface FeedingThread {
  readonly node_id: number;
  readonly pid: number;
  readonly tid: number;
  readonly process: string;
  readonly thread: string;
  readonly gpu_calls: number;
  readonly switches: number;
}

export interface StallReport {
  readonly from_ns: number;
  readonly to_ns: number;
  readonly threads: readonly FeedingThread[];
  /** Longest first; ties by start, kind, node, tid. */
  readonly stalls: readonly Stall[];
  /** Bundle-wide limits on what the stalls can show, in words. */
  readonly caveats: readonly string[];
}

const DEFAULT_LIMIT = 10;
const DEFAULT_CONTEXT_NS = 1e9;
/** Neighbour events kept per side of a stall. */
const NEIGHBOURS = 3;
const LIFECYCLE_OPS = ['process_fork', 'process_exec', 'process_exit', 'oom_kill'];
const IO_LAYERS = new Set(['IO', 'NET']);

interface Candidate {
  kind: StallKind;
  node: number;
  tid: number;
  from: number;
  dur: number;
  state: number;
  by: number;
  byTid: number;
  offCpu: number;
  id: number;
}

/**
 * Keeps the k first candidates in byLength order (longest, then earliest, kind, node, tid), so
 * the result does not depend on the order candidates arrive in.
 */
class Longest {
  /** Sorted by byLength, at most k. */
  private readonly items: Candidate[] = [];
  constructor(private readonly k: number) {}

  /** Whether a candidate this long could enter (a tie in length may still lose on the rest). */
  admits(dur: number): boolean {
    return this.items.length < this.k || dur >= this.items[this.k - 1]!.dur;
  }

  offer(c: Candidate): void {
    const items = this.items;
    if (items.length === this.k && byLength(c, items[this.k - 1]!) >= 0) return;
    let at = items.length;
    while (at > 0 && byLength(c, items[at - 1]!) < 0) at--;
    items.splice(at, 0, c);
    if (items.length > this.k) items.pop();
  }

  take(): Candidate[] {
    return this.items;
  }
}

function byLength(a: Candidate, b: Candidate): number {
  return b.dur - a.dur || a.from - b.from || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || a.node - b.node || a.tid - b.tid;
}

/** Where a thread's stall candidates go: the report's ranking once it feeds the GPU. */
interface Ranking {
  readonly best: Longest;
  /** The longest stretch without stored GPU calls that lies in a sampled period: not a gap. */
  silent?: Candidate;
}

/** Longest silent stretch first; of equal ones the first found (lowest id), as the scan meets them. */
function offerSilent(r: Ranking, c: Candidate): void {
  if (!r.silent || c.dur > r.silent.dur || (c.dur === r.silent.dur && c.id < r.silent.id)) r.silent = c;
}

/** A thread met by the scan. It feeds the GPU once it has made a GPU call the filter selects. */
interface ThreadBase {
  readonly node: number;
  readonly tid: number;
  /** pid of its first selected GPU call. */
  pid: number;
  /** Selected GPU calls in the range. */
  gpuCalls: number;
}

interface ThreadScan extends ThreadBase {
  switches: number;
  /** End of the latest GPU call so far (calls nest: runtime over driver). */
  gpuEnd: number;
  /** Off-CPU time since the end of the latest GPU call, and the end of its last interval. */
  offInGap: number;
  offEndInGap: number;
  /** End of the last off-CPU interval: the thread has been on-CPU since. */
  onSince: number;
  gpuSinceOn: boolean;
  /** Candidates found before the thread's first selected GPU call, handed on when it comes. */
  pending: Ranking | null;
}

/** Op ids of the bundle grouped by what the stall analysis does with them. */
interface OpGroups {
  readonly gpu: Set<number>;
  readonly sched: number | undefined;
  readonly gpuSources: Set<string>;
}

function opGroups(bundle: Bundle): OpGroups {
  const gpu = new Set<number>();
  const gpuSources = new Set<string>();
  for (const o of bundle.ops().values()) {
    if (!GPU_LAYERS.has(o.layer)) continue;
    gpu.add(o.id);
    gpuSources.add(o.source);
  }
  return { gpu, gpuSources, sched: bundle.opIdsByName('sched_switch')[0] };
}

/** Whether GPU calls of this node may be missing from the events table somewhere in [from, to) (a sampled period). */
function gpuSampled(facts: BundleFacts, groups: OpGroups, node: number, from: number, to: number): boolean {
  return facts.dataQuality.sampled_periods.some(
    (s) => s.node_id === node && (s.source === null || groups.gpuSources.has(s.source)) && s.from_ns < to && (s.to_ns === null || s.to_ns > from),
  );
}

function schedSampled(facts: BundleFacts, node: number, from: number, to: number): SampledPeriod[] {
  return sampledPeriodsFor(facts, node, 'sched_switch', 'host', from, to);
}

function rangeOf(bundle: Bundle, facts: BundleFacts, opts: { fromNs?: number; toNs?: number }): { from: number; to: number; lo: number; hi: number } {
  const from = opts.fromNs ?? facts.from_ns;
  const to = opts.toNs ?? facts.to_ns + 1;
  return { from, to, lo: bundle.idAtTime(from), hi: bundle.idAtTime(to) };
}

/** Each bundle's facts, read once: readFacts scans every event for the span, and bundles do not change. */
const factsByBundle = new WeakMap<Bundle, BundleFacts>();

function factsOf(bundle: Bundle): BundleFacts {
  let facts = factsByBundle.get(bundle);
  if (!facts) factsByBundle.set(bundle, (facts = readFacts(bundle)));
  return facts;
}

/** prev_state of a sched_switch row that has none; a real number, so never a recorded state. */
const NO_STATE = 0.5;

/**
 * One pass, in id (= start time) order, over the GPU calls and sched_switch rows with ids in
 * [lo, hi) of every thread the node/tid filter selects, calling back with each row and its thread
 * (made on its first row). A GPU call counts for the thread (gpuCalls, pid) when it matches the
 * pid filter too; threads without such calls do not feed the GPU and callers drop them. by/byTid
 * are the sched_switch columns naming who ran; state is prev_state for sched_switch rows (NaN when
 * not recorded) and undefined for GPU calls.
 */
function scanThreads<T extends ThreadBase>(
  bundle: Bundle,
  index: EventIndex | undefined,
  groups: OpGroups,
  lo: number,
  hi: number,
  opts: { pid?: number; nodeId?: number; tid?: number },
  makeThread: (node: number, tid: number) => T,
  onRow: (t: T, id: number, ts: number, d: number, by: number, byTid: number, state: number | undefined) => void,
): Map<number, Map<number, T>> {
  // Keyed by node, then tid: no key string per row.
  const threads = new Map<number, Map<number, T>>();
  if (groups.gpu.size === 0) return threads;
  if (index) return scanIndexThreads(index, groups, lo, hi, opts, makeThread, onRow, threads);
  const sched = groups.sched ?? -1;
  const ops = [...groups.gpu, ...(groups.sched === undefined ? [] : [groups.sched])];
  const where = [`id >= ? AND id < ? AND op_id IN (${ops.join(',')})`];
  const params: number[] = [lo, hi];
  if (opts.nodeId !== undefined) where.push('node_id = ?'), params.push(opts.nodeId);
  if (opts.tid !== undefined) where.push('tid = ?'), params.push(opts.tid);
  const pidFilter = opts.pid;
  let lastNode = NaN;
  let ofNode: Map<number, T> | undefined;
  // scanRows takes at most 8 columns: GPU calls carry their pid where sched_switch rows carry
  // who ran, and the state column tells sched rows (a number) from GPU calls (NULL).
  scanRows(
    bundle.db,
    ['id', 'ts_ns', 'dur_ns', 'node_id', 'tid', `CASE WHEN op_id = ${sched} THEN coalesce(arg1, arg3) ELSE pid END`, 'arg0', `CASE WHEN op_id = ${sched} THEN coalesce(arg2, ${NO_STATE}) END`],
    `FROM events WHERE ${where.join(' AND ')} ORDER BY id`,
    params,
    (id, ts, d, node, tid, byOrPid, byTid, state) => {
      if (node !== lastNode || !ofNode) {
        ofNode = threads.get(node);
        if (!ofNode) threads.set(node, (ofNode = new Map()));
        lastNode = node;
      }
      let t = ofNode.get(tid);
      if (!t) ofNode.set(tid, (t = makeThread(node, tid)));
      const s = state as number | null;
      // scanRows hands NULL through as null: who ran is unknown (NaN) when the row does not name it.
      if (s !== null) return onRow(t, id, ts, d, byOrPid ?? NaN, byTid ?? NaN, s === NO_STATE ? NaN : s);
      if (pidFilter === undefined || byOrPid === pidFilter) {
        if (t.gpuCalls++ === 0) t.pid = byOrPid;
      }
      onRow(t, id, ts, d, NaN, NaN, undefined);
    },
  );
  return threads;
}

/** scanThreads over the events in memory: the same rows, in the same order, with the same values. */
function scanIndexThreads<T extends ThreadBase>(
  index: EventIndex,
  groups: OpGroups,
  lo: number,
  hi: number,
  opts: { pid?: number; nodeId?: number; tid?: number },
  makeThread: (node: number, tid: number) => T,
  onRow: (t: T, id: number, ts: number, d: number, by: number, byTid: number, state: number | undefined) => void,
  threads: Map<number, Map<number, T>>,
): Map<number, Map<number, T>> {
  const pick = index.select((g) => (groups.gpu.has(g.op) || g.op === groups.sched) && (opts.nodeId === undefined || g.node === opts.nodeId) && (opts.tid === undefined || g.tid === opts.tid));
  const threadOf = new Map<EventGroup, T>();
  let lastGroup: EventGroup | undefined;
  let lastThread: T | undefined;
  index.rows(
    pick,
    (id, ts, d, g, row) => {
      let t = g === lastGroup ? lastThread : threadOf.get(g);
      if (!t) {
        let ofNode = threads.get(g.node);
        if (!ofNode) threads.set(g.node, (ofNode = new Map()));
        t = ofNode.get(g.tid);
        if (!t) ofNode.set(g.tid, (t = makeThread(g.node, g.tid)));
        threadOf.set(g, t);
      }
      lastGroup = g;
      lastThread = t;
      if (g.op === groups.sched) {
        const sw = index.switchOf(row);
        return void onRow(t, id, ts, d, sw.by, sw.byTid, sw.state);
      }
      if (opts.pid === undefined || g.pid === opts.pid) {
        if (t.gpuCalls++ === 0) t.pid = g.pid;
      }
      onRow(t, id, ts, d, NaN, NaN, undefined);
    },
    lo,
    hi,
  );
  return threads;
}

/** The threads of a scan that fed the GPU, most GPU calls first. */
function feeding<T extends ThreadBase>(threads: Map<number, Map<number, T>>): T[] {
  const out: T[] = [];
  for (const ofNode of threads.values()) for (const t of ofNode.values()) if (t.gpuCalls > 0) out.push(t);
  return out.sort((a, b) => b.gpuCalls - a.gpuCalls || a.node - b.node || a.tid - b.tid);
}

/** Explain's events and facts, already read: findStalls and threadActivity then read nothing more of the events table for their pass. */
export interface InMemory {
  readonly index: EventIndex;
  readonly facts: BundleFacts;
}

export function findStalls(bundle: Bundle, opts: StallOptions = {}, inMemory?: InMemory): StallReport {
  const facts = inMemory?.facts ?? factsOf(bundle);
  const groups = opGroups(bundle);
  const { from, to, lo, hi } = rangeOf(bundle, facts, opts);
  const limit = Math.max(1, Math.floor(opts.limit ?? DEFAULT_LIMIT));
  const kinds = new Set<StallKind>(opts.kinds ?? ['off-cpu', 'no-gpu-calls', 'on-cpu-no-gpu-calls']);
  const offCpuKind = kinds.has('off-cpu');
  const onCpuKind = kinds.has('on-cpu-no-gpu-calls');
  const gapKind = kinds.has('no-gpu-calls');
  const report: Ranking = { best: new Longest(limit) };
  const makeThread = (node: number, tid: number): ThreadScan => ({ node, tid, pid: NaN, gpuCalls: 0, switches: 0, gpuEnd: NaN, offInGap: 0, offEndInGap: -Infinity, onSince: NaN, gpuSinceOn: false, pending: null });
  // Candidates of a thread not yet known to feed the GPU wait beside it; the first selected GPU
  // call hands them on.
  const rankingOf = (t: ThreadScan): Ranking => {
    if (t.gpuCalls === 0) return (t.pending ??= { best: new Longest(limit) });
    if (t.pending) {
      for (const c of t.pending.best.take()) report.best.offer(c);
      if (t.pending.silent) offerSilent(report, t.pending.silent);
      t.pending = null;
    }
    return report;
  };
  const NONE = NaN;

  const scanned = scanThreads(bundle, inMemory?.index, groups, lo, hi, opts, makeThread, (t, id, ts, d, by, byTid, state) => {
    if (state !== undefined) {
      t.switches++;
      if (offCpuKind) {
        const r = rankingOf(t);
        if (r.best.admits(d)) r.best.offer({ kind: 'off-cpu', node: t.node, tid: t.tid, from: ts, dur: d, state, by, byTid, offCpu: d, id });
      }
      if (onCpuKind && !Number.isNaN(t.onSince) && !t.gpuSinceOn) {
        const start = Number.isNaN(t.gpuEnd) ? t.onSince : Math.max(t.onSince, t.gpuEnd);
        const len = ts - start;
        const r = rankingOf(t);
        if (len > 0 && r.best.admits(len) && isComplete(facts, groups, t.node, start, ts, true)) {
          r.best.offer({ kind: 'on-cpu-no-gpu-calls', node: t.node, tid: t.tid, from: start, dur: len, state: NONE, by: NONE, byTid: NONE, offCpu: NONE, id });
        }
      }
      t.onSince = ts + d;
      t.gpuSinceOn = false;
      if (!Number.isNaN(t.gpuEnd) && ts >= t.gpuEnd) {
        t.offInGap += d;
        t.offEndInGap = ts + d;
      }
      return;
    }
    t.gpuSinceOn = true;
    if (gapKind && !Number.isNaN(t.gpuEnd) && ts > t.gpuEnd) {
      const len = ts - t.gpuEnd;
      const r = rankingOf(t);
      if (r.best.admits(len) || len > (r.silent?.dur ?? 0)) {
        // Only the last off-CPU interval can reach past the call that ends the gap.
        const offCpu = t.offInGap - Math.max(0, t.offEndInGap - ts);
        const c: Candidate = { kind: 'no-gpu-calls', node: t.node, tid: t.tid, from: t.gpuEnd, dur: len, state: NONE, by: NONE, byTid: NONE, offCpu, id };
        if (!gpuSampled(facts, groups, t.node, t.gpuEnd, ts)) r.best.offer(c);
        else offerSilent(r, c);
      }
    }
    if (Number.isNaN(t.gpuEnd) || ts >= t.gpuEnd) {
      // The next gap starts after this call: off-CPU time is counted afresh.
      t.offInGap = 0;
      t.offEndInGap = -Infinity;
    }
    if (Number.isNaN(t.gpuEnd) || ts + d > t.gpuEnd) t.gpuEnd = ts + d;
  });
  const threads = feeding(scanned);
  // A thread whose first selected call came after its last candidate still holds them.
  for (const t of threads) rankingOf(t);

  const neighbours = new Neighbours(bundle, facts, groups, opts.contextNs ?? DEFAULT_CONTEXT_NS);
  const stalls = report.best.take().map((c) => describeStall(bundle, facts, groups, scanned.get(c.node)!.get(c.tid)!, neighbours, c));
  const caveats: string[] = [];
  if (groups.gpu.size === 0) caveats.push('The bundle has no GPU API calls: no thread feeds the GPU, so there is nothing to rank.');
  else if (threads.length === 0) caveats.push('No thread made GPU API calls in this range.');
  if (groups.sched === undefined) caveats.push('The bundle records no sched_switch: off-CPU time and on-CPU stretches cannot be shown, only gaps between GPU calls.');
  const silent = report.silent;
  if (silent) {
    caveats.push(
      `The longest stretch without stored GPU calls, ${dur(silent.dur)} from ${silent.from} ns (tid ${silent.tid}), lies in a sampled period: GPU calls there are only a sample, so it is not ranked as a gap (op_aggregates holds the complete counts).`,
    );
  }
  if (facts.dataQuality.dropped_events > 0) caveats.push(`${facts.dataQuality.dropped_events} events were dropped during capture (capture_loss): any stretch may hide lost rows.`);
  return {
    from_ns: from,
    to_ns: to,
    threads: threads.map((t) => ({ node_id: t.node, pid: t.pid, tid: t.tid, process: processName(facts, t.node, t.pid), thread: threadName(facts, t.node, t.tid), gpu_calls: t.gpuCalls, switches: t.switches })),
    stalls,
    caveats,
  };
}

/** Whether GPU calls (and, when needed, sched_switch) are recorded completely over [from, to). */
function isComplete(facts: BundleFacts, groups: OpGroups, node: number, from: number, to: number, needSched: boolean): boolean {
  return !gpuSampled(facts, groups, node, from, to) && (!needSched || schedSampled(facts, node, from, to).length === 0);
}

function threadName(facts: BundleFacts, node: number, tid: number): string {
  return facts.threads.get(procKey(node, tid)) ?? '';
}

export function offCpuState(prevState: number): OffCpuState {
  if (Number.isNaN(prevState)) return 'unknown';
  return prevState === 0 ? 'preempted' : 'blocked';
}

function describeStall(bundle: Bundle, facts: BundleFacts, groups: OpGroups, t: ThreadScan, neighbours: Neighbours, c: Candidate): Stall {
  const end = c.from + c.dur;
  const cannot: string[] = [];
  const schedPeriods = schedSampled(facts, c.node, c.from, end);
  let ranInstead: Stall['ran_instead'] = null;
  if (c.kind === 'off-cpu') {
    if (Number.isNaN(c.state)) cannot.push('prev_state is not recorded: preempted and blocked cannot be told apart.');
    if (Number.isNaN(c.by) || c.by === 0) cannot.push('Who ran instead is not recorded.');
    else if (c.by === t.pid && Number.isNaN(c.byTid)) cannot.push('Who ran instead is not recorded: the row names this process itself as the task that ran before switch-in.');
    else {
      ranInstead = { pid: c.by, tid: Number.isNaN(c.byTid) || c.byTid === 0 ? null : c.byTid, process: processName(facts, c.node, c.by) };
      if (Number.isNaN(c.byTid)) cannot.push('The task that ran instead is the last one before this thread got the CPU back (the recorder saw only the switch-in): others may have run earlier in the stretch.');
    }
    if (schedPeriods.length > 0) cannot.push('sched_switch is only a sample here: longer off-CPU stretches may be missing.');
  } else {
    if (groups.sched === undefined || t.switches === 0) cannot.push('No sched_switch rows for this thread: whether it ran or waited is not recorded.');
    else if (schedPeriods.length > 0) cannot.push('sched_switch is only a sample here: the off-CPU time inside is a lower bound.');
    cannot.push('Kernel execution on the GPU is not recorded: the GPU may have been busy with earlier work.');
  }
  return {
    kind: c.kind,
    node_id: c.node,
    pid: t.pid,
    tid: c.tid,
    process: processName(facts, c.node, t.pid),
    thread: threadName(facts, c.node, c.tid),
    from_ns: c.from,
    dur_ns: c.dur,
    state: c.kind === 'off-cpu' ? offCpuState(c.state) : null,
    ran_instead: ranInstead,
    off_cpu_ns: c.kind === 'no-gpu-calls' && groups.sched !== undefined && t.switches > 0 ? c.offCpu : null,
    event_id: c.id,
    before: neighbours.between(c.node, t.pid, c.tid, c.from - neighbours.windowNs, c.from, true),
    during: neighbours.between(c.node, t.pid, c.tid, c.from, end, false),
    after: neighbours.between(c.node, t.pid, c.tid, end, end + neighbours.windowNs, false),
    cannot_show: cannot,
  };
}

/** The child a fork created, resolved to its name and exit from table processes. */
export function forkChild(bundle: Bundle, node: number, childPid: number, forkNs: number): ForkChild {
  // The incarnation that started at or after the fork (or has no start), earliest first.
  const row = bundle.db
    .prepare('SELECT comm, end_ns, exit_code FROM processes WHERE node_id = ? AND pid = ? AND (start_ns IS NULL OR start_ns >= ?) ORDER BY start_ns IS NULL, start_ns, id LIMIT 1')
    .get(node, childPid, forkNs) as { comm: string; end_ns: number | null; exit_code: number | null } | undefined;
  return { pid: childPid, process: row?.comm ?? '', end_ns: row?.end_ns ?? null, exit_code: row?.exit_code ?? null };
}

/** Finds the events around a stall that may explain it: lifecycle, sync calls, IO, the nearest GPU calls. */
class Neighbours {
  private readonly lifecycle: number[];
  private readonly io: number[];
  private readonly sync: Set<number>;

  constructor(
    private readonly bundle: Bundle,
    private readonly facts: BundleFacts,
    private readonly groups: OpGroups,
    readonly windowNs: number,
  ) {
    const ops = [...bundle.ops().values()];
    this.lifecycle = ops.filter((o) => LIFECYCLE_OPS.includes(o.name)).map((o) => o.id);
    this.io = ops.filter((o) => IO_LAYERS.has(o.layer)).map((o) => o.id);
    this.sync = new Set(ops.filter((o) => SYNC_OPS.has(o.name)).map((o) => o.id));
  }

  /** Up to NEIGHBOURS events starting in [from, to), latest first when backwards. */
  between(node: number, pid: number, tid: number, from: number, to: number, backwards: boolean): NeighbourEvent[] {
    const lo = this.bundle.idAtTime(from);
    const hi = this.bundle.idAtTime(to);
    const family = this.family(node, pid);
    const conds: string[] = [];
    if (this.lifecycle.length) conds.push(`(op_id IN (${this.lifecycle.join(',')}) AND pid IN (${family.join(',')}))`);
    if (this.io.length) conds.push(`op_id IN (${this.io.join(',')})`);
    if (this.groups.gpu.size) conds.push(`(op_id IN (${[...this.groups.gpu].join(',')}) AND tid = ${tid} AND pid = ${pid})`);
    if (conds.length === 0) return [];
    const rows = this.bundle.db
      .prepare(`SELECT id, ts_ns, dur_ns, pid, tid, op_id, arg0 FROM events WHERE id >= ? AND id < ? AND node_id = ? AND (${conds.join(' OR ')}) ORDER BY id ${backwards ? 'DESC' : ''} LIMIT 200`)
      .all(lo, hi, node) as { id: number; ts_ns: number; dur_ns: number; pid: number; tid: number; op_id: number; arg0: number | null }[];
    const out: NeighbourEvent[] = [];
    let plainGpu = false;
    for (const r of rows) {
      if (out.length === NEIGHBOURS) break;
      const gpu = this.groups.gpu.has(r.op_id);
      // One ordinary GPU call says where feeding stopped or resumed; sync calls all matter.
      if (gpu && !this.sync.has(r.op_id)) {
        if (plainGpu) continue;
        plainGpu = true;
      }
      out.push(this.describe(node, r));
    }
    return out;
  }

  /** The process and its children (by ppid), whose forks and exits concern it. */
  private family(node: number, pid: number): number[] {
    const out = [pid];
    for (const p of this.facts.processes.values()) if (p.node_id === node && p.ppid === pid && p.pid !== pid) out.push(p.pid);
    return out;
  }

  private describe(node: number, r: { id: number; ts_ns: number; dur_ns: number; pid: number; tid: number; op_id: number; arg0: number | null }): NeighbourEvent {
    const op = this.bundle.opName(r.op_id);
    const base = { id: r.id, ts_ns: r.ts_ns, dur_ns: r.dur_ns, pid: r.pid, tid: r.tid, op };
    const who = `pid ${r.pid}${processName(this.facts, node, r.pid) ? ` (${processName(this.facts, node, r.pid)})` : ''}`;
    if (op === 'process_fork' && r.arg0 !== null) {
      const child = forkChild(this.bundle, node, r.arg0, r.ts_ns);
      const fate = child.end_ns === null ? 'no exit recorded' : `exited at ${child.end_ns} ns${child.exit_code === null ? '' : ` with ${child.exit_code}`}`;
      return { ...base, what: `${who} forked pid ${child.pid}${child.process ? ` (${child.process})` : ''}, ${fate}`, child };
    }
    if (op === 'process_exit') return { ...base, what: `${who} thread ${r.tid} exited` };
    const info = this.bundle.ops().get(r.op_id);
    if (info && IO_LAYERS.has(info.layer)) {
      const size = op.startsWith('block_') && r.arg0 !== null ? `, ${bytes(r.arg0 * 512)}` : op.startsWith('net_') ? '' : '';
      return { ...base, what: `${op} by ${who}, ${dur(r.dur_ns)}${size}` };
    }
    return { ...base, what: `${op} by ${who} tid ${r.tid}, ${dur(r.dur_ns)}` };
  }
}

export interface ActivityOptions {
  readonly fromNs?: number;
  readonly toNs?: number;
  /** Window width (default: the whole range as one window). */
  readonly windowNs?: number;
  readonly pid?: number;
  readonly nodeId?: number;
  readonly tid?: number;
}

/** One thread's time in one window; the three off-CPU parts plus on_cpu_ns make observed_ns. */
export interface ActivityWindow {
  readonly from_ns: number;
  readonly to_ns: number;
  /** Part of the window between the thread's first recorded event start and last event end. */
  readonly observed_ns: number;
  /** observed − off-CPU; null when sched_switch is not recorded completely here. */
  readonly on_cpu_ns: number | null;
  readonly off_cpu: { readonly preempted_ns: number; readonly blocked_ns: number; readonly unknown_ns: number };
  /** Wall time inside GPU API calls (nested calls count once); overlaps on- and off-CPU time. */
  readonly in_gpu_calls_ns: number;
  readonly gpu_calls: number;
  readonly switches: number;
  /** True when GPU calls and sched_switch are both complete (not sampled) in this window. */
  readonly complete: boolean;
}

export interface ThreadActivity {
  readonly node_id: number;
  readonly pid: number;
  readonly tid: number;
  readonly process: string;
  readonly thread: string;
  readonly windows: readonly ActivityWindow[];
}

export interface ActivityReport {
  readonly from_ns: number;
  readonly to_ns: number;
  readonly window_ns: number;
  /** GPU-feeding threads, most GPU calls first. */
  readonly threads: readonly ThreadActivity[];
  readonly caveats: readonly string[];
}

/** Most windows per thread one call may ask for. */
export const MAX_ACTIVITY_WINDOWS = 10_000;

/** Per-window sums of a thread, six numbers a window in one array: [window * CELL + field]. */
const CELL = 6;
const PREEMPTED = 0;
const BLOCKED = 1;
const UNKNOWN = 2;
const IN_GPU = 3;
const CALLS = 4;
const SWITCHES = 5;

interface ThreadTime extends ThreadBase {
  readonly cells: Float64Array;
  /** First recorded event start and last event end. */
  first: number;
  last: number;
  /** End of the latest GPU call so far. */
  gpuEnd: number;
}

export function threadActivity(bundle: Bundle, opts: ActivityOptions = {}, inMemory?: InMemory): ActivityReport {
  const facts = inMemory?.facts ?? factsOf(bundle);
  const groups = opGroups(bundle);
  const { from, to, lo, hi } = rangeOf(bundle, facts, opts);
  const windowNs = Math.max(1, Math.round(opts.windowNs ?? to - from));
  const n = Math.max(1, Math.ceil((to - from) / windowNs));
  if (n > MAX_ACTIVITY_WINDOWS) throw new RangeError(`thread activity over ${n} windows asked for; at most ${MAX_ACTIVITY_WINDOWS}: use a wider window or a shorter range`);
  // Intervals that began before the range and reach into it: look back by the longest one.
  const longest = from > facts.from_ns && groups.gpu.size > 0 ? ((bundle.db.prepare(`SELECT max(dur_ns) FROM events WHERE id < ? AND op_id IN (${[...groups.gpu, groups.sched ?? -1].join(',')})`).pluck().get(lo) as number | null) ?? 0) : 0;
  const scanLo = longest > 0 ? bundle.idAtTime(from - longest) : lo;
  // Adds [a, b) clipped to each window it covers to field of cells.
  const spread = (a: number, b: number, field: number, cells: Float64Array) => {
    const s = Math.max(a, from);
    const e = Math.min(b, to);
    if (e <= s) return;
    for (let w = Math.floor((s - from) / windowNs); w < n && from + w * windowNs < e; w++) {
      const ws = from + w * windowNs;
      cells[w * CELL + field]! += Math.min(e, ws + windowNs) - Math.max(s, ws);
    }
  };
  const makeThread = (node: number, tid: number): ThreadTime => ({ node, tid, pid: NaN, gpuCalls: 0, cells: new Float64Array(n * CELL), first: NaN, last: -Infinity, gpuEnd: -Infinity });
  const scanned = scanThreads(bundle, inMemory?.index, groups, scanLo, hi, opts, makeThread, (t, _id, ts, d, _by, _byTid, state) => {
    if (Number.isNaN(t.first)) t.first = ts;
    if (ts + d > t.last) t.last = ts + d;
    const startCell = ts >= from && ts < to ? Math.floor((ts - from) / windowNs) * CELL : -1;
    if (state !== undefined) {
      if (startCell >= 0) t.cells[startCell + SWITCHES]!++;
      spread(ts, ts + d, Number.isNaN(state) ? UNKNOWN : state === 0 ? PREEMPTED : BLOCKED, t.cells);
      return;
    }
    if (startCell >= 0) t.cells[startCell + CALLS]!++;
    // Nested calls (runtime over driver) count once: only the part past the latest end so far.
    if (ts + d > t.gpuEnd) {
      spread(Math.max(ts, t.gpuEnd), ts + d, IN_GPU, t.cells);
      t.gpuEnd = ts + d;
    }
  });
  const caveats: string[] = [];
  if (groups.sched === undefined) caveats.push('The bundle records no sched_switch: on- and off-CPU time cannot be told, only time inside GPU calls.');
  if (facts.dataQuality.dropped_events > 0) caveats.push(`${facts.dataQuality.dropped_events} events were dropped during capture (capture_loss).`);
  caveats.push('observed_ns is the part of each window between the first and the last recorded event of the thread: it is not seen before or after them.');
  let anySampled = false;
  const out: ThreadActivity[] = feeding(scanned)
    .filter((t) => t.last > from)
    .map((t) => {
      const windows = Array.from({ length: n }, (_, w): ActivityWindow => {
        const ws = from + w * windowNs;
        const we = Math.min(to, ws + windowNs);
        const at = w * CELL;
        const pre = t.cells[at + PREEMPTED]!;
        const blk = t.cells[at + BLOCKED]!;
        const unk = t.cells[at + UNKNOWN]!;
        const observed = Math.max(0, Math.min(we, t.last) - Math.max(ws, t.first));
        const complete = isComplete(facts, groups, t.node, ws, we, true);
        if (!complete) anySampled = true;
        const schedOk = groups.sched !== undefined && schedSampled(facts, t.node, ws, we).length === 0;
        const off = pre + blk + unk;
        return {
          from_ns: ws,
          to_ns: we,
          observed_ns: observed,
          on_cpu_ns: schedOk ? Math.max(0, observed - off) : null,
          off_cpu: { preempted_ns: pre, blocked_ns: blk, unknown_ns: unk },
          in_gpu_calls_ns: t.cells[at + IN_GPU]!,
          gpu_calls: t.cells[at + CALLS]!,
          switches: t.cells[at + SWITCHES]!,
          complete,
        };
      });
      return { node_id: t.node, pid: t.pid, tid: t.tid, process: processName(facts, t.node, t.pid), thread: threadName(facts, t.node, t.tid), windows };
    });
  if (anySampled) caveats.push('In windows with complete = false the events are a sample (table sampling): times are sums over stored rows, lower bounds; on_cpu_ns is null where sched_switch is sampled.');
  return { from_ns: from, to_ns: to, window_ns: windowNs, threads: out, caveats };
}
