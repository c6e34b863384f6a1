// Failing CUDA calls: non-zero return codes of runtime and driver API calls, by name, with the
// first failing call. A program whose every call fails (no driver, no device, wrong
// architecture) does no GPU work at all, whatever else the trace shows.
import { GPU_LAYERS, sampleIds, type AnalysisContext } from '../context.ts';
import { cudaErrorName } from '../cuda-errors.ts';
import { FAILING_IDS_KEPT } from '../event-index.ts';
import type { Evidence, Finding } from '../types.ts';
import { count, dur, list, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

/** "Not ready" answers of query calls are polling, not failure. */
const NOT_READY = 600;
const POLLING_OPS = /Query$/;

/** What a code means for the run, for the codes that stop GPU work. */
const MEANING: Readonly<Record<string, string>> = {
  cudaErrorInsufficientDriver: 'the installed NVIDIA driver is older than this CUDA runtime needs, or no driver is loaded at all',
  CUDA_ERROR_NO_DEVICE: 'no CUDA-capable device is visible to the process',
  cudaErrorNoDevice: 'no CUDA-capable device is visible to the process',
  cudaErrorMemoryAllocation: 'the GPU ran out of memory',
  CUDA_ERROR_OUT_OF_MEMORY: 'the GPU ran out of memory',
  cudaErrorNoKernelImageForDevice: 'the binary has no kernel image (SASS or PTX) for this GPU architecture',
  CUDA_ERROR_NO_BINARY_FOR_GPU: 'the binary has no kernel image for this GPU architecture',
  cudaErrorInitializationError: 'the CUDA runtime failed to initialise',
  CUDA_ERROR_NOT_INITIALIZED: 'the driver API was used before cuInit succeeded',
  cudaErrorInvalidDevice: 'the process asked for a device ordinal that does not exist',
  cudaErrorDevicesUnavailable: 'the GPUs are busy or unavailable (exclusive-process compute mode held by another process)',
  cudaErrorIllegalAddress: 'a kernel accessed an illegal address; the context is lost and every later call fails',
  CUDA_ERROR_ILLEGAL_ADDRESS: 'a kernel accessed an illegal address; the context is lost and every later call fails',
};

const FIX: Readonly<Record<string, string>> = {
  cudaErrorInsufficientDriver: 'Install an NVIDIA driver that supports this CUDA version (nvidia-smi shows the highest CUDA version the driver supports), or build against an older CUDA toolkit.',
  cudaErrorNoDevice: 'Check CUDA_VISIBLE_DEVICES, the container GPU runtime (--gpus) and that nvidia-smi lists the GPU.',
  CUDA_ERROR_NO_DEVICE: 'Check CUDA_VISIBLE_DEVICES, the container GPU runtime (--gpus) and that nvidia-smi lists the GPU.',
  cudaErrorMemoryAllocation: 'Reduce the batch size or model footprint, or free cached blocks; check other processes on the GPU (nvidia-smi).',
  CUDA_ERROR_OUT_OF_MEMORY: 'Reduce the batch size or model footprint, or free cached blocks; check other processes on the GPU (nvidia-smi).',
  cudaErrorNoKernelImageForDevice: 'Rebuild with this GPU architecture in the target list (e.g. -gencode for its compute capability, TORCH_CUDA_ARCH_LIST).',
};

export function detectApiErrors(ctx: AnalysisContext): Finding[] {
  const gpuOps = new Set([...ctx.bundle.ops().values()].filter((o) => GPU_LAYERS.has(o.layer)).map((o) => o.id));
  if (gpuOps.size === 0) return [];
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    // Failing calls by (op, return code), in order of their first; totalled per thread by the index.
    const byCall = new Map<string, { op_id: number; ret: number; n: number; first_id: number; first_ns: number; last_ns: number }>();
    let answered = 0;
    let failingIds: number[] = [];
    for (const g of ctx.index.groups) {
      if (g.node !== proc.node_id || g.pid !== proc.pid || !gpuOps.has(g.op)) continue;
      answered += g.answered;
      if (!g.failing) continue;
      failingIds = failingIds.concat(g.failingIds);
      for (const [ret, f] of g.failing) {
        const key = `${g.op}:${ret}`;
        const c = byCall.get(key);
        if (!c) byCall.set(key, { op_id: g.op, ret, n: f.n, first_id: f.firstId, first_ns: f.firstNs, last_ns: f.lastEnd });
        else (c.n += f.n), (c.first_id = Math.min(c.first_id, f.firstId)), (c.first_ns = Math.min(c.first_ns, f.firstNs)), (c.last_ns = Math.max(c.last_ns, f.lastEnd));
      }
    }
    const failing = [...byCall.values()].sort((a, b) => a.first_id - b.first_id);
    const groups = failing
      .map((g) => ({ ...g, op: ctx.bundle.opName(g.op_id) }))
      .filter((g) => !(g.ret === NOT_READY && POLLING_OPS.test(g.op)))
      .map((g) => ({ ...g, name: cudaErrorName(g.op, g.ret) }));
    if (groups.length === 0) continue;
    const failed = groups.reduce((s, g) => s + g.n, 0);
    const share = failed / Math.max(1, answered);
    const first = groups[0]!;
    const firstCall = ctx.bundle.db.prepare('SELECT id, ts_ns, dur_ns, tid FROM events WHERE id = ?').get(first.first_id) as { id: number; ts_ns: number; dur_ns: number; tid: number };
    const byCode = new Map<string, number>();
    for (const g of groups) byCode.set(g.name, (byCode.get(g.name) ?? 0) + g.n);
    const codes = [...byCode.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const main = codes[0]![0];
    const meaning = MEANING[main];
    const label = ctx.label(proc.node_id, proc.pid);
    const ids = failingIds.sort((a, b) => a - b).slice(0, FAILING_IDS_KEPT);
    const evidence: Evidence[] = [
      {
        layer: ctx.bundle.ops().get(first.op_id)?.layer ?? 'CUDA',
        kind: 'first-error',
        op: first.op,
        detail: `The first failing call is ${first.op} at ${dur(firstCall.ts_ns)} (thread ${firstCall.tid}), returning ${first.ret} (${first.name}).`,
        values: { ret: first.ret, ts_ns: firstCall.ts_ns },
        from_ns: firstCall.ts_ns,
        to_ns: firstCall.ts_ns + firstCall.dur_ns,
        event_ids: [firstCall.id],
        node_id: proc.node_id,
        pid: proc.pid,
      },
      {
        layer: 'CUDA',
        kind: 'errors',
        op: '',
        detail: `${count(failed, 'stored call')} of ${answered} with a recorded return code failed (${pct(share)}): ${list(groups.slice(0, 6).map((g) => `${g.op} → ${g.ret} ${g.name} ×${g.n}`))}${groups.length > 6 ? ` and ${groups.length - 6} more` : ''}.`,
        values: { failed_calls: failed, calls_with_return_code: answered, failed_share: round4(share), distinct_errors: codes.length },
        from_ns: first.first_ns,
        to_ns: Math.max(...groups.map((g) => g.last_ns)),
        event_ids: sampleIds(ids),
        node_id: proc.node_id,
        pid: proc.pid,
      },
    ];
    const severity = share >= 0.5 || meaning !== undefined ? 'HIGH' : failed >= 10 ? 'MEDIUM' : 'LOW';
    out.push(
      makeFinding(ctx, {
        kind: 'api-error',
        severity,
        node_id: proc.node_id,
        pid: proc.pid,
        op: first.op,
        from_ns: first.first_ns,
        to_ns: Math.max(...groups.map((g) => g.last_ns)),
        summary: `${pct(share)} of the CUDA calls of ${label} failed (${list(codes.slice(0, 3).map(([n, c]) => `${n} ×${c}`))}), from the first ${first.op} at ${dur(firstCall.ts_ns)}`,
        root_cause: meaning
          ? `The calls fail with ${main}: ${meaning}. Work the program meant to put on the GPU did not run there.`
          : `CUDA calls return errors (${list(codes.slice(0, 3).map(([n]) => n))}); the program may carry on without the work those calls were meant to do.`,
        evidence,
        recommendations: [
          FIX[main] ?? `Look up ${main} for ${first.op} and check the program's error handling: a failing CUDA call usually leaves the program without its GPU work.`,
          'Check every CUDA return code in the program (or run it under compute-sanitizer) so a failure stops it at the first bad call.',
        ],
        // Failures are counted by duration-free impact: a failed call costs the GPU work it was for.
        impact_ns: (proc.to_ns - proc.from_ns) * share,
        caveats: ctx.sampled(proc.node_id, { op: first.op, source: ctx.bundle.ops().get(first.op_id)?.source ?? '' }, proc.from_ns, proc.to_ns).length ? ['Counts are of stored events, which are only a sample here: the share of failing calls is that of the stored calls.'] : [],
      }),
    );
  }
  return out;
}
