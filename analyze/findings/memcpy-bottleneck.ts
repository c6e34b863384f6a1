// Memcpy bottleneck: host↔device copies take a large share of the process's wall time, usually
// because they are synchronous or come from pageable (unpinned) host memory.
import type { AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { bytes, count, dur, list, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

const KIND_NAMES = ['host-to-host', 'host-to-device', 'device-to-host', 'device-to-device', 'default'];

export function detectMemcpyBottleneck(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const active = ctx.shareSpan(proc);
    const span = active.to - active.from;
    const copies = proc.ops.filter((o) => /^cu(da)?Memcpy/.test(o.op));
    if (span <= 0 || copies.length === 0) continue;
    // As for syncs: summed durations bound the share from above, the union of the copies'
    // intervals is the wall time they cover (copies on several threads overlap).
    if (copies.reduce((s, o) => s + o.total_ns, 0) / span < th.memcpyShare) continue;
    const copyNs = ctx.busyNs(proc.node_id, proc.pid, copies.map((o) => o.op_id));
    const share = copyNs / span;
    if (share < th.memcpyShare) continue;
    const top = [...copies].sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id)[0]!;
    // Copies missing from a sample add copy time: a share of stored copies is a lower bound.
    const sampledCopies = copies.filter((o) => ctx.sampled(proc.node_id, o, active.from, active.to).length > 0);
    const onSample = sampledCopies.length
      ? ` — a lower bound from the stored sample of ${list(sampledCopies.map((o) => o.op))} (${list([...new Set(sampledCopies.flatMap((o) => ctx.sampled(proc.node_id, o, active.from, active.to).map((p) => p.policy)))])}), over the time from its first stored GPU call to the last sign of the process in the analysed time`
      : '';
    // Bandwidth of the large copies (≥ 1 MiB) per op and direction, computed in SQLite.
    const rows = ctx.bundle.db
      .prepare(`SELECT op_id, coalesce(arg1, 4) AS kind, count(*) AS n, sum(dur_ns) AS ns, sum(arg0) AS b FROM events WHERE node_id = ? AND pid = ? AND op_id IN (${copies.map((o) => o.op_id).join(',')}) AND arg0 >= 1048576 GROUP BY op_id, kind ORDER BY ns DESC, op_id, kind`)
      .all(proc.node_id, proc.pid) as { op_id: number; kind: number; n: number; ns: number; b: number }[];
    const evidence: Evidence[] = [
      {
        layer: top.layer,
        kind: 'share',
        op: top.op,
        detail: `Copies took ${onSample ? 'at least ' : ''}${dur(copyNs)} of ${dur(span)} (${pct(share)}${onSample}): ${list(copies.map((o) => `${o.op} ${dur(o.total_ns)} over ${count(o.count, onSample ? 'stored call' : 'call')}`))}.`,
        values: { copy_ns: Math.round(copyNs), active_ns: Math.round(span), share: round4(share), stored_sample: onSample ? 1 : 0 },
        from_ns: active.from,
        to_ns: active.to,
        node_id: proc.node_id,
        pid: proc.pid,
      },
    ];
    let slowLarge = false;
    let synchronous = false;
    for (const r of rows.slice(0, 3)) {
      const name = ctx.bundle.opName(r.op_id);
      const bw = r.ns > 0 ? r.b / (r.ns / 1e9) : 0;
      const async = /Async$/.test(name);
      const pageable = bw > 0 && bw < th.pageableBandwidth && (r.kind === 1 || r.kind === 2);
      if (pageable) slowLarge = true;
      if (!async) synchronous = true;
      evidence.push({
        layer: ctx.bundle.ops().get(r.op_id)?.layer ?? 'CUDA',
        kind: 'bandwidth',
        op: name,
        detail: `${count(r.n, `${KIND_NAMES[r.kind] ?? 'other'} copy`, `${KIND_NAMES[r.kind] ?? 'other'} copies`)} of ≥ 1 MiB via ${name} moved ${bytes(r.b)} at ${(bw / 1e9).toFixed(1)} GB/s${pageable ? ' — pageable-memory speed; pinned memory reaches 20+ GB/s on PCIe 4' : ''}${async && pageable ? '; the async call took as long as the copy, so it was effectively synchronous' : ''}.`,
        values: { copies: r.n, bytes: r.b, copy_ns: r.ns, bytes_per_s: Math.round(bw) },
        from_ns: proc.from_ns,
        to_ns: proc.to_ns,
        node_id: proc.node_id,
        pid: proc.pid,
      });
    }
    const causes: string[] = [];
    if (synchronous) causes.push('synchronous copies block the CPU until the transfer ends');
    if (slowLarge) causes.push('large transfers run at pageable-memory bandwidth (the driver stages unpinned memory through a bounce buffer)');
    out.push(
      makeFinding(ctx, {
        kind: 'memcpy-bottleneck',
        severity: share >= th.highMemcpyShare ? 'HIGH' : 'MEDIUM',
        node_id: proc.node_id,
        pid: proc.pid,
        op: top.op,
        from_ns: active.from,
        to_ns: active.to,
        summary: `${ctx.label(proc.node_id, proc.pid)} spends ${onSample ? 'at least ' : ''}${pct(share)} of its time copying memory (${top.op} ${dur(top.total_ns)})`,
        root_cause: causes.length ? `Data movement dominates: ${list(causes)}.` : 'Data movement between host and device dominates the step.',
        evidence,
        recommendations: [
          'Copy from pinned memory: DataLoader(pin_memory=True), or tensor.pin_memory() for buffers reused every step.',
          'Use asynchronous copies that overlap compute: tensor.to(device, non_blocking=True) on pinned memory, on a side stream.',
          'Move less data: keep tensors on the GPU across steps, copy back only what you need (and less often), batch small copies into one.',
        ],
        impact_ns: copyNs,
      }),
    );
  }
  return out;
}
