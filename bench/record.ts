// bench/record.ts: what recording costs the traced program, next to bpftrace in the same run.
//   1. untraced: ns per cudaLaunchKernel call of the fake-CUDA workload (push prologue);
//   2. traced by ingero (uprobe + uretprobe, one event per call, kernel events off): added ns
//      per call, events/s sustained, drops;
//   3. traced by bpftrace with the same two probes and one printf per event;
//   3b. the floor: an empty BPF program on the same uprobe + uretprobe pair, what any uprobe
//      tracer pays before doing work; ingero's added CPU per call is held against it as a ratio
//      (goal: at most 1.3x), which holds across machines where absolute ns do not; the same
//      ratio on the real libcudart (test/fixtures/real-cuda/train.cu built with nvcc, every call
//      failing fast without a driver), when nvcc is there; bpftrace's added CPU on the fake
//      library is held against the same floor, alternated with it;
//   4. kernel events on vs off, one workload thread, alternated: wall and CPU time per call, and
//      what each kernel-side BPF program cost (kernel.bpf_stats_enabled, read while it runs);
//   5. throughput with two workload threads (the two vCPUs are then shared by the workload and
//      the recorder);
//   6. stopping: from the workload's exit to the sealed bundle, with one uprobe_multi link per
//      library and with one link per function (kernels before 6.6);
//   7. what --stacks adds to the sched_switch probe: a workload that blocks 5,000 times (100 µs
//      sleeps), with and without stacks, program costs from kernel.bpf_stats_enabled;
//   8. the reader's path per event, on synthetic ring records (no BPF): decode alone,
//      BundleWriter.appendEvent alone, and both through EventSink, in CPU time.
// Per-call figures are given as wall time and as the workload's CPU time (user + system,
// getrusage): CPU time is not inflated when the workload waits for a CPU that other processes
// hold. The workload runs on CPU 1; every thread of the recorder is pinned to CPU 0.
// Needs root. Run: npx tsx bench/record.ts  (--floor-only: just 1, 3b and bpftrace beside the
// floor, a few minutes; --rounds N: alternate floor and tracers N times, default 3)
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BundleWriter } from '../format/index.ts';
import { record, type RecordOptions } from '../recorder/index.ts';
import { EventSink } from '../recorder/event-sink.ts';
import { ProcessTable } from '../recorder/process-table.ts';
import { BPF_DIR } from '../recorder/bpf-objects.ts';
import { BpfObject } from '../recorder/libbpf.ts';
import { bootOrigin, decodeEvent, EventLayout } from '../recorder/ring-records.ts';
import { buildFakeCuda } from '../test/fixtures/fake-cuda/build.ts';
import { buildTrain, findNvcc } from '../test/fixtures/real-cuda/build.ts';
import { libraryFromOption } from '../recorder/cuda-libraries.ts';
import { ProbePlanner } from '../recorder/probe-plan.ts';

const fake = buildFakeCuda({ cet: false });
const work = mkdtempSync(join(tmpdir(), 'ingero-bench-'));
spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
let runs = 0;

function benchArgs(threads: number, calls: number): { argv: string[]; log: string } {
  const log = join(work, `run${runs++}`);
  return { argv: ['/usr/bin/taskset', '-c', threads > 1 ? '0,1' : '1', fake.workload, log, 'bench', String(threads), String(calls)], log };
}

function logFile(log: string): string {
  const base = log.slice(log.lastIndexOf('/') + 1);
  return join(work, readdirSync(work).find((f) => f.startsWith(`${base}.`))!);
}

/** "bench CALLS ELAPSED_NS CPU_NS" from the workload's log. */
function benchResult(log: string): { calls: number; elapsedNs: number; cpuNs: number } {
  const [, calls, ns, cpu] = readFileSync(logFile(log), 'utf8').trim().split(' ');
  return { calls: Number(calls), elapsedNs: Number(ns), cpuNs: Number(cpu) };
}

function untraced(calls: number) {
  const { argv, log } = benchArgs(1, calls);
  execFileSync(argv[0], argv.slice(1));
  return benchResult(log);
}

async function ingero(threads: number, calls: number, kernel: boolean) {
  const { argv, log } = benchArgs(threads, calls);
  const r = await record({ output: join(work, `ingero${runs}.ingero`), command: argv, cudaLibs: [fake.runtime], kernel, handleSignals: false });
  return { ...benchResult(log), events: r.events, dropped: r.dropped, bundleBytes: r.bytes };
}

/** The untraced workload with empty BPF programs on cudaLaunchKernel's entry and return. */
function floor(calls: number) {
  const obj = BpfObject.open(`${BPF_DIR}bench-floor.bpf.o`);
  try {
    obj.load();
    const target = { path: fake.runtime, symbol: 'cudaLaunchKernel', offset: 0, cookie: 0n };
    obj.attachUprobe('floor_enter', { ...target, retprobe: false });
    obj.attachUprobe('floor_return', { ...target, retprobe: true });
    return untraced(calls);
  } finally {
    obj.close();
  }
}

/**
 * The real-libcudart program, one thread on CPU 1: calls from its log, CPU time (user + system,
 * getrusage) from the file TRAIN_CPU_FILE names.
 */
const nvcc = findNvcc();
const train = nvcc ? buildTrain(nvcc) : undefined;
const cudart = train ? /libcudart\.so\S* => (\S+)/.exec(execFileSync('ldd', [train.exe], { encoding: 'utf8' }))?.[1] : undefined;
const REAL_STEPS = 40_000;

function realArgs(): { argv: string[]; log: string } {
  const log = join(work, `real${runs++}`);
  process.env.TRAIN_CPU_FILE = `${log}-cpu`;
  return { argv: ['/usr/bin/taskset', '-c', '1', train!.exe, log, '1', String(REAL_STEPS)], log };
}

function realResult(log: string): { calls: number; elapsedNs: number; cpuNs: number } {
  const calls = readFileSync(logFile(log), 'utf8').trim().split('\n').length;
  return { calls, elapsedNs: 0, cpuNs: Number(readFileSync(`${log}-cpu`, 'utf8')) };
}

function realUntraced() {
  const { argv, log } = realArgs();
  execFileSync(argv[0]!, argv.slice(1));
  return realResult(log);
}

/** Empty programs on every libcudart function ingero probes, at the same offsets. */
function realFloor() {
  const obj = BpfObject.open(`${BPF_DIR}bench-floor.bpf.o`);
  try {
    obj.load();
    for (const p of new ProbePlanner(false).plan(libraryFromOption(cudart!))) {
      const target = { path: cudart!, symbol: p.probe.symbol, offset: p.offset, cookie: 0n };
      obj.attachUprobe('floor_enter', { ...target, retprobe: false });
      obj.attachUprobe('floor_return', { ...target, retprobe: true });
    }
    return realUntraced();
  } finally {
    obj.close();
  }
}

async function realIngero() {
  const { argv, log } = realArgs();
  const r = await record({ output: join(work, `real${runs}.ingero`), command: argv, cudaLibs: [cudart!], kernel: false, handleSignals: false });
  return { ...realResult(log), events: r.events, dropped: r.dropped };
}

function bpftrace(calls: number) {
  const { argv, log } = benchArgs(1, calls);
  const lib = fake.runtime;
  const program = `uprobe:${lib}:cudaLaunchKernel { @start[tid] = nsecs; }
uretprobe:${lib}:cudaLaunchKernel /@start[tid]/ { printf("%d %d %d\\n", pid, tid, nsecs - @start[tid]); delete(@start[tid]); }`;
  const out = join(work, 'bpftrace.out');
  execFileSync('taskset', ['-c', '0', 'bpftrace', '-o', out, '-e', program, '-c', argv.join(' ')], { stdio: 'ignore' });
  const lines = readFileSync(out, 'utf8').split('\n').filter((l) => /^\d+ \d+ \d+$/.test(l)).length;
  return { ...benchResult(log), events: lines };
}

interface ProgStats {
  runs: number;
  ns_per_run: number;
  total_ms: number;
}

/**
 * Runs a recording with kernel.bpf_stats_enabled on, reading `bpftool prog show` while it runs
 * (its programs are gone once it returns): run counts and time of each of ingero's programs.
 */
async function withProgramStats<T>(fn: () => Promise<T>): Promise<{ result: T; programs: Record<string, ProgStats> }> {
  const sysctl = '/proc/sys/kernel/bpf_stats_enabled';
  const before = readFileSync(sysctl, 'utf8').trim();
  writeFileSync(sysctl, '1');
  let last: { name?: string; run_cnt?: number; run_time_ns?: number }[] = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const { stdout } = await promisify(execFile)('bpftool', ['-j', 'prog', 'show'], { maxBuffer: 64 << 20 });
      const progs = JSON.parse(stdout) as typeof last;
      if (progs.some((p) => p.name === 'cuda_return_mul' || p.name === 'cuda_return')) last = progs;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    const result = await fn();
    polling = false;
    await poll;
    const programs: Record<string, ProgStats> = {};
    for (const p of last) {
      if (!p.name || !/^(on_|cuda_)/.test(p.name) || !p.run_cnt) continue;
      programs[p.name] = { runs: p.run_cnt, ns_per_run: Math.round(p.run_time_ns! / p.run_cnt), total_ms: Math.round(p.run_time_ns! / 1e5) / 10 };
    }
    return { result, programs };
  } finally {
    polling = false;
    writeFileSync(sysctl, before);
  }
}

/** ms from the workload's exit (its log's last write) to record() returning, over `times` runs. */
async function stopLatency(uprobeLinks: RecordOptions['uprobeLinks'], times: number) {
  const out: number[] = [];
  let probes = 0;
  for (let i = 0; i < times; i++) {
    const log = join(work, `stop${runs++}`);
    const r = await record({ output: join(work, `stop${runs}.ingero`), command: [fake.workload, log, 'single', '100'], handleSignals: false, uprobeLinks });
    out.push(Date.now() - statSync(logFile(log)).mtimeMs);
    probes = r.probes;
  }
  out.sort((a, b) => a - b);
  return { probes, median_ms: out[out.length >> 1], max_ms: out[out.length - 1] };
}

/**
 * CPU ns per event of each stage between the ring and the staging database, over 1 M records
 * shaped like cudaLaunchKernel's (4 args, ret) laid out as the ring holds them.
 */
function readerPath() {
  const n = 1_000_000;
  const stride = 72; // 8-byte ring header + 64-byte record
  const view = new DataView(new ArrayBuffer(n * stride));
  const originBoot = 1_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    const at = i * stride + 8;
    view.setBigUint64(at + EventLayout.ts_ns, originBoot + BigInt(i * 900), true);
    view.setBigUint64(at + EventLayout.dur_ns, 500n, true);
    view.setUint32(at + EventLayout.pid, 1234, true);
    view.setUint32(at + EventLayout.tid, 1234, true);
    view.setUint16(at + EventLayout.op, 262, true);
    view.setUint8(at + EventLayout.present, 0b11111);
    view.setBigUint64(at + EventLayout.arg, 0x55555555a000n, true);
    view.setBigUint64(at + EventLayout.arg + 16, 0x100000001n, true);
    view.setBigUint64(at + EventLayout.arg + 24, 0x100000020n, true);
  }
  const origin = bootOrigin(originBoot);
  const cpuNsPerEvent = (fn: () => void) => {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    return Math.round(((c.user + c.system) * 1000) / n);
  };
  const withWriter = (fn: (w: BundleWriter) => void) => {
    const w = BundleWriter.create(join(work, `reader${runs++}.ingero`), { originUnixNs: 0n, producer: { name: 'ingero', version: '0', command: 'bench' } });
    try {
      return cpuNsPerEvent(() => {
        fn(w);
        w.flush();
      });
    } finally {
      w.abort();
    }
  };
  let sum = 0;
  const decode = cpuNsPerEvent(() => {
    for (let i = 0; i < n; i++) sum += decodeEvent(view, i * stride + 8, 64, origin).tsNs;
  });
  const append = withWriter((w) => {
    for (let i = 0; i < n; i++) w.appendEvent({ ts_ns: i * 900, dur_ns: 500, pid: 1234, tid: 1234, op_id: 262, arg0: 0x55555555a000, arg1: 0, arg2: 0x100000001, arg3: 0x100000020, ret: 0 });
  });
  const sink = withWriter((w) => {
    const processes = new ProcessTable(() => 0);
    processes.see(process.pid);
    const s = new EventSink(w, origin, processes, undefined, { onNewProcess() {}, onExec() {} });
    for (let i = 0; i < n; i++) s.accept(view, i * stride + 8, 64);
  });
  if (sum <= 0) throw new Error('decode produced nothing');
  return { decode_cpu_ns_per_event: decode, append_event_cpu_ns_per_event: append, decode_and_append_through_sink_cpu_ns_per_event: sink, events_per_cpu_second: Math.round(1e9 / sink) };
}

/** on_sched_switch's cost while a workload blocks 5,000 times, with or without --stacks. */
async function offCpuStacksCost(stacks: boolean) {
  const log = join(work, `offcpu${runs++}`);
  const saved = process.env.FAKE_CUDA_SLEEP_US;
  process.env.FAKE_CUDA_SLEEP_US = '100';
  try {
    const { result, programs } = await withProgramStats(() =>
      record({ output: join(work, `offcpu${runs}.ingero`), command: ['/usr/bin/taskset', '-c', '1', fake.workload, log, 'single', '5000'], stacks, handleSignals: false }),
    );
    return { events: result.events, sched_switch_probe: programs.on_sched_switch };
  } finally {
    if (saved === undefined) delete process.env.FAKE_CUDA_SLEEP_US;
    else process.env.FAKE_CUDA_SLEEP_US = saved;
  }
}

const perCall = (r: { calls: number; elapsedNs: number }) => r.elapsedNs / r.calls;
const cpuPerCall = (r: { calls: number; cpuNs: number }) => r.cpuNs / r.calls;
const CALLS = 2_000_000;
const BPFTRACE_CALLS = 200_000;
const load = os.loadavg()[0];

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
const machine = `Linux ${os.release()}, ${os.cpus().length} vCPUs, ${os.cpus()[0]?.model}`;

// --rounds N: how many times floor, ingero (and on the fake library bpftrace) are alternated
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds takes a positive integer, got ${process.argv[roundsAt + 1]}`);

const base = untraced(CALLS);
// floor, ingero and bpftrace alternated ROUNDS times: the ratio of medians of added CPU per call
const floorRuns: ReturnType<typeof untraced>[] = [];
const besideFloor: Awaited<ReturnType<typeof ingero>>[] = [];
const bpftraceBesideFloor: ReturnType<typeof bpftrace>[] = [];
for (let i = 0; i < ROUNDS; i++) {
  floorRuns.push(floor(CALLS));
  besideFloor.push(await ingero(1, CALLS, false));
  bpftraceBesideFloor.push(bpftrace(BPFTRACE_CALLS));
}
const ratio = (x: number) => Math.round(x * 100) / 100;
/**
 * The ratio of medians of added CPU per call, floor and tracer runs alternated beside one
 * untraced run, and each round's own ratio (its tracer run over the floor run just before it)
 * for the spread.
 */
function overFloor(untracedRun: { calls: number; cpuNs: number }, floors: { calls: number; cpuNs: number }[], ingeros: { calls: number; cpuNs: number; dropped: number }[], bpftraces?: { calls: number; cpuNs: number }[]) {
  const addedOne = (r: { calls: number; cpuNs: number }) => cpuPerCall(r) - cpuPerCall(untracedRun);
  const added = (rs: { calls: number; cpuNs: number }[]) => median(rs.map(cpuPerCall)) - cpuPerCall(untracedRun);
  return {
    untraced_cpu_ns_per_call: Math.round(cpuPerCall(untracedRun)),
    floor_cpu_ns_per_call: floors.map(cpuPerCall).map(Math.round),
    ingero_cpu_ns_per_call_alternated: ingeros.map(cpuPerCall).map(Math.round),
    added_cpu_ns_per_call: { floor: Math.round(added(floors)), ingero: Math.round(added(ingeros)), ...(bpftraces ? { bpftrace: Math.round(added(bpftraces)) } : {}) },
    ingero_over_floor_added_cpu: ratio(added(ingeros) / added(floors)),
    ingero_over_floor_per_round: ingeros.map((r, i) => ratio(addedOne(r) / addedOne(floors[i]!))),
    ...(bpftraces ? { bpftrace_cpu_ns_per_call: bpftraces.map(cpuPerCall).map(Math.round), bpftrace_over_floor_added_cpu: ratio(added(bpftraces) / added(floors)) } : {}),
    ingero_dropped: ingeros.map((r) => r.dropped),
  };
}
let realSection: object = { not_measured: 'no nvcc: the CUDA toolkit is not installed (scripts/setup.sh says how)' };
if (train && cudart) {
  const realBase = realUntraced();
  const floors: ReturnType<typeof realUntraced>[] = [];
  const ingeros: Awaited<ReturnType<typeof realIngero>>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    floors.push(realFloor());
    ingeros.push(await realIngero());
  }
  realSection = { program: `train.cu, 1 thread, ${REAL_STEPS} steps, ${cudart}`, calls_per_run: realBase.calls, events: ingeros.map((r) => r.events), ...overFloor(realBase, floors, ingeros) };
}
const floorSection = { goal_at_most: 1.3, fake_libcudart: overFloor(base, floorRuns, besideFloor, bpftraceBesideFloor), real_libcudart: realSection };
if (process.argv.includes('--floor-only')) {
  console.log(JSON.stringify({ machine, date: new Date().toISOString(), load_average_at_start: load, floor_empty_bpf_uprobe_uretprobe: floorSection }, null, 2));
  rmSync(work, { recursive: true, force: true });
  rmSync(fake.dir, { recursive: true, force: true });
  if (train) rmSync(train.dir, { recursive: true, force: true });
  process.exit(0);
}
const traced = await ingero(1, CALLS, false);
const bt = bpftrace(BPFTRACE_CALLS);
const kernelOff: (typeof traced)[] = [];
const kernelOn: (typeof traced)[] = [];
for (let i = 0; i < 3; i++) {
  kernelOff.push(await ingero(1, CALLS, false));
  kernelOn.push(await ingero(1, CALLS, true));
}
const { result: statsRun, programs } = await withProgramStats(() => ingero(1, CALLS, true));
const wide = await ingero(2, CALLS, true);
const stopMulti = await stopLatency('auto', 5);
const stopPerFunction = await stopLatency('per-function', 2);
const offCpuNoStacks = await offCpuStacksCost(false);
const offCpuStacks = await offCpuStacksCost(true);
const reader = readerPath();

const oneThread = (rs: (typeof traced)[]) => ({
  wall_ns_per_call: rs.map(perCall).map(Math.round),
  cpu_ns_per_call: rs.map(cpuPerCall).map(Math.round),
  events: rs.map((r) => r.events),
  dropped: rs.map((r) => r.dropped),
});

const results = {
  machine,
  date: new Date().toISOString(),
  load_average_at_start: load,
  untraced_ns_per_call: perCall(base),
  ingero: {
    ns_per_call: perCall(traced),
    cpu_ns_per_call: cpuPerCall(traced),
    added_ns_per_call: perCall(traced) - perCall(base),
    events: traced.events,
    expected_events: traced.calls,
    dropped: traced.dropped,
    events_per_s: traced.calls / (traced.elapsedNs / 1e9),
  },
  floor_empty_bpf_uprobe_uretprobe: floorSection,
  bpftrace: {
    ns_per_call: perCall(bt),
    cpu_ns_per_call: cpuPerCall(bt),
    added_ns_per_call: perCall(bt) - perCall(base),
    events: bt.events,
    expected_events: bt.calls,
    events_per_s: bt.calls / (bt.elapsedNs / 1e9),
  },
  kernel_events_off_vs_on_one_thread: {
    off: oneThread(kernelOff),
    on: oneThread(kernelOn),
    median_cpu_ns_per_call: { off: Math.round(median(kernelOff.map(cpuPerCall))), on: Math.round(median(kernelOn.map(cpuPerCall))) },
    bpf_programs_during_one_kernel_on_run: { run: oneThread([statsRun]), programs },
  },
  ingero_two_threads_kernel_events_on: {
    calls: wide.calls,
    events: wide.events,
    dropped: wide.dropped,
    events_per_s: wide.events / (wide.elapsedNs / 1e9),
    bundle_bytes: wide.bundleBytes,
  },
  stop_workload_exit_to_sealed_bundle: { uprobe_multi: stopMulti, per_function_links: stopPerFunction },
  off_cpu_stacks: { without: offCpuNoStacks, with: offCpuStacks },
  reader_path: reader,
};
console.log(JSON.stringify(results, null, 2));
rmSync(work, { recursive: true, force: true });
rmSync(fake.dir, { recursive: true, force: true });
if (train) rmSync(train.dir, { recursive: true, force: true });
