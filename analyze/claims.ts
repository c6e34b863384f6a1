// Each symptom belongs to one finding. After ranking, a finding whose symptom another, higher
// ranked finding already explains is folded into it as an alternative, and event ids cited by
// a higher finding are not cited again: no two findings claim the same events.
import type { Alternative, Evidence, Finding } from './types.ts';

/** Share of a throughput drop's window a stall of the same thread must cover to explain it. */
const STALL_COVERS_DROP = 0.5;
/** Severity order, gravest first. */
const SEVERITY = { HIGH: 0, MEDIUM: 1, LOW: 2 } as const;
/** Findings whose symptom is slow GPU calls: a stall within their window is one of those calls. */
const SLOW_CALL_KINDS = new Set(['cold-start', 'scheduler-tail-latency', 'periodic-spike', 'sync-stall', 'memory-pressure', 'memcpy-bottleneck']);
/** Findings about a thread's time off the CPU: a late-launch chain citing all their switches is that time seen on the GPU. */
const OFF_CPU_KINDS = new Set(['cpu-contention', 'scheduler-tail-latency', 'gpu-thread-stall']);

export function assignClaims(ranked: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  const cited = new Set<number>();
  for (const f of causesBeforeSymptoms(ranked)) {
    const host = explainedBy(out, f);
    if (host >= 0) {
      const h = out[host]!;
      const alt: Alternative = { cause: f.kind, verdict: 'runner-up', detail: `Also seen as: ${f.summary}.` };
      // A symptom folded into its explanation keeps its gravity.
      const severity = SEVERITY[f.severity] < SEVERITY[h.severity] ? f.severity : h.severity;
      out[host] = { ...h, severity, alternatives: [...h.alternatives, alt], evidence: [...h.evidence, ...strip(f.evidence, cited)] };
      continue;
    }
    const evidence = strip(f.evidence, cited);
    for (const e of evidence) for (const id of e.event_ids ?? []) cited.add(id);
    out.push({ ...f, evidence });
  }
  return out;
}

/**
 * The ranked findings with each finding that takes in a higher-ranked one moved up to just before
 * it, so the higher one folds into it (explainedBy) and the graver severity is kept:
 * - a stall that covers a throughput drop of the same process: the stall is the cause and the
 *   drop its symptom in the launch counts, whichever of the two estimates of lost time (the
 *   drop's or the stall's length) is larger;
 * - a late-launch chain that cites every off-CPU switch a scheduler finding cites: the chain is
 *   that off-CPU time followed through the launch to the idle GPU.
 */
function causesBeforeSymptoms(ranked: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  for (const [i, f] of ranked.entries()) {
    if (out.includes(f)) continue;
    for (const g of ranked.slice(i + 1)) if ((stallCoversDrop(g, f) || chainCovers(g, f)) && !out.includes(g)) out.push(g);
    out.push(f);
  }
  return out;
}

function stallCoversDrop(stall: Finding, drop: Finding): boolean {
  return stall.kind === 'gpu-thread-stall' && drop.kind === 'throughput-drop' && stall.node_id === drop.node_id && stall.pid === drop.pid && overlapNs(stall, drop) >= STALL_COVERS_DROP * (drop.to_ns - drop.from_ns);
}

const overlapNs = (a: Finding, b: Finding) => Math.max(0, Math.min(a.to_ns, b.to_ns) - Math.max(a.from_ns, b.from_ns));

/** Event ids of a finding's off-CPU evidence on one node. */
function switchIds(f: Finding, node: number): Set<number> {
  return new Set(f.evidence.filter((e) => (e.op === 'sched_switch' || e.kind === 'off-cpu') && (e.node_id ?? f.node_id) === node).flatMap((e) => e.event_ids ?? []));
}

/** A late-launch chain (GPU node) citing every switch of a scheduler finding about the launching process (host node). */
function chainCovers(chain: Finding, f: Finding): boolean {
  if (chain.kind !== 'late-launch' || !OFF_CPU_KINDS.has(f.kind) || f.pid !== chain.pid) return false;
  const mine = switchIds(f, f.node_id);
  if (mine.size === 0) return false;
  const theirs = switchIds(chain, f.node_id);
  return [...mine].every((id) => theirs.has(id));
}

/** Index of an earlier finding that already explains f's symptom, or -1. */
function explainedBy(earlier: readonly Finding[], f: Finding): number {
  const same = (g: Finding) => g.node_id === f.node_id && g.pid === f.pid;
  const overlap = (g: Finding) => overlapNs(f, g);
  for (let i = 0; i < earlier.length; i++) {
    const g = earlier[i]!;
    // The chain's host side lies on another node of the bundle than its GPU side.
    if (chainCovers(g, f)) return i;
    if (!same(g)) continue;
    // A rate drop during a stall is the stall seen through launch counts.
    if (f.kind === 'throughput-drop' && g.kind === 'gpu-thread-stall' && overlap(g) >= STALL_COVERS_DROP * (f.to_ns - f.from_ns)) return i;
    if (f.kind === 'gpu-thread-stall' && g.kind === 'throughput-drop' && overlap(g) >= STALL_COVERS_DROP * (g.to_ns - g.from_ns)) return i;
    // A stall inside the window of a finding about slow calls of the same process (a cold
    // start's context creation, a preempted call) is that finding's symptom.
    if (f.kind === 'gpu-thread-stall' && SLOW_CALL_KINDS.has(g.kind) && g.from_ns <= f.from_ns && g.to_ns >= f.to_ns) return i;
    // The same slow events explained twice: the higher-ranked explanation keeps them.
    const ids = (x: Finding) => new Set(x.evidence.filter((e) => e.op === x.op && x.op !== '').flatMap((e) => e.event_ids ?? []));
    const mine = ids(f);
    if (mine.size > 0 && g.op === f.op && [...mine].every((id) => ids(g).has(id))) return i;
  }
  return -1;
}

function strip(evidence: readonly Evidence[], cited: ReadonlySet<number>): Evidence[] {
  return evidence.map((e) => {
    if (!e.event_ids?.some((id) => cited.has(id))) return e;
    const { event_ids, ...rest } = e;
    const left = event_ids.filter((id) => !cited.has(id));
    return left.length ? { ...rest, event_ids: left } : rest;
  });
}
