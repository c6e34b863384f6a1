// Tail latency explained by the scheduler: during its slow GPU calls the calling thread was
// off-CPU waiting on the run queue, and someone else had the CPU. Blocked time (sleeping,
// waiting for the GPU or for IO) is not preemption and is reported apart.
import { NON_BLOCKING_OPS, sampleIds, type AnalysisContext, type Calls, type OffCpu } from '../context.ts';
import type { Alternative, Evidence, Finding, ProcessOpStats } from '../types.ts';
import { count, dur, list, pct, round4, times } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export interface OffCpuInCalls {
  /** Slow calls with any preempted time. */
  readonly preemptedCalls: number;
  readonly preemptedNs: number;
  readonly blockedNs: number;
  /** Off-CPU time whose state is unknown and could not be inferred. */
  readonly unknownNs: number;
  /** True when some preempted time was inferred from a missing prev_state. */
  readonly inferred: boolean;
  /** Preempted time by who ran instead (pid; -1 = unknown). */
  readonly byPid: ReadonlyMap<number, number>;
  readonly schedIds: number[];
}

/**
 * Off-CPU time of each call's thread inside the call. A row counts as preempted when its
 * prev_state is 0; when prev_state was not recorded, it counts as preempted only inside calls
 * that never sleep (launches, async copies) and when the CPU did not go idle.
 */
export function offCpuInCalls(calls: Calls, off: OffCpu, opName: string): OffCpuInCalls {
  const byTid = new Map<number, number[]>();
  for (let i = 0; i < off.ts.length; i++) {
    const t = off.tid[i]!;
    if (!byTid.has(t)) byTid.set(t, []);
    byTid.get(t)!.push(i);
  }
  const nonBlocking = NON_BLOCKING_OPS.has(opName);
  let preemptedCalls = 0;
  let preemptedNs = 0;
  let blockedNs = 0;
  let unknownNs = 0;
  let inferred = false;
  const byPid = new Map<number, number>();
  const schedIds: number[] = [];
  for (let c = 0; c < calls.ts.length; c++) {
    const rows = byTid.get(calls.tid[c]!);
    if (!rows) continue;
    const start = calls.ts[c]!;
    const end = start + calls.dur[c]!;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (off.ts[rows[mid]!]! < start) lo = mid + 1;
      else hi = mid;
    }
    let callPreempted = 0;
    for (let k = lo; k < rows.length && off.ts[rows[k]!]! < end; k++) {
      const i = rows[k]!;
      const overlap = Math.min(end, off.ts[i]! + off.dur[i]!) - off.ts[i]!;
      const state = off.state[i]!;
      const by = off.by[i]!;
      let preempted: boolean | null;
      if (!Number.isNaN(state)) preempted = state === 0;
      else if (by === 0) preempted = false;
      else if (nonBlocking) {
        preempted = true;
        inferred = true;
      } else preempted = null;
      if (preempted === true) {
        callPreempted += overlap;
        byPid.set(Number.isNaN(by) ? -1 : by, (byPid.get(Number.isNaN(by) ? -1 : by) ?? 0) + overlap);
        schedIds.push(off.id[i]!);
      } else if (preempted === false) blockedNs += overlap;
      else unknownNs += overlap;
    }
    if (callPreempted > 0) preemptedCalls++;
    preemptedNs += callPreempted;
  }
  return { preemptedCalls, preemptedNs, blockedNs, unknownNs, inferred, byPid, schedIds: schedIds.sort((a, b) => a - b) };
}

/** Preemptors by share of the time, named, most first: "pt_data_worker (pid 2255) 41%". */
export function describePreemptors(ctx: AnalysisContext, node: number, pid: number, byPid: ReadonlyMap<number, number>): { text: string; own: number; outside: number; unknown: number; top: number } {
  const total = [...byPid.values()].reduce((s, v) => s + v, 0) || 1;
  const ranked = [...byPid.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  let own = 0;
  let outside = 0;
  let unknown = 0;
  for (const [p, t] of ranked) {
    if (p < 0) unknown += t;
    else if (ctx.sameTree(node, pid, p)) own += t;
    else outside += t;
  }
  const named = ranked.filter(([, t]) => t >= 0.01 * total).slice(0, 4).map(([p, t]) => `${p < 0 ? 'unrecorded tasks' : ctx.label(node, p)} ${pct(t / total)}`);
  return { text: list(named), own: own / total, outside: outside / total, unknown: unknown / total, top: ranked[0]?.[0] ?? -1 };
}

export function detectSchedulerTailLatency(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    for (const s of proc.ops) {
      if (!['CUDA', 'DRIVER', 'GRAPH'].includes(s.layer) || ctx.completeCount(s).count < th.minCalls || s.p50_ns <= 0) continue;
      const ratio = s.p99_ns / s.p50_ns;
      if (ratio < th.tailRatio) continue;
      const f = explainTail(ctx, s, ratio);
      if (f) out.push(f);
    }
  }
  return out;
}

function explainTail(ctx: AnalysisContext, s: ProcessOpStats, ratio: number): Finding | null {
  const th = ctx.th;
  const calls = ctx.tailCalls(s);
  if (calls.ts.length === 0) return null;
  const tids = [...new Set(calls.tid)].sort((a, b) => a - b);
  const from = calls.ts[0]!;
  let to = from;
  let excess = 0;
  for (let i = 0; i < calls.ts.length; i++) {
    to = Math.max(to, calls.ts[i]! + calls.dur[i]!);
    excess += calls.dur[i]! - s.p50_ns;
  }
  const off = ctx.offCpu(s.node_id, tids, from, to);
  const r = offCpuInCalls(calls, off, s.op);
  if (off.ts.length === 0) return ratio >= th.highTailRatio ? unobservedTail(ctx, s, ratio, calls, excess, tids[0]!) : null;
  const share = excess > 0 ? r.preemptedNs / excess : 0;
  if (r.preemptedCalls < 3 || share < th.offCpuShare) return null;
  const who = describePreemptors(ctx, s.node_id, s.pid, r.byPid);
  const severity = ratio >= th.highTailRatio && share >= th.highOffCpuShare ? 'HIGH' : 'MEDIUM';
  const proc = ctx.label(s.node_id, s.pid);
  const basis = percentileBasis(ctx, s);
  const whose = who.own >= 0.5 ? `its own helper processes or threads (${who.text})` : who.outside >= 0.5 ? `other processes (${who.text})` : who.text;
  const evidence: Evidence[] = [
    {
      layer: 'HOST',
      kind: 'off-cpu',
      op: 'sched_switch',
      detail: `In ${r.preemptedCalls} of ${calls.ts.length} slow ${s.op} calls the calling thread was preempted (runnable, waiting for a CPU) for ${dur(r.preemptedNs)} in total: ${pct(share)} of their ${dur(excess)} excess over p50.${r.blockedNs > 0 ? ` It was also blocked (sleeping, not preempted) for ${dur(r.blockedNs)}.` : ''}`,
      values: { slow_calls: calls.ts.length, preempted_calls: r.preemptedCalls, preempted_ns: Math.round(r.preemptedNs), blocked_ns: Math.round(r.blockedNs), unknown_state_ns: Math.round(r.unknownNs), excess_ns: Math.round(excess), preempted_share: round4(share) },
      from_ns: Math.round(from),
      to_ns: Math.round(to),
      event_ids: sampleIds(r.schedIds),
      node_id: s.node_id,
      pid: s.pid,
    },
    {
      layer: 'HOST',
      kind: 'preemptor',
      op: 'sched_switch',
      detail: `The CPU went to ${whose}.`,
      values: { own_tree_share: round4(who.own), other_process_share: round4(who.outside), unrecorded_share: round4(who.unknown), top_pid: who.top },
      from_ns: Math.round(from),
      to_ns: Math.round(to),
      node_id: s.node_id,
      pid: s.pid,
    },
    {
      layer: s.layer,
      kind: 'latency',
      op: s.op,
      detail: `${s.op} p99 ${dur(s.p99_ns)} is ${times(ratio)} its p50 ${dur(s.p50_ns)} ${basis}; the slowest took ${dur(s.max_ns)}.`,
      values: { count: s.count, p50_ns: s.p50_ns, p99_ns: s.p99_ns, max_ns: s.max_ns, tail_ratio: round4(ratio) },
      from_ns: Math.round(from),
      to_ns: Math.round(to),
      event_ids: sampleIds(calls.id),
      node_id: s.node_id,
      pid: s.pid,
    },
    {
      layer: 'PROCESS',
      kind: 'stall',
      op: s.op,
      detail: `${proc} lost about ${dur(r.preemptedNs)} inside slow ${s.op} calls while it could have been running.`,
      values: { lost_ns: Math.round(r.preemptedNs) },
      from_ns: Math.round(from),
      to_ns: Math.round(to),
      node_id: s.node_id,
      pid: s.pid,
    },
  ];
  const caveats: string[] = [];
  if (r.inferred) caveats.push('The trace does not record whether a thread was preempted or sleeping (prev_state); off-CPU time inside calls that never sleep was counted as preemption, and who ran is the task that ran last before the thread got the CPU back.');
  const recommendations =
    who.own >= 0.5
      ? [
          'Leave CPU headroom for the training thread: use fewer DataLoader workers than free cores (num_workers ≤ cores − 2) or reduce their per-sample CPU work.',
          'Pin the training thread and its workers to separate cores (taskset / os.sched_setaffinity), and lower the workers\' priority (os.nice in worker_init_fn).',
          'Move decoding or augmentation to the GPU (e.g. DALI, torchvision.io.decode_jpeg on device) if workers must stay busy.',
        ]
      : [
          'Pin the training process to dedicated cores (taskset, cpuset cgroup) so other work cannot run there.',
          'Lower the priority of the competing processes (nice -n 19, or a CPU quota for their cgroup), or schedule them away from training.',
        ];
  return makeFinding(ctx, {
    kind: 'scheduler-tail-latency',
    severity,
    node_id: s.node_id,
    pid: s.pid,
    op: s.op,
    from_ns: from,
    to_ns: to,
    summary: `${s.op} p99 is ${times(ratio)} its p50 (${dur(s.p99_ns)} vs ${dur(s.p50_ns)}, ${basis}) because the calling thread of ${proc} was preempted in the middle of its slow calls`,
    root_cause: `CPU starvation: during ${pct(share)} of the slow calls' excess time the thread was runnable but off-CPU while ${whose} ran.`,
    evidence,
    recommendations,
    caveats,
    impact_ns: r.preemptedNs,
    confidence: r.inferred ? 'medium' : 'high',
  });
}

/**
 * The slow calls have no scheduler records around them (typically a sampled import that kept
 * sched_switch only later), but the thread's scheduler records elsewhere and its process tree's
 * activity show CPU pressure. Reported at MEDIUM at most, and says that it was not observed.
 */
function unobservedTail(ctx: AnalysisContext, s: ProcessOpStats, ratio: number, calls: Calls, excess: number, tid: number): Finding | null {
  const sched = ctx.opId('sched_switch');
  if (sched === undefined) return null;
  const db = ctx.bundle.db;
  const [ownTs, ownDur] = ctx.columns((g) => g.op === sched && g.node === s.node_id && g.tid === tid, ['ts', 'dur']);
  if (ownTs!.length < 5) return null;
  const own = { n: ownTs!.length, ns: 0, a: Infinity, b: -Infinity };
  for (let i = 0; i < own.n; i++) (own.ns += ownDur![i]!), (own.a = Math.min(own.a, ownTs![i]!)), (own.b = Math.max(own.b, ownTs![i]! + ownDur![i]!));
  const p99 = Float64Array.from(ownDur!).sort()[Math.max(0, Math.ceil(0.99 * own.n) - 1)]!;
  const from = calls.ts[0]!;
  const to = Math.max(...Array.from(calls.ts, (t, i) => t + calls.dur[i]!));
  // Context switches of the other processes in the same tree: stored rows, or the complete
  // counts of op_aggregates where they are larger (the stored rows are then a sample).
  const switches = new Map<number, { n: number; complete: boolean }>();
  const stored = new Map<number, number>();
  for (const g of ctx.index.groups) if (g.op === sched && g.node === s.node_id && g.pid !== s.pid) stored.set(g.pid, (stored.get(g.pid) ?? 0) + g.count);
  for (const [pid, n] of [...stored].sort((a, b) => a[0] - b[0])) switches.set(pid, { n, complete: false });
  for (const r of db.prepare('SELECT pid, sum(count) AS n FROM op_aggregates WHERE op_id = ? AND node_id = ? AND pid NOT IN (?, 0) GROUP BY pid').all(sched, s.node_id, s.pid) as { pid: number; n: number }[]) {
    if (r.n >= (switches.get(r.pid)?.n ?? 0)) switches.set(r.pid, { n: r.n, complete: true });
  }
  // A helper can only have taken the CPU during the slow calls if it existed then: workers
  // forked after the calls (the usual case for a first-launch stall) are ruled out.
  const tree = [...switches.entries()].filter(([p]) => ctx.sameTree(s.node_id, s.pid, p));
  const helpers = tree.filter(([p]) => ctx.existedIn(s.node_id, p, from, to) !== 'no').sort((a, b) => b[1].n - a[1].n || a[0] - b[0]);
  if (helpers.length === 0) return null;
  const helperSwitches = helpers.reduce((t, [, c]) => t + c.n, 0);
  const countsFrom = helpers.every(([, c]) => c.complete) ? 'complete counts from op_aggregates' : helpers.some(([, c]) => c.complete) ? 'complete counts from op_aggregates where the bundle has them, else stored events' : 'stored events';
  const meta = ctx.bundle.metadata();
  const cores = typeof meta['host.cpu_cores'] === 'number' ? (meta['host.cpu_cores'] as number) : typeof meta['host.cpus'] === 'number' ? (meta['host.cpus'] as number) : 0;
  const proc = ctx.label(s.node_id, s.pid);
  const names = list(helpers.slice(0, 4).map(([p, c]) => `${ctx.label(s.node_id, p)} ${count(c.n, 'switch', 'switches')}`));
  const alternatives: Alternative[] = tree
    .filter(([p]) => ctx.existedIn(s.node_id, p, from, to) === 'no')
    .slice(0, 1)
    .map(() => ({ cause: 'preemption-by-later-helpers', verdict: 'rejected' as const, detail: `${count(tree.length - helpers.length, 'helper process', 'helper processes')} of the same job did not exist during the slow calls (forked after ${dur(to)} or exited before ${dur(from)}) and were not counted.` }));
  return makeFinding(ctx, {
    kind: 'scheduler-tail-latency',
    severity: 'MEDIUM',
    node_id: s.node_id,
    pid: s.pid,
    op: s.op,
    from_ns: from,
    to_ns: to,
    summary: `${s.op} p99 is ${times(ratio)} its p50 (${dur(s.p99_ns)} vs ${dur(s.p50_ns)}, ${percentileBasis(ctx, s)}) in ${proc}, whose main thread competes for CPU with ${count(helpers.length, 'helper process', 'helper processes')}${cores ? ` on ${cores} cores` : ''}`,
    root_cause: `Likely CPU starvation of the training thread by its own worker processes (${names}): the thread was switched out ${count(own.n, 'time')} (${dur(own.ns)} off-CPU, p99 ${dur(p99)}). The slow calls themselves have no scheduler records, so the preemption is inferred, not observed.`,
    evidence: [
      { layer: 'HOST', kind: 'off-cpu', op: 'sched_switch', detail: `Thread ${tid} left the CPU ${count(own.n, 'time')} in stored events between ${dur(own.a)} and ${dur(own.b!)}, ${dur(own.ns)} in total, p99 ${dur(p99)} per switch.`, values: { switches: own.n, off_cpu_ns: own.ns, p99_off_cpu_ns: p99 }, from_ns: own.a, to_ns: own.b!, node_id: s.node_id, pid: s.pid },
      { layer: 'HOST', kind: 'competitors', op: 'sched_switch', detail: `Processes of the same job that existed during the slow calls switched ${count(helperSwitches, 'time')} over the recording (${countsFrom}): ${names}${cores ? `; the host has ${cores} cores` : ''}.`, values: { helper_processes: helpers.length, helper_switches: helperSwitches, cores }, from_ns: own.a, to_ns: own.b!, node_id: s.node_id, pid: s.pid },
      { layer: s.layer, kind: 'latency', op: s.op, detail: `${s.op} p99 ${dur(s.p99_ns)} is ${times(ratio)} its p50 ${dur(s.p50_ns)}; the slow calls ran ${dur(excess)} beyond p50 between ${dur(from)} and ${dur(to)}, before or outside the thread's scheduler records.`, values: { count: s.count, p50_ns: s.p50_ns, p99_ns: s.p99_ns, tail_ratio: round4(ratio), excess_ns: Math.round(excess) }, from_ns: from, to_ns: to, event_ids: sampleIds(calls.id), node_id: s.node_id, pid: s.pid },
    ],
    recommendations: [
      'Leave CPU headroom for the training thread: fewer DataLoader workers than cores (num_workers ≤ cores − 2), or lighter per-sample work in them.',
      'Pin the training thread and the workers to separate cores (taskset / os.sched_setaffinity) and lower the workers\' priority (os.nice in worker_init_fn).',
      'Record again with scheduler events for the whole run to confirm: the stall windows have no scheduler records in this trace.',
    ],
    caveats: ['Not observed directly: no sched_switch record of the calling thread overlaps the slow calls.'],
    impact_ns: excess,
    confidence: 'medium',
    alternatives,
  });
}

/** Where an op's percentiles come from, in words: all calls, or a stored sample (biased to slow calls). */
export function percentileBasis(ctx: AnalysisContext, s: ProcessOpStats): string {
  if (ctx.sampled(s.node_id, s, s.first_ns, s.last_ns + 1).length === 0) return `over all ${count(s.count, 'call')}`;
  const all = ctx.completeCount(s);
  return `from a stored sample of ${count(s.count, 'call')}${all.complete ? ` of ${all.count} (complete count)` : ''}, which over-represents slow calls`;
}
