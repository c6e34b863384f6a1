// What the summary tools answer from, computed once per bundle: exact stats, the analyzer's
// findings, stack use per op, the whole-recording timeline, the side ingero diff compares
// (compare_bundles), built from the same stats and findings rather than computed again, and the
// default answers of find_stalls and thread_activity. On a 10M-event bundle this takes seconds
// (bench/mcp.ts), so the server computes it in a child process (precompute-worker.ts) while it
// keeps answering; the result is plain JSON. The events are read
// once, into an index (analyze/event-index.ts) that every part shares; beyond explain's own
// work the rest costs a few percent of the summary's CPU (bench/RESULTS.md), so all of it is
// always built.
import { computeStats, EventIndex, explain, summarizeSide, timeline, type ExplainReport, type SideSummary, type StackUse, type StatsReport, type Timeline } from '../analyze/index.ts';
import { readFacts } from '../analyze/bundle-facts.ts';
import { findStalls, threadActivity, type ActivityReport, type StallReport } from '../analyze/thread-activity.ts';
import type { Bundle } from '../format/index.ts';

/** The first part of a summary, ready well before the findings: what the statistics tools need. */
export interface StatsPart {
  readonly stats: StatsReport;
  /** Stack use over the whole bundle, hottest first. */
  readonly stackUses: readonly StackUse[];
  /** The whole recording cut into about DEFAULT_WINDOWS windows. */
  readonly timeline: Timeline;
  readonly elapsedMs: number;
}

export interface Summary extends StatsPart {
  readonly explain: ExplainReport;
  /** This bundle as one side of compare_bundles (analyze/diff.ts), per-process rows included. */
  readonly side: SideSummary;
  /** find_stalls' default answer: the DEFAULT_STALLS longest stalls of the whole bundle. */
  readonly stalls: StallReport;
  /** thread_activity's default answer: the whole recording as one window per thread. */
  readonly activity: ActivityReport;
}

/** Stalls find_stalls lists when the agent does not say how many. */
export const DEFAULT_STALLS = 5;

/** Windows a timeline is cut into when the caller does not choose the width. */
export const DEFAULT_WINDOWS = 60;

/** Smallest 1/2/5 x 10^k not below x. */
export function niceWidth(x: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(x, 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export function hottestFirst(a: StackUse, b: StackUse): number {
  return b.total_dur_ns - a.total_dur_ns || b.count - a.count || a.stack_id - b.stack_id;
}

export type { StackUse };

export function precompute(bundle: Bundle): Summary {
  const index = new EventIndex(bundle, { stackUses: true });
  return precomputeFindings(bundle, precomputeStats(bundle, index), index);
}

/** Stats, stack use and the whole-recording timeline (index: the bundle's events, new EventIndex(bundle, { stackUses: true })). */
export function precomputeStats(bundle: Bundle, index: EventIndex): StatsPart {
  const started = performance.now();
  const stats = computeStats(bundle, { index });
  if (!index.stackUses) throw new Error('precomputeStats needs an index built with stackUses');
  const stackUses = [...index.stackUses].sort(hottestFirst);
  const span = stats.to_ns + 1 - stats.from_ns;
  const whole = timeline(bundle, { fromNs: stats.from_ns, toNs: stats.to_ns + 1, windowNs: niceWidth(span / DEFAULT_WINDOWS) }, index);
  return { stats, stackUses, timeline: whole, elapsedMs: performance.now() - started };
}

/** The findings and the compare_bundles side, on top of the first part. */
export function precomputeFindings(bundle: Bundle, part: StatsPart, index: EventIndex): Summary {
  const started = performance.now();
  const report = explain(bundle, { stats: part.stats, index });
  const side = summarizeSide(bundle, { byProcess: true, analysis: { index, stats: part.stats, explain: report } });
  // The two drill-down answers agents ask for first, from the same index: the server would
  // otherwise read the table for them on its own thread (about a minute at 10M events).
  const inMemory = { index, facts: readFacts(bundle, index) };
  const stalls = findStalls(bundle, { limit: DEFAULT_STALLS }, inMemory);
  const activity = threadActivity(bundle, {}, inMemory);
  return { ...part, explain: report, side, stalls, activity, elapsedMs: part.elapsedMs + performance.now() - started };
}
