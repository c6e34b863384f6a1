// Periodic spikes: after warm-up, an op has rare calls far slower than usual that come back at
// a regular interval (counted in calls), the signature of an allocator or cache cycle.
import { coveredNs, GPU_LAYERS, sampleIds, type AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { count, dur, pct, round4, times } from '../words.ts';
import { warmupCalls } from './cold-start.ts';
import { makeFinding } from './make-finding.ts';

/** Candidate spikes kept per op: bounds memory on pathological bundles. */
const MAX_SPIKES = 100_000;

interface Candidates {
  readonly rn: number[];
  readonly id: number[];
  readonly ts: number[];
  readonly d: number[];
}

export function detectPeriodicSpike(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const span = ctx.shareSpan(proc).to - proc.from_ns;
    const ops = proc.ops.filter((s) => GPU_LAYERS.has(s.layer) && s.count >= th.minCalls * th.minSpikes && s.p50_ns > 0);
    if (ops.length === 0 || span <= 0) continue;
    // One pass over the process's calls: per op, number the calls and keep those above the
    // lowest spike level (spikeFactor × p50 and 2 × p90) after warm-up.
    const base = new Map(ops.map((s) => [s.op_id, Math.max(th.spikeFactor * s.p50_ns, 2 * s.p90_ns)]));
    const skip = new Map(ops.map((s) => [s.op_id, warmupCalls(ctx, s.count)]));
    const seen = new Map(ops.map((s) => [s.op_id, 0]));
    const candidates = new Map<number, Candidates>(ops.map((s) => [s.op_id, { rn: [], id: [], ts: [], d: [] }]));
    ctx.rows((g) => g.node === proc.node_id && g.pid === proc.pid && base.has(g.op), (id, ts, d, g) => {
      const op = g.op;
      const rn = seen.get(op)! + 1;
      seen.set(op, rn);
      if (rn <= skip.get(op)! || d < base.get(op)!) return;
      const c = candidates.get(op)!;
      if (c.rn.length >= MAX_SPIKES) return;
      c.rn.push(rn);
      c.id.push(id);
      c.ts.push(ts);
      c.d.push(d);
    });
    for (const s of ops) {
      const c = candidates.get(s.op_id)!;
      // When the calls above the lowest level are not periodic, higher levels (×2, ×4, ...) are
      // tried: a periodic mode far above the ordinary tail is found whatever the tail looks like.
      const byTime = ctx.sampled(proc.node_id, s, proc.from_ns, proc.to_ns).length > 0;
      let found: { id: number[]; ts: number[]; d: number[]; limit: number; median: number; regular: number } | null = null;
      for (let limit = base.get(s.op_id)!, tries = 0; tries < 8 && !found; limit *= 2, tries++) {
        const keep = c.d.map((d, i) => (d >= limit ? i : -1)).filter((i) => i >= 0);
        if (keep.length < th.minSpikes) break;
        // Where the op's events are a sample, stored calls cannot be numbered: the period is
        // judged in time instead (the spikes themselves are stored, as anomalies).
        const gaps: number[] = [];
        for (let k = 1; k < keep.length; k++) gaps.push(byTime ? c.ts[keep[k]!]! - c.ts[keep[k - 1]!]! : c.rn[keep[k]!]! - c.rn[keep[k - 1]!]!);
        const median = [...gaps].sort((a, b) => a - b)[(gaps.length - 1) >> 1]!;
        const regular = gaps.filter((g) => Math.abs(g - median) <= th.periodicTolerance * median).length / gaps.length;
        if ((byTime ? median > 0 : median >= 2) && regular >= th.periodicRegularity) found = { id: keep.map((i) => c.id[i]!), ts: keep.map((i) => c.ts[i]!), d: keep.map((i) => c.d[i]!), limit, median, regular };
      }
      if (!found) continue;
      const { id, ts, d, limit, median, regular } = found;
      const n = ts.length;
      const timeGaps: number[] = [];
      for (let i = 1; i < n; i++) timeGaps.push(ts[i]! - ts[i - 1]!);
      const medianTime = [...timeGaps].sort((a, b) => a - b)[(timeGaps.length - 1) >> 1]!;
      // Time beyond p50 in wall time: spikes on several threads at once are lost only once.
      const excess = coveredNs(ts.map((t, i) => [t + s.p50_ns, t + d[i]!] as const));
      const sorted = Float64Array.from(d).sort();
      const share = excess / span;
      // Spikes recorded at one instant (clock granularity, a broken clock) have no period in time.
      const every = byTime ? `every ~${dur(medianTime)} (judged in time: the calls between spikes are only a sample)` : `every ~${median} calls${medianTime > 0 ? ` (~${dur(medianTime)})` : ''}`;
      const spikeMedian = sorted[(n - 1) >> 1]!;
      const allocator = /Malloc|MemAlloc|Free/.test(s.op);
      const label = ctx.label(proc.node_id, proc.pid);
      out.push(
        makeFinding(ctx, {
          kind: 'periodic-spike',
          severity: share >= th.highSpikeShare ? 'HIGH' : share >= th.spikeShare ? 'MEDIUM' : 'LOW',
          node_id: proc.node_id,
          pid: proc.pid,
          op: s.op,
          from_ns: ts[0]!,
          to_ns: ts[n - 1]! + d[n - 1]!,
          summary: `${s.op} in ${label} spikes to ~${dur(spikeMedian)} (${times(spikeMedian / s.p50_ns)} p50) ${every}`,
          root_cause: allocator
            ? `A periodic allocator cycle: every ~${median} allocations the caching allocator has to go back to the driver (cache flush, fragmentation or a growing working set), and that call synchronizes and maps memory.`
            : `A periodic event ${every} makes ${s.op} wait: something in the loop runs on a fixed schedule (logging, evaluation, checkpointing, garbage collection).`,
          evidence: [
            {
              layer: s.layer,
              kind: 'spikes',
              op: s.op,
              detail: `${count(n, 'spike')} above ${dur(limit)} after warm-up, median ${dur(spikeMedian)} against a p50 of ${dur(s.p50_ns)}; ${pct(regular)} of the gaps lie within ±${pct(th.periodicTolerance)} of ${byTime ? dur(median) : `${median} calls`}.`,
              values: { spikes: n, spike_median_ns: Math.round(spikeMedian), p50_ns: s.p50_ns, period_calls: byTime ? 0 : median, period_ns: Math.round(medianTime), regularity: round4(regular) },
              from_ns: ts[0]!,
              to_ns: ts[n - 1]! + d[n - 1]!,
              event_ids: sampleIds(id),
              node_id: proc.node_id,
              pid: proc.pid,
            },
            {
              layer: 'PROCESS',
              kind: 'share',
              op: s.op,
              detail: `The spikes cost ${dur(excess)} beyond p50: ${pct(share)} of the process's ${dur(span)} of GPU activity.`,
              values: { excess_ns: Math.round(excess), active_ns: Math.round(span), share: round4(share) },
              from_ns: proc.from_ns,
              to_ns: proc.to_ns,
              node_id: proc.node_id,
              pid: proc.pid,
            },
          ],
          recommendations: allocator
            ? [
                'Do not call torch.cuda.empty_cache() in the training loop.',
                'Reduce fragmentation: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, or pad variable shapes to a few fixed sizes (bucketing).',
                'Pre-allocate the largest batch once at start-up so the cache already holds the memory it needs.',
              ]
            : ['Find the work that runs every ~' + median + ' calls (logging, evaluation, checkpoint, gc) and make it asynchronous or less frequent.'],
          impact_ns: excess,
        }),
      );
    }
  }
  return out;
}
