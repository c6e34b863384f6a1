// Synchronization stalls: synchronize calls take most of the GPU-driving process's wall time
// and come so often that the CPU can never queue work ahead of the GPU.
import { LAUNCH_OPS, SYNC_OPS, type AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { count, dur, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectSyncStall(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const active = ctx.shareSpan(proc);
    const span = active.to - active.from;
    const syncs = proc.ops.filter((o) => SYNC_OPS.has(o.op));
    if (span <= 0 || syncs.length === 0) continue;
    // Summed durations are a cheap upper bound of the time spent in syncs; the exact share is
    // the wall time covered by them, which differs when several threads synchronize at once.
    if (syncs.reduce((s, o) => s + o.total_ns, 0) / span < th.syncShare) continue;
    const syncNs = ctx.busyNs(proc.node_id, proc.pid, syncs.map((o) => o.op_id));
    const syncCount = syncs.map((o) => ctx.completeCount(o));
    const syncCalls = syncCount.reduce((s, c) => s + c.count, 0);
    const share = syncNs / span;
    if (share < th.syncShare) continue;
    const launches = proc.ops.filter((o) => LAUNCH_OPS.has(o.op));
    // Per-launch frequency needs complete counts of both (op_aggregates where events are sampled).
    const launchCount = launches.map((o) => ctx.completeCount(o));
    const launchCalls = launchCount.reduce((s, c) => s + c.count, 0);
    const caveats: string[] = [];
    let perLaunch: number | null = launchCalls > 0 ? syncCalls / launchCalls : null;
    if ([...launchCount, ...syncCount].some((c) => !c.complete)) {
      perLaunch = null;
      caveats.push('Kernel launches or synchronize calls are only a sample in this trace and op_aggregates has no complete counts of them, so how often the process synchronizes per launch cannot be told; severity is capped at MEDIUM.');
    }
    if (perLaunch !== null && perLaunch < th.syncPerLaunch) continue;
    const severity = perLaunch !== null && perLaunch >= th.highSyncPerLaunch ? 'HIGH' : 'MEDIUM';
    const top = [...syncs].sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id)[0]!;
    const label = ctx.label(proc.node_id, proc.pid);
    out.push(
      makeFinding(ctx, {
        kind: 'sync-stall',
        severity,
        node_id: proc.node_id,
        pid: proc.pid,
        op: top.op,
        from_ns: active.from,
        to_ns: active.to,
        summary: `${label} spends ${pct(share)} of its time blocked in ${top.op}${perLaunch !== null ? `, synchronizing every ${(1 / perLaunch).toFixed(1)} kernel launches` : ''}`,
        root_cause: `The CPU waits for the GPU to drain after ${perLaunch !== null && perLaunch >= th.highSyncPerLaunch ? 'almost every kernel' : 'short bursts of work'}, so it cannot queue the next work while the GPU runs: GPU and CPU take turns instead of overlapping.`,
        evidence: [
          {
            layer: top.layer,
            kind: 'share',
            op: top.op,
            detail: `${count(syncCalls, 'synchronize call')} took ${dur(syncNs)} of ${dur(span)} (${pct(share)}); ${top.op} p50 ${dur(top.p50_ns)}, p99 ${dur(top.p99_ns)}.`,
            values: { sync_calls: syncCalls, sync_ns: Math.round(syncNs), active_ns: Math.round(span), share: round4(share) },
            from_ns: proc.from_ns,
            to_ns: proc.to_ns,
            node_id: proc.node_id,
            pid: proc.pid,
          },
          ...(perLaunch !== null
            ? [
                {
                  layer: launches[0]?.layer ?? 'CUDA',
                  kind: 'frequency',
                  op: launches[0]?.op ?? '',
                  detail: `${count(launchCalls, 'kernel launch', 'kernel launches')} against ${count(syncCalls, 'synchronize call')} (complete counts${launches.some((o) => ctx.sampled(proc.node_id, o, proc.from_ns, proc.to_ns).length) ? ' from op_aggregates' : ''}): one sync per ${(1 / perLaunch).toFixed(1)} launches.`,
                  values: { launches: launchCalls, syncs_per_launch: round4(perLaunch) },
                  from_ns: proc.from_ns,
                  to_ns: proc.to_ns,
                  node_id: proc.node_id,
                  pid: proc.pid,
                },
              ]
            : []),
        ],
        recommendations: [
          'Remove synchronization from the inner loop: torch.cuda.synchronize(), .item(), .cpu(), .tolist(), printing tensors, or Python control flow on GPU values each force a sync.',
          'Time GPU work with CUDA events (torch.cuda.Event(enable_timing=True)) read once per step or less, not with synchronize around each layer.',
          'Accumulate metrics on the GPU and read them every N steps; use non_blocking=True copies so the CPU can run ahead.',
        ],
        caveats,
        impact_ns: syncNs,
      }),
    );
  }
  return out;
}
