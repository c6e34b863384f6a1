// The analyzer's public data shapes. Everything here is plain JSON: numbers (never bigints),
// strings, arrays and objects, so the CLI, the TUI and the MCP server can pass results on as is.
// Times are ns on the bundle clock (ns since metadata clock.origin_unix_ns) unless named otherwise.

/** Summary of a set of durations. Percentiles are exact, nearest rank: sorted[ceil(p·n) − 1]. */
export interface DurationSummary {
  readonly count: number;
  readonly total_ns: number;
  readonly mean_ns: number;
  readonly min_ns: number;
  readonly p50_ns: number;
  readonly p90_ns: number;
  readonly p95_ns: number;
  readonly p99_ns: number;
  readonly p999_ns: number;
  readonly max_ns: number;
}

export interface OpStats extends DurationSummary {
  /** Op name as the bundle names it, e.g. cudaMalloc. */
  readonly op: string;
  readonly op_id: number;
  /** Source name: cuda, driver, host, io, ... */
  readonly source: string;
  /** Layer in a causal chain: CUDA, DRIVER, HOST, IO, NET, ... */
  readonly layer: string;
  /** First and last event start of this op. */
  readonly first_ns: number;
  readonly last_ns: number;
}

/** One op within one process incarnation on one node. */
export interface ProcessOpStats extends OpStats {
  readonly node_id: number;
  readonly node: string;
  readonly pid: number;
  /** Process name (comm) as recorded; traced data. '' when unknown. */
  readonly process: string;
}

/** A period in which the events table holds only a sample (table `sampling`). */
export interface SampledPeriod {
  readonly node_id: number;
  readonly op: string | null;
  readonly source: string | null;
  readonly from_ns: number;
  readonly to_ns: number | null;
  readonly policy: string;
  readonly note: string;
}

/** What the capture lost (table `capture_loss`). */
export interface CaptureLoss {
  readonly node_id: number;
  readonly probe: string;
  readonly source: string | null;
  readonly emitted: number;
  readonly dropped: number;
  readonly note: string;
}

export interface DataQuality {
  /** Events lost during capture, summed over capture_loss. */
  readonly dropped_events: number;
  readonly losses: readonly CaptureLoss[];
  /** True when any part of the events table is a sample. */
  readonly sampled: boolean;
  readonly sampled_periods: readonly SampledPeriod[];
}

export interface StatsReport {
  readonly events: number;
  /** First event start and last event end. */
  readonly from_ns: number;
  readonly to_ns: number;
  readonly span_ns: number;
  /** Per op over the whole bundle, sorted by source then op id. */
  readonly ops: readonly OpStats[];
  /** Per (node, pid, op), sorted by node, pid, op id. */
  readonly by_process: readonly ProcessOpStats[];
  /** Per node and GPU: what the device executed (gpu-source events; empty for host-only bundles). */
  readonly gpus: readonly GpuDeviceActivity[];
  readonly data_quality: DataQuality;
}

/** One kernel name on one GPU: every launch configuration of the name together. */
export interface GpuKernelStats {
  /** Kernel name as the profiler gave it; traced data. */
  readonly name: string;
  readonly count: number;
  readonly total_ns: number;
  readonly p50_ns: number;
  readonly p99_ns: number;
  readonly max_ns: number;
}

/** How many pieces of one kind of GPU work ran, and their summed duration (overlaps counted twice). */
export interface GpuWorkTotal {
  readonly count: number;
  readonly total_ns: number;
}

/** What one GPU of one node executed (kernels, copies, sets) over the recording. */
export interface GpuDeviceActivity {
  readonly node_id: number;
  readonly node: string;
  /** CUDA device ordinal on the node. */
  readonly device: number;
  /** First GPU activity start and last end on this device. */
  readonly from_ns: number;
  readonly to_ns: number;
  readonly span_ns: number;
  /** Union of kernel, memcpy and memset intervals over all streams: overlapping work counts once. */
  readonly busy_ns: number;
  /** span_ns − busy_ns. */
  readonly idle_ns: number;
  /** busy_ns / span_ns (0 when the span is empty). */
  readonly busy_share: number;
  readonly streams: readonly number[];
  readonly kernel: GpuWorkTotal;
  readonly memcpy: GpuWorkTotal;
  readonly memset: GpuWorkTotal;
  /** Per kernel name, largest total first. */
  readonly kernels: readonly GpuKernelStats[];
}

export type Severity = 'HIGH' | 'MEDIUM' | 'LOW';

/** Kinds of finding the analyzer can produce; each has one detector in analyze/findings/<kind>.ts. */
export type FindingKind =
  | 'scheduler-tail-latency'
  | 'cpu-contention'
  | 'memory-pressure'
  | 'sync-stall'
  | 'memcpy-bottleneck'
  | 'cold-start'
  | 'periodic-spike'
  | 'throughput-drop'
  | 'gpu-contention'
  | 'io-interference'
  | 'network-interference'
  | 'process-lifecycle'
  | 'api-error'
  | 'allocator-churn'
  | 'host-bound'
  | 'gpu-thread-stall'
  | 'slow-call'
  // GPU-side findings (PyTorch profiler imports), analyze/findings/gpu-*.ts
  | 'gpu-idle'
  | 'launch-queueing'
  | 'late-launch'
  | 'kernel-regression'
  | 'comm-overlap';

/**
 * One link in a finding's chain of evidence. Chains run from the kernel up: HOST/IO/NET
 * (kernel) → CUDA (runtime) → DRIVER → PROCESS. Each item points at the events that support it:
 * a time window always, and a sample of event ids (ascending, at most a few dozen) when the
 * evidence is made of specific events.
 */
export interface Evidence {
  /** HOST, IO, NET, CUDA, DRIVER, GRAPH, PROCESS or SYSTEM. */
  readonly layer: string;
  /** What this item measures, e.g. latency, off-cpu, preemptor, rate, share, page-alloc, oom-kill. */
  readonly kind: string;
  /** The op the numbers are about ('' when several or none). */
  readonly op: string;
  /** One sentence with the numbers, for people. */
  readonly detail: string;
  /** The same numbers, machine-readable (ns, counts, ratios, bytes). */
  readonly values: Readonly<Record<string, number>>;
  readonly from_ns: number;
  readonly to_ns: number;
  readonly event_ids?: readonly number[];
  /** Node and process the item is about, when it is about one. */
  readonly node_id?: number;
  readonly pid?: number;
}

export interface Finding {
  /** Stable id: kind, node, pid and op, e.g. "sync-stall:0:4711:cudaDeviceSynchronize". */
  readonly id: string;
  readonly severity: Severity;
  readonly kind: FindingKind;
  /** The affected op ('' when the finding is about a process rather than one op). */
  readonly op: string;
  readonly node_id: number;
  readonly node: string;
  readonly pid: number;
  /** Affected process name; traced data. */
  readonly process: string;
  /** Window in which the problem shows. */
  readonly from_ns: number;
  readonly to_ns: number;
  /** One line an ML engineer understands at a glance. */
  readonly summary: string;
  readonly root_cause: string;
  readonly evidence: readonly Evidence[];
  readonly recommendations: readonly string[];
  /** What the data cannot show here (sampling, drops, missing fields), in words. */
  readonly caveats: readonly string[];
  /** Best estimate of the time the affected process lost to this problem (ranking key after severity). */
  readonly impact_ns: number;
  /** The affected op's statistics in the affected process (0 when op is ''). */
  readonly count: number;
  readonly p50_ns: number;
  readonly p99_ns: number;
  /**
   * How well the evidence supports root_cause: 'high' when the trace shows the cause directly,
   * 'medium' when it is inferred from data around the symptom, 'low' when the cause could not be
   * determined (the symptom is real; root_cause then says what the trace lacks).
   */
  readonly confidence: Confidence;
  /** Other causes considered for the same symptom, best first, each with why it ranks lower. */
  readonly alternatives: readonly Alternative[];
}

export type Confidence = 'high' | 'medium' | 'low';

/** A hypothesis weighed against a finding's symptom and ranked below its root cause. */
export interface Alternative {
  /** Short name of the cause: preemption, blocked-on-child, cold-start, host-bound, gpu-wait, memory, io, network, gpu-sharing, api-failure, ... */
  readonly cause: string;
  /** 'runner-up' for the second-best supported cause, 'rejected' when the data contradicts it, 'unsupported' when nothing in the trace supports it. */
  readonly verdict: 'runner-up' | 'rejected' | 'unsupported';
  /** One sentence with the numbers for or against it. */
  readonly detail: string;
}

/** A finding stored in the bundle by another tool (table imported_findings), shown apart. */
export interface ImportedFinding {
  readonly origin: string;
  readonly origin_id: string;
  readonly node_id: number;
  readonly severity: string;
  readonly op: string;
  readonly summary: string;
  readonly root_cause: string;
  readonly occurrences: number;
}

export interface ExplainReport {
  readonly bundle: {
    readonly events: number;
    readonly from_ns: number;
    readonly to_ns: number;
    readonly span_ns: number;
    readonly nodes: readonly string[];
    readonly producer: string;
    /** demo.scenario metadata when the bundle is synthetic, else ''. */
    readonly demo_scenario: string;
  };
  /** Ranked: severity, then impact, then kind/node/pid/op. */
  readonly findings: readonly Finding[];
  /** Things the analyzer could not judge from this bundle, in words. */
  readonly limitations: readonly string[];
  readonly data_quality: DataQuality;
  /** Thresholds in force (defaults with overrides applied). */
  readonly thresholds: Readonly<Record<string, number>>;
  /** Stored findings of other tools, never mixed with `findings`. */
  readonly imported_findings: readonly ImportedFinding[];
}
