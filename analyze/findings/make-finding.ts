// Builds a Finding from a detector's verdict: fills in names, the affected op's statistics and
// the caveats every finding must carry when the data is incomplete.
import type { AnalysisContext } from '../context.ts';
import type { Alternative, Confidence, Finding } from '../types.ts';
import { count } from '../words.ts';

/** What a detector decides; makeFinding adds names, the op's statistics and the data caveats. */
export type Verdict = Pick<Finding, 'kind' | 'severity' | 'node_id' | 'pid' | 'op' | 'from_ns' | 'to_ns' | 'summary' | 'root_cause' | 'evidence' | 'recommendations' | 'impact_ns'> & {
  readonly caveats?: readonly string[];
  /** Default 'high': a detector whose cause is inferred or undetermined says so. */
  readonly confidence?: Confidence;
  readonly alternatives?: readonly Alternative[];
};

export function makeFinding(ctx: AnalysisContext, v: Verdict): Finding {
  const stats = v.op ? ctx.stats.by_process.find((s) => s.node_id === v.node_id && s.pid === v.pid && s.op === v.op) : undefined;
  const caveats = [...(v.caveats ?? [])];
  if (stats) {
    const c = ctx.samplingCaveat(v.node_id, stats, v.from_ns, v.to_ns);
    if (c && !caveats.includes(c)) caveats.push(c);
  }
  const lost = ctx.facts.dataQuality.losses.filter((l) => l.node_id === v.node_id && l.dropped > 0).reduce((s, l) => s + l.dropped, 0);
  if (lost > 0) caveats.push(`${count(lost, 'event')} ${lost === 1 ? 'was' : 'were'} dropped during capture on this node: counts are lower bounds and some slow calls may be missing.`);
  return {
    id: `${v.kind}:${v.node_id}:${v.pid}:${v.op}`,
    severity: v.severity,
    kind: v.kind,
    op: v.op,
    node_id: v.node_id,
    node: ctx.nodeName(v.node_id),
    pid: v.pid,
    process: ctx.processName(v.node_id, v.pid),
    from_ns: Math.round(v.from_ns),
    to_ns: Math.round(v.to_ns),
    summary: v.summary,
    root_cause: v.root_cause,
    evidence: v.evidence,
    recommendations: v.recommendations,
    caveats,
    impact_ns: Math.round(v.impact_ns),
    count: stats?.count ?? 0,
    p50_ns: stats?.p50_ns ?? 0,
    p99_ns: stats?.p99_ns ?? 0,
    confidence: v.confidence ?? 'high',
    alternatives: v.alternatives ?? [],
  };
}
