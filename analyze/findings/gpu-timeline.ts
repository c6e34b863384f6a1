// One pass over a bundle's GPU side, shared by the GPU findings (gpu-idle, launch-queueing,
// kernel-regression, comm-overlap): per node and device, the merged busy intervals and what
// each idle gap between them waited for, the delay from each launch call to its GPU start
// (paired by corr_id), compute and NCCL-communication intervals, and kernel time per
// ProfilerStep. Computed once per analysis and kept beside the context.
import { opId } from '../../format/index.ts';
import type { AnalysisContext } from '../context.ts';
import { GPU_WORK_OPS, hasColumn, kernelNames } from '../gpu-activity.ts';
import { percentile } from '../percentile.ts';
import { F64List, scanRows } from '../scan.ts';

/** Why the GPU had nothing to run during a gap, judged in this order. */
export type GapCause = 'between_steps' | 'sync' | 'host' | 'other';

export interface GapAccount {
  readonly ns: Record<GapCause, number>;
  readonly count: Record<GapCause, number>;
  /** The longest gaps: [from, to, cause index in GAP_CAUSES]. */
  readonly longest: [number, number, GapCause][];
}

export const GAP_CAUSES: readonly GapCause[] = ['between_steps', 'sync', 'host', 'other'];

/** A gap whose ending work was launched only after the GPU had run dry, with both ends of the link. */
export interface LateGap {
  readonly from: number;
  readonly to: number;
  /** The launch call (runtime or driver) paired with the work that ends the gap by corr_id. */
  readonly launchId: number;
  readonly launchTs: number;
  readonly launchDur: number;
  readonly pid: number;
  readonly tid: number;
  /** The GPU work that ends the gap: its event id, op, and gpu_kernels.id (NaN for copies and sets). */
  readonly workId: number;
  readonly workOp: number;
  readonly kernel: number;
}

export interface StepKernelTime {
  /** Per step index: summed duration and count. */
  readonly total: Float64Array;
  readonly count: Float64Array;
}

export interface DeviceTimeline {
  readonly node: number;
  readonly device: number;
  /** Host process that launched most of this device's work (0 when no launch is linked). */
  launchPid: number;
  first: number;
  last: number;
  readonly gaps: GapAccount;
  /** Launch call start → GPU start, per linked piece of work. */
  readonly launchDelays: F64List;
  /** Median idle gap between merged busy intervals (0 when there are none): the steady state. */
  gapMedian: number;
  /** The longest gaps ended by work launched after the gap began, longest first. */
  readonly lateGaps: LateGap[];
  /** The length of every such gap, kept or not: how many long ones there are beyond lateGaps. */
  lateLengths: Float64Array;
  /** Merged intervals [s0, e0, s1, e1, ...] of compute kernels and of NCCL kernels. */
  readonly compute: number[];
  readonly comm: number[];
  commTotal: number;
  /** kernel name → time per step (steps of this node, see steps). */
  readonly stepKernels: Map<string, StepKernelTime>;
}

export interface GpuTimeline {
  readonly devices: readonly DeviceTimeline[];
  /** ProfilerStep#N ranges per node, by start: [start, end, N]. */
  readonly steps: ReadonlyMap<number, readonly [number, number, number][]>;
}

const LONGEST_KEPT = 3;
const LATE_GAPS_KEPT = 100;
/** Launches still waiting for their GPU work that the pairing remembers (runtime calls without GPU work would otherwise pile up). */
const IN_FLIGHT_LIMIT = 1 << 20;
const cache = new WeakMap<AnalysisContext, GpuTimeline>();

const SYNC_OPS = ['cudaStreamSynchronize', 'cudaDeviceSynchronize', 'cudaEventSynchronize', 'cudaMemcpy', 'cuCtxSynchronize', 'cuStreamSynchronize', 'cuEventSynchronize', 'cuda_sync'].map(opId);

/** NCCL kernels (ncclKernel_*, ncclDevKernel_*) are communication; every other kernel computes. */
export const isCommKernel = (name: string) => /^(void )?nccl/i.test(name);

export function gpuTimeline(ctx: AnalysisContext): GpuTimeline {
  let t = cache.get(ctx);
  if (!t) cache.set(ctx, (t = build(ctx)));
  return t;
}

function build(ctx: AnalysisContext): GpuTimeline {
  const { bundle } = ctx;
  if (ctx.stats.gpus.length === 0 || !hasColumn(bundle, 'events', 'corr_id')) return { devices: [], steps: new Map() };
  const steps = readSteps(ctx);
  const syncs = readSyncs(ctx);
  const names = kernelNames(bundle);
  const devices = new Map<string, DeviceTimeline & { end: number; launchPids: Map<number, number>; gapLengths: F64List; lateList: F64List }>();
  /** Launch calls waiting for their GPU work: ts, pid, tid, id, dur. */
  const inFlight = new Map<string, [number, number, number, number, number]>();
  const work = new Set<number>(Object.values(GPU_WORK_OPS));
  scanRows(bundle.db, ['node_id', 'pid', 'op_id', 'ts_ns', 'dur_ns', 'corr_id', 'arg0', 'arg2', 'id', 'tid'], `FROM events WHERE corr_id IS NOT NULL OR op_id IN (${[...work].join(',')})`, [], (node, pid, op, ts, dur, corr, arg0, device, id, tid) => {
    if (!(ts >= 0 && dur >= 0)) return;
    if (!work.has(op)) {
      // A launch (runtime or driver call): its GPU work starts later, so it is always seen first.
      if (Number.isFinite(corr)) {
        inFlight.set(`${node}:${corr}`, [ts, pid, tid, id, dur]);
        if (inFlight.size > IN_FLIGHT_LIMIT) inFlight.delete(inFlight.keys().next().value!);
      }
      return;
    }
    const key = `${node}:${Number.isFinite(device) ? device : -1}`;
    let d = devices.get(key);
    if (!d) {
      d = { node, device: Number.isFinite(device) ? device : -1, launchPid: 0, first: ts, last: ts + dur, end: NaN, gaps: { ns: zeroCauses(), count: zeroCauses(), longest: [] }, launchDelays: new F64List(), gapMedian: 0, lateGaps: [], lateLengths: new Float64Array(0), gapLengths: new F64List(), lateList: new F64List(), compute: [], comm: [], commTotal: 0, stepKernels: new Map(), launchPids: new Map() };
      devices.set(key, d);
    }
    const launch = Number.isFinite(corr) ? inFlight.get(`${node}:${corr}`) : undefined;
    if (launch) {
      inFlight.delete(`${node}:${corr}`);
      d.launchDelays.push(ts - launch[0]);
      d.launchPids.set(launch[1], (d.launchPids.get(launch[1]) ?? 0) + 1);
    }
    if (!Number.isNaN(d.end) && ts > d.end) {
      addGap(d.gaps, d.end, ts, classify(d.end, ts, launch?.[0], steps.get(node), syncs.get(node)));
      d.gapLengths.push(ts - d.end);
      if (launch && launch[0] > d.end) d.lateList.push(ts - d.end);
      if (launch && launch[0] > d.end) keepLate(d.lateGaps, { from: d.end, to: ts, launchTs: launch[0], pid: launch[1], tid: launch[2], launchId: launch[3], launchDur: launch[4], workId: id, workOp: op, kernel: op === GPU_WORK_OPS.kernel ? arg0 : NaN });
    }
    d.end = Number.isNaN(d.end) ? ts + dur : Math.max(d.end, ts + dur);
    if (ts + dur > d.last) d.last = ts + dur;
    if (op === GPU_WORK_OPS.kernel) {
      const name = names.get(arg0) ?? `kernel #${arg0}`;
      if (isCommKernel(name)) {
        mergeInto(d.comm, ts, ts + dur);
        d.commTotal += dur;
      } else mergeInto(d.compute, ts, ts + dur);
      const nodeSteps = steps.get(node);
      const step = nodeSteps ? stepAt(nodeSteps, ts) : -1;
      if (step >= 0) {
        let s = d.stepKernels.get(name);
        if (!s) d.stepKernels.set(name, (s = { total: new Float64Array(nodeSteps!.length), count: new Float64Array(nodeSteps!.length) }));
        s.total[step]! += dur;
        s.count[step]!++;
      }
    }
  });
  const out = [...devices.values()].sort((a, b) => a.node - b.node || a.device - b.device);
  for (const d of out) {
    d.launchPid = [...d.launchPids].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] ?? 0;
    // toArray drains the list: the lengths are not kept past this median.
    d.gapMedian = d.gapLengths.length ? percentile(d.gapLengths.toArray().sort(), 0.5) : 0;
    d.lateLengths = d.lateList.toArray();
  }
  return { devices: out, steps };
}

/** Keeps the LATE_GAPS_KEPT longest late gaps, longest first (earlier first among equals). */
function keepLate(kept: LateGap[], g: LateGap): void {
  const len = g.to - g.from;
  if (kept.length === LATE_GAPS_KEPT && len <= kept[kept.length - 1]!.to - kept[kept.length - 1]!.from) return;
  let at = kept.length;
  while (at > 0 && kept[at - 1]!.to - kept[at - 1]!.from < len) at--;
  kept.splice(at, 0, g);
  if (kept.length > LATE_GAPS_KEPT) kept.pop();
}

const zeroCauses = (): Record<GapCause, number> => ({ between_steps: 0, sync: 0, host: 0, other: 0 });

function addGap(g: GapAccount, from: number, to: number, cause: GapCause): void {
  g.ns[cause] += to - from;
  g.count[cause]++;
  g.longest.push([from, to, cause]);
  g.longest.sort((a, b) => b[1] - b[0] - (a[1] - a[0]) || a[0] - b[0]);
  if (g.longest.length > LONGEST_KEPT) g.longest.pop();
}

/**
 * A gap that holds a step boundary is between steps; one during which the host sat in a
 * synchronization (or that one ended in) followed a sync that drained the queue; one whose next
 * work was launched only after the GPU ran dry waited on the host; the rest (work queued in
 * time that started late: stream dependencies, events, unlinked work) is other.
 */
function classify(from: number, to: number, launchTs: number | undefined, steps: readonly [number, number, number][] | undefined, syncs: readonly number[] | undefined): GapCause {
  if (steps && steps.length > 0 && (stepAt(steps, from) !== stepAt(steps, to) || stepAt(steps, from) < 0)) return 'between_steps';
  if (syncs && overlaps(syncs, from, to)) return 'sync';
  if (launchTs !== undefined && launchTs > from) return 'host';
  return 'other';
}

/** Index of the step whose [start, end) holds t, or -1. Steps are sorted and do not overlap. */
function stepAt(steps: readonly [number, number, number][], t: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]![0] <= t) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi >= 0 && t < steps[hi]![1] ? hi : -1;
}

/** Merged, sorted intervals [s0, e0, s1, e1, ...]: does any meet [from, to]? */
function overlaps(iv: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = iv.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (iv[mid * 2 + 1]! < from) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo < iv.length / 2 && iv[lo * 2]! <= to;
}

/** Appends [s, e) to merged intervals that arrive in start order. */
export function mergeInto(iv: number[], s: number, e: number): void {
  const n = iv.length;
  if (n > 0 && s <= iv[n - 1]!) iv[n - 1] = Math.max(iv[n - 1]!, e);
  else iv.push(s, e);
}

function readSteps(ctx: AnalysisContext): Map<number, [number, number, number][]> {
  const rows = ctx.bundle.db.prepare("SELECT node_id, ts_ns, end_ns, json_extract(labels, '$.name') AS name FROM annotations WHERE end_ns IS NOT NULL AND json_valid(labels) AND json_extract(labels, '$.name') LIKE 'ProfilerStep#%' ORDER BY node_id, ts_ns").raw().all() as [number, number, number, string][];
  const out = new Map<number, [number, number, number][]>();
  for (const [node, ts, end, name] of rows) {
    const list = out.get(node) ?? [];
    // Steps nest in no trace we know; a step starting inside the previous one ends that one.
    const prev = list[list.length - 1];
    if (prev && ts < prev[1]) prev[1] = ts;
    list.push([ts, end, Number(String(name).slice('ProfilerStep#'.length))]);
    out.set(node, list);
  }
  return out;
}

function readSyncs(ctx: AnalysisContext): Map<number, number[]> {
  const out = new Map<number, number[]>();
  scanRows(ctx.bundle.db, ['node_id', 'ts_ns', 'dur_ns'], `FROM events WHERE op_id IN (${SYNC_OPS.join(',')})`, [], (node, ts, dur) => {
    let iv = out.get(node);
    if (!iv) out.set(node, (iv = []));
    mergeInto(iv, ts, ts + dur);
  });
  return out;
}
