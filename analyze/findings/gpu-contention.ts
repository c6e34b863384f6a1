// Several processes contending for one GPU: another process launches a real share of the
// kernels on the node while the victim runs, and the victim's waits on the GPU grow.
import { LAUNCH_OPS, SYNC_OPS, type AnalysisContext, type GpuProcess } from '../context.ts';
import { percentile } from '../percentile.ts';
import type { Finding } from '../types.ts';
import { count, dur, list, pct, round4, times } from '../words.ts';
import { makeFinding } from './make-finding.ts';


export function detectGpuContention(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  // Shares of launches from complete counts (op_aggregates where launches are sampled).
  const launches = (p: GpuProcess) => p.ops.filter((o) => LAUNCH_OPS.has(o.op)).reduce((s, o) => s + ctx.completeCount(o).count, 0);
  const nodes = [...new Set(ctx.gpuProcesses.map((p) => p.node_id))];
  for (const node of nodes) {
    const procs = ctx.gpuProcesses.filter((p) => p.node_id === node);
    const total = procs.reduce((s, p) => s + launches(p), 0);
    if (procs.length < 2 || total === 0) continue;
    const active = procs.filter((p) => launches(p) >= th.gpuContenderShare * total);
    if (active.length < 2) continue;
    for (const victim of active) {
      const rivals = active.filter((p) => p !== victim && p.from_ns < victim.to_ns && p.to_ns > victim.from_ns);
      if (rivals.length === 0) continue;
      const from = Math.max(victim.from_ns, Math.min(...rivals.map((r) => r.from_ns)));
      const to = Math.min(victim.to_ns, Math.max(...rivals.map((r) => r.to_ns)));
      const sync = victim.ops.filter((o) => SYNC_OPS.has(o.op)).sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id)[0];
      let slowdown: number | null = null;
      let impact = 0;
      let inside: Float64Array = new Float64Array(0);
      let outside: Float64Array = new Float64Array(0);
      if (sync) {
        const [ts, d] = ctx.columns((g) => g.op === sync.op_id && g.node === node && g.pid === victim.pid, ['ts', 'dur']);
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < ts!.length; i++) (ts![i]! >= from && ts![i]! < to ? a : b).push(d![i]!);
        inside = Float64Array.from(a).sort();
        outside = Float64Array.from(b).sort();
        if (inside.length >= 5 && outside.length >= 5 && percentile(outside, 0.5) > 0) {
          const base = percentile(outside, 0.5);
          slowdown = percentile(inside, 0.5) / base;
          for (const x of inside) impact += Math.max(0, x - base);
        }
      }
      const share = launches(victim) / total;
      const severity = slowdown === null ? 'MEDIUM' : slowdown >= th.gpuSlowdown ? 'HIGH' : slowdown >= 1.1 ? 'MEDIUM' : 'LOW';
      const rivalText = list(rivals.map((r) => `${ctx.label(node, r.pid)} (${pct(launches(r) / total)} of launches)`));
      const label = ctx.label(node, victim.pid);
      out.push(
        makeFinding(ctx, {
          kind: 'gpu-contention',
          severity,
          node_id: node,
          pid: victim.pid,
          op: sync?.op ?? '',
          from_ns: from,
          to_ns: to,
          summary: slowdown !== null ? `${label} shares the GPU with ${rivalText}; its GPU waits (${sync!.op} p50) grew ${times(slowdown)} while they ran` : `${label} shares the GPU with ${rivalText} for ${dur(to - from)}`,
          root_cause: `GPU contention: ${procs.length} processes issue work to the GPU of ${ctx.nodeName(node)} at the same time, so the GPU time-slices between them and each one's work takes longer.`,
          evidence: [
            {
              layer: 'PROCESS',
              kind: 'gpu-share',
              op: '',
              detail: `${count(procs.length, 'process', 'processes')} launched kernels on this node: ${list(active.map((p) => `${ctx.label(node, p.pid)} ${pct(launches(p) / total)}`))}; they overlapped for ${dur(to - from)}.`,
              values: { processes: procs.length, victim_launch_share: round4(share), overlap_ns: Math.round(to - from) },
              from_ns: Math.round(from),
              to_ns: Math.round(to),
              node_id: node,
              pid: victim.pid,
            },
            ...(slowdown !== null
              ? [
                  {
                    layer: sync!.layer,
                    kind: 'latency',
                    op: sync!.op,
                    detail: `${sync!.op} p50 was ${dur(percentile(inside, 0.5))} while sharing against ${dur(percentile(outside, 0.5))} alone (${times(slowdown)}, ${count(inside.length, 'call')} vs ${outside.length}).`,
                    values: { shared_p50_ns: percentile(inside, 0.5), alone_p50_ns: percentile(outside, 0.5), slowdown: round4(slowdown), excess_ns: Math.round(impact) },
                    from_ns: Math.round(from),
                    to_ns: Math.round(to),
                    node_id: node,
                    pid: victim.pid,
                  },
                ]
              : []),
          ],
          recommendations: [
            'Give each job its own GPU (CUDA_VISIBLE_DEVICES, or the cluster scheduler\'s GPU constraints).',
            'If the GPU must be shared, partition it (MIG on A100/H100) or run the processes under MPS so kernels run concurrently instead of time-slicing.',
          ],
          caveats: slowdown === null ? ['The processes overlapped for the whole trace, so the slowdown against running alone cannot be measured.'] : [],
          impact_ns: impact,
        }),
      );
    }
  }
  return out;
}
