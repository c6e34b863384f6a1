// A host-bound loop: the thread that feeds the GPU spends most of its time on the CPU outside
// GPU calls (Python, data preparation) and hardly waits for the GPU, so the GPU idles between
// steps. Needs complete scheduler records: without them on-CPU time cannot be told.
import { SYNC_OPS, type AnalysisContext } from '../context.ts';
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
    const act = threadActivity(ctx.bundle, { nodeId: proc.node_id, pid: proc.pid, tid, fromNs: proc.from_ns, toNs: proc.to_ns });
    const w = act.threads[0]?.windows[0];
    if (!w || !w.complete || w.on_cpu_ns === null || w.observed_ns <= 0) continue;
    // Time in GPU calls may itself be on the CPU, so this is a lower bound on host work.
    const hostNs = Math.max(0, w.on_cpu_ns - w.in_gpu_calls_ns);
    const share = hostNs / w.observed_ns;
    if (share < th.hostBoundShare) continue;
    // Calls that fail return at once and put no work on the GPU: that is the api-error
    // finding's symptom, not a loop that computes on the CPU.
    const failed = ctx.bundle.db.prepare('SELECT count(*) FROM events WHERE node_id = ? AND pid = ? AND tid = ? AND ret IS NOT NULL AND ret != 0').pluck().get(proc.node_id, proc.pid, tid) as number;
    if (failed >= 0.5 * w.gpu_calls) continue;
    const syncIds = proc.ops.filter((o) => SYNC_OPS.has(o.op)).map((o) => o.op_id);
    const syncNs = ctx.busyNs(proc.node_id, proc.pid, syncIds);
    const syncShare = syncNs / w.observed_ns;
    if (syncShare >= th.hostBoundMaxSyncShare) continue;
    const off = w.off_cpu.preempted_ns + w.off_cpu.blocked_ns + w.off_cpu.unknown_ns;
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
        root_cause: `Host-bound loop: thread ${tid} computes on the CPU between launches (${dur(hostNs)} of ${dur(w.observed_ns)}), so the GPU finishes its work and waits for the next launch; it was off-CPU ${dur(off)} and in GPU calls ${dur(w.in_gpu_calls_ns)} (every call and switch stored).`,
        evidence: [
          {
            layer: 'HOST',
            kind: 'on-cpu',
            op: '',
            detail: `Thread ${tid}: on-CPU ${dur(w.on_cpu_ns)}, of which at least ${dur(hostNs)} outside GPU calls (${pct(share)}); off-CPU ${dur(off)}; in GPU calls ${dur(w.in_gpu_calls_ns)} over ${w.gpu_calls} calls, from complete sched_switch and GPU call records.`,
            values: { observed_ns: w.observed_ns, on_cpu_ns: w.on_cpu_ns, host_ns: Math.round(hostNs), off_cpu_ns: off, in_gpu_calls_ns: w.in_gpu_calls_ns, host_share: round4(share) },
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
        confidence: 'high',
        alternatives: [{ cause: 'gpu-wait', verdict: 'rejected', detail: `Only ${pct(syncShare)} of the time is spent waiting for the GPU.` }],
      }),
    );
  }
  return out;
}
