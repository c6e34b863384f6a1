// ingero explain as a library: runs every detector over one bundle and ranks the findings.
// Pure: the answer depends on the bundle and the options only, in the same order every time.
import { escapeLayoutCharacters, type Bundle } from '../format/index.ts';
import { readFacts } from './bundle-facts.ts';
import { assignClaims } from './claims.ts';
import { AnalysisContext } from './context.ts';
import { EventIndex } from './event-index.ts';
import { detectAllocatorChurn } from './findings/allocator-churn.ts';
import { detectApiErrors } from './findings/api-error.ts';
import { detectColdStart } from './findings/cold-start.ts';
import { detectCommOverlap } from './findings/comm-overlap.ts';
import { detectCpuContention } from './findings/cpu-contention.ts';
import { detectGpuContention } from './findings/gpu-contention.ts';
import { detectGpuThreadStalls } from './findings/gpu-thread-stall.ts';
import { detectHostBound } from './findings/host-bound.ts';
import { detectGpuIdle } from './findings/gpu-idle.ts';
import { detectIoInterference } from './findings/io-interference.ts';
import { detectKernelRegression } from './findings/kernel-regression.ts';
import { detectLateLaunch } from './findings/late-launch.ts';
import { detectLaunchQueueing } from './findings/launch-queueing.ts';
import { detectMemcpyBottleneck } from './findings/memcpy-bottleneck.ts';
import { detectMemoryPressure } from './findings/memory-pressure.ts';
import { detectNetworkInterference } from './findings/network-interference.ts';
import { detectPeriodicSpike } from './findings/periodic-spike.ts';
import { detectProcessLifecycle } from './findings/process-lifecycle.ts';
import { detectSchedulerTailLatency } from './findings/scheduler-tail-latency.ts';
import { detectSlowCalls } from './findings/slow-call.ts';
import { detectSyncStall } from './findings/sync-stall.ts';
import { detectThroughputDrop } from './findings/throughput-drop.ts';
import { computeStats } from './stats.ts';
import { resolveThresholds } from './thresholds.ts';
import { count, dur } from './words.ts';
import type { ExplainReport, Finding, ImportedFinding, StatsReport } from './types.ts';

export interface ExplainOptions {
  /** Threshold overrides by name (see analyze/thresholds.ts). */
  readonly thresholds?: Readonly<Record<string, number>>;
  /** Stats already computed for this bundle (with the same selection). */
  readonly stats?: StatsReport;
  /** The bundle's events already in memory (new EventIndex(bundle)), when the caller has read them. */
  readonly index?: EventIndex;
  /**
   * Called as the analysis advances: fraction done in [0, 1] (non-decreasing, 1 at the end) and
   * the phase under way ('stats', then each detector's finding kind, then 'ranking').
   */
  readonly onProgress?: (fraction: number, phase: string) => void;
  /**
   * Analyse only events starting in [fromNs, toNs) (bundle clock) and only these processes:
   * statistics and the processes judged come from the selection, findings outside it are left
   * out. Other processes' events stay visible as context (who preempted, who forked).
   */
  readonly fromNs?: number;
  readonly toNs?: number;
  readonly pids?: readonly number[];
}

/** Each detector with the phase name onProgress reports while it runs. */
const DETECTORS: readonly (readonly [string, (ctx: AnalysisContext) => Finding[]])[] = [
  ['scheduler-tail-latency', detectSchedulerTailLatency],
  ['cpu-contention', detectCpuContention],
  ['memory-pressure', detectMemoryPressure],
  ['sync-stall', detectSyncStall],
  ['memcpy-bottleneck', detectMemcpyBottleneck],
  ['cold-start', detectColdStart],
  ['periodic-spike', detectPeriodicSpike],
  ['throughput-drop', detectThroughputDrop],
  ['gpu-contention', detectGpuContention],
  ['io-interference', detectIoInterference],
  ['network-interference', detectNetworkInterference],
  ['process-lifecycle', detectProcessLifecycle],
  ['api-error', detectApiErrors],
  ['gpu-thread-stall', detectGpuThreadStalls],
  ['host-bound', detectHostBound],
  ['allocator-churn', detectAllocatorChurn],
  ['gpu-idle', detectGpuIdle],
  ['launch-queueing', detectLaunchQueueing],
  ['late-launch', detectLateLaunch],
  ['kernel-regression', detectKernelRegression],
  ['comm-overlap', detectCommOverlap],
];

const SEVERITY_RANK = { HIGH: 0, MEDIUM: 1, LOW: 2 } as const;

/** Severity, then impact (largest first), then kind, node, pid, op: a total order. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    b.impact_ns - a.impact_ns ||
    (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) ||
    a.node_id - b.node_id ||
    a.pid - b.pid ||
    (a.op < b.op ? -1 : a.op > b.op ? 1 : 0)
  );
}

export function explain(bundle: Bundle, opts: ExplainOptions = {}): ExplainReport {
  const th = resolveThresholds(opts.thresholds);
  const progress = opts.onProgress ?? (() => {});
  // The one pass over the events takes about as long as statistics and detectors together: half.
  progress(0, 'stats');
  const index = opts.index ?? new EventIndex(bundle);
  const facts = readFacts(bundle, index);
  const selected = opts.fromNs !== undefined || opts.toNs !== undefined || opts.pids !== undefined;
  const stats = opts.stats ?? computeStats(bundle, { facts, index, fromNs: opts.fromNs, toNs: opts.toNs, pids: opts.pids });
  const ctx = new AnalysisContext(bundle, facts, stats, th, index, { from: opts.fromNs ?? -Infinity, to: opts.toNs ?? Infinity });
  const found: Finding[] = [];
  DETECTORS.forEach(([phase, detect], i) => {
    progress(0.5 + (0.5 * i) / DETECTORS.length, phase);
    found.push(...detect(ctx));
  });
  // Slow individual calls are judged last: only the ones no other finding explains are reported.
  found.push(...detectSlowCalls(ctx, found));
  progress(1, 'ranking');
  // Ranked, then each symptom kept by the best-ranked finding that explains it (analyze/claims.ts).
  const inSelection = (f: Finding) => (opts.fromNs === undefined || f.to_ns >= opts.fromNs) && (opts.toNs === undefined || f.from_ns < opts.toNs) && (!opts.pids || opts.pids.includes(f.pid));
  const findings = assignClaims(found.filter(inSelection).sort(compareFindings));
  if (selected) ctx.limitations.push(`Only ${[opts.fromNs !== undefined || opts.toNs !== undefined ? `events from ${opts.fromNs === undefined ? 'the start' : dur(opts.fromNs)} to ${opts.toNs === undefined ? 'the end' : dur(opts.toNs)} (bundle clock)` : '', opts.pids ? `process${opts.pids.length === 1 ? '' : 'es'} ${opts.pids.join(', ')}` : ''].filter(Boolean).join(' of ')} were analysed: ${stats.events} events; other processes' events were read only as context.`);
  if (ctx.gpuProcesses.length === 0) ctx.limitations.push('The bundle has no CUDA or driver API calls, so there is no GPU work to explain.');
  // Said here, not only in data_quality: a reader of findings alone (an agent, the TUI) must
  // learn that no finding, or a milder one, may come from events that were never recorded.
  const dropped = facts.dataQuality.dropped_events;
  if (dropped > 0) ctx.limitations.push(`${count(dropped, 'event')} ${dropped === 1 ? 'was' : 'were'} dropped during capture (data_quality.losses): counts are lower bounds, and problems within the lost data cannot be seen.`);
  // Analysis keys processes by (node, pid): a pid reused during the recording is one process to it.
  const REUSED_LISTED = 5;
  for (const r of facts.reusedPids.slice(0, REUSED_LISTED)) {
    ctx.limitations.push(`pid ${r.pid}${facts.nodes.size > 1 ? ` on ${ctx.nodeName(r.node_id)}` : ''} named ${r.comms.length} processes during the recording (${r.comms.map((c) => c || 'unnamed').join(', then ')}): its statistics and findings combine them under the first name.`);
  }
  if (facts.reusedPids.length > REUSED_LISTED) ctx.limitations.push(`${facts.reusedPids.length - REUSED_LISTED} more pids were reused during the recording; each one's statistics combine its processes (table processes lists them).`);
  const meta = bundle.metadata();
  return {
    bundle: {
      events: facts.events,
      from_ns: facts.from_ns,
      to_ns: facts.to_ns,
      span_ns: facts.to_ns - facts.from_ns,
      nodes: [...facts.nodes.values()],
      producer: `${bundle.manifest.producer.name} ${bundle.manifest.producer.version} (${bundle.manifest.producer.command})`,
      demo_scenario: typeof meta['demo.scenario'] === 'string' ? (meta['demo.scenario'] as string) : '',
    },
    findings,
    limitations: [...new Set(ctx.limitations)],
    data_quality: facts.dataQuality,
    thresholds: { ...th },
    imported_findings: importedFindings(bundle),
  };
}

function importedFindings(bundle: Bundle): ImportedFinding[] {
  return bundle.db
    .prepare("SELECT origin, origin_id, node_id, severity, op, summary, root_cause, occurrences FROM imported_findings ORDER BY CASE severity WHEN 'HIGH' THEN 0 WHEN 'MEDIUM' THEN 1 WHEN 'LOW' THEN 2 ELSE 3 END, node_id, origin, origin_id, id")
    .all() as ImportedFinding[];
}

/** JSON with object keys sorted at every level: byte-identical for equal values. */
export function canonicalJson(value: unknown, indent = 2): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
    return v;
  };
  // Traced strings in findings reach terminals: their bidi and zero-width characters as \uXXXX.
  return escapeLayoutCharacters(JSON.stringify(sortKeys(value), null, indent));
}
