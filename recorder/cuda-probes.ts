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

export const CUDA_PROBES: readonly CudaProbe[] = [
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

/** File names that identify each library in /proc/PID/maps or the loader cache. */
export function cudaLibraryOf(path: string): CudaLibrary | undefined {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (/^libcudart\.so(\.|$)/.test(base)) return 'runtime';
  if (/^libcuda\.so(\.|$)/.test(base)) return 'driver';
  return undefined;
}
