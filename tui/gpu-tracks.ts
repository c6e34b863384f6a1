// The GPU view's data: for each device of each node, how much of every time window its GPU was
// busy. Busy is what analyze/gpu-activity.ts counts (the union of kernel, memcpy and memset
// intervals over all streams: overlapping streams count once), so a device's windows add up to
// the busy_ns of `ingero stats`; the union's gaps are the idle gaps the view shows.
import { forEachGpuWork, GPU_WORK_OPS, IntervalUnion } from '../analyze/gpu-activity.ts';
import type { Bundle } from '../format/index.ts';

export interface GpuTrack {
  readonly node_id: number;
  readonly device: number;
  /** First GPU work's start and last one's end on this device. */
  readonly from_ns: number;
  readonly to_ns: number;
  /** Busy ns in each window (the union, cut at window edges). */
  readonly busy: Float64Array;
  /** Kernels that started in each window. */
  readonly kernels: Uint32Array;
  /** Sum of `busy`: the device's busy time over the recording. */
  readonly busy_ns: number;
  /** The longest stretch between two pieces of work, [from, to); null when there was none. */
  readonly longest_gap: readonly [number, number] | null;
}

export interface GpuTracks {
  readonly from_ns: number;
  readonly window_ns: number;
  readonly windows: number;
  /** By node, then device. */
  readonly tracks: readonly GpuTrack[];
}

interface Building {
  readonly node_id: number;
  readonly device: number;
  readonly union: IntervalUnion;
  readonly kernels: Uint32Array;
  from: number;
  to: number;
}

/** Busy time per window for every device, over `windows` windows from `fromNs` of `windowNs` each. */
export function gpuTracks(bundle: Bundle, fromNs: number, windowNs: number, windows: number): GpuTracks {
  const devices = new Map<string, Building>();
  const windowOf = (ns: number) => Math.max(0, Math.min(windows - 1, Math.floor((ns - fromNs) / windowNs)));
  forEachGpuWork(bundle, (w) => {
    const key = `${w.node}:${w.device}`;
    let d = devices.get(key);
    if (!d) devices.set(key, (d = { node_id: w.node, device: w.device, union: new IntervalUnion(true), kernels: new Uint32Array(windows), from: w.ts, to: w.end }));
    d.union.add(w.ts, w.end);
    if (w.end > d.to) d.to = w.end;
    if (w.op === GPU_WORK_OPS.kernel) d.kernels[windowOf(w.ts)]!++;
  });
  const tracks = [...devices.values()].sort((a, b) => a.node_id - b.node_id || a.device - b.device).map((d): GpuTrack => {
    const busy = new Float64Array(windows);
    // Busy stretches are what lies between the union's gaps, from the first start to the last end.
    const gaps = d.union.gaps!;
    let start = d.from;
    for (const [gapFrom, gapTo] of [...gaps, [d.to, d.to] as [number, number]]) {
      spread(busy, start, gapFrom, fromNs, windowNs);
      start = gapTo;
    }
    let longest: [number, number] | null = null;
    for (const g of gaps) if (!longest || g[1] - g[0] > longest[1] - longest[0]) longest = g;
    let total = 0;
    for (const v of busy) total += v;
    return { node_id: d.node_id, device: d.device, from_ns: d.from, to_ns: d.to, busy, kernels: d.kernels, busy_ns: total, longest_gap: longest };
  });
  return { from_ns: fromNs, window_ns: windowNs, windows, tracks };
}

/** Adds [from, to) to the windows it overlaps; time outside the windows goes to the nearest end one. */
function spread(busy: Float64Array, from: number, to: number, fromNs: number, windowNs: number): void {
  const last = busy.length - 1;
  let at = from;
  while (at < to) {
    const i = Math.max(0, Math.min(last, Math.floor((at - fromNs) / windowNs)));
    const edge = i === last ? to : Math.max(at, Math.min(to, fromNs + (i + 1) * windowNs));
    busy[i]! += edge - at;
    if (edge === at) break;
    at = edge;
  }
}
