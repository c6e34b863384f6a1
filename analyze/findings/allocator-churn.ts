// Allocator churn: the process allocates and frees device memory at a high rate instead of
// reusing it (a caching allocator flushing its cache, tensors created per step outside the
// cache, or explicit cudaFree/empty_cache), and each cudaFree synchronizes the device.
// Calls that are spikes (≥ spikeFactor × p50) are the periodic-spike finding's and are left out
// here, so no call's cost is claimed twice.
import { sampleIds, type AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { count, dur, list, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export const ALLOC_OPS = new Set(['cudaMalloc', 'cudaFree', 'cudaMallocManaged', 'cudaHostAlloc', 'cudaFreeHost', 'cuMemAlloc', 'cuMemFree', 'cuMemAllocManaged']);
/** Frames of PyTorch's caching allocator that give memory back to the driver. */
const RELEASE_FRAMES = /release_cached_blocks|empty_cache|emptyCache|release_available_cached_blocks|garbage_collect_cached_blocks/;

export function detectAllocatorChurn(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const ops = proc.ops.filter((o) => ALLOC_OPS.has(o.op) && o.count > 0);
    const calls = ops.reduce((s, o) => s + o.count, 0);
    const span = ctx.shareSpan(proc).to - proc.from_ns;
    if (calls < th.minCalls || span <= 0) continue;
    const ids = ops.map((o) => o.op_id);
    const [id, ts, d, op] = ctx.columns((g) => g.node === proc.node_id && g.pid === proc.pid && ids.includes(g.op), ['id', 'ts', 'dur', 'op']);
    const p50 = new Map(ops.map((o) => [o.op_id, o.p50_ns]));
    // The busiest second, and the time in non-spike calls.
    let steadyNs = 0;
    let freeNs = 0;
    let frees = 0;
    let peak = 0;
    let peakAt = 0;
    for (let i = 0, j = 0; i < ts!.length; i++) {
      const base = p50.get(op![i]!) ?? 0;
      if (d![i]! < th.spikeFactor * base) {
        steadyNs += d![i]!;
        if (/Free/.test(ctx.bundle.opName(op![i]!))) {
          freeNs += d![i]!;
          frees++;
        }
      }
      while (ts![j]! < ts![i]! - 1e9) j++;
      if (i - j + 1 > peak) {
        peak = i - j + 1;
        peakAt = ts![j]!;
      }
    }
    const share = steadyNs / span;
    const frames = releaseFrames(ctx, proc.node_id, proc.pid, ids);
    const churning = peak >= th.allocCallsPerSec && share >= th.allocShare;
    if (!churning && frames.events === 0) continue;
    if (!churning && share < th.allocShare / 5) continue;
    const label = ctx.label(proc.node_id, proc.pid);
    const sampled = ops.some((o) => ctx.sampled(proc.node_id, o, proc.from_ns, proc.to_ns).length > 0);
    const basis = sampled ? `from a stored sample of ${count(ts!.length, 'call')}` : `from all ${count(ts!.length, 'call')}`;
    const evidence: Evidence[] = [
      {
        layer: 'CUDA',
        kind: 'rate',
        op: '',
        detail: `${list(ops.map((o) => `${o.count} ${o.op}`))}: up to ${count(peak, 'call')} in one second (from ${dur(peakAt)}), ${dur(steadyNs)} in calls that are not spikes (${pct(share)} of ${dur(span)} of GPU activity), ${basis}.`,
        values: { calls: ts!.length, peak_calls_per_s: peak, steady_ns: Math.round(steadyNs), share: round4(share), free_calls: frees, free_ns: Math.round(freeNs) },
        from_ns: proc.from_ns,
        to_ns: proc.to_ns,
        event_ids: sampleIds(id!),
        node_id: proc.node_id,
        pid: proc.pid,
      },
    ];
    if (frees > 0) evidence.push({ layer: 'CUDA', kind: 'free-sync', op: 'cudaFree', detail: `${count(frees, 'free call')} took ${dur(freeNs)}: cudaFree synchronizes the device before it returns, so every free is a full GPU drain.`, values: { free_calls: frees, free_ns: Math.round(freeNs) }, from_ns: proc.from_ns, to_ns: proc.to_ns, node_id: proc.node_id, pid: proc.pid });
    if (frames.events > 0) evidence.push({ layer: 'CUDA', kind: 'stack', op: '', detail: `${count(frames.events, 'allocation call')} ${frames.events === 1 ? 'has' : 'have'} the caching allocator giving memory back in its stack (${list(frames.names)}), between ${dur(frames.from)} and ${dur(frames.to)}.`, values: { events: frames.events }, from_ns: frames.from, to_ns: frames.to, event_ids: frames.ids, node_id: proc.node_id, pid: proc.pid });
    out.push(
      makeFinding(ctx, {
        kind: 'allocator-churn',
        severity: share >= th.highAllocShare ? 'HIGH' : share >= th.allocShare ? 'MEDIUM' : 'LOW',
        node_id: proc.node_id,
        pid: proc.pid,
        op: [...ops].sort((a, b) => b.total_ns - a.total_ns || a.op_id - b.op_id)[0]!.op,
        from_ns: proc.from_ns,
        to_ns: proc.to_ns,
        summary: `${label} allocates and frees device memory at up to ${peak} calls/s, ${pct(share)} of its GPU time${frames.events ? `; the caching allocator released blocks ${count(frames.events, 'time')}` : ''}`,
        root_cause: frames.events
          ? `The caching allocator gives memory back to the driver (${list(frames.names)}) and allocates it again: each release frees through cudaFree, which synchronizes the device.`
          : 'Device memory is allocated and freed over and over instead of being reused; each cudaFree synchronizes the device and each cudaMalloc goes to the driver.',
        evidence,
        recommendations: [
          'Reuse buffers across steps (allocate once, outside the loop); let the caching allocator keep its blocks (do not call torch.cuda.empty_cache() in the loop).',
          'With varying shapes, set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (or pad shapes to a few sizes) so blocks are not released and re-mapped.',
          'For per-step temporary memory use stream-ordered allocation (cudaMallocAsync / cudaFreeAsync), which does not synchronize the device.',
        ],
        caveats: sampled ? ['Allocation calls are only a sample here: rates and times are of the stored calls.'] : [],
        impact_ns: steadyNs,
        confidence: frames.events ? 'high' : 'medium',
      }),
    );
  }
  return out;
}

/** Allocation calls whose stacks pass through the caching allocator's release path. */
function releaseFrames(ctx: AnalysisContext, node: number, pid: number, opIds: readonly number[]): { events: number; names: string[]; from: number; to: number; ids: number[] } {
  const rows = ctx.bundle.db
    .prepare(`SELECT DISTINCT e.id, e.ts_ns, f.name FROM events e JOIN stack_frames s ON s.stack_id = e.stack_id JOIN locations l ON l.id = s.location_id JOIN functions f ON f.id = l.function_id WHERE e.node_id = ? AND e.pid = ? AND e.op_id IN (${opIds.join(',')}) AND e.stack_id IS NOT NULL AND (f.name LIKE '%release%' OR f.name LIKE '%empty%cache%' OR f.name LIKE '%emptyCache%' OR f.name LIKE '%garbage_collect%') ORDER BY e.id`)
    .all(node, pid) as { id: number; ts_ns: number; name: string }[];
  const hits = rows.filter((r) => RELEASE_FRAMES.test(r.name));
  const ids = [...new Set(hits.map((r) => r.id))];
  return { events: ids.length, names: [...new Set(hits.map((r) => r.name.replace(/\(.*$/, '')))].sort().slice(0, 3), from: hits[0]?.ts_ns ?? 0, to: hits.at(-1)?.ts_ns ?? 0, ids: sampleIds(ids) };
}
