// Compute/communication overlap: how much of a GPU's NCCL kernel time ran while a compute kernel
// ran too (on another stream). Communication that overlaps nothing is exposed: the step waits
// for it (data-parallel gradients all-reduced after the backward pass instead of during it).
import type { AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { dur, pct, round4 } from '../words.ts';
import { gpuTimeline } from './gpu-timeline.ts';
import { makeFinding } from './make-finding.ts';

/** Communication below this share of the GPU's span is not worth a finding. */
const MIN_COMM_SHARE = 0.05;
/** Reported when less than this share of the communication overlaps compute. */
const MAX_OVERLAP_SHARE = 0.5;
/** Exposed communication above this share of the span is MEDIUM. */
const MEDIUM_EXPOSED_SHARE = 0.2;

/** Length of the intersection of two merged interval lists [s0, e0, s1, e1, ...]. */
export function intersectionNs(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  let j = 0;
  let total = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i]!, b[j]!);
    const e = Math.min(a[i + 1]!, b[j + 1]!);
    if (e > s) total += e - s;
    if (a[i + 1]! < b[j + 1]!) i += 2;
    else j += 2;
  }
  return total;
}

const lengthNs = (iv: readonly number[]) => {
  let t = 0;
  for (let i = 0; i < iv.length; i += 2) t += iv[i + 1]! - iv[i]!;
  return t;
};

export function detectCommOverlap(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  for (const d of gpuTimeline(ctx).devices) {
    const span = d.last - d.first;
    const comm = lengthNs(d.comm);
    if (span <= 0 || comm < MIN_COMM_SHARE * span) continue;
    const overlapped = intersectionNs(d.comm, d.compute);
    const share = overlapped / comm;
    if (share >= MAX_OVERLAP_SHARE) continue;
    const exposed = comm - overlapped;
    const gpu = `GPU ${d.device}${ctx.facts.nodes.size > 1 ? ` on ${ctx.nodeName(d.node)}` : ''}`;
    out.push(
      makeFinding(ctx, {
        kind: 'comm-overlap',
        severity: exposed >= MEDIUM_EXPOSED_SHARE * span ? 'MEDIUM' : 'LOW',
        node_id: d.node,
        pid: d.launchPid,
        op: `GPU ${d.device}`,
        from_ns: d.first,
        to_ns: d.last,
        summary: `NCCL communication on ${gpu} overlaps compute only ${pct(share)} of the time: ${dur(exposed)} exposed (${pct(exposed / span)} of the span)`,
        root_cause: `Collective kernels ran ${dur(comm)} (wall time, merged), and for ${dur(exposed)} of it no compute kernel ran beside them: the step waits for communication instead of hiding it behind computation.`,
        evidence: [
          {
            layer: 'GPU',
            kind: 'overlap',
            op: '',
            detail: `NCCL kernels ${dur(comm)}, of which ${dur(overlapped)} (${pct(share)}) overlapped compute kernels; ${dur(d.commTotal)} summed over the collective launches; span ${dur(span)}.`,
            values: { comm_ns: comm, overlapped_ns: overlapped, exposed_ns: exposed, overlap_share: round4(share), span_ns: span, comm_kernel_ns: d.commTotal },
            from_ns: d.first,
            to_ns: d.last,
            node_id: d.node,
          },
        ],
        recommendations: [
          'DDP: make sure gradient buckets all-reduce during the backward pass (bucket_cap_mb, no find_unused_parameters unless needed, no_sync only on accumulation steps).',
          'FSDP: enable forward/backward prefetch (backward_prefetch=BACKWARD_PRE, forward_prefetch=True) so all-gathers overlap compute.',
          'Compute and communication can only overlap on different streams: avoid synchronizing the communication stream from the compute stream.',
        ],
        caveats: ['Overlap is judged from kernel times: a collective that overlaps compute can still slow it down (shared SMs and memory bandwidth).'],
        impact_ns: exposed,
      }),
    );
  }
  return out;
}
