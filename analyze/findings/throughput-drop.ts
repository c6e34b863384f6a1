// Throughput drops: a process's kernel-launch rate falls well below its own earlier peak for
// several windows, and the trace says why (CPU taken, blocked in the kernel, GPU shared or
// slower). Rates come from complete counts only: where launches were sampled, op_aggregates
// is used when it exists, and otherwise no drop is claimed.
import { LAUNCH_OPS, SYNC_OPS, sampleIds, type AnalysisContext, type GpuProcess } from '../context.ts';
import { columnsOf } from '../event-index.ts';
import type { Alternative, Confidence, Evidence, Finding, ProcessOpStats } from '../types.ts';
import { count, dur, list, pct, rate, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

interface Rates {
  readonly from: number;
  readonly windowNs: number;
  /** Calls per second of active time in each window. */
  readonly values: Float64Array;
  /** Calls counted in each window. */
  readonly counts: Float64Array;
  /** Seconds of each window in which the process was alive (the rate's denominator). */
  readonly active: Float64Array;
  /** Windows whose rate is judged: whole ones for stored events, ones a quarter alive or more for op_aggregates. */
  readonly judged: readonly number[];
  readonly source: 'events' | 'op_aggregates';
}

export function detectThroughputDrop(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    for (const s of proc.ops) {
      if (!LAUNCH_OPS.has(s.op) || s.count < ctx.th.minCalls) continue;
      const rates = launchRates(ctx, proc, s);
      if (!rates) continue;
      const f = judge(ctx, proc, s, rates);
      if (f) out.push(f);
    }
  }
  return out;
}

/** Most rate windows judged per process and op: bounds memory whatever the window threshold or op_aggregates buckets. */
const MAX_RATE_WINDOWS = 1_000_000;

function launchRates(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats): Rates | null {
  const w = Math.round(ctx.th.rateWindowNs);
  const tooMany = (windows: number, width: string) => {
    if (windows <= MAX_RATE_WINDOWS) return false;
    ctx.limitations.push(`Throughput of ${s.op} in ${ctx.label(proc.node_id, proc.pid)} was not judged: ${width} splits its activity into more than ${MAX_RATE_WINDOWS.toLocaleString('en-US')} windows.`);
    return true;
  };
  if (ctx.sampled(proc.node_id, s, proc.from_ns, proc.to_ns).length === 0) {
    const end = aliveEnd(ctx, proc);
    if (tooMany(w >= 1 ? Math.ceil((end - proc.from_ns) / w) : Infinity, `a rate window of ${dur(w)} (threshold rateWindowNs)`)) return null;
    const counts = ctx.counts(proc.node_id, proc.pid, s.op_id, proc.from_ns, end, w);
    // First and last windows are partial (start-up, shutdown) and never judged.
    const judged = Array.from({ length: Math.max(0, counts.length - 2) }, (_, i) => i + 1);
    return { from: proc.from_ns, windowNs: w, values: counts.map((c) => c / (w / 1e9)), counts, active: counts.map(() => w / 1e9), judged, source: 'events' };
  }
  // The process's own counts, else node-wide ones (pid 0) when no other process on the node
  // makes this call; only buckets within the process's activity, or its exit would read as a drop.
  const bucketsOf = (pid: number) =>
    ctx.bundle.db
      .prepare('SELECT bucket_ns, width_ns, sum(count) AS n FROM op_aggregates WHERE node_id = ? AND op_id = ? AND pid = ? AND bucket_ns + width_ns > ? AND bucket_ns < ? GROUP BY bucket_ns, width_ns ORDER BY bucket_ns, width_ns')
      .all(proc.node_id, s.op_id, pid, proc.from_ns, proc.to_ns) as { bucket_ns: number; width_ns: number; n: number }[];
  const alone = !ctx.gpuProcesses.some((p) => p.node_id === proc.node_id && p.pid !== proc.pid && p.ops.some((o) => o.op_id === s.op_id));
  let rows = bucketsOf(proc.pid);
  if (rows.length === 0 && alone) rows = bucketsOf(0);
  const width = rows[0]?.width_ns ?? 0;
  if (rows.length < 2 || width <= 0 || rows.some((r) => r.width_ns !== width)) {
    ctx.limitations.push(`Throughput of ${s.op} in ${ctx.label(proc.node_id, proc.pid)} was not judged: its events are only a sample (${[...new Set(ctx.sampled(proc.node_id, s, proc.from_ns, proc.to_ns).map((p) => p.policy))].join(', ')}) and the bundle has too few complete counts (op_aggregates) to compute rates; fewer stored events is not a drop.`);
    return null;
  }
  const from = rows[0]!.bucket_ns;
  const n = Math.round((rows[rows.length - 1]!.bucket_ns - from) / width) + 1;
  if (tooMany(n, `the op_aggregates bucket width of ${dur(width)}`)) return null;
  // Buckets can be far wider than the process's life in them (Ingero counts per minute): each
  // rate is per second the process was alive in the bucket, so a start or an exit is no drop.
  const [alive0, alive1] = [proc.from_ns, aliveEnd(ctx, proc)];
  const counts = new Float64Array(n);
  const active = new Float64Array(n);
  for (const r of rows) counts[Math.round((r.bucket_ns - from) / width)] = r.n;
  const judged: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = from + i * width;
    active[i] = Math.max(0, Math.min(a + width, alive1) - Math.max(a, alive0)) / 1e9;
    if (active[i]! >= (0.25 * width) / 1e9) judged.push(i);
  }
  const values = counts.map((c, i) => (active[i]! > 0 ? c / active[i]! : 0));
  return { from, windowNs: width, values, counts, active, judged, source: 'op_aggregates' };
}

function judge(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, rates: Rates): Finding | null {
  const th = ctx.th;
  const v = rates.values;
  const minDropSeconds = (th.minDropWindows * th.rateWindowNs) / 1e9;
  let peak = 0;
  let best: { a: number; b: number; peak: number; lost: number } | null = null;
  let run: { a: number; peak: number; lost: number; seconds: number; calls: number } | null = null;
  const close = (end: number) => {
    if (!run) return;
    // Complete counts can be small (a few calls per minute): a drop must be more than chance,
    // three standard deviations of a Poisson count at the peak rate.
    const expected = run.peak * run.seconds;
    const significant = rates.source === 'events' || (expected >= 10 && expected - run.calls >= 3 * Math.sqrt(expected));
    if (run.seconds >= minDropSeconds && significant && (!best || run.lost > best.lost)) best = { a: run.a, b: end, peak: run.peak, lost: run.lost };
    run = null;
  };
  let previous = -2;
  for (const i of rates.judged) {
    if (i !== previous + 1) close(previous + 1);
    previous = i;
    const low = peak >= th.minPeakRate * (rates.source === 'events' ? 1 : 0) && peak > 0 && v[i]! < th.dropRatio * peak;
    if (low) {
      if (!run) run = { a: i, peak, lost: 0, seconds: 0, calls: 0 };
      run.lost += ((run.peak - v[i]!) / run.peak) * rates.active[i]! * 1e9;
      run.seconds += rates.active[i]!;
      run.calls += rates.counts[i]!;
    } else {
      close(i);
      peak = Math.max(peak, v[i]!);
    }
  }
  close(previous + 1);
  if (!best) return null;
  const found: { a: number; b: number; peak: number; lost: number } = best;
  let calls = 0;
  let seconds = 0;
  for (let i = found.a; i < found.b; i++) {
    calls += rates.counts[i]!;
    seconds += rates.active[i]!;
  }
  const dropRate = calls / seconds;
  const drop = 1 - dropRate / found.peak;
  const from = rates.from + found.a * rates.windowNs;
  const to = Math.min(rates.from + found.b * rates.windowNs, aliveEnd(ctx, proc));
  const refFrom = rates.source === 'events' ? rates.from + rates.windowNs : Math.max(rates.from, proc.from_ns);
  const cause = attributeCause(ctx, proc, { from, to }, { from: refFrom, to: from }, rates);
  const label = ctx.label(proc.node_id, proc.pid);
  const complete = rates.source === 'op_aggregates' ? `complete counts from op_aggregates, ${dur(rates.windowNs)} buckets` : 'every call stored';
  const evidence: Evidence[] = [
    {
      layer: s.layer,
      kind: 'rate',
      op: s.op,
      detail: `${s.op} fell from a peak of ${rate(found.peak)} to ${rate(dropRate)} (−${pct(drop)}) for ${dur(to - from)} (${complete}).`,
      values: { peak_rate: round4(found.peak), drop_rate: round4(dropRate), drop_share: round4(drop), windows: found.b - found.a, window_ns: rates.windowNs, calls_in_drop: calls },
      from_ns: from,
      to_ns: to,
      node_id: proc.node_id,
      pid: proc.pid,
    },
    ...cause.evidence,
    ...eventsInDrop(ctx, proc, s, { from, to }),
  ];
  return makeFinding(ctx, {
    kind: 'throughput-drop',
    severity: drop >= 0.7 ? 'HIGH' : 'MEDIUM',
    node_id: proc.node_id,
    pid: proc.pid,
    op: s.op,
    from_ns: from,
    to_ns: to,
    summary: `${s.op} throughput of ${label} dropped ${pct(drop)} (${rate(found.peak)} → ${rate(dropRate)}) from ${dur(from)} for ${dur(to - from)}${cause.short ? ` — ${cause.short}` : ''}`,
    root_cause: cause.text,
    evidence,
    recommendations: cause.recommendations,
    caveats: rates.source === 'op_aggregates' ? [`Rates come from op_aggregates buckets of ${dur(rates.windowNs)}, so the drop is located only to the bucket width.`] : [],
    impact_ns: found.lost,
    confidence: cause.confidence,
    alternatives: cause.alternatives,
  });
}

/**
 * The last sign of the process in the analysed time: the end of its last-ending event, or its
 * exit. Not GpuProcess.to_ns, which adds an op's longest call to its last start: one 30 s call
 * early on would stretch the process 30 s past its end, windows without launches that read as
 * a drop. Any event ending after the last start began at most the longest duration before it.
 */
function aliveEnd(ctx: AnalysisContext, proc: GpuProcess): number {
  const lastStart = Math.max(...proc.ops.map((o) => o.last_ns));
  const longest = Math.max(...proc.ops.map((o) => o.max_ns));
  const hi = Number.isFinite(ctx.selection.to) ? ctx.idAtTime(ctx.selection.to) : Number.MAX_SAFE_INTEGER;
  const last = ctx.bundle.db.prepare('SELECT max(ts_ns + dur_ns) FROM events WHERE id >= ? AND id < ? AND node_id = ? AND pid = ?').pluck().get(ctx.idAtTime(lastStart - longest), hi, proc.node_id, proc.pid) as number | null;
  const died = ctx.lifetime(proc.node_id, proc.pid).died;
  return Math.min(Math.max(last ?? proc.from_ns, Number.isNaN(died) ? -Infinity : died), ctx.selection.to);
}

/** Stored events shown beside the rates, so that a reader can go to them: */
const CITED_PER_KIND = 5;

/**
 * The stored events of the drop a reader can open: the longest off-CPU stretches of the
 * GPU-feeding thread and the slowest stored calls of the op. Rates may rest on complete counts
 * alone; these are the recorded events inside the window, and say whether they are a sample.
 */
function eventsInDrop(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, drop: Window): Evidence[] {
  const out: Evidence[] = [];
  const node = proc.node_id;
  const at = (ts: number, d: number) => `${dur(d)} at ${dur(ts)}`;
  const stored = (op: { op: string; source: string }) => (ctx.sampled(node, op, drop.from, drop.to).length ? `stored sample of ${op.op}, ${list([...new Set(ctx.sampled(node, op, drop.from, drop.to).map((p) => p.policy))])}` : `every ${op.op} stored`);
  const tid = ctx.gpuThreads(node, proc.pid)[0];
  const sched = ctx.bundle.ops().get(ctx.opId('sched_switch') ?? -1);
  if (tid !== undefined && sched) {
    const off = ctx.offCpu(node, [tid], drop.from, drop.to);
    const longest = Array.from(off.id.keys()).sort((a, b) => off.dur[b]! - off.dur[a]! || a - b).slice(0, CITED_PER_KIND).sort((a, b) => a - b);
    if (longest.length) {
      out.push({
        layer: 'HOST',
        kind: 'off-cpu',
        op: 'sched_switch',
        detail: `Longest off-CPU stretches of thread ${tid} in the drop: ${list(longest.map((i) => at(off.ts[i]!, off.dur[i]!)))} (${count(off.id.length, 'switch', 'switches')} in all; ${stored({ op: sched.name, source: sched.source })}).`,
        values: { switches: off.id.length, longest_ns: Math.max(...longest.map((i) => off.dur[i]!)) },
        from_ns: drop.from,
        to_ns: drop.to,
        event_ids: longest.map((i) => off.id[i]!),
        node_id: node,
        pid: proc.pid,
      });
    }
  }
  const slowest = ctx.bundle.db
    .prepare('SELECT id, ts_ns AS ts, dur_ns AS d FROM events WHERE id >= ? AND id < ? AND op_id = ? AND node_id = ? AND pid = ? ORDER BY dur_ns DESC, id LIMIT ?')
    .all(ctx.idAtTime(drop.from), ctx.idAtTime(drop.to), s.op_id, node, proc.pid, CITED_PER_KIND) as { id: number; ts: number; d: number }[];
  if (slowest.length) {
    slowest.sort((a, b) => a.id - b.id);
    out.push({
      layer: s.layer,
      kind: 'latency',
      op: s.op,
      detail: `Slowest stored ${s.op} calls in the drop: ${list(slowest.map((r) => at(r.ts, r.d)))} (${stored(s)}; ${s.op} p50 ${dur(s.p50_ns)} over the stored calls).`,
      values: { calls: slowest.length, slowest_ns: Math.max(...slowest.map((r) => r.d)) },
      from_ns: drop.from,
      to_ns: drop.to,
      event_ids: slowest.map((r) => r.id),
      node_id: node,
      pid: proc.pid,
    });
  }
  return out;
}

interface Cause {
  readonly short: string;
  readonly text: string;
  readonly evidence: Evidence[];
  readonly recommendations: string[];
  readonly confidence: Confidence;
  readonly alternatives: Alternative[];
}

interface Window {
  readonly from: number;
  readonly to: number;
}

interface Hypothesis {
  readonly cause: string;
  /** 0 = nothing for it; the best-supported one is the verdict. */
  readonly support: number;
  readonly detail: string;
  readonly short: string;
  readonly text: string;
  readonly recommendations: string[];
  readonly evidence?: Evidence;
}

/**
 * Differential diagnosis of a drop: each candidate cause is measured in the drop and in the
 * time before it, from complete data only (stored events where nothing was sampled, else
 * op_aggregates, plus host CPU samples and process forks), and the best supported one wins.
 */
function attributeCause(ctx: AnalysisContext, proc: GpuProcess, drop: Window, ref: Window, rates: Rates): Cause {
  const node = proc.node_id;
  const [alive0, alive1] = [proc.from_ns, aliveEnd(ctx, proc)];
  const aliveSeconds = (w: Window) => Math.max(0, Math.min(w.to, alive1) - Math.max(w.from, alive0)) / 1e9;
  const perSecond = (w: Window, ns: number) => (aliveSeconds(w) > 0 ? ns / aliveSeconds(w) : 0);
  const offDrop = offCpuTime(ctx, proc, drop);
  const offRef = offCpuTime(ctx, proc, ref);
  const syncIds = proc.ops.filter((o) => SYNC_OPS.has(o.op));
  const syncDrop = completeTime(ctx, node, proc.pid, syncIds, drop);
  const syncRef = completeTime(ctx, node, proc.pid, syncIds, ref);
  const cpu = (w: Window) => ctx.bundle.db.prepare('SELECT avg(cpu_pct) AS pct, count(*) AS n FROM system_samples WHERE node_id = ? AND ts_ns >= ? AND ts_ns < ? AND cpu_pct IS NOT NULL').get(node, w.from, w.to) as { pct: number | null; n: number };
  const cpuDrop = cpu(drop);
  const cpuRef = cpu(ref);
  const forked = childForks(ctx, proc, { from: Math.max(ref.from, drop.from - rates.windowNs), to: drop.to });
  const others = ctx.gpuProcesses.filter((p) => p.node_id === node && p.pid !== proc.pid && p.from_ns < drop.to && p.to_ns > drop.from);
  const evidence = (kind: string, op: string, detail: string, values: Record<string, number>, ids: readonly number[] = []): Evidence => ({ layer: kind === 'gpu-wait' ? 'CUDA' : 'HOST', kind, op, detail, values, from_ns: drop.from, to_ns: drop.to, ...(ids.length ? { event_ids: sampleIds(ids) } : {}), node_id: node, pid: proc.pid });
  const forkIds = forked.map((f) => f.id);
  const hyps: Hypothesis[] = [];

  const offDelta = perSecond(drop, offDrop.ns) - perSecond(ref, offRef.ns);
  if (offDrop.source) {
    const words = `The process's threads were off-CPU ${dur(offDrop.ns)} in ${count(offDrop.switches, 'switch', 'switches')} during the drop (${dur(perSecond(drop, offDrop.ns))} per second alive) against ${dur(offRef.ns)} in ${count(offRef.switches, 'switch', 'switches')} before it (${dur(perSecond(ref, offRef.ns))} per second), from ${offDrop.source}.`;
    const preempted = offDrop.preemptedNs / Math.max(1, offDrop.ns);
    hyps.push({
      cause: 'preemption',
      support: offDelta >= 0.05e9 ? (offDrop.stateKnown ? 0.5 + 0.3 * preempted : 0.5) : 0,
      detail: offDelta >= 0.05e9 ? words : `Off-CPU time grew by only ${dur(Math.max(0, offDelta))} per second: ${words}`,
      short: 'the process was off-CPU far more',
      text: `The process spent much more time off-CPU during the drop (${dur(perSecond(drop, offDrop.ns))} per second against ${dur(perSecond(ref, offRef.ns))} before)${offDrop.stateKnown ? `, ${pct(preempted)} of it runnable but preempted` : '; whether preempted or sleeping is not recorded (prev_state)'}.`,
      recommendations: ['Give the GPU-feeding thread dedicated cores and lower the priority of competing work.'],
      evidence: evidence('off-cpu', 'sched_switch', words, { drop_off_cpu_ns: Math.round(offDrop.ns), ref_off_cpu_ns: Math.round(offRef.ns), drop_switches: offDrop.switches, ref_switches: offRef.switches, delta_ns_per_s: Math.round(offDelta) }),
    });
  }
  if (cpuDrop.pct !== null && cpuDrop.n > 0) {
    const saturated = cpuDrop.pct >= 90 && (cpuRef.pct === null || cpuDrop.pct - cpuRef.pct >= 10);
    const words = `Host CPU was ${pct(cpuDrop.pct / 100)} busy during the drop (${count(cpuDrop.n, 'system sample')})${cpuRef.pct !== null ? ` against ${pct(cpuRef.pct / 100)} before it` : ''}.`;
    const kidSwitches = forked.reduce((t, f) => t + offCpuTime(ctx, { ...proc, pid: f.child }, drop, false).switches, 0);
    const kids = forked.length ? ` ${ctx.label(node, proc.pid)} forked ${count(forked.length, 'child process', 'child processes')} between ${dur(forked[0]!.ts)} and ${dur(forked.at(-1)!.ts)} (${list(forked.slice(0, 4).map((f) => ctx.label(node, f.child)))}${forked.length > 4 ? ', …' : ''})${kidSwitches ? `, which switched ${count(kidSwitches, 'time')} in the drop (complete counts from op_aggregates; the CPU time they took is not recorded)` : ''}.` : '';
    hyps.push({
      cause: forked.length ? 'cpu-saturation-by-own-workers' : 'cpu-saturation',
      // Host samples say the CPU was busy, not who used it: never more than medium confidence.
      support: saturated ? (forked.length ? 0.75 : 0.6) : 0,
      detail: words + kids,
      short: forked.length ? `the host CPU saturated after it forked ${count(forked.length, 'worker')}` : 'the host CPU was saturated',
      text: `Host CPU saturation: ${words}${kids} With every core busy the GPU-feeding thread gets the CPU too rarely to keep launching work${forked.length ? '; the workers it forked are the new load' : ''}.`,
      recommendations: forked.length
        ? ['Use fewer worker processes than free cores (DataLoader num_workers ≤ cores − 2) or make their per-sample work lighter.', "Pin the training thread and the workers to separate cores (os.sched_setaffinity) and lower the workers' priority (os.nice in worker_init_fn)."]
        : ['Find what keeps the host CPU busy during the drop and move it off this host or throttle it.'],
      evidence: evidence('cpu-busy', forked.length ? 'process_fork' : '', words + kids, { drop_cpu_pct: round4(cpuDrop.pct), ref_cpu_pct: round4(cpuRef.pct ?? 0), children_forked: forked.length }, forkIds),
    });
  } else if (forked.length) {
    const words = `${ctx.label(node, proc.pid)} forked ${count(forked.length, 'child process', 'child processes')} between ${dur(forked[0]!.ts)} and ${dur(forked.at(-1)!.ts)}; the bundle has no host CPU samples to tell whether they saturated the CPU.`;
    hyps.push({ cause: 'blocked-on-children', support: 0.4, detail: words, short: `it forked ${count(forked.length, 'child process', 'child processes')} as the rate fell`, text: `The drop starts as the process forks ${count(forked.length, 'child process', 'child processes')}: waiting on them (or competing with them for CPU) is the likeliest cause the trace supports.`, recommendations: ['Record with host CPU samples and scheduler events for the workers to tell competition for CPU from waiting on them.'], evidence: evidence('lifecycle', 'process_fork', words, { children_forked: forked.length }, forkIds) });
  }
  const syncDelta = perSecond(drop, syncDrop.ns) - perSecond(ref, syncRef.ns);
  if (syncDrop.source) {
    const words = `It waited on the GPU ${dur(perSecond(drop, syncDrop.ns))} per second during the drop against ${dur(perSecond(ref, syncRef.ns))} before it (from ${syncDrop.source})${others.length ? `, while ${list(others.map((p) => ctx.label(p.node_id, p.pid)))} also used the GPU` : ''}.`;
    hyps.push({
      cause: others.length ? 'gpu-sharing' : 'gpu-wait',
      support: syncDelta >= 0.05e9 ? (others.length ? 0.7 : 0.6) : 0,
      detail: words,
      short: others.length ? 'another process is using the GPU' : 'each step waits longer on the GPU',
      text: others.length ? `GPU contention: ${list(others.map((p) => ctx.label(p.node_id, p.pid)))} ran on the same GPU during the drop, so each step's GPU work took longer.` : 'The GPU took longer per step during the drop (larger inputs, slower kernels, clocks or a process not visible in this trace).',
      recommendations: others.length ? ['Give the job a GPU of its own (CUDA_VISIBLE_DEVICES, scheduler constraints) or partition it (MIG).'] : ['Compare the kernels launched before and during the drop; check GPU clocks and other tenants of the GPU.'],
      evidence: evidence('gpu-wait', 'sync', words, { drop_sync_ns: Math.round(syncDrop.ns), ref_sync_ns: Math.round(syncRef.ns), delta_ns_per_s: Math.round(syncDelta) }),
    });
  }
  const ranked = hyps.filter((h) => h.support > 0).sort((a, b) => b.support - a.support || (a.cause < b.cause ? -1 : 1));
  const alternatives: Alternative[] = [
    ...ranked.slice(1).map((h, i) => ({ cause: h.cause, verdict: i === 0 ? ('runner-up' as const) : ('unsupported' as const), detail: h.detail })),
    ...hyps.filter((h) => h.support === 0).map((h) => ({ cause: h.cause, verdict: 'rejected' as const, detail: h.detail })),
  ];
  const best = ranked[0];
  if (!best) {
    const measured = hyps.map((h) => h.cause);
    return {
      short: 'cause not determined',
      text: `Cause not determined: ${measured.length ? `the trace shows no growth in ${list(measured)}` : 'the trace has no scheduler records, host CPU samples or GPU waits for this process'} during the drop. The thread was likely busy on the CPU with work other than launching (a host-bound step) or waiting on something not recorded.`,
      evidence: hyps.flatMap((h) => (h.evidence ? [h.evidence] : [])),
      recommendations: ['Record again with scheduler events (with prev_state), host CPU samples and on-CPU stack samples of the process to see what it did during the drop.'],
      confidence: 'low',
      alternatives,
    };
  }
  return {
    short: best.short,
    text: best.text,
    evidence: ranked.flatMap((h) => (h.evidence ? [h.evidence] : [])),
    recommendations: best.recommendations,
    confidence: best.support >= 0.8 && ranked.length >= 1 ? 'high' : 'medium',
    alternatives,
  };
}

/** Forks made by the process (its children) in a window, in time order. */
function childForks(ctx: AnalysisContext, proc: GpuProcess, w: Window): { id: number; ts: number; child: number }[] {
  const fork = ctx.opId('process_fork');
  if (fork === undefined) return [];
  const [id, ts] = ctx.columns((g) => g.op === fork && g.node === proc.node_id && g.pid === proc.pid, ['id', 'ts'], { loId: ctx.idAtTime(w.from), hiId: ctx.idAtTime(w.to) });
  const child = columnsOf(ctx.bundle, Array.from(id!), ['arg0']);
  return Array.from(id!, (i, k) => ({ id: i, ts: ts![k]!, child: child.get(i)?.[0] ?? null })).filter((f): f is { id: number; ts: number; child: number } => f.child !== null);
}

interface Measured {
  readonly ns: number;
  readonly switches: number;
  readonly preemptedNs: number;
  readonly stateKnown: boolean;
  /** Where the number comes from, in words; '' when nothing complete measures it. */
  readonly source: string;
}

/**
 * Off-CPU time of the process in a window, from complete data: its GPU-feeding thread's stored
 * sched_switch rows where they are not a sample (byThread), else the process's op_aggregates counts.
 */
function offCpuTime(ctx: AnalysisContext, proc: GpuProcess, w: Window, byThread = true): Measured {
  const sched = ctx.bundle.ops().get(ctx.opId('sched_switch') ?? -1);
  const tid = byThread ? ctx.gpuThreads(proc.node_id, proc.pid)[0] : undefined;
  if (!sched) return { ns: 0, switches: 0, preemptedNs: 0, stateKnown: false, source: '' };
  if (byThread && tid !== undefined && ctx.sampled(proc.node_id, { op: sched.name, source: sched.source }, w.from, w.to).length === 0) {
    const r = { n: 0, ns: 0, pre: 0, known: 0 };
    ctx.rows(
      (g) => g.op === sched.id && g.node === proc.node_id && g.tid === tid,
      (_id, _ts, d, _g, row) => {
        const state = ctx.index.switchOf(row).state;
        r.n++;
        r.ns += d;
        if (state === 0) r.pre += d;
        if (!Number.isNaN(state)) r.known++;
      },
      ctx.idAtTime(w.from),
      ctx.idAtTime(w.to),
    );
    return { ns: r.ns, switches: r.n, preemptedNs: r.pre, stateKnown: r.n > 0 && r.known === r.n, source: `stored sched_switch events of thread ${tid}` };
  }
  const agg = aggregateTime(ctx, proc.node_id, proc.pid, [sched.id], w);
  return agg ? { ns: agg.ns, switches: agg.count, preemptedNs: 0, stateKnown: false, source: 'complete counts of the process in op_aggregates' } : { ns: 0, switches: 0, preemptedNs: 0, stateKnown: false, source: '' };
}

/** Time in some ops of the process in a window, from stored events where complete, else op_aggregates. */
function completeTime(ctx: AnalysisContext, node: number, pid: number, ops: readonly ProcessOpStats[], w: Window): Measured {
  if (ops.length === 0) return { ns: 0, switches: 0, preemptedNs: 0, stateKnown: false, source: '' };
  if (ops.every((o) => ctx.sampled(node, o, w.from, w.to).length === 0)) {
    const ids = new Set(ops.map((o) => o.op_id));
    let ns = 0;
    ctx.rows((g) => g.node === node && g.pid === pid && ids.has(g.op), (_id, _ts, d) => void (ns += d), ctx.idAtTime(w.from), ctx.idAtTime(w.to));
    return { ns, switches: 0, preemptedNs: 0, stateKnown: false, source: 'stored events' };
  }
  const agg = aggregateTime(ctx, node, pid, ops.map((o) => o.op_id), w);
  return agg ? { ns: agg.ns, switches: agg.count, preemptedNs: 0, stateKnown: false, source: 'complete counts in op_aggregates' } : { ns: 0, switches: 0, preemptedNs: 0, stateKnown: false, source: '' };
}

/** Sum of op_aggregates over the buckets overlapping the window (whole buckets), or null when there are none. */
function aggregateTime(ctx: AnalysisContext, node: number, pid: number, opIds: readonly number[], w: Window): { ns: number; count: number } | null {
  const r = ctx.bundle.db.prepare(`SELECT count(*) AS rows, coalesce(sum(sum_dur_ns), 0) AS ns, coalesce(sum(count), 0) AS n FROM op_aggregates WHERE node_id = ? AND pid = ? AND op_id IN (${opIds.join(',')}) AND bucket_ns + width_ns > ? AND bucket_ns < ?`).get(node, pid, w.from, w.to) as { rows: number; ns: number; n: number };
  return r.rows > 0 ? { ns: r.ns, count: r.n } : null;
}
