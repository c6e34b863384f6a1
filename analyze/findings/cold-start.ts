// Cold start: an op's first calls are far slower than its steady state (context creation,
// module loading, PTX JIT compilation, allocator warm-up).
import { coveredNs, GPU_LAYERS, sampleIds, type AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { count, dur, list, pct, round4, times } from '../words.ts';
import { makeFinding } from './make-finding.ts';

/** Number of calls at the start of an op that count as its warm-up window. */
export function warmupCalls(ctx: AnalysisContext, calls: number): number {
  return Math.max(3, Math.ceil(ctx.th.coldWindowShare * calls));
}

export function detectColdStart(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const span = ctx.shareSpan(proc).to - proc.from_ns;
    // Excess beyond p50 of every cold call, as wall-time intervals: concurrent warm-ups of
    // several threads or ops cost the process their overlap only once.
    const lost: (readonly [number, number])[] = [];
    let last = proc.from_ns;
    const perOp: { op: string; layer: string; cold: number; excess: number; p50: number; median: number; max: number; ids: number[] }[] = [];
    for (const s of proc.ops) {
      if (!GPU_LAYERS.has(s.layer) || s.p50_ns <= 0 || s.count < 3) continue;
      const n = warmupCalls(ctx, s.count);
      const [id, ts, d] = ctx.columns((g) => g.op === s.op_id && g.node === proc.node_id && g.pid === proc.pid, ['id', 'ts', 'dur'], { limit: n });
      const cold: number[] = [];
      const ids: number[] = [];
      let opExcess = 0;
      for (let i = 0; i < d!.length; i++) {
        if (d![i]! < th.coldFactor * s.p50_ns) continue;
        cold.push(d![i]!);
        ids.push(id![i]!);
        opExcess += d![i]! - s.p50_ns;
        lost.push([ts![i]! + s.p50_ns, ts![i]! + d![i]!]);
        last = Math.max(last, ts![i]! + d![i]!);
      }
      if (cold.length === 0) continue;
      cold.sort((a, b) => a - b);
      perOp.push({ op: s.op, layer: s.layer, cold: cold.length, excess: opExcess, p50: s.p50_ns, median: cold[(cold.length - 1) >> 1]!, max: cold[cold.length - 1]!, ids });
    }
    const excess = coveredNs(lost);
    if (excess < th.coldMinExcessNs || span <= 0) continue;
    const share = excess / span;
    perOp.sort((a, b) => b.excess - a.excess || (a.op < b.op ? -1 : 1));
    const top = perOp[0]!;
    const jit = perOp.some((o) => /LaunchKernel|GraphLaunch/.test(o.op) && o.median >= 20e6 && o.cold >= 5);
    const evidence: Evidence[] = perOp.slice(0, 4).map((o) => ({
      layer: o.layer,
      kind: 'warm-up',
      op: o.op,
      detail: `${count(o.cold, `early ${o.op} call`)} took up to ${dur(o.max)} (median ${dur(o.median)}, ${times(o.median / o.p50)} the steady p50 of ${dur(o.p50)}): ${dur(o.excess)} of excess.`,
      values: { cold_calls: o.cold, cold_median_ns: Math.round(o.median), cold_max_ns: Math.round(o.max), steady_p50_ns: o.p50, excess_ns: Math.round(o.excess) },
      from_ns: proc.from_ns,
      to_ns: Math.round(last),
      event_ids: sampleIds(o.ids),
      node_id: proc.node_id,
      pid: proc.pid,
    }));
    evidence.push({
      layer: 'PROCESS',
      kind: 'share',
      op: '',
      detail: `Warm-up cost ${dur(excess)}: ${pct(share)} of the ${dur(span)} the process was active on the GPU.`,
      values: { excess_ns: Math.round(excess), active_ns: Math.round(span), share: round4(share) },
      from_ns: proc.from_ns,
      to_ns: Math.round(last),
      node_id: proc.node_id,
      pid: proc.pid,
    });
    const recommendations = jit
      ? [
          'Kernels are being JIT-compiled from PTX on first launch: install a build with SASS for this GPU architecture (e.g. set TORCH_CUDA_ARCH_LIST for the GPU when building extensions).',
          'Keep the JIT cache between runs: set CUDA_CACHE_MAXSIZE large enough (e.g. 4294967296) and CUDA_CACHE_PATH on persistent storage.',
          'Run a warm-up iteration before timing or serving traffic.',
        ]
      : [
          'Run warm-up iterations (and create the CUDA context) before timing or serving traffic.',
          'For serving, load models and run a dummy batch at start-up; keep processes alive instead of restarting them per job.',
          'If the first launches dominate, CUDA_MODULE_LOADING=LAZY (default since CUDA 12.2) spreads module loading; EAGER front-loads it.',
        ];
    out.push(
      makeFinding(ctx, {
        kind: 'cold-start',
        severity: share >= th.highColdShare ? 'HIGH' : share >= th.coldShare ? 'MEDIUM' : 'LOW',
        node_id: proc.node_id,
        pid: proc.pid,
        op: top.op,
        from_ns: proc.from_ns,
        to_ns: last,
        summary: `${ctx.label(proc.node_id, proc.pid)} spent ${dur(excess)} warming up (${pct(share)} of its GPU time): its first ${top.op} calls took up to ${dur(top.max)} against a steady ${dur(top.p50)}`,
        root_cause: jit
          ? `Cold start dominated by first kernel launches taking tens of milliseconds each (${list(perOp.slice(0, 3).map((o) => o.op))}): the signature of PTX JIT compilation for a GPU the binary has no SASS for.`
          : `Cold start: one-time initialisation (context creation, module loading, allocator growth) in the first calls of ${list(perOp.slice(0, 3).map((o) => o.op))}.`,
        evidence,
        recommendations,
        impact_ns: excess,
      }),
    );
  }
  return out;
}
