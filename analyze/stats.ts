// Exact per-op statistics at any bundle size. One pass over the events table collects every
// duration into typed arrays grouped by (node, pid, op); each group is then sorted in place and
// the op-wide arrays are sorted once more. Memory is 8 bytes per event plus the largest op.
import { BundleError, type Bundle } from '../format/index.ts';
import { processName, readFacts, type BundleFacts } from './bundle-facts.ts';
import { gpuActivity } from './gpu-activity.ts';
import { F64List, scanRows } from './scan.ts';
import type { DurationSummary, OpStats, ProcessOpStats, StatsReport } from './types.ts';

/** Nearest-rank percentile of sorted values: sorted[ceil(p·n) − 1]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
}

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

interface Group {
  readonly node: number;
  readonly pid: number;
  readonly op: number;
  readonly durations: F64List;
  first: number;
  last: number;
}

// Linux pids stay below 2^22 and op ids below 2^16, so (node, pid, op) packs exactly into a
// double for nodes below 2^15; anything else (hostile or odd bundles) takes the string path.
const PID_SPAN = 4194304;
const OP_SPAN = 65536;

export interface StatsOptions {
  readonly facts?: BundleFacts;
}

export function computeStats(bundle: Bundle, opts: StatsOptions = {}): StatsReport {
  const facts = opts.facts ?? readFacts(bundle);
  const groups = new Map<number | string, Group>();
  let outOfRange = 0;
  scanRows(bundle.db, ['node_id', 'pid', 'op_id', 'ts_ns', 'dur_ns'], 'FROM events', [], (node, pid, op, ts, dur) => {
    // Every detector does arithmetic on times and sizes arrays by them: a time that is text,
    // negative or past 2^53 ns (hostile or damaged bundles; a plain open does not scan for them)
    // would crash or exhaust memory downstream, and a text or blob id would reach reports as one.
    if (!(ts >= 0 && dur >= 0 && ts + dur <= Number.MAX_SAFE_INTEGER) || typeof node !== 'number' || typeof pid !== 'number' || typeof op !== 'number') {
      outOfRange++;
      return;
    }
    const key = node >= 0 && node < 32768 && pid >= 0 && pid < PID_SPAN && op >= 0 && op < OP_SPAN ? (node * PID_SPAN + pid) * OP_SPAN + op : `${node}:${pid}:${op}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { node, pid, op, durations: new F64List(), first: ts, last: ts }));
    g.durations.push(dur);
    if (ts < g.first) g.first = ts;
    if (ts > g.last) g.last = ts;
  });
  if (outOfRange > 0) {
    throw new BundleError('SCHEMA', `${bundle.path}: ${outOfRange} event(s) have a node, pid, op, start time or duration that is not a number, or a time that is negative or beyond 2^53 ns (104 days) — the bundle is damaged or hostile and cannot be analysed; run ingero verify on it and get a fresh copy`);
  }
  const ordered = [...groups.values()].sort((a, b) => a.op - b.op || a.node - b.node || a.pid - b.pid);
  const opInfo = bundle.ops();
  const ops: OpStats[] = [];
  const byProcess: ProcessOpStats[] = [];
  for (let i = 0; i < ordered.length; ) {
    let j = i;
    let total = 0;
    while (j < ordered.length && ordered[j]!.op === ordered[i]!.op) total += ordered[j++]!.durations.length;
    const all = new Float64Array(total);
    let at = 0;
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
      const n = g.durations.length;
      g.durations.drainInto(all, at);
      const own = all.subarray(at, at + n).sort();
      at += n;
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
    ops.push({ ...base, ...summarize(all.sort()), first_ns: first, last_ns: last });
    i = j;
  }
  byProcess.sort((a, b) => a.node_id - b.node_id || a.pid - b.pid || a.op_id - b.op_id);
  return {
    events: facts.events,
    from_ns: facts.from_ns,
    to_ns: facts.to_ns,
    span_ns: facts.to_ns - facts.from_ns,
    ops,
    by_process: byProcess,
    gpus: gpuActivity(bundle, facts.nodes),
    data_quality: facts.dataQuality,
  };
}
