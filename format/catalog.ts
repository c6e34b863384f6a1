// The enum catalog: sources, ops and the meaning of each op's arguments. Codes 1..127 within a
// source mirror the Go tool Ingero's assignment so its databases import without translation;
// 128..255 are this project's additions. A code, once published, is never reused.

export interface SourceDef {
  readonly id: number;
  readonly name: string;
  readonly layer: string;
  readonly description: string;
}

export interface ArgDef {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
}

export interface OpDef {
  readonly id: number;
  readonly sourceId: number;
  readonly name: string;
  readonly description: string;
  /** arg0..arg3 meanings; missing entries are unused. */
  readonly args: readonly (ArgDef | undefined)[];
}

export const SOURCE = {
  cuda: 1,
  host: 3,
  driver: 4,
  io: 5,
  tcp: 6,
  net: 7,
  graph: 8,
  nccl: 9,
  gpu: 10,
  torch: 11,
} as const;

export const SOURCES: readonly SourceDef[] = [
  { id: 1, name: 'cuda', layer: 'CUDA', description: 'CUDA Runtime API calls (libcudart uprobes): duration is entry to return.' },
  { id: 3, name: 'host', layer: 'HOST', description: 'Kernel scheduler, process lifecycle and memory tracepoints.' },
  { id: 4, name: 'driver', layer: 'DRIVER', description: 'CUDA Driver API calls (libcuda uprobes): duration is entry to return.' },
  { id: 5, name: 'io', layer: 'IO', description: 'Block IO requests: duration is issue to completion.' },
  { id: 6, name: 'tcp', layer: 'NET', description: 'TCP retransmissions.' },
  { id: 7, name: 'net', layer: 'NET', description: 'Socket send/receive syscalls: duration is the syscall.' },
  { id: 8, name: 'graph', layer: 'GRAPH', description: 'CUDA Graph API calls: duration is entry to return.' },
  { id: 9, name: 'nccl', layer: 'NCCL', description: 'NCCL collective calls.' },
  // Schema 2 (GPU activity, see the schema-2 block of format/schema.ts).
  { id: 10, name: 'gpu', layer: 'GPU', description: 'Work executed on a GPU (CUPTI activity, e.g. from a PyTorch profiler trace): duration is on-device start to end. Not a process: pid and tid are 0; the launching call has the same corr_id.' },
  { id: 11, name: 'torch', layer: 'FRAMEWORK', description: 'Host-side ranges of a framework profiler (PyTorch operators, Python functions): duration is the range.' },
];

const a = (name: string, unit: string, description: string): ArgDef => ({ name, unit, description });
const BYTES = a('bytes', 'bytes', 'Bytes requested or copied.');
const KIND = a('kind', 'enum', 'cudaMemcpyKind: 0 host-to-host, 1 host-to-device, 2 device-to-host, 3 device-to-device, 4 default (inferred from pointers).');
const STREAM = a('stream', 'pointer', 'Stream handle (0 = legacy default stream).');
const DEVPTR = a('ptr', 'pointer', 'Device pointer.');
const DIMS_NOTE = 'packed: x | y << 32 | z << 48 (x 32 bits, y and z 16 bits)';

function op(sourceId: number, index: number, name: string, description: string, args: (ArgDef | undefined)[] = []): OpDef {
  return { id: sourceId * 256 + index, sourceId, name, description, args };
}

// ---- Schema 2: GPU activity (PyTorch profiler / Kineto imports) --------------------------------
// Every gpu op keeps the device in arg2 and the stream in arg3, so one query covers all of them.
const DEVICE = a('device', 'id', 'GPU index (CUDA device ordinal) on the node.');
const GPU_STREAM = a('stream', 'id', 'CUDA stream id as the profiler numbers streams (not a handle).');
const NAME = a('name', 'name', 'What ran: names.id.');
const MEMCPY_KIND = a('kind', 'packed', 'Copy direction | source memory << 8 | destination memory << 16. Direction (CUPTI memcpy kind): 1 HtoD, 2 DtoH, 3 HtoA, 4 AtoH, 5 AtoA, 6 AtoD, 7 DtoA, 8 DtoD, 9 HtoH, 10 PtoP, 0 unknown. Memory (CUPTI memory kind): 1 pageable, 2 pinned (page-locked), 3 device, 4 array, 5 managed, 0 unknown.');
const SYNC_KIND = a('sync_kind', 'enum', 'What the host waited for: 1 stream, 2 event, 3 context (device), 4 stream wait event (GPU-side), 0 other.');
const COLLECTIVE_BYTES = a('bytes', 'bytes', 'Message size when the profiler gave it, NULL otherwise.');

const GPU_OPS: readonly OpDef[] = [
  op(1, 134, 'cuda_runtime_call', 'A CUDA runtime call without an op code of its own, named in arg0 (profiler imports).', [NAME, a('cbid', 'id', 'CUPTI callback id of the call.')]),
  op(4, 135, 'cuda_driver_call', 'A CUDA driver call without an op code of its own, named in arg0 (profiler imports).', [NAME, a('cbid', 'id', 'CUPTI callback id of the call.')]),
  op(9, 128, 'ncclBroadcast', 'NCCL broadcast.', [COLLECTIVE_BYTES]),
  op(9, 129, 'ncclCollective', 'Another NCCL collective or point-to-point call (all-to-all, send, recv, barrier, ...), named in arg1.', [COLLECTIVE_BYTES, NAME]),
  op(10, 1, 'kernel', 'A kernel executing on the GPU: on-device start to end.', [a('kernel', 'kernel', 'gpu_kernels.id: name and launch configuration.'), undefined, DEVICE, GPU_STREAM]),
  op(10, 2, 'memcpy', 'A copy executed by the GPU (copy engine): start to end on the device.', [BYTES, MEMCPY_KIND, DEVICE, GPU_STREAM]),
  op(10, 3, 'memset', 'A memory set executed on the GPU.', [BYTES, undefined, DEVICE, GPU_STREAM]),
  op(10, 4, 'cuda_sync', 'The host waited for GPU work (CUPTI synchronization record): duration is the wait, as the host saw it; not GPU busy time.', [SYNC_KIND, undefined, DEVICE, GPU_STREAM]),
  op(11, 1, 'cpu_op', 'A framework operator on the host (PyTorch aten::* and autograd functions): the range on the calling thread.', [NAME, a('external_id', 'id', 'Profiler external id: the runtime calls this operator made carry it too.')]),
  op(11, 2, 'python_function', 'A Python function call recorded by the profiler.', [NAME]),
  op(11, 3, 'profiler_event', 'An event of a profiler category this importer has no op for, kept as recorded.', [NAME, a('category', 'name', 'The profiler category (names.id).'), a('phase', 'enum', 'Chrome trace phase letter as its character code (X 88, i 105, s 115, f 102, ...).'), a('flow_id', 'id', 'Flow id of flow events, NULL otherwise.')]),
];
// ---- end of schema 2 -----------------------------------------------------------------------

export const OPS: readonly OpDef[] = [
  // CUDA Runtime (source 1)
  op(1, 1, 'cudaMalloc', 'Device memory allocation.', [BYTES, a('ptr', 'pointer', 'Returned device pointer.')]),
  op(1, 2, 'cudaFree', 'Device memory release.', [DEVPTR]),
  op(1, 3, 'cudaLaunchKernel', 'Kernel launch (host-side enqueue time, not kernel execution).', [a('func', 'pointer', 'Kernel function address.'), STREAM, a('grid', 'packed', `Grid dimensions, ${DIMS_NOTE}.`), a('block', 'packed', `Block dimensions, ${DIMS_NOTE}.`)]),
  op(1, 4, 'cudaMemcpy', 'Synchronous copy: the CPU waits until the copy completes.', [BYTES, KIND]),
  op(1, 5, 'cudaStreamSynchronize', 'CPU waits for all work queued on a stream.', [STREAM]),
  op(1, 6, 'cudaDeviceSynchronize', 'CPU waits for all work on the device.', []),
  op(1, 7, 'cudaMemcpyAsync', 'Asynchronous copy enqueue; synchronous in effect when host memory is pageable.', [BYTES, KIND, STREAM]),
  op(1, 8, 'cudaMallocManaged', 'Unified memory allocation.', [BYTES, a('ptr', 'pointer', 'Returned pointer.')]),
  op(1, 9, 'cudaMemcpy2D', 'Synchronous 2D copy.', [BYTES, KIND]),
  op(1, 10, 'cudaMemcpy2DAsync', 'Asynchronous 2D copy.', [BYTES, KIND, STREAM]),
  op(1, 11, 'cudaMemcpyPeer', 'Synchronous device-to-device copy across GPUs.', [BYTES]),
  op(1, 12, 'cudaMemcpyPeerAsync', 'Asynchronous peer copy.', [BYTES, undefined, STREAM]),
  op(1, 128, 'cudaHostAlloc', 'Pinned host memory allocation.', [BYTES]),
  op(1, 129, 'cudaEventSynchronize', 'CPU waits for a CUDA event.', [a('event', 'pointer', 'Event handle.')]),
  op(1, 130, 'cudaStreamWaitEvent', 'Stream waits for an event (GPU-side dependency).', [STREAM]),
  op(1, 131, 'cudaMemset', 'Device memory set.', [BYTES]),
  op(1, 132, 'cudaMemsetAsync', 'Asynchronous device memory set.', [BYTES, undefined, STREAM]),
  op(1, 133, 'cudaFreeHost', 'Pinned host memory release.', []),
  // Host / kernel (source 3)
  op(3, 1, 'sched_switch', 'The thread was off-CPU: ts_ns is when it left the CPU, dur_ns how long until it ran again.', [a('next_tid', 'id', 'Thread that took the CPU when this one left it (0 when unknown).'), a('next_pid', 'id', 'Process of that thread (0 when unknown).'), a('prev_state', 'enum', 'Task state when switched out: 0 runnable (preempted), otherwise blocked (1 interruptible sleep, 2 uninterruptible, ...).'), a('switched_in_after_pid', 'id', 'Process that held the CPU just before this thread got it back; set by recorders that see only the switch-in (Ingero imports), NULL otherwise.')]),
  op(3, 2, 'sched_wakeup', 'A thread was woken (point event).', [a('target_tid', 'id', 'Thread woken.'), a('target_pid', 'id', 'Its process (0 when unknown).')]),
  op(3, 3, 'mm_page_alloc', 'Kernel page allocation (point event).', [BYTES, a('order', 'count', 'Allocation order (pages = 2^order).')]),
  op(3, 4, 'oom_kill', 'The OOM killer killed a process (point event).', [a('victim_pid', 'id', 'Killed process.'), a('pages', 'count', 'Pages freed, when known.')]),
  op(3, 5, 'process_exec', 'A process called exec (point event).', [a('pid', 'id', 'Process.')]),
  op(3, 6, 'process_exit', 'A process or thread exited (point event).', [a('exit_code', 'enum', 'Exit status, when known.')]),
  op(3, 7, 'process_fork', 'A process forked (point event).', [a('child_pid', 'id', 'New process id.')]),
  op(3, 10, 'pod_restart', 'Kubernetes pod restart (synthetic).', []),
  op(3, 11, 'pod_eviction', 'Kubernetes pod eviction (synthetic).', []),
  op(3, 12, 'pod_oom_kill', 'Kubernetes pod OOM kill (synthetic).', []),
  op(3, 20, 'mm_page_alloc_summary', 'In-kernel summary of page allocations since the previous one.', [a('count', 'count', 'Allocations.'), BYTES]),
  op(3, 21, 'sched_switch_summary', 'In-kernel summary of context switches since the previous one.', [a('count', 'count', 'Switches.'), a('off_cpu_ns', 'ns', 'Total off-CPU time.')]),
  // CUDA Driver (source 4)
  op(4, 1, 'cuLaunchKernel', 'Driver kernel launch (enqueue).', [a('func', 'pointer', 'CUfunction handle.'), STREAM, a('grid', 'packed', `Grid dimensions, ${DIMS_NOTE}.`), a('block', 'packed', `Block dimensions, ${DIMS_NOTE}.`)]),
  op(4, 2, 'cuMemcpy', 'Driver synchronous copy.', [BYTES, KIND]),
  op(4, 3, 'cuMemcpyAsync', 'Driver asynchronous copy.', [BYTES, KIND, STREAM]),
  op(4, 4, 'cuCtxSynchronize', 'CPU waits for the whole context.', []),
  op(4, 5, 'cuMemAlloc', 'Driver device allocation (cuMemAlloc_v2).', [BYTES, a('ptr', 'pointer', 'Returned device pointer.')]),
  op(4, 6, 'cuMemAllocManaged', 'Driver managed allocation.', [BYTES]),
  op(4, 128, 'cuMemFree', 'Driver device memory release (cuMemFree_v2).', [DEVPTR]),
  op(4, 129, 'cuStreamSynchronize', 'CPU waits for a stream (driver).', [STREAM]),
  op(4, 130, 'cuMemcpyHtoD', 'Driver synchronous host-to-device copy.', [BYTES]),
  op(4, 131, 'cuMemcpyDtoH', 'Driver synchronous device-to-host copy.', [BYTES]),
  op(4, 132, 'cuMemcpyHtoDAsync', 'Driver asynchronous host-to-device copy.', [BYTES, undefined, STREAM]),
  op(4, 133, 'cuMemcpyDtoHAsync', 'Driver asynchronous device-to-host copy.', [BYTES, undefined, STREAM]),
  op(4, 134, 'cuEventSynchronize', 'CPU waits for an event (driver).', []),
  // Block IO (source 5)
  op(5, 1, 'block_read', 'Block device read request.', [a('sectors', 'count', 'Sectors (512 B).'), a('sector', 'id', 'Start sector.'), a('dev', 'id', 'Device number, when known.')]),
  op(5, 2, 'block_write', 'Block device write request.', [a('sectors', 'count', 'Sectors (512 B).'), a('sector', 'id', 'Start sector.'), a('dev', 'id', 'Device number, when known.')]),
  op(5, 3, 'block_discard', 'Block device discard request.', [a('sectors', 'count', 'Sectors (512 B).'), a('sector', 'id', 'Start sector.')]),
  // TCP (source 6) and NET (source 7)
  op(6, 1, 'tcp_retransmit', 'TCP segment retransmitted (point event).', [a('addrs', 'packed', 'IPv4 saddr << 32 | daddr.'), a('ports', 'packed', 'sport << 16 | dport.'), a('state', 'enum', 'TCP state.')]),
  op(7, 1, 'net_send', 'Socket send syscall.', [a('fd', 'id', 'File descriptor.'), BYTES]),
  op(7, 2, 'net_recv', 'Socket receive syscall (blocking receives last long by design).', [a('fd', 'id', 'File descriptor.'), BYTES]),
  // CUDA Graph (source 8)
  op(8, 1, 'cudaStreamBeginCapture', 'Graph capture begins.', [STREAM]),
  op(8, 2, 'cudaStreamEndCapture', 'Graph capture ends.', [STREAM]),
  op(8, 3, 'cudaGraphInstantiate', 'Graph instantiation.', []),
  op(8, 4, 'cudaGraphLaunch', 'Graph launch (enqueue).', [a('exec', 'pointer', 'Graph exec handle.'), STREAM]),
  // NCCL (source 9)
  op(9, 3, 'ncclAllReduce', 'NCCL all-reduce.', [BYTES]),
  op(9, 4, 'ncclAllGather', 'NCCL all-gather.', [BYTES]),
  op(9, 5, 'ncclReduceScatter', 'NCCL reduce-scatter.', [BYTES]),
  ...GPU_OPS,
];

const byId = new Map(OPS.map((o) => [o.id, o]));
const byName = new Map(OPS.map((o) => [o.name, o]));

export function opById(id: number): OpDef | undefined {
  return byId.get(id);
}

/** Op code for a name in the catalog; throws for unknown names (a programming error). */
export function opId(name: string): number {
  const o = byName.get(name);
  if (!o) throw new Error(`unknown op name ${name}`);
  return o.id;
}

export function opCode(sourceId: number, index: number): number {
  return sourceId * 256 + index;
}

/** Placeholder definition for codes this catalog does not know (kept so they round-trip). */
export function unknownOp(id: number): OpDef {
  const sourceId = Math.floor(id / 256);
  const index = id % 256;
  return { id, sourceId, name: `op_${sourceId}_${index}`, description: `Unknown op ${index} of source ${sourceId}, kept as recorded.`, args: [] };
}

export function packDims(x: number, y: number, z: number): bigint {
  return BigInt.asIntN(64, BigInt(x) | (BigInt(y) << 32n) | (BigInt(z) << 48n));
}
