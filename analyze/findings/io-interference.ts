// Block IO interference: slow disk requests on the node coincide with the GPU process's slow
// calls (dataset reads from a slow disk, checkpoint writes, swap).
import { GPU_LAYERS, sampleIds, type AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { count, dur, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectIoInterference(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const ioOps = ['block_read', 'block_write', 'block_discard'].map((n) => ctx.opId(n)).filter((x): x is number => x !== undefined);
  if (ioOps.length === 0) return [];
  const out: Finding[] = [];
  for (const node of [...ctx.facts.nodes.keys()]) {
    const slow = Math.round(th.slowIoNs);
    const [ioId, ioTs, ioDur, ioOp] = ctx.columns((g) => g.node === node && ioOps.includes(g.op), ['id', 'ts', 'dur', 'op'], { where: (_id, _ts, d) => d >= slow });
    const n = ioTs!.length;
    if (n === 0) continue;
    let peak = 0;
    let total = 0;
    let reads = 0;
    for (let i = 0; i < n; i++) {
      peak = Math.max(peak, ioDur![i]!);
      total += ioDur![i]!;
      if (ctx.bundle.opName(ioOp![i]!) === 'block_read') reads++;
    }
    for (const proc of ctx.gpuProcesses.filter((p) => p.node_id === node)) {
      let slow = 0;
      let overlapping = 0;
      let overlapNs = 0;
      const ids: number[] = [];
      let worst = '';
      for (const s of proc.ops) {
        if (!GPU_LAYERS.has(s.layer) || s.count < th.minCalls || s.p50_ns <= 0 || s.p99_ns / s.p50_ns < th.tailRatio) continue;
        const calls = ctx.tailCalls(s);
        let j = 0;
        for (let c = 0; c < calls.ts.length; c++) {
          const a = calls.ts[c]!;
          const b = a + calls.dur[c]!;
          slow++;
          while (j < n && ioTs![j]! + ioDur![j]! < a) j++;
          let hit = false;
          for (let k = j; k < n && ioTs![k]! < b; k++) {
            hit = true;
            overlapNs += Math.min(b, ioTs![k]! + ioDur![k]!) - Math.max(a, ioTs![k]!);
            ids.push(ioId![k]!);
          }
          if (hit) {
            overlapping++;
            worst ||= s.op;
          }
        }
      }
      const share = slow ? overlapping / slow : 0;
      if (slow === 0 || share < th.ioOverlapShare) continue;
      const severity = peak >= th.highIoPeakNs && share >= 0.5 ? 'HIGH' : 'MEDIUM';
      const writeHeavy = reads * 2 < n;
      out.push(
        makeFinding(ctx, {
          kind: 'io-interference',
          severity,
          node_id: node,
          pid: proc.pid,
          op: worst,
          from_ns: ioTs![0]!,
          to_ns: ioTs![n - 1]! + ioDur![n - 1]!,
          summary: `${pct(share)} of the slow GPU calls of ${ctx.label(node, proc.pid)} coincide with slow disk IO (${count(n, 'request')} ≥ ${dur(th.slowIoNs)}, peak ${dur(peak)})`,
          root_cause: writeHeavy
            ? 'Slow block writes (checkpoints, logs, swap) coincide with the GPU stalls: the process or the page cache waits for the disk.'
            : 'Slow block reads (dataset loading) coincide with the GPU stalls: input is fetched from a slow disk instead of memory.',
          evidence: [
            { layer: 'IO', kind: 'slow-io', op: writeHeavy ? 'block_write' : 'block_read', detail: `${count(n, 'block request')} took ≥ ${dur(th.slowIoNs)} (${reads} reads, ${n - reads} writes), ${dur(total)} in total, peak ${dur(peak)}.`, values: { slow_requests: n, reads, writes: n - reads, total_ns: Math.round(total), peak_ns: peak }, from_ns: ioTs![0]!, to_ns: ioTs![n - 1]! + ioDur![n - 1]!, event_ids: sampleIds(ioId!), node_id: node },
            { layer: 'CUDA', kind: 'overlap', op: worst, detail: `${overlapping} of ${count(slow, 'slow GPU call')} overlapped slow IO (${dur(overlapNs)} of overlap).`, values: { slow_calls: slow, overlapping_calls: overlapping, overlap_ns: Math.round(overlapNs), share: round4(share) }, from_ns: ioTs![0]!, to_ns: ioTs![n - 1]! + ioDur![n - 1]!, event_ids: sampleIds([...new Set(ids)].sort((a, b) => a - b)), node_id: node, pid: proc.pid },
          ],
          recommendations: writeHeavy
            ? ['Write checkpoints asynchronously (a background thread or torch.distributed.checkpoint async save) and to a separate volume.', 'Keep traces, logs and swap off the training data disk.']
            : ['Serve the dataset from local NVMe or /dev/shm, or cache it in memory; raise DataLoader prefetch_factor.', 'Check the disk: peaks above 20 ms suggest a network or spinning disk.'],
          impact_ns: overlapNs,
        }),
      );
    }
  }
  return out;
}
