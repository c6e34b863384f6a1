// What the GPUs did, per node and device: busy time (the union of kernel, memcpy and memset
// intervals over all streams, so overlapping streams count once), the span from the first GPU
// activity's start to the last one's end, and per-kernel-name counts and exact percentiles.
// Reads only gpu-source events (PyTorch profiler imports, schema 2); a bundle without them has none.
import { opId, type Bundle } from '../format/index.ts';
import { percentile } from './percentile.ts';
import { F64List, scanRows } from './scan.ts';
import type { GpuDeviceActivity, GpuKernelStats } from './types.ts';

export const GPU_WORK_OPS = { kernel: opId('kernel'), memcpy: opId('memcpy'), memset: opId('memset') } as const;
const WORK_OP_LIST = Object.values(GPU_WORK_OPS);

/** One piece of work a GPU executed, as read from events (times on the bundle clock). */
export interface GpuWork {
  readonly node: number;
  readonly device: number;
  readonly stream: number;
  readonly op: number;
  readonly ts: number;
  readonly end: number;
  /** gpu_kernels.id of a kernel, NaN for copies and sets. */
  readonly kernel: number;
  /** Correlation id (NaN when none). */
  readonly corr: number;
}

/** True when the bundle has GPU activity rows at all (cheap: stops at the first). */
export function hasGpuWork(bundle: Bundle): boolean {
  return bundle.db.prepare(`SELECT 1 FROM events WHERE op_id IN (${WORK_OP_LIST.join(',')}) LIMIT 1`).get() !== undefined;
}

/** Calls fn for every kernel, memcpy and memset, in start-time order. */
export function forEachGpuWork(bundle: Bundle, fn: (w: GpuWork) => void): void {
  if (!hasGpuWork(bundle)) return;
  const corr = hasColumn(bundle, 'events', 'corr_id') ? 'corr_id' : 'NULL';
  scanRows(bundle.db, ['node_id', 'arg2', 'arg3', 'op_id', 'ts_ns', 'dur_ns', 'arg0', corr], `FROM events WHERE op_id IN (${WORK_OP_LIST.join(',')})`, [], (node, device, stream, op, ts, dur, arg0, c) => {
    if (!(ts >= 0 && dur >= 0)) return;
    fn({ node, device: Number.isFinite(device) ? device : -1, stream: Number.isFinite(stream) ? stream : -1, op, ts, end: ts + dur, kernel: op === GPU_WORK_OPS.kernel ? arg0 : NaN, corr: c });
  });
}

export function hasColumn(bundle: Bundle, table: string, column: string): boolean {
  return bundle.db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
}

/** gpu_kernels.id → kernel name ('' for a bundle without the table). */
export function kernelNames(bundle: Bundle): Map<number, string> {
  if (!hasColumn(bundle, 'gpu_kernels', 'name')) return new Map();
  return new Map((bundle.db.prepare('SELECT id, name FROM gpu_kernels').raw().all() as [number, string][]).map(([id, name]) => [id, String(name)]));
}

/** Merges intervals that arrive in start order into a running union; busy is its total length. */
export class IntervalUnion {
  busy = 0;
  private start = NaN;
  private end = NaN;
  /** Gaps between merged intervals, each as [from, to). */
  readonly gaps: [number, number][] | null;

  constructor(keepGaps = false) {
    this.gaps = keepGaps ? [] : null;
  }

  add(ts: number, end: number): void {
    if (Number.isNaN(this.end)) {
      this.start = ts;
      this.end = end;
    } else if (ts > this.end) {
      this.busy += this.end - this.start;
      this.gaps?.push([this.end, ts]);
      this.start = ts;
      this.end = end;
    } else if (end > this.end) {
      this.end = end;
    }
  }

  /** Busy time including the interval still open. */
  total(): number {
    return Number.isNaN(this.end) ? this.busy : this.busy + this.end - this.start;
  }
}

interface DeviceState {
  readonly node: number;
  readonly device: number;
  readonly union: IntervalUnion;
  first: number;
  last: number;
  readonly streams: Set<number>;
  readonly byKind: Record<'kernel' | 'memcpy' | 'memset', { count: number; total_ns: number }>;
  readonly byKernel: Map<number, F64List>;
}

export function gpuActivity(bundle: Bundle, nodes: ReadonlyMap<number, string>): GpuDeviceActivity[] {
  const devices = new Map<string, DeviceState>();
  const kindOf = new Map<number, 'kernel' | 'memcpy' | 'memset'>([
    [GPU_WORK_OPS.kernel, 'kernel'],
    [GPU_WORK_OPS.memcpy, 'memcpy'],
    [GPU_WORK_OPS.memset, 'memset'],
  ]);
  forEachGpuWork(bundle, (w) => {
    const key = `${w.node}:${w.device}`;
    let d = devices.get(key);
    if (!d) {
      d = { node: w.node, device: w.device, union: new IntervalUnion(), first: w.ts, last: w.end, streams: new Set(), byKind: { kernel: { count: 0, total_ns: 0 }, memcpy: { count: 0, total_ns: 0 }, memset: { count: 0, total_ns: 0 } }, byKernel: new Map() };
      devices.set(key, d);
    }
    d.union.add(w.ts, w.end);
    if (w.end > d.last) d.last = w.end;
    d.streams.add(w.stream);
    const k = d.byKind[kindOf.get(w.op)!];
    k.count++;
    k.total_ns += w.end - w.ts;
    if (w.op === GPU_WORK_OPS.kernel) {
      let list = d.byKernel.get(w.kernel);
      if (!list) d.byKernel.set(w.kernel, (list = new F64List()));
      list.push(w.end - w.ts);
    }
  });
  if (devices.size === 0) return [];
  const names = kernelNames(bundle);
  const out: GpuDeviceActivity[] = [];
  for (const d of [...devices.values()].sort((a, b) => a.node - b.node || a.device - b.device)) {
    // Configurations of one kernel name are one row: the name is what people compare.
    const byName = new Map<string, Float64Array[]>();
    for (const [id, list] of d.byKernel) {
      const name = names.get(id) ?? `kernel #${id}`;
      byName.set(name, [...(byName.get(name) ?? []), list.toArray()]);
    }
    const kernels: GpuKernelStats[] = [...byName].map(([name, parts]) => {
      const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) (all.set(p, at), (at += p.length));
      all.sort();
      let total = 0;
      for (const v of all) total += v;
      return { name, count: all.length, total_ns: total, p50_ns: percentile(all, 0.5), p99_ns: percentile(all, 0.99), max_ns: all[all.length - 1]! };
    });
    kernels.sort((a, b) => b.total_ns - a.total_ns || (a.name < b.name ? -1 : 1));
    const busy = d.union.total();
    const span = d.last - d.first;
    out.push({
      node_id: d.node,
      node: nodes.get(d.node) ?? String(d.node),
      device: d.device,
      from_ns: d.first,
      to_ns: d.last,
      span_ns: span,
      busy_ns: busy,
      idle_ns: span - busy,
      busy_share: span > 0 ? busy / span : 0,
      streams: [...d.streams].sort((a, b) => a - b),
      kernel: d.byKind.kernel,
      memcpy: d.byKind.memcpy,
      memset: d.byKind.memset,
      kernels,
    });
  }
  return out;
}
