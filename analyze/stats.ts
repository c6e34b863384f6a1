// Exact per-op statistics at any bundle size, from the events in memory (analyze/event-index.ts):
// every duration goes into one typed array grouped by (op, node, pid); each group is then sorted
// in place and each op's run of groups once more. Memory is 4 bytes per event (8 when a duration
// does not fit 32 bits) beside the index.
import type { Bundle } from '../format/index.ts';
import { processName, readFacts, type BundleFacts } from './bundle-facts.ts';
import { GPU_WORK_OPS, gpuActivity } from './gpu-activity.ts';
import { EventIndex } from './event-index.ts';
import { percentile } from './percentile.ts';
import type { DurationSummary, OpStats, ProcessOpStats, StatsReport } from './types.ts';

const GPU_WORK_OP_IDS = new Set<number>(Object.values(GPU_WORK_OPS));

/** Summary of durations already sorted ascending. */
export function summarize(sorted: ArrayLike<number>): DurationSummary {
  const n = sorted.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += sorted[i]!;
  return {
    count: n,
    total_ns: total,
    mean_ns: n ? Math.round(total / n) : 0,
    min_ns: n ? sorted[0]! : 0,
    p50_ns: percentile(sorted, 0.5),
    p90_ns: percentile(sorted, 0.9),
    p95_ns: percentile(sorted, 0.95),
    p99_ns: percentile(sorted, 0.99),
    p999_ns: percentile(sorted, 0.999),
    max_ns: n ? sorted[n - 1]! : 0,
  };
}

/** Rows of one (node, pid, op) within the selection. */
interface Group {
  readonly node: number;
  readonly pid: number;
  readonly op: number;
  /** Its place in members (the slot its index groups map to). */
  readonly ordinal: number;
  count: number;
  first: number;
  last: number;
  /** Where its durations start in the shared array. */
  offset: number;
}

export interface StatsOptions {
  readonly facts?: BundleFacts;
  /** The bundle's events already in memory (explain's); read here when absent. */
  readonly index?: EventIndex;
  /** Only events starting in [fromNs, toNs) on the bundle clock, and only these processes. */
  readonly fromNs?: number;
  readonly toNs?: number;
  readonly pids?: readonly number[];
}

export function computeStats(bundle: Bundle, opts: StatsOptions = {}): StatsReport {
  const selected = opts.fromNs !== undefined || opts.toNs !== undefined || opts.pids !== undefined;
  const idAtTime = (ns: number) => (opts.index ? opts.index.idAtTime(ns) : bundle.idAtTime(ns));
  const loId = opts.fromNs !== undefined ? idAtTime(opts.fromNs) : 1;
  const hiId = opts.toNs !== undefined ? idAtTime(opts.toNs) : Infinity;
  // Without explain's index, only the selected time range is read.
  const index = opts.index ?? new EventIndex(bundle, { loId, hiId });
  const facts = opts.facts ?? readFacts(bundle, index.whole ? index : undefined);
  const pids = opts.pids ? new Set(opts.pids) : null;
  const groups = new Map<string, Group>();
  // Index groups are per thread; statistics are per (node, pid, op): slot maps one to the other.
  const slot = new Int32Array(index.groups.length).fill(-1);
  const members: Group[] = [];
  for (const g of index.groups) {
    if (pids && !pids.has(g.pid)) continue;
    const key = `${g.node}:${g.pid}:${g.op}`;
    let s = groups.get(key);
    if (!s) {
      groups.set(key, (s = { node: g.node, pid: g.pid, op: g.op, ordinal: members.length, count: 0, first: Infinity, last: -Infinity, offset: 0 }));
      members.push(s);
    }
    slot[g.index] = s.ordinal;
  }
  let scanned = 0;
  let first = Infinity;
  let last = -Infinity;
  const inRange = opts.fromNs !== undefined || opts.toNs !== undefined;
  if (inRange) {
    index.rows(
      undefined,
      (_id, ts, dur, g) => {
        const s = slot[g.index]!;
        if (s < 0) return;
        const m = members[s]!;
        m.count++;
        if (ts < m.first) m.first = ts;
        if (ts > m.last) m.last = ts;
        scanned++;
        if (ts < first) first = ts;
        if (ts + dur > last) last = ts + dur;
      },
      loId,
      hiId,
    );
  } else {
    for (const g of index.groups) {
      const s = slot[g.index]!;
      if (s < 0) continue;
      const m = members[s]!;
      m.count += g.count;
      m.first = Math.min(m.first, g.minTs);
      m.last = Math.max(m.last, g.maxTs);
      scanned += g.count;
      first = Math.min(first, g.minTs);
      last = Math.max(last, g.maxEnd);
    }
  }
  const ordered = [...groups.values()].filter((g) => g.count > 0).sort((a, b) => a.op - b.op || a.node - b.node || a.pid - b.pid);
  // Every duration goes into one array, grouped by (op, node, pid): each group is sorted in place
  // for its own percentiles, then each op's run of groups for the op's.
  let total = 0;
  for (const g of ordered) (g.offset = total), (total += g.count);
  const durations = index.durationsFit32() ? new Uint32Array(total) : new Float64Array(total);
  const offsets = Float64Array.from(members, (m) => m.offset);
  index.scatterDurations(index.rowAtId(loId), index.rowAtId(hiId), slot, offsets, durations);
  const opInfo = bundle.ops();
  const ops: OpStats[] = [];
  const byProcess: ProcessOpStats[] = [];
  for (let i = 0; i < ordered.length; ) {
    let j = i;
    while (j < ordered.length && ordered[j]!.op === ordered[i]!.op) j++;
    const all = durations.subarray(ordered[i]!.offset, ordered[j - 1]!.offset + ordered[j - 1]!.count);
    const opId = ordered[i]!.op;
    const info = opInfo.get(opId);
    const base = {
      op: bundle.opName(opId),
      op_id: opId,
      source: info?.source ?? `source_${Math.floor(opId / 256)}`,
      layer: info?.layer ?? '?',
    };
    let first = Infinity;
    let last = -Infinity;
    for (let k = i; k < j; k++) {
      const g = ordered[k]!;
      const own = durations.subarray(g.offset, g.offset + g.count).sort();
      first = Math.min(first, g.first);
      last = Math.max(last, g.last);
      byProcess.push({
        node_id: g.node,
        node: facts.nodes.get(g.node) ?? String(g.node),
        pid: g.pid,
        process: processName(facts, g.node, g.pid),
        ...base,
        ...summarize(own),
        first_ns: g.first,
        last_ns: g.last,
      });
    }
    // An op of one process is sorted already.
    ops.push({ ...base, ...summarize(j - i > 1 ? all.sort() : all), first_ns: first, last_ns: last });
    i = j;
  }
  byProcess.sort((a, b) => a.node_id - b.node_id || a.pid - b.pid || a.op_id - b.op_id);
  // A selection reports its own events and span; the whole bundle reports the facts' (the same
  // numbers, without a second pass).
  const [from, to] = selected ? (scanned ? [first, last] : [opts.fromNs ?? 0, opts.fromNs ?? 0]) : [facts.from_ns, facts.to_ns];
  return {
    events: selected ? scanned : facts.events,
    from_ns: from,
    to_ns: to,
    span_ns: to - from,
    ops,
    by_process: byProcess,
    // An index of every event tells at once whether there is GPU work to read at all.
    gpus: index.whole && !index.groups.some((g) => GPU_WORK_OP_IDS.has(g.op)) ? [] : gpuActivity(bundle, facts.nodes),
    data_quality: facts.dataQuality,
  };
}
