// The demo scenarios: each a training job on one GPU box with one known root cause (or none).
// They are the analyzer's labelled test set: `rootCause` must come out as the top finding.
import { opId, type BundleWriter, type EventInput } from '../../format/index.ts';
import type { FindingKind } from '../types.ts';
import type { Random } from './random.ts';
import { BusyThread, MS, S, Trainer, US, World, type Preemption, type Task, type TrainerConfig } from './world.ts';

export interface Actor {
  runUntil(t: number): void;
}

export interface ScenarioSetup {
  readonly actors: readonly Actor[];
  readonly end: number;
}

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** The finding kind that explains the incident; null for the healthy baseline. */
  readonly rootCause: FindingKind | null;
  /** A second cause present at the same time (mixed scenarios): the top finding may name either, and the other should be shown too. */
  readonly secondCause?: FindingKind;
  /** Simulated seconds at scale 1. */
  readonly seconds: number;
  build(world: World, writer: BundleWriter, end: number, v: Variation): ScenarioSetup;
}

/**
 * How one run differs from the scenario as written (DemoOptions.vary): the labelled corpus
 * varies how hard the fault bites, when it starts and how noisy the box is, per seed.
 */
export interface Variation {
  /** Factor on the fault's strength; 1 as written. */
  readonly intensity: number;
  /** Shift of the fault's onset as a share of the run (−0.1 … 0.1); 0 as written. */
  readonly onset: number;
  /** Factor on background preemptions (how often, and √ of how long); 1 as written. */
  readonly noise: number;
}

export const AS_WRITTEN: Variation = { intensity: 1, onset: 0, noise: 1 };

/** A variation drawn from its own generator, so that the scenario's events keep their seed. */
export function drawVariation(rng: Random): Variation {
  return { intensity: Math.exp(rng.between(Math.log(0.6), Math.log(1.6))), onset: rng.between(-0.1, 0.1), noise: Math.exp(rng.between(Math.log(0.5), Math.log(3))) };
}

const TRAINER: Task = { pid: 4711, tid: 4711 };
const WORKER_PIDS = [4730, 4731, 4732, 4733, 4734, 4735];
const NOISE: Preemption = {
  meanGapNs: 15 * MS,
  offMedianNs: 12 * US,
  offSigma: 0.8,
  by: [
    { pid: 153, tid: 153 },
    { pid: 31, tid: 31 },
    { pid: 1187, tid: 1190 },
  ],
};

/** Events placed at fixed times (forks, exits, OOM kills, page allocations, IO). */
class Script implements Actor {
  private readonly events: EventInput[];
  private next = 0;
  private readonly world: World;

  constructor(world: World, events: EventInput[]) {
    this.world = world;
    this.events = events.sort((a, b) => a.ts_ns - b.ts_ns);
  }

  runUntil(t: number): void {
    while (this.next < this.events.length && this.events[this.next]!.ts_ns < t) this.world.emit(this.events[this.next++]!);
  }
}

/** Samples of host CPU and memory once a second; mem(t) in percent. */
function systemSamples(writer: BundleWriter, rng: Random, end: number, mem: (t: number) => number, cpu: (t: number) => number, swap: (t: number) => number = () => 0): void {
  const total = 512 * 1024 ** 3;
  for (let t = 0; t < end; t += S) {
    const m = Math.min(99.5, mem(t) + rng.between(-0.6, 0.6));
    writer.addSystemSample({ ts_ns: t, cpu_pct: Math.round(Math.min(100, cpu(t) + rng.between(-3, 3)) * 10) / 10, mem_pct: Math.round(m * 10) / 10, mem_avail_bytes: Math.round(total * (1 - m / 100)), swap_bytes: Math.round(swap(t)), load1: Math.round(rng.between(0.9, 1.1) * (cpu(t) / 100) * 32 * 100) / 100 });
  }
}

function baseTrainer(end: number, overrides: Partial<TrainerConfig> = {}): TrainerConfig {
  return {
    task: TRAINER,
    start: 0.35 * S,
    end,
    stepCpuNs: 1.5 * MS,
    launchesPerStep: 80,
    kernels: 48,
    kernelNs: 250 * US,
    inputBytes: 38.5e6,
    inputCopy: 'pinned',
    itemEverySteps: 50,
    firstLaunchNs: 1.2 * MS,
    contextInitNs: 380 * MS,
    ...overrides,
  };
}

/** The training process, its DataLoader workers (child processes) and their fork events. */
function trainingJob(world: World, writer: BundleWriter, end: number, v: Variation, cfg: TrainerConfig, workers = 4, workerBurstNs = 9 * MS, workerSleepNs = 14 * MS): { trainer: Trainer; helpers: Actor[]; workerTasks: Task[] } {
  writer.addProcess({ pid: 4711, ppid: 4690, start_ns: 0, comm: 'python3', cmdline: 'python3 train.py --model resnet50 --batch-size 256 --workers ' + workers });
  writer.addThread({ tid: 4711, pid: 4711, first_ns: 0, comm: 'python3' });
  const trainer = new Trainer(world, cfg);
  const helpers: Actor[] = [];
  const workerTasks: Task[] = [];
  const forks: EventInput[] = [];
  for (let i = 0; i < workers; i++) {
    const pid = WORKER_PIDS[i]!;
    const start = 0.3 * S + i * 2 * MS;
    writer.addProcess({ pid, ppid: 4711, start_ns: start, comm: 'pt_data_worker', cmdline: 'python3 train.py --model resnet50 --batch-size 256 --workers ' + workers });
    writer.addThread({ tid: pid, pid, first_ns: start, comm: 'pt_data_worker' });
    forks.push({ ts_ns: start, dur_ns: 0, pid: 4711, tid: 4711, op_id: opId('process_fork'), arg0: pid });
    const w = new BusyThread(world, { pid, tid: pid }, start, end, workerBurstNs, workerSleepNs);
    const noise = noiseOf(v);
    w.preemptions = () => [noise];
    helpers.push(w);
    workerTasks.push({ pid, tid: pid });
  }
  helpers.push(new Script(world, forks));
  return { trainer, helpers, workerTasks };
}

function healthyMemory(writer: BundleWriter, rng: Random, end: number): void {
  systemSamples(writer, rng, end, () => 46, (t) => (t < 0.4 * S ? 10 : 38));
}

/** A checkpoint write: sequential block writes on fast NVMe. */
function checkpointWrites(rng: Random, at: number, requests: number): EventInput[] {
  const out: EventInput[] = [];
  let t = at;
  let sector = 81920000 + rng.int(0, 1 << 20);
  for (let i = 0; i < requests; i++) {
    const dur = rng.lognormal(1.4 * MS, 0.35);
    out.push({ ts_ns: t, dur_ns: dur, pid: 4711, tid: 4741, op_id: opId('block_write'), arg0: 2048, arg1: sector });
    sector += 2048;
    t += rng.lognormal(0.9 * MS, 0.3);
  }
  return out;
}

function noiseOf(v: Variation): Preemption {
  return v.noise === 1 ? NOISE : { ...NOISE, meanGapNs: NOISE.meanGapNs / v.noise, offMedianNs: NOISE.offMedianNs * Math.sqrt(v.noise) };
}

/** Every third launch synchronizes as written; every second to every fifth as the intensity varies. */
function syncEvery(v: Variation): number {
  return Math.min(5, Math.max(2, Math.round(3 / v.intensity)));
}

function withNoise(v: Variation, extra: (t: number) => readonly Preemption[] = () => []): (t: number) => readonly Preemption[] {
  const noise = noiseOf(v);
  return (t) => [noise, ...extra(t)];
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'healthy',
    description: 'A GPU-bound ResNet-50 training loop with pinned-memory input copies, a checkpoint write and ordinary background noise: nothing to fix.',
    rootCause: null,
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      writer.addThread({ tid: 4741, pid: 4711, first_ns: Math.round(0.6 * end), comm: 'pt_checkpoint' });
      return { actors: [job.trainer, ...job.helpers, new Script(world, checkpointWrites(world.rng, 0.6 * end, 120))], end };
    },
  },
  {
    name: 'cpu-contention',
    description: 'A log-compression job started by cron (gzip, another process tree) competes for the cores the training loop runs on; the loop waits on the run queue and its step rate halves.',
    rootCause: 'cpu-contention',
    seconds: 30,
    build(world, writer, end, v) {
      const from = end / 3 + v.onset * end;
      const to = end * 0.73 + v.onset * end;
      const job = trainingJob(world, writer, end, v, baseTrainer(end));
      const gzip: Task[] = [31337, 31338, 31339].map((tid) => ({ pid: 31337, tid }));
      writer.addProcess({ pid: 912, ppid: 1, start_ns: null, comm: 'cron', cmdline: '/usr/sbin/cron -f' });
      writer.addProcess({ pid: 31330, ppid: 912, start_ns: from - 20 * MS, end_ns: to + 5 * MS, exit_code: 0, comm: 'logrotate', cmdline: '/usr/sbin/logrotate /etc/logrotate.conf' });
      writer.addProcess({ pid: 31337, ppid: 31330, start_ns: from, end_ns: to, exit_code: 0, comm: 'pigz', cmdline: 'pigz -9 -p 3 /var/log/app/requests.log.1' });
      for (const g of gzip) writer.addThread({ tid: g.tid, pid: 31337, first_ns: from, comm: 'pigz' });
      const contention: Preemption = { meanGapNs: (1 * MS) / v.intensity, offMedianNs: 6 * MS * Math.sqrt(v.intensity), offSigma: 0.5, by: gzip };
      job.trainer.preemptions = withNoise(v, (t) => (t >= from && t < to ? [contention] : []));
      const script: EventInput[] = [
        { ts_ns: from - 20 * MS, dur_ns: 0, pid: 912, tid: 912, op_id: opId('process_fork'), arg0: 31330 },
        { ts_ns: from - 1 * MS, dur_ns: 0, pid: 31330, tid: 31330, op_id: opId('process_fork'), arg0: 31337 },
        { ts_ns: from, dur_ns: 0, pid: 31337, tid: 31337, op_id: opId('process_exec'), arg0: 31337 },
        { ts_ns: to, dur_ns: 0, pid: 31337, tid: 31337, op_id: opId('process_exit'), arg0: 0 },
      ];
      systemSamples(writer, world.rng, end, () => 47, (t) => (t >= from && t < to ? 97 : 38));
      return { actors: [job.trainer, ...job.helpers, new Script(world, script)], end };
    },
  },
  {
    name: 'dataloader-starvation',
    description: 'Six DataLoader worker processes decode images on a 4-core box and keep preempting the training thread; kernel launches stall for milliseconds (the pattern of pytorch/pytorch#154318).',
    rootCause: 'scheduler-tail-latency',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end), 6, 40 * MS, 2 * MS);
      const starvation: Preemption = { meanGapNs: (400 * US) / v.intensity, offMedianNs: 2.5 * MS * Math.sqrt(v.intensity), offSigma: 0.7, by: job.workerTasks };
      const from = 0.5 * S + Math.max(0, v.onset) * end;
      job.trainer.preemptions = withNoise(v, (t) => (t >= from ? [starvation] : []));
      systemSamples(writer, world.rng, end, () => 52, () => 99);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'cold-start',
    description: 'The wheel was built without SASS for this GPU, so every kernel is JIT-compiled from PTX on its first launch; the first seconds of the job are spent compiling.',
    rootCause: 'cold-start',
    seconds: 12,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { firstLaunchNs: 95 * MS * v.intensity, contextInitNs: 1.1 * S * v.intensity }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'memcpy-bottleneck',
    description: 'Input batches are copied from pageable memory with synchronous cudaMemcpy (no pin_memory, no non_blocking), and outputs are copied back every step: the GPU waits on PCIe.',
    rootCause: 'memcpy-bottleneck',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { inputCopy: 'pageable', inputBytes: 48e6 * v.intensity, outputBytes: 6e6 * v.intensity, kernelNs: 120 * US }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'periodic-spike',
    description: 'Variable batch shapes make the caching allocator release and re-map memory: about every 80th cudaMalloc synchronizes the device and takes ~35 ms.',
    rootCause: 'periodic-spike',
    seconds: 30,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { mallocsPerStep: 4, mallocSpike: { everyCalls: Math.round(80 / v.intensity), medianNs: 35 * MS * v.intensity } }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'sync-stall',
    description: 'Per-layer timing code calls torch.cuda.synchronize() after every few kernels, so the CPU can never queue work ahead and spends most of its time blocked on the GPU.',
    rootCause: 'sync-stall',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { syncEveryLaunches: syncEvery(v) }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'gpu-contention',
    description: 'An inference server started on the same GPU time-slices with the training job (about 55 % / 45 %); the job\'s GPU waits grow by ~80 %.',
    rootCause: 'gpu-contention',
    seconds: 30,
    build(world, writer, end, v) {
      const from = 0.27 * end + v.onset * end;
      // Each side's slowdown from sharing the GPU (55 % / 45 % as written), stronger or milder with the intensity.
      const victimSlowdown = (t: number) => (t >= from ? (1 / 0.55) ** v.intensity : 1);
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { gpuSlowdown: victimSlowdown }));
      job.trainer.preemptions = withNoise(v);
      const server: Task = { pid: 5120, tid: 5120 };
      writer.addProcess({ pid: 5120, ppid: 1, start_ns: from - 200 * MS, comm: 'python3', cmdline: 'python3 serve.py --model llama-2-7b --port 8000' });
      writer.addThread({ tid: 5120, pid: 5120, first_ns: from - 200 * MS, comm: 'python3' });
      const other = new Trainer(world, baseTrainer(end, { task: server, start: from - 150 * MS, launchesPerStep: 40, kernels: 24, kernelNs: 450 * US, stepCpuNs: 2 * MS, inputBytes: 2e6, itemEverySteps: 0, gpuSlowdown: () => (1 / 0.45) ** v.intensity }));
      other.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, other, ...job.helpers], end };
    },
  },
  {
    name: 'memory-pressure',
    description: 'A feature-building job on the same host allocates host memory at >1 GiB/s; the training loop stalls in direct reclaim until the OOM killer kills the job.',
    rootCause: 'memory-pressure',
    seconds: 30,
    build(world, writer, end, v) {
      const rng = world.rng;
      const from = end / 3 + v.onset * end;
      const oomAt = end * 0.63 + v.onset * end;
      const job = trainingJob(world, writer, end, v, baseTrainer(end));
      const reclaim: Preemption = { meanGapNs: (1.5 * MS) / v.intensity, offMedianNs: 5 * MS * Math.sqrt(v.intensity), offSigma: 0.6, by: [], state: 2 };
      const storm = (t: number) => t >= from + 0.3 * (oomAt - from) && t < oomAt;
      job.trainer.preemptions = withNoise(v, (t) => (storm(t) ? [reclaim] : []));
      writer.addProcess({ pid: 6001, ppid: 5990, start_ns: from - 50 * MS, end_ns: oomAt + 20 * MS, exit_code: 137, comm: 'python3', cmdline: 'python3 build_features.py --shard all' });
      writer.addThread({ tid: 6001, pid: 6001, first_ns: from - 50 * MS, comm: 'python3' });
      const script: EventInput[] = [];
      const pageAlloc = opId('mm_page_alloc');
      for (let t = from; t < oomAt; t += rng.exponential(1.6 * MS)) {
        const huge = rng.chance(0.55);
        const order = huge ? 9 : rng.pick([0, 0, 0, 1, 2, 3]);
        script.push({ ts_ns: t, dur_ns: 0, pid: 6001, tid: 6001, op_id: pageAlloc, arg0: 4096 * 2 ** order, arg1: order });
        if (!huge) for (let k = 0; k < 3; k++) script.push({ ts_ns: t + rng.between(0, 1.5 * MS), dur_ns: 0, pid: 6001, tid: 6001, op_id: pageAlloc, arg0: 4096, arg1: 0 });
      }
      script.push({ ts_ns: oomAt, dur_ns: 0, pid: 6001, tid: 6001, op_id: opId('oom_kill'), arg0: 6001, arg1: 3932160 });
      script.push({ ts_ns: oomAt + 20 * MS, dur_ns: 0, pid: 6001, tid: 6001, op_id: opId('process_exit'), arg0: 137 });
      const memAt = (t: number) => (t < from ? 48 : t < oomAt ? 48 + 50 * Math.min(1, (t - from) / (0.6 * (oomAt - from))) : 55);
      systemSamples(writer, rng, end, memAt, (t) => (t >= from && t < oomAt ? 88 : 40), (t) => (t >= from + 0.6 * (oomAt - from) && t < oomAt ? 6e9 * ((t - from) / (oomAt - from)) : 0));
      return { actors: [job.trainer, ...job.helpers, new Script(world, script)], end };
    },
  },
  {
    name: 'sync-stall-stacks',
    description: 'The sync-stall job recorded with --stacks: every CUDA call carries its Python and native call stack, so the stalls lead to the torch.cuda.synchronize() in a per-layer timing hook (utils/layer_timer.py:27).',
    rootCause: 'sync-stall',
    seconds: 20,
    build(world, writer, end, v) {
      const stacks = trainingStacks(writer);
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { syncEveryLaunches: syncEvery(v), stackOf: (op) => stacks.get(op) ?? null }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'engine-loop-stall',
    description: 'An inference engine makes every CUDA call from one thread; mid-run it forks a tokenizer helper and sleeps 4.5 s waiting for it, and the GPU sits idle.',
    rootCause: 'gpu-thread-stall',
    seconds: 20,
    build(world, writer, end, v) {
      const at = 0.4 * end + v.onset * end;
      writer.addProcess({ pid: 4800, ppid: 4711, start_ns: at, comm: 'python3', cmdline: 'python3 -m engine.tokenizer_worker' });
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { pause: { at, offNs: 4.5 * S * v.intensity, child: 4800 } }), 0);
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'host-bound-loop',
    description: 'Each step does 45 ms of Python preprocessing on the training thread before launching 3 ms of small kernels: the GPU idles most of the time.',
    rootCause: 'host-bound',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { stepCpuNs: 45 * MS * v.intensity, kernelNs: 40 * US }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'api-errors',
    description: 'A CUDA 13 program on a host whose driver is too old: every CUDA call returns 35 (cudaErrorInsufficientDriver) and the program carries on without GPU work.',
    rootCause: 'api-error',
    seconds: 12,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { failWith: 35, stepCpuNs: 4 * MS }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'allocator-churn',
    description: 'Every step allocates 40 temporary device buffers with cudaMalloc and frees them with cudaFree, which unmaps them: allocation calls take a third of the step.',
    rootCause: 'allocator-churn',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { mallocsPerStep: Math.round(40 * v.intensity), slowFree: true }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  // Two causes at once: the top finding must name one of them, and the other must be shown.
  {
    name: 'starvation-and-syncs',
    description: 'DataLoader workers preempting the training thread now and then (a milder starvation) while a per-layer timing hook synchronizes after every other kernel.',
    rootCause: 'sync-stall',
    secondCause: 'scheduler-tail-latency',
    seconds: 20,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { syncEveryLaunches: 2 }), 6, 40 * MS, 2 * MS);
      const starvation: Preemption = { meanGapNs: (1.2 * MS) / v.intensity, offMedianNs: 2.5 * MS * Math.sqrt(v.intensity), offSigma: 0.7, by: job.workerTasks };
      const from = 0.5 * S + Math.max(0, v.onset) * end;
      job.trainer.preemptions = withNoise(v, (t) => (t >= from ? [starvation] : []));
      systemSamples(writer, world.rng, end, () => 52, () => 99);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
  {
    name: 'contention-and-pageable-copies',
    description: 'A cron log-compression job competes for the training loop\'s cores while its input batches are copied synchronously from pageable memory.',
    rootCause: 'memcpy-bottleneck',
    secondCause: 'cpu-contention',
    seconds: 30,
    build(world, writer, end, v) {
      const from = end / 3 + v.onset * end;
      const to = end * 0.73 + v.onset * end;
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { inputCopy: 'pageable', inputBytes: 48e6 * v.intensity, outputBytes: 6e6 * v.intensity, kernelNs: 120 * US }));
      const gzip: Task[] = [31337, 31338, 31339].map((tid) => ({ pid: 31337, tid }));
      writer.addProcess({ pid: 912, ppid: 1, start_ns: null, comm: 'cron', cmdline: '/usr/sbin/cron -f' });
      writer.addProcess({ pid: 31337, ppid: 912, start_ns: from, end_ns: to, exit_code: 0, comm: 'pigz', cmdline: 'pigz -9 -p 3 /var/log/app/requests.log.1' });
      for (const g of gzip) writer.addThread({ tid: g.tid, pid: 31337, first_ns: from, comm: 'pigz' });
      const contention: Preemption = { meanGapNs: (1 * MS) / v.intensity, offMedianNs: 6 * MS * Math.sqrt(v.intensity), offSigma: 0.5, by: gzip };
      job.trainer.preemptions = withNoise(v, (t) => (t >= from && t < to ? [contention] : []));
      const script: EventInput[] = [
        { ts_ns: from - 1 * MS, dur_ns: 0, pid: 912, tid: 912, op_id: opId('process_fork'), arg0: 31337 },
        { ts_ns: from, dur_ns: 0, pid: 31337, tid: 31337, op_id: opId('process_exec'), arg0: 31337 },
        { ts_ns: to, dur_ns: 0, pid: 31337, tid: 31337, op_id: opId('process_exit'), arg0: 0 },
      ];
      systemSamples(writer, world.rng, end, () => 47, (t) => (t >= from && t < to ? 97 : 38));
      return { actors: [job.trainer, ...job.helpers, new Script(world, script)], end };
    },
  },
  {
    name: 'cold-start-and-churn',
    description: 'The wheel without SASS for this GPU (every kernel JIT-compiled on first launch) in a loop that also allocates and frees 40 device buffers per step.',
    rootCause: 'cold-start',
    secondCause: 'allocator-churn',
    // Long enough that the churn outlasts even the slowest warm-up of the corpus (1.6x: 8 s).
    seconds: 30,
    build(world, writer, end, v) {
      const job = trainingJob(world, writer, end, v, baseTrainer(end, { firstLaunchNs: 95 * MS * v.intensity, contextInitNs: 1.1 * S * v.intensity, mallocsPerStep: 40, slowFree: true }));
      job.trainer.preemptions = withNoise(v);
      healthyMemory(writer, world.rng, end);
      return { actors: [job.trainer, ...job.helpers], end };
    },
  },
];

/** Call stacks of a PyTorch training step, innermost first: one per CUDA call site, by op. */
function trainingStacks(writer: BundleWriter): Map<number, number> {
  const py = (name: string, filename: string, line: number) => ({ kind: 'python' as const, function: { name, filename }, line });
  const native = (name: string, library: string, address: number) => ({ kind: 'native' as const, address: BigInt(address), mapping: { path: `/opt/conda/lib/python3.11/site-packages/torch/lib/${library}` }, function: { name } });
  const loop = [py('train_one_epoch', 'train.py', 88), py('main', 'train.py', 141), py('<module>', 'train.py', 150)];
  const forward = [py('forward', 'torchvision/models/resnet.py', 285), py('_call_impl', 'torch/nn/modules/module.py', 1747), py('train_one_epoch', 'train.py', 74), ...loop.slice(1)];
  const cudart = (fn: string, address: number) => native(fn, 'libcudart.so.12', address);
  return new Map([
    [opId('cudaLaunchKernel'), writer.internStack([cudart('cudaLaunchKernel', 0x7f3a10a1c2f0), native('at::native::cudnn_convolution', 'libtorch_cuda.so', 0x7f3a2e884a10), ...forward])],
    [opId('cudaDeviceSynchronize'), writer.internStack([cudart('cudaDeviceSynchronize', 0x7f3a10a1d1b0), native('c10::cuda::device_synchronize', 'libc10_cuda.so', 0x7f3a3d20c7e4), py('synchronize', 'torch/cuda/__init__.py', 985), py('after_layer', 'utils/layer_timer.py', 27), py('_call_impl', 'torch/nn/modules/module.py', 1790), ...forward.slice(2)])],
    [opId('cudaMemcpyAsync'), writer.internStack([cudart('cudaMemcpyAsync', 0x7f3a10a1b9c0), native('at::native::copy_', 'libtorch_cuda.so', 0x7f3a2e1f0c38), py('to', 'torch/_tensor.py', 1410), py('train_one_epoch', 'train.py', 69), ...loop.slice(1)])],
    [opId('cudaMemcpy'), writer.internStack([cudart('cudaMemcpy', 0x7f3a10a1b6a0), native('at::native::_local_scalar_dense_cuda', 'libtorch_cuda.so', 0x7f3a2e2a19d4), py('item', 'torch/_tensor.py', 1102), py('train_one_epoch', 'train.py', 81), ...loop.slice(1)])],
    [opId('cudaStreamSynchronize'), writer.internStack([cudart('cudaStreamSynchronize', 0x7f3a10a1d4e0), py('step', 'torch/optim/sgd.py', 123), py('train_one_epoch', 'train.py', 79), ...loop.slice(1)])],
    [opId('cudaMalloc'), writer.internStack([cudart('cudaMalloc', 0x7f3a10a1a7c0), native('c10::cuda::CUDACachingAllocator::Native::DeviceCachingAllocator::malloc', 'libc10_cuda.so', 0x7f3a3d1e55a8), ...forward])],
  ]);
}

/** Every cause a scenario holds, the labelled one first; none for the healthy baseline. */
export function scenarioCauses(s: Scenario): FindingKind[] {
  return [s.rootCause, s.secondCause].filter((c): c is FindingKind => c !== null && c !== undefined);
}

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
