// The CUDA Runtime and Driver API functions the recorder probes, with where each argument
// the bundle catalog records (format/catalog.ts, op_args) is found. Signatures are the CUDA
// headers'; registers follow the System V x86-64 ABI (a dim3 by value takes two registers).
import { ArgSource as A } from './probe-cookie.ts';

export type CudaLibrary = 'runtime' | 'driver';

export interface CudaProbe {
  /** ELF symbol. */
  symbol: string;
  /** Catalog op name. */
  op: string;
  library: CudaLibrary;
  /** Argument sources for arg0..arg3 of the op. */
  args: readonly number[];
}

const R = A.reg;
const rt = (symbol: string, args: number[] = [], op = symbol): CudaProbe => ({ symbol, op, library: 'runtime', args });
const drv = (symbol: string, op: string, args: number[] = []): CudaProbe => ({ symbol, op, library: 'driver', args });

const BASE_PROBES: readonly CudaProbe[] = [
  // cudaMalloc(void **devPtr, size_t size): bytes, then the pointer it returned
  rt('cudaMalloc', [R(2), A.outPtr(1)]),
  rt('cudaMallocManaged', [R(2), A.outPtr(1)]),
  // cudaHostAlloc(void **pHost, size_t size, unsigned flags)
  rt('cudaHostAlloc', [R(2)]),
  rt('cudaFree', [R(1)]),
  rt('cudaFreeHost'),
  // cudaLaunchKernel(func, dim3 grid, dim3 block, void **args, size_t shmem, stream): stream is
  // the second stack argument
  rt('cudaLaunchKernel', [R(1), A.stack(2), A.runtimeGrid, A.runtimeBlock]),
  // cudaMemcpy(dst, src, count, kind)
  rt('cudaMemcpy', [R(3), R(4)]),
  rt('cudaMemcpyAsync', [R(3), R(4), R(5)]),
  // cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind [, stream])
  rt('cudaMemcpy2D', [A.r5TimesR6, A.stack(1)]),
  rt('cudaMemcpy2DAsync', [A.r5TimesR6, A.stack(1), A.stack(2)]),
  // cudaMemcpyPeer(dst, dstDevice, src, srcDevice, count [, stream])
  rt('cudaMemcpyPeer', [R(5)]),
  rt('cudaMemcpyPeerAsync', [R(5), A.none, R(6)]),
  // cudaMemset(devPtr, value, count [, stream])
  rt('cudaMemset', [R(3)]),
  rt('cudaMemsetAsync', [R(3), A.none, R(4)]),
  rt('cudaStreamSynchronize', [R(1)]),
  rt('cudaDeviceSynchronize'),
  rt('cudaEventSynchronize', [R(1)]),
  rt('cudaStreamWaitEvent', [R(1)]),
  rt('cudaStreamBeginCapture', [R(1)]),
  rt('cudaStreamEndCapture', [R(1)]),
  rt('cudaGraphInstantiate'),
  rt('cudaGraphLaunch', [R(1), R(2)]),
  // Calls of real programs the first 22 missed, each checked against libcudart 13's symbols
  // and prologues (test/recorder-real-cuda.test.ts records them from an nvcc-built program).
  // <<<>>> launches: CUDA 13 compiles them to __cudaLaunchKernel(cudaKernel_t, dim3 grid, dim3
  // block, args, shmem, stream), cudaLaunchKernel's register layout with a kernel handle first.
  rt('__cudaLaunchKernel', [R(1), A.stack(2), A.runtimeGrid, A.runtimeBlock], 'cudaLaunchKernel'),
  // cudaLaunchKernelExC(const cudaLaunchConfig_t *config, const void *func, void **args)
  rt('cudaLaunchKernelExC', [R(2), A.configStream, A.configGrid, A.configBlock]),
  // cudaStreamCreate(cudaStream_t *s), ...WithFlags(s, flags), ...WithPriority(s, flags, priority)
  rt('cudaStreamCreate', [A.outPtr(1)]),
  rt('cudaStreamCreateWithFlags', [A.outPtr(1), R(2)], 'cudaStreamCreate'),
  rt('cudaStreamCreateWithPriority', [A.outPtr(1), R(2), R(3)], 'cudaStreamCreate'),
  rt('cudaStreamDestroy', [R(1)]),
  // cudaEventRecord(event, stream), cudaEventRecordWithFlags(event, stream, flags)
  rt('cudaEventRecord', [R(1), R(2)]),
  rt('cudaEventRecordWithFlags', [R(1), R(2)], 'cudaEventRecord'),
  rt('cudaEventQuery', [R(1)]),
  rt('cudaGetLastError'),
  // cudaMallocAsync(void **devPtr, size_t size, cudaStream_t), cudaFreeAsync(devPtr, stream)
  rt('cudaMallocAsync', [R(2), A.outPtr(1), R(3)]),
  rt('cudaFreeAsync', [R(1), R(2)]),
  rt('cudaGraphInstantiateWithFlags', [], 'cudaGraphInstantiate'),
  // cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, stream, params, extra): bz, shmem and
  // stream are stack arguments 1..3
  drv('cuLaunchKernel', 'cuLaunchKernel', [R(1), A.stack(3), A.driverGrid, A.driverBlock]),
  drv('cuMemAlloc_v2', 'cuMemAlloc', [R(2), A.outPtr(1)]),
  drv('cuMemAllocManaged', 'cuMemAllocManaged', [R(2)]),
  drv('cuMemFree_v2', 'cuMemFree', [R(1)]),
  // cuMemcpy(dst, src, bytes [, stream]): unified addressing, the driver infers the direction
  drv('cuMemcpy', 'cuMemcpy', [R(3), A.kindDefault]),
  drv('cuMemcpyAsync', 'cuMemcpyAsync', [R(3), A.kindDefault, R(4)]),
  drv('cuMemcpyHtoD_v2', 'cuMemcpyHtoD', [R(3)]),
  drv('cuMemcpyDtoH_v2', 'cuMemcpyDtoH', [R(3)]),
  drv('cuMemcpyHtoDAsync_v2', 'cuMemcpyHtoDAsync', [R(3), A.none, R(4)]),
  drv('cuMemcpyDtoHAsync_v2', 'cuMemcpyDtoHAsync', [R(3), A.none, R(4)]),
  drv('cuCtxSynchronize', 'cuCtxSynchronize'),
  drv('cuStreamSynchronize', 'cuStreamSynchronize', [R(1)]),
  drv('cuEventSynchronize', 'cuEventSynchronize'),
];

/**
 * Functions with a per-thread default stream variant (what nvcc --default-stream per-thread
 * calls): the same arguments under the suffix _ptds for synchronous calls, _ptsz otherwise.
 */
const PER_THREAD_DEFAULT_STREAM: Readonly<Record<string, '_ptds' | '_ptsz'>> = {
  cudaMemcpy: '_ptds',
  cudaMemcpy2D: '_ptds',
  cudaMemset: '_ptds',
  cudaLaunchKernel: '_ptsz',
  __cudaLaunchKernel: '_ptsz',
  cudaLaunchKernelExC: '_ptsz',
  cudaMemcpyAsync: '_ptsz',
  cudaMemcpy2DAsync: '_ptsz',
  cudaMemsetAsync: '_ptsz',
  cudaStreamSynchronize: '_ptsz',
  cudaStreamWaitEvent: '_ptsz',
  cudaStreamBeginCapture: '_ptsz',
  cudaStreamEndCapture: '_ptsz',
  cudaEventRecord: '_ptsz',
  cudaEventRecordWithFlags: '_ptsz',
  cudaGraphLaunch: '_ptsz',
  cudaMallocAsync: '_ptsz',
  cudaFreeAsync: '_ptsz',
};

export const CUDA_PROBES: readonly CudaProbe[] = [
  ...BASE_PROBES,
  ...BASE_PROBES.filter((p) => p.symbol in PER_THREAD_DEFAULT_STREAM).map((p) => ({ ...p, symbol: p.symbol + PER_THREAD_DEFAULT_STREAM[p.symbol] })),
];

/** File names that identify each library in /proc/PID/maps or the loader cache. */
export function cudaLibraryOf(path: string): CudaLibrary | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/^libcudart\.so(\.|$)/.test(base)) return 'runtime';
  if (/^libcuda\.so(\.|$)/.test(base)) return 'driver';
  return undefined;
}
