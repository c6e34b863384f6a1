// A host-bound loop: the thread that feeds the GPU spends most of its time on the CPU outside
// GPU calls (Python, data preparation) and hardly waits for the GPU, so the GPU idles between
// steps. Needs complete scheduler records: without them on-CPU time cannot be told.
import { GPU_LAYERS, SYNC_OPS, type AnalysisContext, type GpuProcess } from '../context.ts';
import { threadActivity } from '../thread-activity.ts';
import type { Finding } from '../types.ts';
import { dur, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectHostBound(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const tid = ctx.gpuThreads(proc.node_id, proc.pid)[0];
    if (tid === undefined || proc.calls < th.minCalls) continue;
    const act = threadActivity(ctx.bundle, { nodeId: proc.node_id, pid: proc.pid, tid, fromNs: proc.from_ns, toNs: proc.to_ns }, ctx);
    const w = act.threads[0]?.windows[0];
    if (!w || w.observed_ns <= 0) continue;
    // A thread with no sched_switch row at all was not traced by the scheduler probe (another
    // node's probe, a filter), not on the CPU for the whole time.
    const m = w.complete && w.on_cpu_ns !== null && w.switches > 0 ? { observed: w.observed_ns, on: w.on_cpu_ns, inGpu: w.in_gpu_calls_ns, off: w.off_cpu.preempted_ns + w.off_cpu.blocked_ns + w.off_cpu.unknown_ns, calls: w.gpu_calls, basis: 'from complete sched_switch and GPU call records of the thread' } : fromAggregates(ctx, proc, tid);
    if (!m) continue;
    // Time in GPU calls may itself be on the CPU, so this is a lower bound on host work.
    const hostNs = Math.max(0, m.on - m.inGpu);
    const share = hostNs / m.observed;
    if (share < th.hostBoundShare) continue;
    // Calls that fail return at once and put no work on the GPU: that is the api-error
    // finding's symptom, not a loop that computes on the CPU.
    const failed = ctx.failedCalls(proc.node_id, proc.pid, tid);
    if (failed >= 0.5 * m.calls) continue;
    const syncIds = proc.ops.filter((o) => SYNC_OPS.has(o.op)).map((o) => o.op_id);
    const syncNs = ctx.busyNs(proc.node_id, proc.pid, syncIds);
    const syncShare = syncNs / m.observed;
    if (syncShare >= th.hostBoundMaxSyncShare) continue;
    const off = m.off;
    const label = ctx.label(proc.node_id, proc.pid);
    out.push(
      makeFinding(ctx, {
        kind: 'host-bound',
        severity: share >= th.highHostBoundShare ? 'HIGH' : 'MEDIUM',
        node_id: proc.node_id,
        pid: proc.pid,
        op: '',
        from_ns: proc.from_ns,
        to_ns: proc.to_ns,
        summary: `The GPU-feeding thread ${tid} of ${label} spent ${pct(share)} of its time on the CPU outside GPU calls and only ${pct(syncShare)} waiting for the GPU: the loop is host-bound`,
        root_cause: `Host-bound loop: thread ${tid} computes on the CPU between launches (${dur(hostNs)} of ${dur(m.observed)}), so the GPU finishes its work and waits for the next launch; it was off-CPU ${dur(off)} and in GPU calls ${dur(m.inGpu)} (${m.basis}).`,
        evidence: [
          {
            layer: 'HOST',
            kind: 'on-cpu',
            op: '',
            detail: `Thread ${tid}: on-CPU ${dur(m.on)}, of which at least ${dur(hostNs)} outside GPU calls (${pct(share)}); off-CPU ${dur(off)}; in GPU calls ${dur(m.inGpu)} over ${m.calls} calls, ${m.basis}.`,
            values: { observed_ns: Math.round(m.observed), on_cpu_ns: Math.round(m.on), host_ns: Math.round(hostNs), off_cpu_ns: Math.round(off), in_gpu_calls_ns: Math.round(m.inGpu), host_share: round4(share) },
            from_ns: proc.from_ns,
            to_ns: proc.to_ns,
            node_id: proc.node_id,
            pid: proc.pid,
          },
          {
            layer: 'CUDA',
            kind: 'gpu-wait',
            op: '',
            detail: `Synchronize calls took ${dur(syncNs)} (${pct(syncShare)}): the CPU rarely waits for the GPU, so the GPU is not the bottleneck.`,
            values: { sync_ns: Math.round(syncNs), sync_share: round4(syncShare) },
            from_ns: proc.from_ns,
            to_ns: proc.to_ns,
            node_id: proc.node_id,
            pid: proc.pid,
          },
        ],
        recommendations: [
          'Profile the thread on the CPU (py-spy record, or record with on-CPU stack samples) to find the host work between launches.',
          'Move data preparation into DataLoader workers, batch small kernels (larger batches, torch.compile, CUDA graphs) so each launch carries more GPU work.',
        ],
        impact_ns: hostNs,
        confidence: m.basis.includes('op_aggregates') ? 'medium' : 'high',
        alternatives: [{ cause: 'gpu-wait', verdict: 'rejected', detail: `Only ${pct(syncShare)} of the time is spent waiting for the GPU.` }],
      }),
    );
  }
  return out;
}

/**
 * The same accounting from op_aggregates where events are a sample: off-CPU and in-call time of
 * the whole process (complete counts), over its active span. Only for a process with one
 * thread, whose time the process totals then describe; nested runtime and driver
 * calls are summed, which only lowers the host estimate.
 */
function fromAggregates(ctx: AnalysisContext, proc: GpuProcess, tid: number): { observed: number; on: number; inGpu: number; off: number; calls: number; basis: string } | null {
  // Process totals describe the thread only when it is the process's only thread.
  if (ctx.gpuThreads(proc.node_id, proc.pid).length !== 1) return null;
  const others = ctx.bundle.db.prepare('SELECT count(*) FROM threads WHERE node_id = ? AND pid = ? AND tid != ?').pluck().get(proc.node_id, proc.pid, tid) as number;
  if (others > 0) return null;
  const sched = ctx.opId('sched_switch');
  const gpuOps = proc.ops.filter((o) => GPU_LAYERS.has(o.layer)).map((o) => o.op_id);
  if (sched === undefined || gpuOps.length === 0) return null;
  const sum = (ops: readonly number[]) => ctx.bundle.db.prepare(`SELECT count(*) AS rows, coalesce(sum(sum_dur_ns), 0) AS ns, coalesce(sum(count), 0) AS n FROM op_aggregates WHERE node_id = ? AND pid = ? AND op_id IN (${ops.join(',')})`).get(proc.node_id, proc.pid) as { rows: number; ns: number; n: number };
  const off = sum([sched]);
  const gpu = sum(gpuOps);
  if (off.rows === 0 || gpu.rows === 0) return null;
  const [a, b] = ctx.activeSpan(proc);
  const observed = b - a;
  return { observed, on: Math.max(0, observed - off.ns), inGpu: gpu.ns, off: off.ns, calls: gpu.n, basis: `from complete counts of the process in op_aggregates (thread ${tid} is its only thread)` };
}
