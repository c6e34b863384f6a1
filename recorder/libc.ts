// The few libc calls the recorder needs beyond libbpf: mmap for the ring buffers, clocks for
// relating BPF timestamps (CLOCK_BOOTTIME) to wall time, and raw syscalls (bpf, membarrier).
import koffi from 'koffi';

const timespec = koffi.struct('ingero_timespec', { tv_sec: 'int64_t', tv_nsec: 'int64_t' });

function bind() {
  const libc = koffi.load('libc.so.6');
  return {
    mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
    munmap: libc.func('int munmap(void *addr, size_t len)'),
    getpagesize: libc.func('int getpagesize(void)'),
    clockGettime: libc.func('clock_gettime', 'int', ['int', koffi.out(koffi.pointer(timespec))]),
    syscall: libc.func('long syscall(long number, ...)'),
    close: libc.func('int close(int fd)'),
  };
}

let api: ReturnType<typeof bind> | undefined;
export function libc(): ReturnType<typeof bind> {
  api ??= bind();
  return api;
}

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
const CLOCK_REALTIME = 0;
const CLOCK_BOOTTIME = 7;

function clockNs(clk: number): bigint {
  const ts = { tv_sec: 0n, tv_nsec: 0n };
  libc().clockGettime(clk, ts);
  return BigInt(ts.tv_sec) * 1_000_000_000n + BigInt(ts.tv_nsec);
}

export function realtimeNs(): bigint {
  return clockNs(CLOCK_REALTIME);
}

/**
 * realtime - boottime, to turn BPF timestamps (bpf_ktime_get_boot_ns) into wall time. Read as
 * the pair with the smallest gap between the two reads of several tries.
 */
export function bootToRealtimeOffsetNs(): bigint {
  let best: { gap: bigint; offset: bigint } | undefined;
  for (let i = 0; i < 16; i++) {
    const r0 = clockNs(CLOCK_REALTIME);
    const b = clockNs(CLOCK_BOOTTIME);
    const r1 = clockNs(CLOCK_REALTIME);
    const gap = r1 - r0;
    if (!best || gap < best.gap) best = { gap, offset: r0 + gap / 2n - b };
  }
  return best!.offset;
}

const SYS_MEMBARRIER = 324; // x86-64
const MEMBARRIER_CMD_GLOBAL = 1;

/**
 * Waits until every BPF program run that began before now has finished: membarrier's global
 * command waits for an RCU grace period, and BPF programs run inside RCU read-side sections.
 * Where the kernel refuses it (nohz_full CPUs), waits 10 ms, far longer than a probe runs.
 */
export async function waitForRunningProbes(): Promise<void> {
  const rc = Number(libc().syscall(SYS_MEMBARRIER, 'int', MEMBARRIER_CMD_GLOBAL, 'uint', 0, 'int', 0));
  if (rc !== 0) await new Promise((r) => setTimeout(r, 10));
}
