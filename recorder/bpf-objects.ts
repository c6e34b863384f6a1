// Loads the shipped BPF objects (bpf/cuda.bpf.o, bpf/host.bpf.o), configures them and shares
// the maps both need, then exposes what the recording session drives: the traced-process set,
// uprobe attachment, the ring buffers and the per-probe counters.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, possibleCpus, type UprobeTarget } from './libbpf.ts';
import { RingBufferReader } from './ring-buffer.ts';
import { HOST_PROBES, type KernelEvent } from './host-probes.ts';

export const BPF_DIR = fileURLToPath(new URL('../bpf/', import.meta.url));
export const CUDA_OBJECT = `${BPF_DIR}cuda.bpf.o`;
export const HOST_OBJECT = `${BPF_DIR}host.bpf.o`;

export interface BpfOptions {
  /** Ring buffer size per object, bytes: a power of two, at least a page. */
  ringBytes: number;
  /** Unread bytes at which the kernel wakes the reader. */
  wakeupBytes: number;
  /** Trace every process that calls a probed CUDA function. */
  traceAll: boolean;
  followChildren: boolean;
  /** Kernel events to record; empty loads no kernel object at all. */
  kernelEvents: readonly KernelEvent[];
}

export interface ProbeCounts {
  emitted: bigint;
  dropped: bigint;
}

/** Maps created by the CUDA object and reused by the host object. */
const SHARED_MAPS = ['traced_tgids', 'named_tasks'];

export class BpfObjects {
  readonly cudaRing: RingBufferReader;
  readonly hostRing: RingBufferReader | undefined;
  private readonly cpus = possibleCpus();

  private constructor(
    readonly cuda: BpfObject,
    readonly host: BpfObject | undefined,
    ringBytes: number,
  ) {
    this.cudaRing = new RingBufferReader(cuda.mapFd('events'), ringBytes);
    this.hostRing = host ? new RingBufferReader(host.mapFd('events'), ringBytes) : undefined;
  }

  static load(o: BpfOptions): BpfObjects {
    for (const p of [CUDA_OBJECT, HOST_OBJECT]) {
      if (!existsSync(p)) throw new Error(`missing ${p}: the package is incomplete; rebuild it with \`npm run build:bpf\``);
    }
    if (o.ringBytes < 4096 || (o.ringBytes & (o.ringBytes - 1)) !== 0) throw new RangeError(`ring size ${o.ringBytes} is not a power of two`);
    const cuda = BpfObject.open(CUDA_OBJECT);
    let host: BpfObject | undefined;
    try {
      cuda.setReadOnlyGlobals({ wakeup_bytes: o.wakeupBytes, trace_all: o.traceAll });
      cuda.setMaxEntries('events', o.ringBytes);
      cuda.load();
      if (o.kernelEvents.length > 0) {
        host = BpfObject.open(HOST_OBJECT);
        host.setReadOnlyGlobals({ wakeup_bytes: o.wakeupBytes, trace_all: o.traceAll, follow_children: o.followChildren });
        host.setMaxEntries('events', o.ringBytes);
        for (const m of SHARED_MAPS) host.reuseMap(m, cuda.mapFd(m));
        const wanted = new Set(o.kernelEvents);
        for (const p of HOST_PROBES) for (const prog of p.programs) host.setAutoload(prog, wanted.has(p.event));
        host.load();
        for (const p of HOST_PROBES) if (wanted.has(p.event)) for (const prog of p.programs) host.attach(prog);
      }
      return new BpfObjects(cuda, host, o.ringBytes);
    } catch (e) {
      host?.close();
      cuda.close();
      throw e;
    }
  }

  addTracedPid(pid: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(pid);
    this.cuda.update('traced_tgids', key, Buffer.from([1]));
  }

  attachUprobe(t: UprobeTarget): void {
    this.cuda.attachUprobe(t.retprobe ? 'cuda_return' : 'cuda_enter', t);
  }

  /** Sums a counter slot over CPUs. */
  counts(object: 'cuda' | 'host', slot: number): ProbeCounts {
    const obj = object === 'cuda' ? this.cuda : this.host;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    const v = obj?.lookup('probe_stats', key, 16 * this.cpus);
    const out = { emitted: 0n, dropped: 0n };
    if (!v) return out;
    for (let c = 0; c < this.cpus; c++) {
      out.emitted += v.readBigUInt64LE(16 * c);
      out.dropped += v.readBigUInt64LE(16 * c + 8);
    }
    return out;
  }

  /** Stops every probe; rings and counters stay readable for the final drain. */
  detach(): void {
    this.cuda.detach();
    this.host?.detach();
  }

  close(): void {
    this.cudaRing.close();
    this.hostRing?.close();
    this.host?.close();
    this.cuda.close();
  }
}
