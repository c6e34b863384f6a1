// Throughput drops: a process's kernel-launch rate falls well below its own earlier peak for
// several windows, and the trace says why (CPU taken, blocked in the kernel, GPU shared or
// slower). Rates come from complete counts only: where launches were sampled, op_aggregates
// is used when it exists, and otherwise no drop is claimed.
import { LAUNCH_OPS, SYNC_OPS, type AnalysisContext, type GpuProcess } from '../context.ts';
import type { Evidence, Finding, ProcessOpStats } from '../types.ts';
import { dur, pct, rate, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

interface Rates {
  readonly from: number;
  readonly windowNs: number;
  readonly values: Float64Array;
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
    if (tooMany(w >= 1 ? Math.ceil((proc.to_ns - proc.from_ns) / w) : Infinity, `a rate window of ${dur(w)} (threshold rateWindowNs)`)) return null;
    const counts = ctx.counts(proc.node_id, proc.pid, s.op_id, proc.from_ns, proc.to_ns, w);
    return { from: proc.from_ns, windowNs: w, values: counts.map((c) => c / (w / 1e9)), source: 'events' };
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
  if (rows.length < 3 || width <= 0 || rows.some((r) => r.width_ns !== width)) {
    ctx.limitations.push(`Throughput of ${s.op} in ${ctx.label(proc.node_id, proc.pid)} was not judged: its events are only a sample (${[...new Set(ctx.sampled(proc.node_id, s, proc.from_ns, proc.to_ns).map((p) => p.policy))].join(', ')}) and the bundle has too few complete counts (op_aggregates) to compute rates; fewer stored events is not a drop.`);
    return null;
  }
  const from = rows[0]!.bucket_ns;
  const n = Math.round((rows[rows.length - 1]!.bucket_ns - from) / width) + 1;
  if (tooMany(n, `the op_aggregates bucket width of ${dur(width)}`)) return null;
  const values = new Float64Array(n);
  for (const r of rows) values[Math.round((r.bucket_ns - from) / width)] = r.n / (width / 1e9);
  return { from, windowNs: width, values, source: 'op_aggregates' };
}

function judge(ctx: AnalysisContext, proc: GpuProcess, s: ProcessOpStats, rates: Rates): Finding | null {
  const th = ctx.th;
  const v = rates.values;
  // First and last windows are partial (start-up, shutdown) and never judged.
  let peak = 0;
  let best: { a: number; b: number; peak: number; lost: number } | null = null;
  let runStart = -1;
  let runLost = 0;
  let runPeak = 0;
  for (let i = 1; i < v.length - 1; i++) {
    const low = peak >= th.minPeakRate && v[i]! < th.dropRatio * peak;
    if (low) {
      if (runStart < 0) {
        runStart = i;
        runLost = 0;
        runPeak = peak;
      }
      runLost += (runPeak - v[i]!) / runPeak;
    }
    if ((!low || i === v.length - 2) && runStart >= 0) {
      const end = low ? i + 1 : i;
      if (end - runStart >= th.minDropWindows && (!best || runLost > best.lost)) best = { a: runStart, b: end, peak: runPeak, lost: runLost };
      runStart = -1;
    }
    if (!low) peak = Math.max(peak, v[i]!);
  }
  if (!best) return null;
  let inSum = 0;
  for (let i = best.a; i < best.b; i++) inSum += v[i]!;
  const dropRate = inSum / (best.b - best.a);
  const drop = 1 - dropRate / best.peak;
  const from = rates.from + best.a * rates.windowNs;
  const to = rates.from + best.b * rates.windowNs;
  const refFrom = rates.from + rates.windowNs;
  const refTo = from;
  const cause = attributeCause(ctx, proc, from, to, refFrom, refTo);
  const label = ctx.label(proc.node_id, proc.pid);
  const evidence: Evidence[] = [...cause.evidence];
  evidence.push({
    layer: s.layer,
    kind: 'rate',
    op: s.op,
    detail: `${s.op} fell from a peak of ${rate(best.peak)} to ${rate(dropRate)} (−${pct(drop)}) for ${dur(to - from)}${rates.source === 'op_aggregates' ? ' (complete counts from op_aggregates)' : ''}.`,
    values: { peak_rate: round4(best.peak), drop_rate: round4(dropRate), drop_share: round4(drop), windows: best.b - best.a, window_ns: rates.windowNs },
    from_ns: from,
    to_ns: to,
    node_id: proc.node_id,
    pid: proc.pid,
  });
  return makeFinding(ctx, {
    kind: 'throughput-drop',
    severity: drop >= 0.7 ? 'HIGH' : 'MEDIUM',
    node_id: proc.node_id,
    pid: proc.pid,
    op: s.op,
    from_ns: from,
    to_ns: to,
    summary: `${s.op} throughput of ${label} dropped ${pct(drop)} (${rate(best.peak)} → ${rate(dropRate)}) for ${dur(to - from)}${cause.short ? ` — ${cause.short}` : ''}`,
    root_cause: cause.text,
    evidence,
    recommendations: cause.recommendations,
    caveats: rates.source === 'op_aggregates' ? ['Rates come from op_aggregates buckets, so the drop is located only to the bucket width.'] : [],
    impact_ns: best.lost * rates.windowNs,
  });
}

interface Cause {
  readonly short: string;
  readonly text: string;
  readonly evidence: Evidence[];
  readonly recommendations: string[];
}

/** Compares the drop window with the time before it: which per-second cost grew the most. */
function attributeCause(ctx: AnalysisContext, proc: GpuProcess, from: number, to: number, refFrom: number, refTo: number): Cause {
  const tid = ctx.gpuThreads(proc.node_id, proc.pid)[0];
  const perSecond = (a: number, b: number, fn: (lo: number, hi: number) => number) => (b > a ? fn(a, b) / ((b - a) / 1e9) : 0);
  const sched = ctx.opId('sched_switch');
  const offBy = (state: 'preempted' | 'blocked-d') => (lo: number, hi: number) => {
    if (tid === undefined || sched === undefined) return 0;
    const cond = state === 'preempted' ? 'arg2 = 0' : 'arg2 = 2';
    return (ctx.bundle.db.prepare(`SELECT coalesce(sum(dur_ns), 0) FROM events WHERE id >= ? AND id < ? AND op_id = ? AND node_id = ? AND tid = ? AND ${cond}`).pluck().get(ctx.bundle.idAtTime(lo), ctx.bundle.idAtTime(hi), sched, proc.node_id, tid) as number);
  };
  const syncIds = proc.ops.filter((o) => SYNC_OPS.has(o.op)).map((o) => o.op_id);
  const syncTime = (lo: number, hi: number) =>
    syncIds.length ? (ctx.bundle.db.prepare(`SELECT coalesce(sum(dur_ns), 0) FROM events WHERE id >= ? AND id < ? AND node_id = ? AND pid = ? AND op_id IN (${syncIds.join(',')})`).pluck().get(ctx.bundle.idAtTime(lo), ctx.bundle.idAtTime(hi), proc.node_id, proc.pid) as number) : 0;
  const candidates = [
    { name: 'preempted', delta: perSecond(from, to, offBy('preempted')) - perSecond(refFrom, refTo, offBy('preempted')) },
    { name: 'blocked', delta: perSecond(from, to, offBy('blocked-d')) - perSecond(refFrom, refTo, offBy('blocked-d')) },
    { name: 'gpu-wait', delta: perSecond(from, to, syncTime) - perSecond(refFrom, refTo, syncTime) },
  ].sort((a, b) => b.delta - a.delta || (a.name < b.name ? -1 : 1));
  const others = ctx.gpuProcesses.filter((p) => p.node_id === proc.node_id && p.pid !== proc.pid && p.from_ns < to && p.to_ns > from);
  const top = candidates[0]!;
  const evidence: Evidence[] = [];
  const none: Cause = { short: '', text: 'The trace does not show why: the thread was not more preempted, blocked or waiting on the GPU than before the drop.', evidence, recommendations: ['Record with host events (sched_switch, block IO) and stacks enabled to see what the process did during the drop.'] };
  if (top.delta < 0.05e9) return none;
  const values = { cost_ns_per_s: Math.round(top.delta) };
  if (top.name === 'preempted') {
    evidence.push({ layer: 'HOST', kind: 'off-cpu', op: 'sched_switch', detail: `During the drop the GPU-driving thread was preempted ${dur(top.delta)} more per second than before it.`, values, from_ns: from, to_ns: to, node_id: proc.node_id, pid: proc.pid });
    return { short: 'the thread was starved of CPU', text: 'CPU contention: the GPU-driving thread spent much more time waiting for a CPU during the drop (see the cpu-contention or scheduler-tail-latency finding for who ran).', evidence, recommendations: ['Give the training thread dedicated cores and lower the priority of competing work.'] };
  }
  if (top.name === 'blocked') {
    evidence.push({ layer: 'HOST', kind: 'off-cpu', op: 'sched_switch', detail: `During the drop the GPU-driving thread was blocked in the kernel (uninterruptible: memory reclaim or disk IO) ${dur(top.delta)} more per second than before it.`, values, from_ns: from, to_ns: to, node_id: proc.node_id, pid: proc.pid });
    return { short: 'the thread was stuck in the kernel (reclaim or IO)', text: 'The GPU-driving thread was blocked in uninterruptible sleep — memory reclaim or disk IO — instead of launching work (see the memory-pressure or io-interference finding).', evidence, recommendations: ['Find what pressures memory or the disk during the drop and move it off this host or throttle it.'] };
  }
  evidence.push({ layer: 'CUDA', kind: 'gpu-wait', op: 'sync', detail: `During the drop the process waited on the GPU ${dur(top.delta)} more per second than before it${others.length ? `, while ${others.map((p) => ctx.label(p.node_id, p.pid)).join(', ')} also used the GPU` : ''}.`, values, from_ns: from, to_ns: to, node_id: proc.node_id, pid: proc.pid });
  return others.length
    ? { short: 'another process is using the GPU', text: `GPU contention: ${others.map((p) => ctx.label(p.node_id, p.pid)).join(', ')} ran on the same GPU during the drop, so each step's GPU work took longer.`, evidence, recommendations: ['Give the job a GPU of its own (CUDA_VISIBLE_DEVICES, scheduler constraints) or partition it (MIG).'] }
    : { short: 'each step waits longer on the GPU', text: 'The GPU took longer per step during the drop (larger inputs, slower kernels, clocks or a process not visible in this trace).', evidence, recommendations: ['Compare the kernels launched before and during the drop; check GPU clocks and other tenants of the GPU.'] };
}
