// Every number the detectors judge by, in one place. Each can be overridden per run
// (`ingero explain B --threshold tailRatio=5`, or `explain(bundle, { thresholds: {...} })`).
// Shares are fractions (0.25 = 25 %), times are ns, rates are per second.

export const DEFAULT_THRESHOLDS = {
  /** Calls an op needs in one process before its latency distribution is judged at all. */
  minCalls: 20,
  /** p99/p50 from which an op's tail is worth explaining (Ingero uses 3 too). */
  tailRatio: 3,
  /** p99/p50 from which a tail explained by the scheduler is HIGH rather than MEDIUM. */
  highTailRatio: 10,
  /** Slowest calls examined per (process, op) when looking for causes: bounds the work on huge bundles. */
  maxSlowCalls: 5000,
  /** Share of the slow calls' excess time (above p50) spent preempted that makes the scheduler the cause. */
  offCpuShare: 0.25,
  /** Share of the excess explained by preemption from which a scheduler finding is HIGH. */
  highOffCpuShare: 0.5,
  /** Share of a GPU thread's active time spent runnable while other processes ran: MEDIUM CPU contention. */
  contentionShare: 0.02,
  /** The same share from which CPU contention is HIGH. */
  highContentionShare: 0.05,
  /** Share of a process's GPU-active wall time spent in synchronize calls: MEDIUM sync stall. */
  syncShare: 0.5,
  /** Synchronize calls per kernel launch below which sync time is just a GPU-bound loop waiting once per step. */
  syncPerLaunch: 0.05,
  /** Synchronize calls per kernel launch from which a sync stall is HIGH (sync after nearly every kernel). */
  highSyncPerLaunch: 0.25,
  /** Share of a process's GPU-active wall time spent in memory copies: MEDIUM memcpy bottleneck. */
  memcpyShare: 0.3,
  /** Share of GPU-active wall time in copies from which a memcpy bottleneck is HIGH. */
  highMemcpyShare: 0.5,
  /** Host↔device copy bandwidth (bytes/s) below which copies look pageable rather than pinned. */
  pageableBandwidth: 8e9,
  /** A call in the warm-up window is cold when it is this many times slower than the op's steady p50. */
  coldFactor: 10,
  /** Share of an op's first calls treated as its warm-up window (at least 3 calls). */
  coldWindowShare: 0.05,
  /** Excess time of cold calls below which a cold start is not reported. */
  coldMinExcessNs: 50e6,
  /** Cold-start excess as a share of the process's GPU-active time: MEDIUM. */
  coldShare: 0.05,
  /** Cold-start excess share from which it is HIGH. */
  highColdShare: 0.2,
  /** A call is a spike when it is this many times slower than the op's p50. */
  spikeFactor: 5,
  /** Spikes needed before periodicity is judged. */
  minSpikes: 5,
  /** Share of gaps between spikes that must lie near the median gap to call the spikes periodic. */
  periodicRegularity: 0.6,
  /** How near: relative tolerance around the median gap (0.3 = ±30 %). */
  periodicTolerance: 0.3,
  /** Spike excess as a share of the process's GPU-active time: MEDIUM periodic spike. */
  spikeShare: 0.01,
  /** Spike excess share from which a periodic spike is HIGH. */
  highSpikeShare: 0.05,
  /** Rate window for throughput (launches per window). */
  rateWindowNs: 1e9,
  /** A window's launch rate below this fraction of the peak counts as a drop (Ingero: 0.6). */
  dropRatio: 0.6,
  /** Peak launch rate (per s) below which rates are too low to judge. */
  minPeakRate: 10,
  /** Consecutive low-rate windows needed for a throughput drop. */
  minDropWindows: 2,
  /** Share of the kernel-launch calls of a second process on the same GPU that makes it a contender. */
  gpuContenderShare: 0.1,
  /** Slowdown of the victim's GPU waits while another process is active: MEDIUM when above 1, HIGH from this. */
  gpuSlowdown: 1.5,
  /** Host page allocation (bytes/s, in any 1 s window) that counts as an allocation storm. */
  pageAllocStormBytesPerSec: 1073741824,
  /** Host memory use (percent) that counts as pressure in system samples. */
  memPct: 95,
  /** Block IO slower than this is a slow IO. */
  slowIoNs: 10e6,
  /** Share of slow GPU calls overlapping slow IO of the same node from which IO is blamed. */
  ioOverlapShare: 0.2,
  /** Peak IO latency from which IO interference is HIGH. */
  highIoPeakNs: 50e6,
  /** A GPU-feeding thread off-CPU, without GPU calls or on the CPU without them this long is a stall finding. */
  stallNs: 1e9,
  /** Share of the process's active time one stall takes from which it is HIGH (when its cause is determined). */
  highStallShare: 0.25,
  /** Share of the GPU-feeding thread's time on the CPU outside GPU calls that makes a host-bound loop (MEDIUM). */
  hostBoundShare: 0.6,
  /** The same share from which a host-bound loop is HIGH. */
  highHostBoundShare: 0.8,
  /** Share of time in synchronize calls below which the GPU is not what the loop waits for. */
  hostBoundMaxSyncShare: 0.1,
  /** cudaMalloc/cudaFree-family calls per second (in any 1 s window) that count as allocator churn. */
  allocCallsPerSec: 200,
  /** Share of the process's GPU-active time in allocation calls (spikes excluded) that makes allocator churn MEDIUM. */
  allocShare: 0.05,
  /** The same share from which allocator churn is HIGH. */
  highAllocShare: 0.15,
  /** TCP retransmits from which network interference is MEDIUM (Ingero: 10); HIGH from 10× this. */
  tcpRetransmits: 10,
  /** A single GPU call this many times its op's steady state is a slow call (when no other finding explains it). */
  slowCallFactor: 20,
  /** ...and at least this much above it. */
  slowCallMinExcessNs: 10e6,
  /** Share of an op's calls above which its slow calls are a tail, left to the tail detectors (at least 3 are individual). */
  slowCallShare: 0.01,
  /** Summed excess of an op's unexplained slow calls from which the finding is MEDIUM rather than LOW. */
  slowCallMediumNs: 100e6,
  /** A GPU idle gap this many times the device's median gap is traced back to its launching thread (late-launch)... */
  lateLaunchGapFactor: 10,
  /** ...when it is also at least this long. */
  lateLaunchMinGapNs: 1e6,
  /** Share of a GPU's idle time that host causes traced through late launches explain: MEDIUM; HIGH from twice this. */
  lateLaunchShare: 0.2,
} as const;

export type ThresholdName = keyof typeof DEFAULT_THRESHOLDS;
export type Thresholds = { readonly [K in ThresholdName]: number };

export const THRESHOLD_NAMES = Object.keys(DEFAULT_THRESHOLDS).sort() as ThresholdName[];

/** Thresholds with overrides applied; throws an Error naming the problem for unknown names or bad values. */
export function resolveThresholds(overrides: Readonly<Record<string, number>> = {}): Thresholds {
  return withOverrides(DEFAULT_THRESHOLDS, overrides);
}

/** A set of named numeric defaults with overrides applied; unknown names and negative or non-finite values are errors. */
export function withOverrides<T extends Readonly<Record<string, number>>>(defaults: T, overrides: Readonly<Record<string, number>>): { readonly [K in keyof T]: number } {
  const out: Record<string, number> = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in defaults)) throw new Error(`unknown threshold ${JSON.stringify(name)} (known: ${Object.keys(defaults).sort().join(', ')})`);
    if (!Number.isFinite(value) || value < 0) throw new Error(`threshold ${name} must be a non-negative number, got ${value}`);
    out[name] = value;
  }
  return out as { readonly [K in keyof T]: number };
}

/** Parses `name=value` strings as given on the command line. */
export function parseThresholdArgs(args: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const arg of args) {
    const m = /^([A-Za-z0-9]+)=(.+)$/.exec(arg);
    if (!m) throw new Error(`--threshold takes name=value, got ${JSON.stringify(arg)}`);
    out[m[1]!] = Number(m[2]);
    if (!Number.isFinite(out[m[1]!])) throw new Error(`threshold ${m[1]} must be a number, got ${JSON.stringify(m[2])}`);
  }
  return out;
}
