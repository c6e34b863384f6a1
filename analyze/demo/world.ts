// A small discrete-event model of a GPU box, enough to produce traces whose cause is known:
// threads that run, get preempted or block (sched_switch rows), a training loop that launches
// kernels, copies and synchronizes against a per-process GPU queue, and the kernel-side
// events around it. Durations are log-normal with jitter; nothing is a constant.
import { opId, packDims, type BundleWriter, type EventInput } from '../../format/index.ts';
import type { Random } from './random.ts';

const SCHED_SWITCH = opId('sched_switch');
export const MS = 1e6;
export const US = 1e3;
export const S = 1e9;

export interface Task {
  readonly pid: number;
  readonly tid: number;
}

/** Idle: who "takes" the CPU when a thread blocks and nothing else is runnable. */
export const IDLE: Task = { pid: 0, tid: 0 };

/** Preemptions of a running thread, as a Poisson process over its running time. */
export interface Preemption {
  /** Mean running time between preemptions. */
  readonly meanGapNs: number;
  /** Median and shape of the time spent waiting on the run queue. */
  readonly offMedianNs: number;
  readonly offSigma: number;
  /** Who runs instead (picked at random). */
  readonly by: readonly Task[];
  /** prev_state recorded: 0 preempted (default); 2 models direct-reclaim stalls (uninterruptible). */
  readonly state?: number;
}

export class World {
  readonly rng: Random;
  private readonly writer: BundleWriter;
  private buffer: EventInput[] = [];
  events = 0;

  constructor(writer: BundleWriter, rng: Random) {
    this.writer = writer;
    this.rng = rng;
  }

  emit(e: EventInput): void {
    this.buffer.push({ ...e, ts_ns: Math.round(e.ts_ns), dur_ns: Math.max(0, Math.round(e.dur_ns)) });
  }

  /** Hands every buffered event that starts before t to the writer, in time order. */
  flushBefore(t: number): void {
    const keep: EventInput[] = [];
    const out: EventInput[] = [];
    for (const e of this.buffer) (e.ts_ns < t ? out : keep).push(e);
    out.sort((a, b) => a.ts_ns - b.ts_ns || a.tid - b.tid || a.op_id - b.op_id);
    for (const e of out) this.writer.appendEvent(e);
    this.events += out.length;
    this.buffer = keep;
  }

  /** A thread off-CPU from ts for dur: next took the CPU; state 0 = preempted, else blocked. */
  offCpu(task: Task, ts: number, dur: number, next: Task, state: number): void {
    this.emit({ ts_ns: ts, dur_ns: dur, pid: task.pid, tid: task.tid, op_id: SCHED_SWITCH, arg0: next.tid, arg1: next.pid, arg2: state });
  }
}

/**
 * A thread with a clock. run() advances it by some CPU work, inserting the preemptions that
 * the models in force at that time produce; block() records a voluntary sleep.
 */
export class SimThread implements Task {
  readonly pid: number;
  readonly tid: number;
  cursor: number;
  protected readonly world: World;
  /** Preemption models in force at a time (scenario-specific plus background noise). */
  preemptions: (t: number) => readonly Preemption[] = () => [];

  constructor(world: World, task: Task, start: number) {
    this.world = world;
    this.pid = task.pid;
    this.tid = task.tid;
    this.cursor = start;
  }

  /** Runs for cpuNs of CPU time starting at the cursor; returns the wall time taken. */
  run(cpuNs: number): number {
    const start = this.cursor;
    let remaining = cpuNs;
    const rng = this.world.rng;
    for (;;) {
      const models = this.preemptions(this.cursor);
      let gap = Infinity;
      let model: Preemption | undefined;
      for (const m of models) {
        const g = rng.exponential(m.meanGapNs);
        if (g < gap) {
          gap = g;
          model = m;
        }
      }
      if (!model || gap >= remaining) {
        this.cursor += remaining;
        break;
      }
      this.cursor += gap;
      remaining -= gap;
      const off = rng.lognormal(model.offMedianNs, model.offSigma);
      this.world.offCpu(this, this.cursor, off, model.state === undefined || model.state === 0 ? rng.pick(model.by) : IDLE, model.state ?? 0);
      this.cursor += off;
    }
    return this.cursor - start;
  }

  /** Sleeps (blocked, prev_state 1) for dur; the CPU goes to next. */
  block(dur: number, next: Task = IDLE, state = 1): void {
    this.world.offCpu(this, this.cursor, dur, next, state);
    this.cursor += dur;
  }
}

export interface TrainerConfig {
  readonly task: Task;
  readonly start: number;
  readonly end: number;
  /** Python CPU time per step outside CUDA calls (median). */
  readonly stepCpuNs: number;
  readonly launchesPerStep: number;
  /** Distinct kernels cycled through. */
  readonly kernels: number;
  /** GPU time per kernel (median). */
  readonly kernelNs: number;
  /** Host-to-device input copy per step. */
  readonly inputBytes: number;
  /** pinned: cudaMemcpyAsync from pinned memory; pageable: synchronous cudaMemcpy at pageable speed. */
  readonly inputCopy: 'pinned' | 'pageable';
  /** Device-to-host output copy per step (synchronous), 0 for none. */
  readonly outputBytes?: number;
  /** Synchronize with cudaDeviceSynchronize after every N launches (0: only once per step). */
  readonly syncEveryLaunches?: number;
  /** loss.item() every N steps (a 4-byte synchronous device-to-host copy). */
  readonly itemEverySteps?: number;
  /** cudaMalloc calls per step after the first (allocator churn; fractional = probability). */
  readonly mallocsPerStep?: number;
  /** Every ~N cudaMalloc calls one is a spike of this median (allocator cache flush). */
  readonly mallocSpike?: { readonly everyCalls: number; readonly medianNs: number };
  /** First launch of each kernel (lazy module loading; PTX JIT when far larger). */
  readonly firstLaunchNs: number;
  /** First CUDA call: context creation. */
  readonly contextInitNs: number;
  /** Factor on GPU kernel time at a time (1 = the GPU to itself). */
  readonly gpuSlowdown?: (t: number) => number;
  /** The call stack (a stack id the scenario interned) of each CUDA call by op, as --stacks records it. */
  readonly stackOf?: (op: number) => number | null;
}

const OP = {
  malloc: opId('cudaMalloc'),
  free: opId('cudaFree'),
  launch: opId('cudaLaunchKernel'),
  memcpy: opId('cudaMemcpy'),
  memcpyAsync: opId('cudaMemcpyAsync'),
  streamSync: opId('cudaStreamSynchronize'),
  deviceSync: opId('cudaDeviceSynchronize'),
};
const STREAM = 0x55d4c8a0e3f0n;
const KERNEL_BASE = 0x7f3a2c400000n;
/** Bandwidths in bytes per ns (= GB/s). */
const PINNED_BW = 22;
const DEVICE_PTR_BASE = 0x7f2e00000000;

/** The main thread of a PyTorch-like training loop. */
export class Trainer extends SimThread {
  private readonly cfg: TrainerConfig;
  private gpuFree = 0;
  private launched = new Set<number>();
  private mallocCalls = 0;
  private nextSpikeAt: number;
  private steps = 0;
  private nextPtr = DEVICE_PTR_BASE;

  constructor(world: World, cfg: TrainerConfig) {
    super(world, cfg.task, cfg.start);
    this.cfg = cfg;
    this.nextSpikeAt = cfg.mallocSpike ? Math.round(cfg.mallocSpike.everyCalls * world.rng.between(0.5, 1)) : Infinity;
  }

  private emitCall(op: number, start: number, args: Partial<EventInput> = {}): void {
    const stack = this.cfg.stackOf ? { stack_id: this.cfg.stackOf(op) } : {};
    this.world.emit({ ts_ns: start, dur_ns: this.cursor - start, pid: this.pid, tid: this.tid, op_id: op, ret: 0, ...stack, ...args });
  }

  /** A call that only uses the CPU (and can be preempted while it runs). */
  private cpuCall(op: number, cpuNs: number, args: Partial<EventInput> = {}): void {
    const start = this.cursor;
    this.run(cpuNs);
    this.emitCall(op, start, args);
  }

  /** A call that waits for the GPU queue (blocking), then does cpuNs of work. */
  private waitCall(op: number, extraGpuNs: number, args: Partial<EventInput> = {}): void {
    const rng = this.world.rng;
    const start = this.cursor;
    this.run(rng.lognormal(3 * US, 0.3));
    const wait = Math.max(0, this.gpuFree - this.cursor) + extraGpuNs;
    if (wait > 60 * US) {
      this.run(rng.lognormal(8 * US, 0.3));
      this.block(wait - 8 * US);
    } else {
      this.cursor += wait;
    }
    this.gpuFree = Math.max(this.gpuFree, this.cursor);
    this.run(rng.lognormal(2 * US, 0.3));
    this.emitCall(op, start, args);
  }

  private slowdown(): number {
    return this.cfg.gpuSlowdown?.(this.cursor) ?? 1;
  }

  private malloc(bytes: number): void {
    const rng = this.world.rng;
    const first = this.mallocCalls === 0 && this.launched.size === 0;
    this.mallocCalls++;
    const ptr = this.nextPtr;
    this.nextPtr += Math.ceil(bytes / 2097152) * 2097152;
    const args = { arg0: bytes, arg1: ptr };
    const start = this.cursor;
    if (first) {
      this.run(rng.lognormal(this.cfg.contextInitNs * 0.3, 0.2));
      this.block(rng.lognormal(this.cfg.contextInitNs * 0.7, 0.2));
    } else if (this.mallocCalls >= this.nextSpikeAt && this.cfg.mallocSpike) {
      const spike = this.cfg.mallocSpike;
      this.nextSpikeAt = this.mallocCalls + Math.round(spike.everyCalls * rng.between(0.95, 1.05));
      // The allocator released its cache: cudaMalloc now synchronizes the device and maps fresh memory.
      this.run(rng.lognormal(40 * US, 0.3));
      this.block(Math.max(0, this.gpuFree - this.cursor) + rng.lognormal(spike.medianNs, 0.15));
      this.gpuFree = Math.max(this.gpuFree, this.cursor);
    } else {
      this.run(rng.lognormal(9 * US, 0.35));
      if (rng.chance(0.3)) this.block(rng.lognormal(300 * US, 0.5));
    }
    this.emitCall(OP.malloc, start, args);
  }

  private launch(index: number): void {
    const rng = this.world.rng;
    const k = index % this.cfg.kernels;
    const start = this.cursor;
    if (!this.launched.has(k)) {
      this.launched.add(k);
      // Module load (or JIT) of the kernel's image: CPU-heavy, then a short wait on the driver.
      this.run(rng.lognormal(this.cfg.firstLaunchNs * 0.8, 0.4));
      this.block(rng.lognormal(this.cfg.firstLaunchNs * 0.2, 0.4));
    } else {
      let cpu = rng.lognormal(5.5 * US, 0.3);
      if (rng.chance(0.002)) cpu *= rng.between(3, 8);
      this.run(cpu);
    }
    const grid = packDims(rng.pick([64, 128, 256, 512, 1024, 2048]), rng.pick([1, 1, 2, 4]), 1);
    const block = packDims(rng.pick([128, 256, 512]), 1, 1);
    this.emitCall(OP.launch, start, { arg0: KERNEL_BASE + BigInt(k * 0x1a40), arg1: STREAM, arg2: grid, arg3: block });
    this.gpuFree = Math.max(this.gpuFree, this.cursor) + rng.lognormal(this.cfg.kernelNs, 0.15) * this.slowdown();
  }

  /** Runs training steps until the thread's clock reaches t. */
  runUntil(t: number): void {
    const cfg = this.cfg;
    const rng = this.world.rng;
    while (this.cursor < t && this.cursor < cfg.end) {
      if (this.steps === 0) {
        this.malloc(2097152);
        for (let i = 0; i < 40; i++) this.malloc(rng.pick([2097152, 8388608, 20971520, 67108864]));
      }
      this.run(rng.lognormal(cfg.stepCpuNs, 0.25));
      const churn = cfg.mallocsPerStep ?? 0;
      for (let m = churn; m > 0; m--) if (m >= 1 || rng.chance(m)) this.malloc(rng.pick([1048576, 2097152, 4194304, 12582912]));
      const input = Math.round(cfg.inputBytes * rng.between(0.97, 1.0));
      if (cfg.inputCopy === 'pinned') {
        this.cpuCall(OP.memcpyAsync, rng.lognormal(9 * US, 0.3), { arg0: input, arg1: 1, arg2: STREAM });
        this.gpuFree = Math.max(this.gpuFree, this.cursor) + input / PINNED_BW;
      } else {
        this.waitCall(OP.memcpy, input / rng.lognormal(3.1, 0.12), { arg0: input, arg1: 1 });
      }
      for (let i = 0; i < cfg.launchesPerStep; i++) {
        this.run(rng.lognormal(18 * US, 0.4));
        this.launch(i);
        if (cfg.syncEveryLaunches && (i + 1) % cfg.syncEveryLaunches === 0) this.waitCall(OP.deviceSync, 0);
      }
      this.waitCall(OP.streamSync, 0, { arg0: STREAM });
      if (cfg.outputBytes) {
        const out = Math.round(cfg.outputBytes * rng.between(0.97, 1.0));
        this.waitCall(OP.memcpy, out / rng.lognormal(2.6, 0.12), { arg0: out, arg1: 2 });
      }
      if (cfg.itemEverySteps && this.steps % cfg.itemEverySteps === 0) this.waitCall(OP.memcpy, rng.lognormal(6 * US, 0.2), { arg0: 4, arg1: 2 });
      if (churn > 0) for (let m = 0; m < Math.round(churn); m++) this.cpuCall(OP.free, rng.lognormal(4 * US, 0.3), { arg0: DEVICE_PTR_BASE + m * 2097152 });
      this.steps++;
    }
  }
}

/** A CPU-bound helper thread (DataLoader worker, preprocessing job) that alternates work and sleep. */
export class BusyThread extends SimThread {
  private readonly burstNs: number;
  private readonly sleepNs: number;
  readonly end: number;

  constructor(world: World, task: Task, start: number, end: number, burstNs: number, sleepNs: number) {
    super(world, task, start);
    this.end = end;
    this.burstNs = burstNs;
    this.sleepNs = sleepNs;
  }

  runUntil(t: number): void {
    const rng = this.world.rng;
    while (this.cursor < t && this.cursor < this.end) {
      this.run(rng.lognormal(this.burstNs, 0.4));
      this.block(rng.lognormal(this.sleepNs, 0.5));
    }
  }
}
