// Loads the shipped BPF objects (bpf/cuda.bpf.o, bpf/host.bpf.o), configures them and shares
// the maps both need, then exposes what the recording session drives: the traced-process set,
// uprobe attachment, the ring buffers and the per-probe counters.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BPF_TRACE_UPROBE_MULTI, BpfObject, LibbpfError, possibleCpus } from './libbpf.ts';
import { RingBufferReader } from './ring-buffer.ts';
import { HOST_PROBES, type KernelEvent } from './host-probes.ts';

export const BPF_DIR = fileURLToPath(new URL('../bpf/', import.meta.url));
export const CUDA_OBJECT = `${BPF_DIR}cuda.bpf.o`;
export const HOST_OBJECT = `${BPF_DIR}host.bpf.o`;
export const EXIT_MAPPINGS_OBJECT = `${BPF_DIR}exit-mappings.bpf.o`;

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
  /** Use uprobe_multi links where the kernel has them (6.6+); false: one link per function. */
  multiLinks: boolean;
  /** Send the user stack of traced threads with their sched_switch (off-CPU) records. */
  offCpuStacks: boolean;
  /** On-CPU samples of traced threads per second and CPU (0: none). */
  cpuSampleHz: number;
  /** Send each traced process's executable mappings as it exits (stacks are symbolized). */
  exitMappings: boolean;
}

/** The host object's sampling program and its counter slot (SLOT_CPU_SAMPLE of host.bpf.c). */
const CPU_SAMPLE_PROGRAM = 'on_cpu_sample';
export const CPU_SAMPLE_SLOT = 8;
/** Counter slot of the exit-time mapping records, in the host object (SLOT_MAPPINGS of exit-mappings.bpf.c). */
export const EXIT_MAPPINGS_SLOT = 9;

/** Threads that can be off-CPU with a kept stack at once (each entry is 576 bytes). */
const OFF_CPU_STACK_ENTRIES = 16384;

/** One function of a file to probe at entry and return. */
export interface ProbedFunction {
  symbol: string;
  /** Bytes past the symbol's start where the probe goes (see probe-plan.ts). */
  offset: number;
  /** File offset of the probed instruction. */
  fileOffset: number;
  cookie: bigint;
}

export interface ProbeCounts {
  emitted: bigint;
  dropped: bigint;
}

/** Maps created by the CUDA object and reused by the host object. */
const SHARED_MAPS = ['traced_tgids', 'named_tasks', 'stopped'];
const EINVAL = 22;
const EOPNOTSUPP = 95;
/** Programs for uprobe_multi links (kernel 6.6+), loaded with their attach type when possible. */
const MULTI_PROGRAMS = ['cuda_enter_multi', 'cuda_return_multi'];

/** Opens and loads the CUDA object, with its uprobe_multi programs or without them. */
function loadCuda(o: BpfOptions, multi: boolean): BpfObject {
  const cuda = BpfObject.open(CUDA_OBJECT);
  try {
    cuda.setReadOnlyGlobals({ wakeup_bytes: o.wakeupBytes, trace_all: o.traceAll });
    cuda.setMaxEntries('events', o.ringBytes);
    for (const prog of MULTI_PROGRAMS) {
      if (multi) cuda.setExpectedAttachType(prog, BPF_TRACE_UPROBE_MULTI);
      else cuda.setAutoload(prog, false);
    }
    cuda.load();
    return cuda;
  } catch (e) {
    cuda.close();
    throw e;
  }
}

/**
 * Loads the exit-time mapping program into the host object's ring and counters. It needs the
 * task_vma iterator (Linux 6.7): where the kernel refuses it, recording goes on without it.
 */
function loadExitMappings(cuda: BpfObject, host: BpfObject, wakeupBytes: number): { object?: BpfObject; problem: string | null } {
  const object = BpfObject.open(EXIT_MAPPINGS_OBJECT);
  try {
    object.setReadOnlyGlobals({ wakeup_bytes: wakeupBytes });
    for (const m of SHARED_MAPS) object.reuseMap(m, cuda.mapFd(m));
    for (const m of ['events', 'probe_stats']) object.reuseMap(m, host.mapFd(m));
    object.load();
    object.attach('on_exit_mappings');
    return { object, problem: null };
  } catch (e) {
    object.close();
    return { problem: `this kernel refused the exit-time mapping program (${(e as Error).message.split('\n')[0]}; it needs Linux 6.7): stacks of a process that exits before the recorder reads /proc/PID/maps stay unresolved` };
  }
}

export class BpfObjects {
  readonly cudaRing: RingBufferReader;
  readonly hostRing: RingBufferReader | undefined;
  private readonly cpus = possibleCpus();

  private constructor(
    readonly cuda: BpfObject,
    readonly host: BpfObject | undefined,
    private readonly exitMaps: BpfObject | undefined,
    /** Why exit-time mappings are not sent though asked for (a kernel before 6.7); null when they are or were not asked for. */
    readonly exitMappingsProblem: string | null,
    ringBytes: number,
    /** Whether uprobe_multi links are tried first (false once the kernel refused one). */
    private multiLinks: boolean,
  ) {
    this.cudaRing = new RingBufferReader(cuda.mapFd('events'), ringBytes);
    this.hostRing = host ? new RingBufferReader(host.mapFd('events'), ringBytes) : undefined;
  }

  static load(o: BpfOptions): BpfObjects {
    for (const p of [CUDA_OBJECT, HOST_OBJECT, EXIT_MAPPINGS_OBJECT]) {
      if (!existsSync(p)) throw new Error(`missing ${p}: the package is incomplete; rebuild it with \`npm run build:bpf\``);
    }
    if (o.ringBytes < 4096 || (o.ringBytes & (o.ringBytes - 1)) !== 0) throw new RangeError(`ring size ${o.ringBytes} is not a power of two`);
    let cuda: BpfObject;
    let multi = o.multiLinks;
    try {
      cuda = loadCuda(o, multi);
    } catch (e) {
      if (!multi) throw e;
      // a kernel without uprobe_multi (before 6.6) may reject the attach type at load
      multi = false;
      cuda = loadCuda(o, false);
    }
    let host: BpfObject | undefined;
    let exitMaps: { object?: BpfObject; problem: string | null } = { problem: null };
    try {
      if (o.kernelEvents.length > 0 || o.cpuSampleHz > 0 || o.exitMappings) {
        host = BpfObject.open(HOST_OBJECT);
        host.setReadOnlyGlobals({ wakeup_bytes: o.wakeupBytes, trace_all: o.traceAll, follow_children: o.followChildren, off_cpu_stacks: o.offCpuStacks });
        host.setMaxEntries('events', o.ringBytes);
        host.setMaxEntries('off_cpu_stack', o.offCpuStacks ? OFF_CPU_STACK_ENTRIES : 64);
        for (const m of SHARED_MAPS) host.reuseMap(m, cuda.mapFd(m));
        const wanted = new Set(o.kernelEvents);
        for (const p of HOST_PROBES) for (const prog of p.programs) host.setAutoload(prog, wanted.has(p.event));
        host.setAutoload(CPU_SAMPLE_PROGRAM, o.cpuSampleHz > 0);
        host.load();
        // Attached first: programs on one tracepoint run in attach order, and host's on_exit
        // removes the process from traced_tgids, after which its mappings would not be sent.
        if (o.exitMappings) exitMaps = loadExitMappings(cuda, host, o.wakeupBytes);
        for (const p of HOST_PROBES) if (wanted.has(p.event)) for (const prog of p.programs) host.attach(prog);
        if (o.cpuSampleHz > 0) host.attachCpuClock(CPU_SAMPLE_PROGRAM, o.cpuSampleHz, possibleCpus());
      }
      return new BpfObjects(cuda, host, exitMaps.object, exitMaps.problem, o.ringBytes, multi);
    } catch (e) {
      exitMaps.object?.close();
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

  /**
   * Probes functions of one file at entry and return: with two uprobe_multi links where the
   * kernel has them, else with a uprobe and a uretprobe link per function. Returns the
   * functions attached and one message per function that could not be.
   */
  attachFunctions(path: string, fns: readonly ProbedFunction[]): { attached: ProbedFunction[]; failures: string[] } {
    if (fns.length === 0) return { attached: [], failures: [] };
    if (this.multiLinks) {
      const target = { path, offsets: fns.map((f) => f.fileOffset), cookies: fns.map((f) => f.cookie) };
      // Return link first: if the entry link then fails, return probes that find no call
      // in flight do nothing, and the per-function links below take over.
      try {
        this.cuda.attachUprobeMulti('cuda_return_multi', { ...target, retprobe: true });
        this.cuda.attachUprobeMulti('cuda_enter_multi', { ...target, retprobe: false });
        return { attached: [...fns], failures: [] };
      } catch (e) {
        // EINVAL/EOPNOTSUPP: no uprobe_multi in this kernel; anything else: the per-function
        // links say which function failed
        if (e instanceof LibbpfError && (e.errno === EINVAL || e.errno === EOPNOTSUPP)) this.multiLinks = false;
        return this.attachEach(path, fns);
      }
    }
    return this.attachEach(path, fns);
  }

  private attachEach(path: string, fns: readonly ProbedFunction[]): { attached: ProbedFunction[]; failures: string[] } {
    const attached: ProbedFunction[] = [];
    const failures: string[] = [];
    for (const f of fns) {
      try {
        const t = { path, symbol: f.symbol, offset: f.offset, cookie: f.cookie };
        this.cuda.attachUprobe('cuda_enter', { ...t, retprobe: false });
        this.cuda.attachUprobe('cuda_return', { ...t, retprobe: true });
        attached.push(f);
      } catch (e) {
        failures.push((e as Error).message.split('\n')[0]);
      }
    }
    return { attached, failures };
  }

  /** Whether CUDA probes use uprobe_multi links (for metadata). */
  get linkKind(): 'uprobe_multi' | 'uprobe' {
    return this.multiLinks ? 'uprobe_multi' : 'uprobe';
  }

  /**
   * Stops every probe from writing or counting at once (one map update), long before the
   * links are gone: the reader can then drain and read final counters with nothing racing.
   */
  stopProbes(): void {
    this.cuda.update('stopped', Buffer.alloc(4), Buffer.from([1, 0, 0, 0]));
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

  /** Destroys every link, in parallel off the main thread; maps stay readable until close(). */
  async detach(): Promise<void> {
    await Promise.all([this.cuda.detachInBackground(), this.host?.detachInBackground(), this.exitMaps?.detachInBackground()]);
  }

  close(): void {
    this.cudaRing.close();
    this.hostRing?.close();
    this.exitMaps?.close();
    this.host?.close();
    this.cuda.close();
  }
}
