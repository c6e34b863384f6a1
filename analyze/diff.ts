// ingero diff as a library: what changed between two recordings (BEFORE → AFTER), e.g. across a
// fix, a driver upgrade or a config change. Pure: the answer depends on the two bundles and the
// options only, in the same order every time.
//
// Each side is summarized with computeStats and explain (so percentiles and findings are exactly
// what `ingero stats` and `ingero explain` say about that bundle), then the summaries are compared:
// - ops are matched by name (and, with byProcess, by process name + op: pids differ between runs;
//   processes sharing a name on one side are merged, their percentiles taken over all their calls);
// - counts become rates per second of each recording and total time a share of it, because two
//   recordings rarely have the same length; where a side's events are only a sample (table
//   sampling), counts and times come from op_aggregates when it has them and are not compared
//   otherwise, and latencies of sampled ops are shown but never flagged;
// - an op is flagged when its p50 or p99 moved by latencyRatio or more with at least minSample
//   events on each side; below that it says "too few events" instead of guessing;
// - explain's findings are matched by kind + op + process name: new, gone or persisting;
// - host facts (GPU, driver, CUDA, kernel, CPUs) that differ are listed: often the cause.
import type { Bundle } from '../format/index.ts';
import { EventIndex } from './event-index.ts';
import { explain, compareFindings } from './explain.ts';
import { forEachGpuWork, GPU_WORK_OPS, kernelNames } from './gpu-activity.ts';
import { F64List } from './scan.ts';
import { computeStats, summarize } from './stats.ts';
import { withOverrides } from './thresholds.ts';
import { dur, round4 } from './words.ts';
import type { DataQuality, ExplainReport, Finding, FindingKind, OpStats, ProcessOpStats, Severity, StatsReport } from './types.ts';

/** What diff judges by; each can be overridden (`ingero diff A B --threshold latencyRatio=2`). */
export const DIFF_THRESHOLDS = {
  /** p50 or p99 after/before at or above this is a regression; at or below its inverse, an improvement. */
  latencyRatio: 1.5,
  /** Events an op needs on EACH side before its latency is judged; fewer is "too few events". */
  minSample: 50,
  /** Longer/shorter recording length from which a caveat says the recordings differ a lot. */
  spanRatio: 2,
} as const;

export type DiffThresholdName = keyof typeof DIFF_THRESHOLDS;
export type DiffThresholds = { readonly [K in DiffThresholdName]: number };

/** Diff thresholds with overrides applied; throws an Error naming the problem for unknown names or bad values. */
export function resolveDiffThresholds(overrides: Readonly<Record<string, number>> = {}): DiffThresholds {
  const out = withOverrides(DIFF_THRESHOLDS, overrides);
  if (out.latencyRatio <= 1) throw new Error(`threshold latencyRatio must be above 1, got ${out.latencyRatio}`);
  return out;
}

export interface DiffOptions {
  /** Also compare per process (matched by process name + op). */
  readonly byProcess?: boolean;
  /** Only these ops (rows and findings); empty or absent: all. */
  readonly ops?: readonly string[];
  /** Only rows with at least this many events on at least one side. */
  readonly minEvents?: number;
  readonly thresholds?: Readonly<Record<string, number>>;
}

// ---------------------------------------------------------------------------------------------
// One side

/** Complete count and time of one op (or process × op) from op_aggregates. */
interface Complete {
  readonly count: number;
  readonly total_ns: number;
}

/** An op, or one process name's calls of an op, on one side, before comparison. */
interface Row {
  readonly op: string;
  readonly source: string;
  readonly process: string;
  readonly pids: number;
  readonly stats: Omit<OpStats, 'op' | 'op_id' | 'source' | 'layer'>;
  /** Complete counts when the events are a sample and op_aggregates has them. */
  readonly complete: Complete | null;
  /** Sampling policies that cover this op ([] when the events are a census). */
  readonly sampled: readonly string[];
}

/** Everything diff needs from one bundle; computed once per side. */
export interface SideSummary {
  readonly sha256: string;
  readonly events: number;
  readonly span_ns: number;
  readonly nodes: readonly string[];
  readonly producer: string;
  readonly demo_scenario: string;
  readonly data_quality: DataQuality;
  readonly ops: readonly Row[];
  /** Per process name × op; present when summarized with byProcess. */
  readonly processes: readonly Row[] | null;
  /** Per GPU kernel name over all GPUs of the bundle (PyTorch profiler imports; [] otherwise). */
  readonly kernels: readonly Row[];
  readonly findings: readonly Finding[];
  /** Host facts by metadata key, as display strings. */
  readonly setup: Readonly<Record<string, string>>;
}

/** What summarizeSide starts from when the caller has it already (the MCP server's precompute): stats and explain's report must come from this index. */
export interface SideAnalysis {
  readonly index: EventIndex;
  readonly stats: StatsReport;
  readonly explain: ExplainReport;
}

export function summarizeSide(bundle: Bundle, opts: Pick<DiffOptions, 'byProcess'> & { readonly analysis?: SideAnalysis } = {}): SideSummary {
  // One pass over the events for stats, explain and the merged per-process rows.
  const index = opts.analysis?.index ?? new EventIndex(bundle);
  const stats = opts.analysis?.stats ?? computeStats(bundle, { index });
  const report = opts.analysis?.explain ?? explain(bundle, { stats, index });
  const aggregates = readAggregates(bundle);
  const dq = stats.data_quality;
  const ops: Row[] = stats.ops.map((s) => {
    const sampled = samplingPolicies(dq, s.op, s.source);
    return { op: s.op, source: s.source, process: '', pids: 0, stats: s, sampled, complete: sampled.length ? opComplete(aggregates.get(s.op_id) ?? []) : null };
  });
  return {
    sha256: bundle.manifest.database.sha256,
    events: stats.events,
    span_ns: stats.span_ns,
    nodes: report.bundle.nodes,
    producer: report.bundle.producer,
    demo_scenario: report.bundle.demo_scenario,
    data_quality: dq,
    ops,
    processes: opts.byProcess ? processRows(index, stats, aggregates) : null,
    kernels: kernelRows(bundle, index),
    findings: report.findings,
    setup: setupFacts(bundle.metadata()),
  };
}

/** Kernel durations per name across every GPU, summarized exactly (kernels are GPU work: never sampled). */
function kernelRows(bundle: Bundle, index: EventIndex): Row[] {
  // The index knows whether there is any kernel row: without, no scan of the events for them.
  if (index.whole && !index.groups.some((g) => g.op === GPU_WORK_OPS.kernel)) return [];
  const names = kernelNames(bundle);
  const byName = new Map<string, { durations: F64List; first: number; last: number }>();
  forEachGpuWork(bundle, (w) => {
    if (w.op !== GPU_WORK_OPS.kernel) return;
    const name = names.get(w.kernel) ?? `kernel #${w.kernel}`;
    let k = byName.get(name);
    if (!k) byName.set(name, (k = { durations: new F64List(), first: w.ts, last: w.ts }));
    k.durations.push(w.end - w.ts);
    k.last = w.ts;
  });
  return [...byName].map(([name, k]) => ({ op: name, source: 'gpu', process: '', pids: 0, stats: { ...summarize(k.durations.toArray().sort()), first_ns: k.first, last_ns: k.last }, sampled: [], complete: null }));
}

interface AggregateRow {
  readonly node: number;
  readonly width: number;
  readonly op: number;
  readonly pid: number;
  readonly count: number;
  readonly total_ns: number;
}

/** op_aggregates summed per (node, width, op, pid), grouped by op id. */
function readAggregates(bundle: Bundle): Map<number, AggregateRow[]> {
  // total() sums as doubles (never overflows on hostile values); rows that are not non-negative
  // integers are left out rather than trusted.
  const rows = bundle.db
    .prepare(
      `SELECT node_id AS node, width_ns AS width, op_id AS op, pid, total(count) AS count, total(sum_dur_ns) AS total_ns FROM op_aggregates
       WHERE typeof(node_id) = 'integer' AND typeof(width_ns) = 'integer' AND typeof(op_id) = 'integer' AND typeof(pid) = 'integer'
         AND typeof(count) = 'integer' AND count >= 0 AND typeof(sum_dur_ns) = 'integer' AND sum_dur_ns >= 0
       GROUP BY node_id, width_ns, op_id, pid ORDER BY node_id, width_ns, op_id, pid`,
    )
    .all() as AggregateRow[];
  const byOp = new Map<number, AggregateRow[]>();
  for (const r of rows) {
    const list = byOp.get(r.op);
    if (list) list.push(r);
    else byOp.set(r.op, [r]);
  }
  return byOp;
}

/**
 * Counts of a set of aggregate rows. Buckets of different widths describe the same events
 * (an import carries Ingero's 1-minute and 5-second tables, the shorter one kept for less time),
 * so they are never added up: the width that saw the most events wins.
 */
function bestWidth(rows: readonly AggregateRow[]): Complete | null {
  const byWidth = new Map<number, { count: number; total_ns: number }>();
  for (const r of rows) {
    const w = byWidth.get(r.width) ?? { count: 0, total_ns: 0 };
    w.count += r.count;
    w.total_ns += r.total_ns;
    byWidth.set(r.width, w);
  }
  let best: Complete | null = null;
  for (const w of byWidth.values()) if (!best || w.count > best.count) best = w;
  return best;
}

/** Per node: per-process rows or node-wide (pid 0) rows, whichever saw more (never both: the node-wide ones include the others). */
function opComplete(mine: readonly AggregateRow[]): Complete | null {
  if (mine.length === 0) return null;
  let count = 0;
  let total = 0;
  for (const node of new Set(mine.map((r) => r.node))) {
    const perPid = bestWidth(mine.filter((r) => r.node === node && r.pid !== 0));
    const nodeWide = bestWidth(mine.filter((r) => r.node === node && r.pid === 0));
    const pick = (perPid?.count ?? -1) >= (nodeWide?.count ?? -1) ? perPid : nodeWide;
    count += pick?.count ?? 0;
    total += pick?.total_ns ?? 0;
  }
  return { count, total_ns: total };
}

function samplingPolicies(dq: DataQuality, op: string, source: string): string[] {
  const hits = dq.sampled_periods.filter((s) => s.op === op || (s.op === null && (s.source === null || s.source === source)));
  return [...new Set(hits.map((s) => s.policy))].sort();
}

/**
 * Rows per (process name, op). A name held by one pid takes that pid's stats as they are; a name
 * held by several (DataLoader workers, a restarted job) is summarized again over all their calls
 * with stats' own summarize, so its percentiles mean what they mean everywhere else.
 */
function processRows(index: EventIndex, stats: StatsReport, aggregates: ReadonlyMap<number, readonly AggregateRow[]>): Row[] {
  const groups = new Map<string, ProcessOpStats[]>();
  for (const s of stats.by_process) {
    const key = `${s.process}\u0000${s.op}`;
    const g = groups.get(key);
    if (g) g.push(s);
    else groups.set(key, [s]);
  }
  const merged = mergedDurations(index, [...groups.values()].filter((g) => g.length > 1));
  const perPid = new Map<string, AggregateRow[]>();
  for (const list of aggregates.values()) {
    for (const r of list) {
      if (r.pid === 0) continue;
      const k = `${r.node}:${r.pid}:${r.op}`;
      const l = perPid.get(k);
      if (l) l.push(r);
      else perPid.set(k, [r]);
    }
  }
  const rows: Row[] = [];
  for (const [key, members] of groups) {
    const first = members[0]!;
    const sampled = samplingPolicies(stats.data_quality, first.op, first.source);
    let complete: Complete | null = null;
    if (sampled.length) complete = bestWidth(members.flatMap((m) => perPid.get(`${m.node_id}:${m.pid}:${m.op_id}`) ?? []));
    const summary =
      members.length === 1
        ? first
        : {
            ...summarize(merged.get(key)!),
            first_ns: members.reduce((t, m) => Math.min(t, m.first_ns), Infinity),
            last_ns: members.reduce((t, m) => Math.max(t, m.last_ns), -Infinity),
          };
    rows.push({ op: first.op, source: first.source, process: first.process, pids: new Set(members.map((m) => `${m.node_id}:${m.pid}`)).size, stats: summary, sampled, complete });
  }
  return rows;
}

/** Sorted durations of every multi-pid group, gathered from the event index in one walk. */
function mergedDurations(index: EventIndex, multi: readonly ProcessOpStats[][]): Map<string, Float64Array | Uint32Array> {
  // Each group's rows go to one contiguous range of a shared array, sorted in place afterwards.
  const entryOf = new Map<string, number>();
  multi.forEach((members, e) => {
    for (const m of members) entryOf.set(`${m.node_id}:${m.pid}:${m.op_id}`, e);
  });
  const slot = new Int32Array(index.groups.length).fill(-1);
  const sizes = new Float64Array(multi.length);
  for (const g of index.groups) {
    const e = entryOf.get(`${g.node}:${g.pid}:${g.op}`);
    if (e !== undefined) (slot[g.index] = e), (sizes[e]! += g.count);
  }
  const offsets = new Float64Array(multi.length);
  for (let e = 1; e < multi.length; e++) offsets[e] = offsets[e - 1]! + sizes[e - 1]!;
  const starts = offsets.slice();
  const length = multi.length ? offsets[multi.length - 1]! + sizes[multi.length - 1]! : 0;
  // As computeStats does: 32-bit durations sort in about half the time of doubles, to the same order.
  const all = index.durationsFit32() ? new Uint32Array(length) : new Float64Array(length);
  index.scatterDurations(0, index.rowCount, slot, offsets, all);
  const out = new Map<string, Float64Array | Uint32Array>();
  multi.forEach((members, e) => out.set(`${members[0]!.process}\u0000${members[0]!.op}`, all.subarray(starts[e]!, starts[e]! + sizes[e]!).sort()));
  return out;
}

/** Host facts worth comparing; a fact may be stored under several keys by different producers. */
const SETUP_FACTS: readonly (readonly [string, readonly string[]])[] = [
  ['GPU model', ['gpu.model']],
  ['GPU count', ['gpu.count']],
  ['GPU memory', ['gpu.memory_bytes']],
  ['GPU driver', ['gpu.driver_version']],
  ['CUDA runtime', ['cuda.runtime_version']],
  ['kernel', ['host.kernel']],
  ['OS', ['host.os']],
  ['CPU model', ['host.cpu_model']],
  ['CPU cores', ['host.cpu_cores', 'host.cpus']],
  ['host memory', ['host.mem_bytes', 'host.memory_bytes', 'host.mem_total_bytes']],
  ['host name', ['host.hostname']],
];
const SETUP_PREFIXES = ['host.', 'gpu.', 'cuda.'];
/** Metadata is traced data of any size: values are compared and shown up to this length. */
const SETUP_VALUE_CHARS = 200;

function setupFacts(meta: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const known = new Set(SETUP_FACTS.flatMap(([, keys]) => keys));
  const show = (v: unknown) => {
    const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    return s.length > SETUP_VALUE_CHARS ? `${s.slice(0, SETUP_VALUE_CHARS)}…` : s;
  };
  for (const [label, keys] of SETUP_FACTS) {
    const key = keys.find((k) => meta[k] !== undefined && meta[k] !== null && meta[k] !== '');
    if (key) out[label] = show(meta[key]);
  }
  for (const k of Object.keys(meta).sort()) if (!known.has(k) && SETUP_PREFIXES.some((p) => k.startsWith(p))) out[k] = show(meta[k]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison

export type CountBasis = 'events' | 'op_aggregates' | 'sample';

export interface DiffSide {
  /** Events stored in the bundle. */
  readonly events: number;
  /** Calls made: events, or op_aggregates' complete count where events are a sample; null when only a sample is known. */
  readonly count: number | null;
  readonly count_basis: CountBasis;
  /** count per second of the recording's span; null when count is. */
  readonly rate_per_s: number | null;
  /** Summed duration of the calls (same basis as count); null when only a sample is known. */
  readonly total_ns: number | null;
  /** total_ns / span of the recording: summed over threads, so it can pass 1. */
  readonly share: number | null;
  /** Latencies of the stored events (computeStats); a sample's when sampling is non-empty. */
  readonly p50_ns: number;
  readonly p99_ns: number;
  readonly max_ns: number;
  /** Sampling policies covering this op on this side ([] when the events are complete). */
  readonly sampling: readonly string[];
  /** Pids merged into this row (process rows only, else 0). */
  readonly pids: number;
}

export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'too-few-events' | 'sampled' | 'only-before' | 'only-after';

export interface OpChange {
  readonly op: string;
  readonly source: string;
  /** Process name for process rows; '' for op rows. Traced data. */
  readonly process: string;
  readonly before: DiffSide | null;
  readonly after: DiffSide | null;
  /** after/before ratios (null when a side is missing, a count is not comparable or before is 0 and after is not). */
  readonly rate_ratio: number | null;
  readonly p50_ratio: number | null;
  readonly p99_ratio: number | null;
  readonly max_ratio: number | null;
  /** after − before; a side without the op counts as 0 unless it was sampled there (null when not comparable). */
  readonly total_delta_ns: number | null;
  readonly share_delta: number | null;
  readonly verdict: Verdict;
  /** Why, in words with the numbers and the threshold. */
  readonly reasons: readonly string[];
}

export interface FindingChange {
  readonly status: 'new' | 'gone' | 'persisting';
  readonly kind: FindingKind;
  readonly op: string;
  /** Process name (traced data); '' when the finding is about a node. */
  readonly process: string;
  readonly severity_before: Severity | null;
  readonly severity_after: Severity | null;
  /** Findings of this key on each side (several pids may share a name). */
  readonly instances_before: number;
  readonly instances_after: number;
  readonly impact_before_ns: number;
  readonly impact_after_ns: number;
  /** The summary of the top finding of this key, after's when it has one. */
  readonly summary: string;
}

export interface SetupChange {
  readonly fact: string;
  readonly before: string | null;
  readonly after: string | null;
}

/** What the report says of each side: its identity and size, data quality and findings in counts. */
export interface SideInfo extends Pick<SideSummary, 'sha256' | 'events' | 'span_ns' | 'nodes' | 'producer' | 'demo_scenario'> {
  readonly sampled: boolean;
  readonly dropped_events: number;
  readonly findings: { readonly HIGH: number; readonly MEDIUM: number; readonly LOW: number };
}

export interface DiffReport {
  readonly before: SideInfo;
  readonly after: SideInfo;
  readonly thresholds: DiffThresholds;
  readonly filters: { readonly ops: readonly string[]; readonly min_events: number; readonly by_process: boolean };
  /** Over ops (and process rows with byProcess). */
  readonly summary: { readonly regressions: number; readonly improvements: number; readonly unchanged: number; readonly not_judged: number };
  /** Sorted by |share_delta| (time per second of recording), then |log p99_ratio|, then name. */
  readonly ops: readonly OpChange[];
  /** Per process name × op (byProcess only; else empty), sorted like ops. */
  readonly processes: readonly OpChange[];
  /** Per GPU kernel name (op is the kernel name), sorted like ops; empty without GPU activity. */
  readonly kernels: readonly OpChange[];
  /** New first, then persisting, then gone; by severity, kind, op, process within. */
  readonly findings: readonly FindingChange[];
  readonly setup_changes: readonly SetupChange[];
  /** What makes the comparison weaker, in words. */
  readonly caveats: readonly string[];
}

export function diffBundles(before: Bundle, after: Bundle, opts: DiffOptions = {}): DiffReport {
  return diffSides(summarizeSide(before, opts), summarizeSide(after, opts), opts);
}

export function diffSides(b: SideSummary, a: SideSummary, opts: DiffOptions = {}): DiffReport {
  const th = resolveDiffThresholds(opts.thresholds);
  const only = new Set(opts.ops ?? []);
  const minEvents = opts.minEvents ?? 0;
  const keep = (r: OpChange) => (only.size === 0 || only.has(r.op)) && Math.max(r.before?.events ?? 0, r.after?.events ?? 0) >= minEvents;
  const ops = compareRows(b.ops, a.ops, b, a, th).filter(keep);
  const allProcesses = opts.byProcess && b.processes && a.processes ? compareRows(b.processes, a.processes, b, a, th) : [];
  const processes = allProcesses.filter(keep);
  const kernels = compareRows(b.kernels, a.kernels, b, a, th).filter(keep);
  const judged = [...ops, ...processes, ...kernels];
  const findings = compareFindingSets(b.findings, a.findings).filter((f) => only.size === 0 || only.has(f.op));
  return {
    before: sideInfo(b),
    after: sideInfo(a),
    thresholds: th,
    filters: { ops: [...only].sort(), min_events: minEvents, by_process: Boolean(opts.byProcess) },
    summary: {
      regressions: judged.filter((r) => r.verdict === 'regression').length,
      improvements: judged.filter((r) => r.verdict === 'improvement').length,
      unchanged: judged.filter((r) => r.verdict === 'unchanged').length,
      not_judged: judged.filter((r) => !['regression', 'improvement', 'unchanged'].includes(r.verdict)).length,
    },
    ops,
    processes,
    kernels,
    findings,
    setup_changes: compareSetup(b.setup, a.setup),
    caveats: [
      ...caveats(b, a, th),
      ...(allProcesses.length && !allProcesses.some((r) => r.before && r.after) ? ['No process name calls the same op in both recordings, so the per-process comparison matches nothing (a renamed binary or launcher?); compare the op rows instead.'] : []),
    ],
  };
}

function sideInfo(s: SideSummary): SideInfo {
  const n = (sev: Severity) => s.findings.filter((f) => f.severity === sev).length;
  return {
    sha256: s.sha256,
    events: s.events,
    span_ns: s.span_ns,
    nodes: s.nodes,
    producer: s.producer,
    demo_scenario: s.demo_scenario,
    sampled: s.data_quality.sampled,
    dropped_events: s.data_quality.dropped_events,
    findings: { HIGH: n('HIGH'), MEDIUM: n('MEDIUM'), LOW: n('LOW') },
  };
}

const rowKey = (r: Row) => `${r.process}\u0000${r.op}`;

function compareRows(before: readonly Row[], after: readonly Row[], b: SideSummary, a: SideSummary, th: DiffThresholds): OpChange[] {
  const bi = new Map(before.map((r) => [rowKey(r), r]));
  const ai = new Map(after.map((r) => [rowKey(r), r]));
  const keys = [...new Set([...bi.keys(), ...ai.keys()])];
  return keys.map((k) => compareRow(bi.get(k), ai.get(k), b, a, th)).sort(byImportance);
}

function side(r: Row, spanNs: number): DiffSide {
  const s = r.stats;
  const basis: CountBasis = r.sampled.length === 0 ? 'events' : r.complete ? 'op_aggregates' : 'sample';
  // Aggregates and stored events are never reconciled (spec): a count below the stored rows is not complete.
  const count = basis === 'events' ? s.count : basis === 'op_aggregates' ? Math.max(r.complete!.count, s.count) : null;
  const total = basis === 'events' ? s.total_ns : basis === 'op_aggregates' ? Math.max(r.complete!.total_ns, s.total_ns) : null;
  return {
    events: s.count,
    count,
    count_basis: basis,
    rate_per_s: count !== null && spanNs > 0 ? round4(count / (spanNs / 1e9)) : null,
    total_ns: total,
    share: total !== null && spanNs > 0 ? round4(total / spanNs) : null,
    p50_ns: s.p50_ns,
    p99_ns: s.p99_ns,
    max_ns: s.max_ns,
    sampling: r.sampled,
    pids: r.pids,
  };
}

/** A ratio in words, readable on both sides of 1: 3.02x, 0.67x, 0.024x, 41x. */
export function ratioText(r: number): string {
  return `${r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}

/** after/before, 1 when both are 0, null when only before is 0 (no finite ratio). */
function ratio(before: number | null | undefined, after: number | null | undefined): number | null {
  if (before === null || before === undefined || after === null || after === undefined) return null;
  if (before === 0) return after === 0 ? 1 : null;
  return round4(after / before);
}

function compareRow(br: Row | undefined, ar: Row | undefined, bs: SideSummary, as: SideSummary, th: DiffThresholds): OpChange {
  const any = (br ?? ar)!;
  const b = br ? side(br, bs.span_ns) : null;
  const a = ar ? side(ar, as.span_ns) : null;
  // An op missing from one side took no time there, unless that side only kept a sample of it:
  // an op that appears (or vanishes) with seconds of time is among the biggest changes.
  const none = (s: SideSummary) => (samplingPolicies(s.data_quality, any.op, any.source).length ? null : 0);
  const bTotal = b ? b.total_ns : none(bs);
  const aTotal = a ? a.total_ns : none(as);
  const bShare = b ? b.share : none(bs);
  const aShare = a ? a.share : none(as);
  const p50 = ratio(b?.p50_ns, a?.p50_ns);
  const p99 = ratio(b?.p99_ns, a?.p99_ns);
  const judged = judge(b, a, p50, p99, th);
  return {
    op: any.op,
    source: any.source,
    process: any.process,
    before: b,
    after: a,
    rate_ratio: ratio(b?.rate_per_s, a?.rate_per_s),
    p50_ratio: p50,
    p99_ratio: p99,
    max_ratio: ratio(b?.max_ns, a?.max_ns),
    total_delta_ns: bTotal !== null && aTotal !== null ? aTotal - bTotal : null,
    share_delta: bShare !== null && aShare !== null ? round4(aShare - bShare) : null,
    ...judged,
  };
}

function judge(b: DiffSide | null, a: DiffSide | null, p50: number | null, p99: number | null, th: DiffThresholds): { verdict: Verdict; reasons: string[] } {
  if (!b) return { verdict: 'only-after', reasons: [`not in the BEFORE recording; ${a!.events} events after`] };
  if (!a) return { verdict: 'only-before', reasons: [`not in the AFTER recording; ${b.events} events before`] };
  if (b.sampling.length || a.sampling.length) {
    const which = [b.sampling.length ? `BEFORE (${b.sampling.join(', ')})` : '', a.sampling.length ? `AFTER (${a.sampling.join(', ')})` : ''].filter(Boolean).join(' and ');
    return { verdict: 'sampled', reasons: [`events are a sample in ${which}: latencies describe the stored events only and are not judged`] };
  }
  if (Math.min(b.events, a.events) < th.minSample) return { verdict: 'too-few-events', reasons: [`too few events to judge: ${b.events} before, ${a.events} after (${th.minSample} needed on each side)`] };
  const worse: string[] = [];
  const better: string[] = [];
  for (const [name, r, bv, av] of [['p50', p50, b.p50_ns, a.p50_ns], ['p99', p99, b.p99_ns, a.p99_ns]] as const) {
    if (r === null) continue;
    const text = `${name} ${ratioText(r)} (${dur(bv)} → ${dur(av)})`;
    if (r >= th.latencyRatio) worse.push(`${text} ≥ ${ratioText(th.latencyRatio)}`);
    else if (r <= 1 / th.latencyRatio) better.push(`${text} ≤ ${ratioText(1 / th.latencyRatio)}`);
  }
  if (worse.length) return { verdict: 'regression', reasons: [...worse, ...better] };
  if (better.length) return { verdict: 'improvement', reasons: better };
  return { verdict: 'unchanged', reasons: [] };
}

/** Largest change of time per second of recording first, then the largest p99 change either way, then by name. */
function byImportance(x: OpChange, y: OpChange): number {
  const shareKey = (r: OpChange) => (r.share_delta === null ? -1 : Math.abs(r.share_delta));
  const p99Key = (r: OpChange) => (r.p99_ratio === null || r.p99_ratio === 0 ? -1 : Math.abs(Math.log(r.p99_ratio)));
  return shareKey(y) - shareKey(x) || p99Key(y) - p99Key(x) || (x.op < y.op ? -1 : x.op > y.op ? 1 : 0) || (x.process < y.process ? -1 : x.process > y.process ? 1 : 0);
}

const SEVERITY_RANK: Record<Severity, number> = { HIGH: 0, MEDIUM: 1, LOW: 2 };
const STATUS_RANK = { new: 0, persisting: 1, gone: 2 } as const;

/** Findings keyed by kind + op + process name (pids differ between runs); explain's ranking within a key. */
function groupFindings(findings: readonly Finding[]): Map<string, Finding[]> {
  const out = new Map<string, Finding[]>();
  for (const f of [...findings].sort(compareFindings)) {
    const key = `${f.kind}\u0000${f.op}\u0000${f.process}`;
    const g = out.get(key);
    if (g) g.push(f);
    else out.set(key, [f]);
  }
  return out;
}

function compareFindingSets(before: readonly Finding[], after: readonly Finding[]): FindingChange[] {
  const bg = groupFindings(before);
  const ag = groupFindings(after);
  const out: FindingChange[] = [];
  for (const key of new Set([...bg.keys(), ...ag.keys()])) {
    const b = bg.get(key) ?? [];
    const a = ag.get(key) ?? [];
    const top = (a[0] ?? b[0])!;
    const impact = (fs: Finding[]) => fs.reduce((t, f) => t + f.impact_ns, 0);
    out.push({
      status: b.length === 0 ? 'new' : a.length === 0 ? 'gone' : 'persisting',
      kind: top.kind,
      op: top.op,
      process: top.process,
      severity_before: b[0]?.severity ?? null,
      severity_after: a[0]?.severity ?? null,
      instances_before: b.length,
      instances_after: a.length,
      impact_before_ns: impact(b),
      impact_after_ns: impact(a),
      summary: top.summary,
    });
  }
  const sev = (f: FindingChange) => SEVERITY_RANK[(f.severity_after ?? f.severity_before)!];
  const text = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return out.sort((x, y) => STATUS_RANK[x.status] - STATUS_RANK[y.status] || sev(x) - sev(y) || text(x.kind, y.kind) || text(x.op, y.op) || text(x.process, y.process));
}

function compareSetup(b: Readonly<Record<string, string>>, a: Readonly<Record<string, string>>): SetupChange[] {
  const facts = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  return facts.filter((f) => b[f] !== a[f]).map((f) => ({ fact: f, before: b[f] ?? null, after: a[f] ?? null }));
}

function caveats(b: SideSummary, a: SideSummary, th: DiffThresholds): string[] {
  const out: string[] = [];
  for (const [name, s] of [['BEFORE', b], ['AFTER', a]] as const) {
    if (s.events === 0) out.push(`The ${name} recording holds no events: every op in the other one shows as only-${name === 'BEFORE' ? 'after' : 'before'}.`);
    const sampled = s.ops.filter((r) => r.sampled.length);
    if (sampled.length) {
      const policies = [...new Set(sampled.flatMap((r) => r.sampled))].sort().join(', ');
      const withCounts = sampled.filter((r) => r.complete).map((r) => r.op);
      const without = sampled.filter((r) => !r.complete).map((r) => r.op);
      out.push(
        `${name}: the events of ${sampled.length} op(s) are only a sample (${policies}): their latencies describe the stored events and are not judged` +
          (withCounts.length ? `; counts and times of ${withCounts.join(', ')} come from op_aggregates (complete counts)` : '') +
          (without.length ? `; ${without.join(', ')} have no complete counts, so their counts, rates and time shares are not compared` : '') +
          '.',
      );
    }
    if (s.data_quality.dropped_events > 0) out.push(`${name}: ${s.data_quality.dropped_events} events were dropped during capture: its counts, rates and times are lower bounds.`);
  }
  const [short, long] = [Math.min(b.span_ns, a.span_ns), Math.max(b.span_ns, a.span_ns)];
  if (short > 0 && long / short >= th.spanRatio) {
    out.push(`The recordings differ in length (${dur(b.span_ns)} before, ${dur(a.span_ns)} after): counts are compared as rates per second and time as a share of each recording, but problems that take time to show (throughput drops, periodic spikes, warm-up) may appear in only one.`);
  }
  if (b.nodes.length !== a.nodes.length) out.push(`The recordings cover ${b.nodes.length} and ${a.nodes.length} node(s): ops are summed over all nodes of each.`);
  return out;
}
