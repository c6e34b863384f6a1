// Launch-to-start queueing: how long GPU work waited between its launch call (the runtime or
// driver call with the same corr_id) and its start on the device. A deep queue on a busy GPU
// means the host runs ahead (the GPU is the bottleneck); on an idle one it means work waited
// for something other than the GPU (stream or event dependencies, another process).
import type { AnalysisContext } from '../context.ts';
import { percentile } from '../percentile.ts';
import type { Finding } from '../types.ts';
import { count, dur, pct, round4 } from '../words.ts';
import { gpuTimeline } from './gpu-timeline.ts';
import { makeFinding } from './make-finding.ts';

/** A p99 delay above this is reported (LOW; MEDIUM when the GPU was also idle half the time). */
const REPORT_P99_NS = 1_000_000;
const BUSY_GPU_SHARE = 0.8;

export function detectLaunchQueueing(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  for (const d of gpuTimeline(ctx).devices) {
    const n = d.launchDelays.length;
    if (n === 0) continue;
    const delays = d.launchDelays.toArray().sort();
    const p50 = percentile(delays, 0.5);
    const p99 = percentile(delays, 0.99);
    if (p99 < REPORT_P99_NS) continue;
    const g = ctx.stats.gpus.find((x) => x.node_id === d.node && x.device === d.device);
    const busy = g?.busy_share ?? 0;
    let late = 0;
    for (const v of delays) if (v > REPORT_P99_NS) late += v - REPORT_P99_NS;
    const gpu = `GPU ${d.device}${ctx.facts.nodes.size > 1 ? ` on ${ctx.nodeName(d.node)}` : ''}`;
    const gpuBound = busy >= BUSY_GPU_SHARE;
    out.push(
      makeFinding(ctx, {
        kind: 'launch-queueing',
        severity: !gpuBound && busy < 0.5 ? 'MEDIUM' : 'LOW',
        node_id: d.node,
        pid: d.launchPid,
        op: `GPU ${d.device}`,
        from_ns: d.first,
        to_ns: d.last,
        summary: `Work on ${gpu} waited p50 ${dur(p50)}, p99 ${dur(p99)} from its launch call to its start${gpuBound ? ' — the host runs ahead of a busy GPU' : ' while the GPU had idle time'}`,
        root_cause: gpuBound
          ? `The GPU was busy ${pct(busy)} of its span and launches queue behind running work: the step is GPU-bound, and host-side speedups will not shorten it.`
          : `Launched work waited in the queue although the GPU was busy only ${pct(busy)} of its span: it waited on something else than the GPU's own work (a stream waiting on another stream or an event, a synchronous copy, or another process on the GPU).`,
        evidence: [
          {
            layer: 'GPU',
            kind: 'queueing',
            op: '',
            detail: `${count(n, 'launch', 'launches')} paired with their GPU work by correlation id: launch-to-start p50 ${dur(p50)}, p99 ${dur(p99)}, max ${dur(delays[n - 1]!)}; ${dur(late)} of waiting beyond ${dur(REPORT_P99_NS)}.`,
            values: { launches: n, p50_ns: p50, p99_ns: p99, max_ns: delays[n - 1]!, late_ns: late, busy_share: round4(busy) },
            from_ns: d.first,
            to_ns: d.last,
            node_id: d.node,
          },
        ],
        recommendations: gpuBound
          ? ['Make the GPU work cheaper: mixed precision (torch.autocast), larger fused kernels (torch.compile), or fewer, larger batches.']
          : ['Check stream waits and events between streams, and synchronous copies that block a stream; make sure no other process shares the GPU (nvidia-smi).'],
        caveats: ['The delay runs from the launch call\'s start, so it includes the call itself (a few µs).'],
        impact_ns: late,
      }),
    );
  }
  return out;
}
