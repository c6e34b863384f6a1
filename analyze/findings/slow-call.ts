// Slow individual calls: single GPU API calls far above their op's steady state that no other
// finding explains, each shown with when, which thread and what happened around it (off-CPU
// time inside it, a first call, a fork, a synchronize of another thread). It runs after the
// other detectors and leaves out every call another finding cites or covers (same op, or a
// stall of the thread, over the call's time): one symptom, one finding (analyze/claims.ts).
import { GPU_LAYERS, SYNC_OPS, type AnalysisContext, type GpuProcess } from '../context.ts';
import { columnsOf } from '../event-index.ts';
import type { Alternative, Confidence, Evidence, Finding, ProcessOpStats } from '../types.ts';
import { count, dur, list, pct, times } from '../words.ts';
import { makeFinding } from './make-finding.ts';

/** Findings that own a cause: a slow call of their process with that cause is their symptom. */
const OWNERS: Readonly<Record<string, readonly string[]>> = {
  preemption: ['cpu-contention', 'scheduler-tail-latency'],
  'blocked-in-call': ['memory-pressure', 'io-interference', 'network-interference'],
  'cold-start': ['cold-start'],
  fork: ['process-lifecycle'],
  'sync-on-another-thread': ['sync-stall', 'gpu-contention'],
};

/** Slow calls shown per (process, op). */
const SHOWN = 5;
/** A fork this long before a call (or during it) is named as what happened around it. */
const FORK_BEFORE_NS = 100e6;

interface Baseline {
  readonly ns: number;
  /** In words: what the baseline is and what it stands on. */
  readonly words: string;
  /** False when it comes from a stored sample (which over-represents slow calls). */
  readonly complete: boolean;
}

interface SlowCall {
  readonly id: number;
  readonly ts: number;
  readonly dur: number;
  readonly tid: number;
  readonly arg0: number | null;
}

interface Around {
  readonly cause: string;
  readonly support: number;
  readonly detail: string;
  readonly ids: readonly number[];
}

export function detectSlowCalls(ctx: AnalysisContext, others: readonly Finding[]): Finding[] {
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    // A synchronize lasts as long as the GPU work it waits for: sync-stall judges those.
    const ops = proc.ops.filter((s) => GPU_LAYERS.has(s.layer) && !SYNC_OPS.has(s.op) && s.max_ns >= ctx.th.slowCallMinExcessNs);
    if (ops.length === 0) continue;
    // One walk over the process's calls in the event index: every candidate is at least
    // slowCallMinExcessNs long; the slowest maxSlowCalls are kept, their arg0 read by id.
    const candidates = new Map<number, SlowCall[]>();
    const opIds = new Set(ops.map((o) => o.op_id));
    const minDur = Math.ceil(ctx.th.slowCallMinExcessNs);
    const [id, ts, dur, tid, op] = ctx.columns((g) => g.node === proc.node_id && g.pid === proc.pid && opIds.has(g.op), ['id', 'ts', 'dur', 'tid', 'op'], { where: (_id, _ts, d) => d >= minDur });
    const order = Array.from(id!.keys()).sort((a, b) => dur![b]! - dur![a]! || id![a]! - id![b]!).slice(0, ctx.th.maxSlowCalls);
    const arg0 = columnsOf(ctx.bundle, order.map((k) => id![k]!), ['arg0']);
    const rows = order.map((k) => ({ id: id![k]!, ts: ts![k]!, dur: dur![k]!, tid: tid![k]!, arg0: arg0.get(id![k]!)?.[0] ?? null, op: op![k]! }));
    for (const r of rows) {
      if (!candidates.has(r.op)) candidates.set(r.op, []);
      candidates.get(r.op)!.push(r);
    }
    for (const s of ops) {
      const f = judgeOp(ctx, proc, s, candidates.get(s.op_id) ?? [], others);
      if (f) out.push(f);
    }
  }
  return out;
}

function judgeOp(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, candidates: readonly SlowCall[], others: readonly Finding[]): Finding | null {
  const th = ctx.th;
  if (candidates.length === 0) return null;
  const total = ctx.completeCount(s);
  if (total.count < th.minCalls) return null;
  const { baseline, slow } = steadyState(ctx, s, total.count, candidates);
  if (!baseline || slow.length === 0) return null;
  // Many slow calls are a tail (scheduler-tail-latency, periodic-spike), not individual calls.
  if (slow.length > Math.max(3, th.slowCallShare * total.count)) return null;
  // The baseline stands on the whole recording; the calls judged are the analysed ones.
  const judged = slow
    .filter((c) => c.ts >= ctx.selection.from && c.ts < ctx.selection.to)
    .map((c) => ({ c, why: around(ctx, proc, s, c, baseline) }))
    .filter((x) => !explainedBy(others, proc, s, x.c, x.why.cause));
  if (judged.length === 0) return null;
  const unexplained = judged.map((x) => x.c);
  const excess = unexplained.reduce((t, c) => t + c.dur - baseline.ns, 0);
  const top = [...judged].sort((a, b) => b.c.dur - a.c.dur || a.c.id - b.c.id).slice(0, SHOWN);
  const shown = top.map((x) => x.c);
  const worst = shown[0]!;
  const arounds = top.map((x) => x.why);
  const label = ctx.label(proc.node_id, proc.pid);
  const evidence: Evidence[] = shown.map((c, i) => ({
    layer: s.layer,
    kind: 'slow-call',
    op: s.op,
    detail: `${s.op} ${c.id} on thread ${c.tid} at ${dur(c.ts)} took ${dur(c.dur)}, ${times(c.dur / baseline.ns)} the ${baseline.words}. ${arounds[i]!.detail}`,
    values: { dur_ns: c.dur, baseline_ns: Math.round(baseline.ns), excess_ns: Math.round(c.dur - baseline.ns), tid: c.tid },
    from_ns: c.ts,
    to_ns: c.ts + c.dur,
    event_ids: [...new Set([c.id, ...arounds[i]!.ids])].sort((a, b) => a - b),
    node_id: proc.node_id,
    pid: proc.pid,
  }));
  const main = arounds[0]!;
  const confidence: Confidence = main.support >= 0.8 ? 'high' : main.support > 0 ? 'medium' : 'low';
  const causes = [...new Set(arounds.map((a) => a.cause))];
  const alternatives: Alternative[] = causes.slice(1).map((c, i) => ({ cause: c, verdict: i === 0 ? 'runner-up' : 'unsupported', detail: arounds.find((a) => a.cause === c)!.detail }));
  const [alive0, alive1] = ctx.activeSpan(proc);
  const share = excess / Math.max(1, alive1 - alive0);
  const caveats = baseline.complete ? [] : [`The steady state of ${s.op} comes from the stored sample, which over-represents slow calls: the true baseline is lower, so each call is at least as far above it as said.`];
  if (unexplained.length > shown.length) caveats.push(`${count(unexplained.length - shown.length, 'more slow call')} of ${s.op} are counted in the excess but not shown.`);
  return makeFinding(ctx, {
    kind: 'slow-call',
    severity: share >= th.highStallShare && main.support > 0 ? 'HIGH' : excess >= th.slowCallMediumNs ? 'MEDIUM' : 'LOW',
    node_id: proc.node_id,
    pid: proc.pid,
    op: s.op,
    from_ns: Math.min(...unexplained.map((c) => c.ts)),
    to_ns: Math.max(...unexplained.map((c) => c.ts + c.dur)),
    summary: `${unexplained.length === 1 ? `One ${s.op} call` : `${unexplained.length} ${s.op} calls`} of ${label} took up to ${dur(worst.dur)} (${times(worst.dur / baseline.ns)} its steady ${dur(baseline.ns)}) at ${dur(worst.ts)}${main.support > 0 ? ` — ${main.cause}` : ' — cause not determined'}`,
    root_cause: main.support > 0 ? main.detail : `Cause not determined: ${main.detail}`,
    evidence,
    recommendations: recommend(main.cause, s.op),
    caveats,
    impact_ns: excess,
    confidence,
    alternatives,
  });
}

/**
 * The op's steady state and its slow stored calls. Where every call is stored: the p50 of all.
 * Where calls are a sample and op_aggregates counts them: the mean of the other calls, exact
 * from the complete count and duration sum less the slow calls. Otherwise the stored p50.
 */
function steadyState(ctx: AnalysisContext, s: ProcessOpStats, completeCount: number, candidates: readonly SlowCall[]): { baseline: Baseline | null; slow: SlowCall[] } {
  const th = ctx.th;
  const sampled = ctx.sampled(s.node_id, s, s.first_ns, s.last_ns + 1).length > 0;
  const agg = sampled ? (ctx.bundle.db.prepare('SELECT count(*) AS rows, coalesce(sum(count), 0) AS n, coalesce(sum(sum_dur_ns), 0) AS ns FROM op_aggregates WHERE node_id = ? AND op_id = ? AND pid = ?').get(s.node_id, s.op_id, s.pid) as { rows: number; n: number; ns: number }) : null;
  const complete = (n: number, what: string) => `${what} ${n.toLocaleString('en-US')} calls (complete counts from op_aggregates, of ${completeCount.toLocaleString('en-US')} in all)`;
  let baseline: Baseline | null;
  if (!sampled) baseline = s.p50_ns > 0 ? { ns: s.p50_ns, words: `p50 of all ${s.count.toLocaleString('en-US')} calls`, complete: true } : null;
  else if (agg && agg.rows > 0 && agg.n > 0) baseline = { ns: agg.ns / agg.n, words: complete(agg.n, 'mean of all'), complete: true };
  else baseline = s.p50_ns > 0 ? { ns: s.p50_ns, words: `p50 of the ${s.count.toLocaleString('en-US')} stored calls (a sample)`, complete: false } : null;
  if (!baseline) return { baseline: null, slow: [] };
  let slow: SlowCall[] = [];
  // The mean includes the slow calls themselves: take them out and look again, until stable.
  for (let round = 0; round < 4; round++) {
    const minDur = Math.max(th.slowCallFactor * baseline.ns, baseline.ns + th.slowCallMinExcessNs);
    const rows = candidates.filter((c) => c.dur >= minDur);
    const same = rows.length === slow.length;
    slow = rows;
    if (!agg || !sampled || agg.rows === 0) break;
    const rest = agg.n - slow.length;
    if (rest <= 0) return { baseline: null, slow: [] };
    const mean = (agg.ns - slow.reduce((t, c) => t + c.dur, 0)) / rest;
    baseline = { ns: Math.max(1, mean), words: complete(rest, 'mean of the other'), complete: true };
    if (same && round > 0) break;
  }
  return { baseline, slow };
}

/**
 * A call another finding of its process already explains: one that cites the call, covers its
 * time and is about the same op or is a stall, or names the cause found around the call
 * (preemption: CPU contention or a scheduler tail; a first call: a cold start; ...) — the same
 * cause in the same process is one symptom wherever in the run its calls lie.
 */
function explainedBy(others: readonly Finding[], proc: GpuProcess, s: ProcessOpStats, c: SlowCall, cause: string): boolean {
  return others.some((f) => {
    if (f.node_id !== proc.node_id || f.pid !== proc.pid) return false;
    if (f.evidence.some((e) => e.event_ids?.includes(c.id)) || (OWNERS[cause] ?? []).includes(f.kind)) return true;
    const overlaps = f.from_ns < c.ts + c.dur && f.to_ns > c.ts;
    return overlaps && (f.op === s.op || f.kind === 'gpu-thread-stall');
  });
}

/** 'op' when no stored call of the op in the process comes before c, 'arg0' when none with its arg0 does (for launches: the kernel function), else ''. */
function firstCall(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, c: SlowCall): 'op' | 'arg0' | '' {
  const [before] = ctx.columns((g) => g.op === s.op_id && g.node === proc.node_id && g.pid === proc.pid, ['id'], { limit: 1, hiId: c.id });
  if (before!.length === 0) return 'op';
  // The index keeps no arguments: whether an earlier launch had the same kernel is asked of SQLite.
  const sameKernelBefore = () => ctx.bundle.db.prepare('SELECT 1 FROM events WHERE id < ? AND op_id = ? AND node_id = ? AND pid = ? AND arg0 = ? LIMIT 1').get(c.id, s.op_id, proc.node_id, proc.pid, c.arg0) !== undefined;
  return c.arg0 !== null && /LaunchKernel|GraphLaunch/.test(s.op) && !sameKernelBefore() ? 'arg0' : '';
}

/** What happened around one slow call, as the best-supported cause. */
function around(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, c: SlowCall, baseline: Baseline): Around {
  const node = proc.node_id;
  const excess = c.dur - baseline.ns;
  const end = c.ts + c.dur;
  const found: Around[] = [];
  const sched = ctx.bundle.ops().get(ctx.opId('sched_switch') ?? -1);
  const schedSampled = sched ? ctx.sampled(node, { op: sched.name, source: sched.source }, c.ts, end).length > 0 : false;
  const off = ctx.offCpu(node, [c.tid], c.ts, end);
  let offNs = 0;
  let preemptedNs = 0;
  let stateKnown = off.id.length > 0;
  const by = new Set<number>();
  for (let i = 0; i < off.id.length; i++) {
    const d = Math.min(off.dur[i]!, end - off.ts[i]!);
    offNs += d;
    if (Number.isNaN(off.state[i]!)) stateKnown = false;
    else if (off.state[i] === 0) preemptedNs += d;
    if (!Number.isNaN(off.by[i]!) && off.by[i]! > 0) by.add(off.by[i]!);
  }
  const offIds = Array.from(off.id);
  if (offNs > 0) {
    const who = by.size ? `; ${list([...by].slice(0, 3).map((p) => ctx.label(node, p)))} ran instead` : '';
    const how = stateKnown ? (preemptedNs >= offNs / 2 ? `, ${pct(preemptedNs / offNs)} of it runnable but preempted` : `, sleeping (blocked) for ${pct(1 - preemptedNs / offNs)} of it`) : ' (whether preempted or sleeping is not recorded)';
    const preempted = !stateKnown || preemptedNs >= offNs / 2;
    found.push({
      cause: preempted ? 'preemption' : 'blocked-in-call',
      support: offNs >= excess / 2 ? (stateKnown ? 0.9 : 0.6) : 0.3,
      detail: `Thread ${c.tid} was off-CPU ${dur(offNs)} of it (${pct(Math.min(1, offNs / excess))} of the excess) in ${count(off.id.length, 'switch', 'switches')}${how}${who}.`,
      ids: offIds,
    });
  }
  const first = firstCall(ctx, proc, s, c);
  if (first) {
    const nth = baseline.complete && ctx.sampled(node, s, proc.from_ns, c.ts + 1).length === 0 ? '' : 'stored ';
    found.push({
      cause: 'cold-start',
      support: 0.7,
      detail: first === 'op'
        ? `It is the process's first ${nth}${s.op} call: one-time initialisation (context or module loading, allocator growth) runs in the first call.`
        : `It is the first ${nth}launch of kernel function 0x${c.arg0!.toString(16)} in the process: its module is loaded (lazy loading) or JIT-compiled on first launch.`,
      ids: [],
    });
  }
  const fork = ctx.opId('process_fork');
  if (fork !== undefined) {
    // The forks come from the index; only their children (arg0) are read by id.
    const [forkIds, forkTs] = ctx.columns((g) => g.op === fork && g.node === node && g.pid === proc.pid, ['id', 'ts'], { loId: ctx.idAtTime(c.ts - FORK_BEFORE_NS), hiId: ctx.idAtTime(end) });
    const children = columnsOf(ctx.bundle, Array.from(forkIds!), ['arg0']);
    const forks = Array.from(forkIds!, (id, k) => ({ id, ts: forkTs![k]!, child: children.get(id)?.[0] ?? null }));
    if (forks.length) {
      found.push({
        cause: 'fork',
        support: 0.4,
        detail: `The process forked ${count(forks.length, 'child', 'children')} (${list(forks.slice(0, 3).map((f) => (f.child !== null ? ctx.label(node, f.child) : 'pid not recorded')))}) from ${dur(forks[0]!.ts)}, ${forks[0]!.ts < c.ts ? `${dur(c.ts - forks[0]!.ts)} before the call` : 'during the call'}: copying its page tables and the child's start compete with the call.`,
        ids: forks.map((f) => f.id),
      });
    }
  }
  const syncIds = proc.ops.filter((o) => SYNC_OPS.has(o.op)).map((o) => o.op_id);
  if (syncIds.length) {
    // A synchronize overlapping the call started at most its op's longest duration before it.
    const lookback = Math.max(...proc.ops.filter((o) => SYNC_OPS.has(o.op)).map((o) => o.max_ns));
    // The longest three of other threads' synchronizes still running when the call began.
    const syncOps = new Set(syncIds);
    const syncs: { id: number; ts: number; d: number; tid: number; op: number }[] = [];
    ctx.rows(
      (g) => g.node === node && g.pid === proc.pid && g.tid !== c.tid && !Number.isNaN(g.tid) && syncOps.has(g.op),
      (id, ts, d, g) => void (ts + d > c.ts && syncs.push({ id, ts, d, tid: g.tid, op: g.op })),
      ctx.idAtTime(c.ts - lookback),
      ctx.idAtTime(end),
    );
    syncs.sort((a, b) => b.d - a.d || a.id - b.id).splice(3);
    if (syncs.length) {
      const x = syncs[0]!;
      found.push({
        cause: 'sync-on-another-thread',
        support: 0.5,
        detail: `It overlapped ${ctx.bundle.opName(x.op)} ${x.id} of thread ${x.tid} (${dur(x.d)} from ${dur(x.ts)}): calls on one device serialise behind a device-wide synchronize.`,
        ids: syncs.map((y) => y.id),
      });
    }
  }
  found.sort((a, b) => b.support - a.support || (a.cause < b.cause ? -1 : 1));
  if (found.length) return found[0]!.ids.length || found.length === 1 ? { ...found[0]!, detail: found.map((f) => f.detail).join(' ') } : { ...found[0]!, ids: found.flatMap((f) => f.ids), detail: found.map((f) => f.detail).join(' ') };
  const lacks = !sched ? 'the bundle has no scheduler events' : schedSampled && off.id.length === 0 ? `no sched_switch rows of thread ${c.tid} were stored during it (scheduler events are a sample then)` : `thread ${c.tid} never left the CPU during it, so the time went inside the call (driver or runtime work)`;
  return { cause: 'undetermined', support: 0, detail: `Nothing recorded around it explains it: ${lacks}; it was not a first call and no fork or synchronize of another thread coincided.`, ids: [] };
}

function recommend(cause: string, op: string): string[] {
  switch (cause) {
    case 'preemption':
      return ['Give the GPU-feeding thread dedicated cores (taskset, cgroup cpusets) and lower the priority of competing work on them.'];
    case 'blocked-in-call':
      return [`Find what ${op} waited on inside the driver (a lock another thread held, an implicit synchronize, memory pinning); record with on-CPU and off-CPU stacks.`];
    case 'cold-start':
      return ['Run a warm-up step before timing or serving traffic; with lazy module loading (CUDA_MODULE_LOADING=LAZY) each kernel pays its load on first launch.'];
    case 'fork':
      return ['Fork workers before the GPU loop starts (persistent DataLoader workers: persistent_workers=True) rather than during it.'];
    case 'sync-on-another-thread':
      return ['Avoid device-wide synchronize on other threads while this one launches: synchronize on a stream or an event instead.'];
    default:
      return [`Record again with scheduler events (with prev_state) and stacks to see what ${op} waited on.`];
  }
}
