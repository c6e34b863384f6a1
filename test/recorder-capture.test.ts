// Records the fake CUDA workloads with real eBPF and checks the bundle against each workload's
// own log of its calls: exact counts (zero loss), arguments, return codes, pids and tids,
// durations, symbolized stacks, process lifecycle and off-CPU time. Needs root and kernel BTF.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuProfile, explain } from '../analyze/index.ts';
import { record, type RecordOptions } from '../recorder/index.ts';
import { buildFakeCuda, readWorkloadLog, type FakeCuda } from './fixtures/fake-cuda/build.ts';
import { cudaRows, eventRows, multiset, multisetDiff, openRecorded } from './fixtures/fake-cuda/recorded.ts';

const skipReason =
  process.getuid?.() !== 0
    ? 'recorder tests load eBPF programs and need root (CI runs them as root)'
    : !existsSync('/sys/kernel/btf/vmlinux')
      ? 'recorder tests need kernel BTF (/sys/kernel/btf/vmlinux)'
      : undefined;
if (skipReason) console.warn(`\n*** SKIPPING recorder capture tests: ${skipReason} ***\n`);

let fake: FakeCuda;
let work: string;

before(() => {
  if (skipReason) return;
  fake = buildFakeCuda();
  work = mkdtempSync(join(tmpdir(), 'ingero-rec-'));
});

after(() => {
  if (!fake) return;
  rmSync(fake.dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** This process's file descriptors for BPF links, programs, maps and perf events. */
function bpfFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/^anon_inode:(bpf|\[perf_event\])/.test(target)) out.push(`${fd} -> ${target}`);
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return out;
}

/** Records with the given workload environment, returns the bundle's rows and the log. */
async function recordWorkload(name: string, args: string[], env: Record<string, string>, extra: Partial<RecordOptions> = {}) {
  const logPrefix = join(work, `${name}.log`);
  const output = join(work, `${name}.ingero`);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let result;
  try {
    result = await record({ output, command: [fake.workload, logPrefix, ...args], handleSignals: false, ...extra });
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  assert.deepEqual(bpfFds(), [], 'every link, program and map is closed once record() returns');
  const bundle = openRecorded(output, join(work, 'cache'));
  return { result, bundle, rows: eventRows(bundle), logged: readWorkloadLog(logPrefix) };
}

test('single-threaded workload: every call recorded once with its arguments, return code, pid and tid', { skip: skipReason }, async () => {
  const { result, bundle, rows, logged } = await recordWorkload('single', ['single', '3000'], { FAKE_CUDA_SPIN_US: '30' });
  try {
    assert.equal(result.stopReason, 'command-exit');
    assert.equal(result.commandExitCode, 0);
    assert.equal(result.dropped, 0);
    assert.equal(logged.length, 3000 * 10 + 1);
    const recorded = cudaRows(rows, logged);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    assert.equal(recorded.length, logged.length);

    // Durations: the allocation calls spin 30 µs; the others return at once.
    const spun = recorded.filter((r) => r.op === 'cudaMalloc' || r.op === 'cuMemAlloc');
    // (a busy machine may preempt the spin for many ms, so only the median is bounded tightly)
    assert.ok(spun.every((r) => r.dur_ns >= 30_000 && r.dur_ns <= result.durationMs * 1e6), 'allocation durations cover the 30 µs spin and lie within the recording');
    const spunMedian = spun.map((r) => r.dur_ns).sort((x, y) => x - y)[spun.length >> 1];
    assert.ok(spunMedian < 1_000_000, `median allocation duration ${spunMedian} ns is near the 30 µs spin`);
    const launches = recorded.filter((r) => r.op === 'cudaLaunchKernel').map((r) => r.dur_ns).sort((a, b) => a - b);
    assert.ok(launches[launches.length >> 1] < 30_000, `median launch duration ${launches[launches.length >> 1]} ns is below the spin`);

    // Per-probe counters agree with what reached the bundle and report no drops.
    const loss = bundle.db.prepare("SELECT probe, emitted, dropped FROM capture_loss WHERE probe LIKE 'uprobe:%'").all() as { probe: string; emitted: number; dropped: number }[];
    for (const op of new Set(logged.map((c) => c.op))) {
      const row = loss.find((l) => l.probe === `uprobe:${op}`);
      assert.ok(row, `capture_loss row for ${op}`);
      assert.equal(row.dropped, 0);
      assert.equal(row.emitted, logged.filter((c) => c.op === op).length, `emitted count of ${op}`);
    }

    // Process identity and lifecycle.
    const pid = logged[0].pid;
    const proc = bundle.db.prepare('SELECT * FROM processes WHERE pid = ?').get(pid) as Record<string, unknown>;
    assert.equal(proc.comm, 'workload');
    assert.match(String(proc.cmdline), /workload .*single 3000$/);
    assert.equal(proc.exit_code, 0);
    assert.ok(rows.some((r) => r.op === 'process_exec' && r.pid === pid), 'exec event of the launched command');
    // the launcher shell may have been named before it exec'd the workload: the last name counts
    const thread = bundle.db.prepare('SELECT comm FROM threads WHERE tid = ? ORDER BY first_ns DESC LIMIT 1').get(pid) as { comm: string };
    assert.equal(thread.comm, 'workload');

    const meta = bundle.metadata();
    const probes = meta['recorder.probes'] as { library: string; symbol: string; prologue: string; offset: number }[];
    const malloc = probes.find((p) => p.symbol === 'cudaMalloc' && p.library === fake.runtime);
    assert.deepEqual({ prologue: malloc?.prologue, offset: malloc?.offset }, { prologue: 'endbr64+push', offset: 4 });
    assert.equal(typeof meta['clock.boot_to_realtime_offset_ns'], 'string');
    const [major, minor] = os.release().split('.').map(Number);
    if (major > 6 || (major === 6 && minor >= 6)) assert.equal(meta['recorder.uprobe_links'], 'uprobe_multi', 'kernel 6.6+ gets one link per library');
  } finally {
    bundle.close();
  }
});

test('multi-threaded workload: each thread\'s calls carry its own tid', { skip: skipReason }, async () => {
  const { result, bundle, rows, logged } = await recordWorkload('threads', ['threads', '4', '1500'], {});
  try {
    assert.equal(result.dropped, 0);
    const tids = new Set(logged.map((c) => c.tid));
    assert.equal(tids.size, 4);
    const recorded = cudaRows(rows, logged);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    for (const tid of tids) {
      assert.ok(bundle.db.prepare('SELECT 1 FROM threads WHERE tid = ?').get(tid), `thread ${tid} is named`);
    }
  } finally {
    bundle.close();
  }
});

test('one link per function (kernels before 6.6) records the same calls', { skip: skipReason }, async () => {
  let atSeal: { fileThere: boolean; openFds: number } | undefined;
  const output = join(work, 'per-function.ingero');
  const onSealed = () => (atSeal = { fileThere: existsSync(output), openFds: bpfFds().length });
  const { result, bundle, rows, logged } = await recordWorkload('per-function', ['threads', '2', '100'], {}, { uprobeLinks: 'per-function', onSealed });
  try {
    // the caller hears of the sealed bundle while the links (~0.1 s each to destroy) still exist
    assert.equal(atSeal?.fileThere, true);
    assert.ok(atSeal!.openFds > 0, 'links were still being destroyed when onSealed ran');
    assert.equal(result.dropped, 0);
    assert.equal(bundle.metadata()['recorder.uprobe_links'], 'uprobe');
    assert.deepEqual(multisetDiff(multiset(logged), multiset(cudaRows(rows, logged))), []);
  } finally {
    bundle.close();
  }
});

test('forking workload: the child is followed, with fork and exit events and its exit status', { skip: skipReason }, async () => {
  const { result, bundle, rows, logged } = await recordWorkload('fork', ['fork', '1000'], {});
  try {
    assert.equal(result.dropped, 0);
    const pids = [...new Set(logged.map((c) => c.pid))];
    assert.equal(pids.length, 2);
    const recorded = cudaRows(rows, logged);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    const parent = rows.find((r) => r.op === 'process_exec')!.pid;
    const child = pids.find((p) => p !== parent)!;
    const fork = rows.filter((r) => r.op === 'process_fork');
    assert.deepEqual(fork.map((r) => [r.pid, Number(r.args[0])]), [[parent, child]]);
    const exit = rows.find((r) => r.op === 'process_exit' && r.pid === child && r.tid === child);
    assert.equal(exit && Number(exit.args[0]), 7);
    const proc = bundle.db.prepare('SELECT ppid, exit_code, end_ns FROM processes WHERE pid = ?').get(child) as Record<string, number>;
    assert.equal(proc.ppid, parent);
    assert.equal(proc.exit_code, 7);
    assert.ok(proc.end_ns > 0);
  } finally {
    bundle.close();
  }
});

test('off-CPU workload: sched_switch shows each blocking synchronize as off-CPU time', { skip: skipReason }, async () => {
  const sleepUs = 3000;
  const steps = 60;
  const { result, bundle, rows, logged } = await recordWorkload('offcpu', ['single', String(steps)], { FAKE_CUDA_SLEEP_US: String(sleepUs) });
  try {
    assert.equal(result.dropped, 0);
    const tid = logged[0].tid;
    const syncs = rows.filter((r) => r.op === 'cudaStreamSynchronize' && r.tid === tid);
    assert.equal(syncs.length, steps);
    assert.ok(syncs.every((s) => s.dur_ns >= sleepUs * 1000), 'each synchronize lasts at least the sleep');
    const switches = rows.filter((r) => r.op === 'sched_switch' && r.tid === tid);
    // Each sleep is off-CPU time inside its synchronize call, as one voluntary switch (prev_state
    // != 0) as a rule. On a loaded machine a thread can be preempted after arming its timer and
    // before blocking; if it stays off past the timer it never blocks, and the kernel reports that
    // stretch as a preemption (prev_state 0). So every call holds its off-CPU time, and most hold a
    // blocking switch.
    let blocking = 0;
    for (const s of syncs) {
      const inside = switches.filter((w) => w.ts_ns >= s.ts_ns && w.ts_ns + w.dur_ns <= s.ts_ns + s.dur_ns);
      assert.ok(inside.length >= 1, `a switch inside the synchronize at ${s.ts_ns}`);
      if (inside.some((w) => w.args[2] !== 0n)) blocking++;
      const offCpu = inside.reduce((n, w) => n + w.dur_ns, 0);
      assert.ok(offCpu >= sleepUs * 1000 * 0.9 && offCpu <= s.dur_ns, `off-CPU ${offCpu} ns within [sleep, call]`);
    }
    assert.ok(blocking >= steps * 0.9, `${blocking} of ${steps} synchronize calls hold a blocking switch`);
    // The thread that took the CPU is named.
    const next = Number(switches[0].args[0]);
    assert.ok(bundle.db.prepare('SELECT 1 FROM threads WHERE tid = ?').get(next) || next === 0, 'next thread is named (or idle)');
  } finally {
    bundle.close();
  }
});

test('--stacks: off-CPU records carry the stack where the thread blocked', { skip: skipReason }, async () => {
  const sleepUs = 2000;
  const steps = 20;
  const { bundle, rows, logged } = await recordWorkload('offcpu-stacks', ['single', String(steps)], { FAKE_CUDA_SLEEP_US: String(sleepUs) }, { stacks: true });
  try {
    const tid = logged[0].tid;
    const syncs = rows.filter((r) => r.op === 'cudaStreamSynchronize' && r.tid === tid);
    assert.equal(syncs.length, steps);
    const blocked = rows.filter((r) => r.op === 'sched_switch' && r.tid === tid && r.args[2] !== 0n && syncs.some((s) => r.ts_ns >= s.ts_ns && r.ts_ns <= s.ts_ns + s.dur_ns));
    assert.ok(blocked.length >= steps, `${blocked.length} blocking switches inside the synchronize calls`);
    for (const w of blocked) {
      assert.notEqual(w.stack_id, null, 'a blocking switch carries a stack');
      const names = bundle.stack(w.stack_id!).map((f) => f.function);
      const at = names.indexOf('synchronize');
      assert.ok(at > 0, `the stack passes through synchronize: ${names.join(' < ')}`);
      assert.deepEqual(names.slice(at, at + 3), ['synchronize', 'train_step', 'run_steps']);
    }
  } finally {
    bundle.close();
  }
});

test('stacks are symbolized to the workload\'s own functions with its build-id', { skip: skipReason }, async () => {
  const { bundle, rows, logged } = await recordWorkload('stacks', ['single', '200'], {}, { stacks: true });
  try {
    const buildId = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', fake.workload], { encoding: 'utf8' }))![1];
    const callers: Record<string, string> = {
      cudaMalloc: 'allocate_buffers',
      cudaMemcpy: 'copy_inputs',
      cudaLaunchKernel: 'launch_kernels',
      cuLaunchKernel: 'launch_kernels',
      cudaStreamSynchronize: 'synchronize',
      cuMemAlloc: 'driver_calls',
    };
    for (const [op, caller] of Object.entries(callers)) {
      const evs = cudaRows(rows, logged).filter((r) => r.op === op);
      assert.equal(evs.length, logged.filter((c) => c.op === op).length);
      for (const stackId of new Set(evs.map((e) => e.stack_id))) {
        assert.notEqual(stackId, null, `${op} events carry a stack`);
        const frames = bundle.stack(stackId!);
        assert.deepEqual(frames.slice(0, 3).map((f) => f.function), [caller, 'train_step', 'run_steps'], `${op} stack`);
        assert.equal(frames[0].module, fake.workload);
        assert.equal(frames[0].buildId, buildId);
        assert.match(String(frames[0].systemName), new RegExp(`^${caller}`));
      }
    }
  } finally {
    bundle.close();
  }
});

test('--pid traces running processes and stops once every one of them has exited', { skip: skipReason }, async () => {
  const start = (name: string) => {
    const logPrefix = join(work, name);
    const child = spawn(fake.workload, [logPrefix, 'single', '500'], { env: { ...process.env, FAKE_WAIT_STDIN: '1' }, stdio: ['pipe', 'ignore', 'inherit'] });
    return { logPrefix, child, exited: new Promise((r) => child.on('exit', r)) };
  };
  const a = start('bypid-a.log');
  const b = start('bypid-b.log');
  const output = join(work, 'bypid.ingero');
  let ended = false;
  const recording = record({
    output,
    pids: [a.child.pid!, b.child.pid!],
    handleSignals: false,
    onReady: () => a.child.stdin!.end('go\n'),
  }).finally(() => (ended = true));
  await a.exited;
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ended, false, 'still recording while one target runs');
  b.child.stdin!.end('go\n');
  await b.exited;
  const result = await recording;
  assert.equal(result.stopReason, 'targets-exited');
  const bundle = openRecorded(output, join(work, 'cache'));
  try {
    const rows = eventRows(bundle);
    for (const t of [a, b]) {
      const logged = readWorkloadLog(t.logPrefix);
      assert.equal(logged.length, 500 * 10 + 1);
      assert.deepEqual(multisetDiff(multiset(logged), multiset(cudaRows(rows, logged).filter((r) => r.pid === t.child.pid))), []);
    }
  } finally {
    bundle.close();
  }
});

test('a CPU hog pinned to the workload\'s core is named in processes (seen, not traced) and in explain', { skip: skipReason }, async () => {
  const hogPath = join(fake.dir, 'cpu-hog');
  execFileSync('gcc', ['-O0', '-o', hogPath, '-x', 'c', '-'], { input: 'int main(void) { for (;;) ; }\n' });
  // The workload and the hog share core 1 as round-robin real-time tasks of the same priority:
  // each runs its 100 ms slice, then the other, whatever else this machine runs. The hog starts
  // only once the workload is traced and is killed as soon as the recording ends.
  const onCore1 = ['/usr/bin/chrt', '-r', '1', '/usr/bin/taskset', '-c', '1'];
  let hog: ReturnType<typeof spawn> | undefined;
  const startHog = () => {
    hog = spawn(onCore1[0], [...onCore1.slice(1), hogPath, '--burn', 'core1'], { stdio: 'ignore' });
  };
  try {
    const { bundle, rows, logged } = await recordWorkload('neighbour', [], { FAKE_CUDA_SPIN_US: '300' }, { command: [...onCore1, fake.workload, join(work, 'neighbour.log'), 'single', '1500'], onReady: startHog });
    hog!.kill('SIGKILL');
    try {
      const pid = logged[0].pid;
      const taken = rows.filter((r) => r.op === 'sched_switch' && r.pid === pid && Number(r.args[1]) === hog!.pid);
      const preempted = taken.filter((r) => r.args[2] === 0n).length;
      assert.ok(preempted >= 2, `the hog preempted the workload ${preempted} times (and took its CPU ${taken.length} times)`);
      const row = bundle.db.prepare('SELECT comm, cmdline, traced, start_ns FROM processes WHERE pid = ?').all(hog!.pid) as { comm: string; cmdline: string; traced: number; start_ns: number | null }[];
      assert.deepEqual(row.map((r) => [r.comm, r.cmdline, r.traced]), [['cpu-hog', `${hogPath} --burn core1`, 0]], 'one seen-not-traced row naming the hog');
      assert.notEqual(row[0].start_ns, null, 'its start time is read from /proc');
      const traced = bundle.db.prepare('SELECT traced FROM processes WHERE pid = ?').get(pid) as { traced: number };
      assert.equal(traced.traced, 1);
      assert.equal((bundle.db.prepare('SELECT count(*) AS n FROM events WHERE pid = ?').get(hog!.pid) as { n: number }).n, 0, 'nothing of the hog itself is recorded');
      const text = JSON.stringify(explain(bundle).findings);
      assert.match(text, new RegExp(`cpu-hog \\(pid ${hog!.pid}\\)`), 'explain names the preemptor by its process row');
    } finally {
      bundle.close();
    }
  } finally {
    hog?.kill('SIGKILL');
  }
});

test('on-CPU samples: a busy loop\'s function is the top frame of its thread; --cpu-sample-hz 0 takes none', { skip: skipReason }, async () => {
  const busy = join(fake.dir, 'busy');
  const source = [
    '#include <stdlib.h>',
    '#include <time.h>',
    '__attribute__((noinline)) static unsigned long burn_cycles(unsigned long n) { volatile unsigned long x = 0; for (unsigned long i = 0; i < n; i++) x += i; return x; }',
    '__attribute__((noinline)) static void host_bound_loop(double s) { struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a); do { burn_cycles(100000); clock_gettime(CLOCK_MONOTONIC, &b); } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < s); }',
    'int main(int argc, char **argv) { host_bound_loop(atof(argv[1])); return 0; }',
  ].join('\n');
  execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', busy, '-x', 'c', '-'], { input: source });
  const output = join(work, 'busy.ingero');
  const result = await record({ output, command: [busy, '1.5'], handleSignals: false });
  assert.equal(result.commandExitCode, 0);
  const bundle = openRecorded(output, join(work, 'cache'));
  try {
    const samples = bundle.db.prepare('SELECT pid, tid, stack_id FROM cpu_samples').all() as { pid: number; tid: number; stack_id: number | null }[];
    // 99 Hz over 1.5 s of CPU, less whatever share of a CPU this loaded machine gave the loop
    assert.ok(samples.length >= 5, `${samples.length} samples`);
    assert.equal(bundle.metadata()['recorder.cpu_sample_hz'], 99);
    const loss = bundle.db.prepare("SELECT emitted, dropped FROM capture_loss WHERE probe = 'perf_event:cpu-clock'").get() as { emitted: number; dropped: number };
    assert.deepEqual([loss.emitted, loss.dropped], [samples.length, 0], 'every sample the probe took reached the bundle');
    // symbolized user stacks, leaf first: most samples land in burn_cycles (a few may land in
    // start-up, exit or the vDSO)
    const stacks = samples.map((s) => (s.stack_id === null ? [] : bundle.stack(s.stack_id)));
    const inLoop = stacks.filter((f) => f.slice(0, 3).map((x) => x.function).join(' < ') === 'burn_cycles < host_bound_loop < main');
    assert.ok(inLoop.length > samples.length / 2, `${inLoop.length} of ${samples.length} samples read burn_cycles < host_bound_loop < main`);
    assert.equal(inLoop[0]![0]!.module, busy);

    const profile = cpuProfile(bundle);
    assert.equal(profile.available, true);
    const [thread] = profile.threads;
    assert.equal(thread.samples, samples.length);
    // summed per stack, so equal to the single product up to rounding
    assert.ok(Math.abs(thread.cpu_ns - (samples.length * 1e9) / 99) < 1e-3, `${thread.cpu_ns} ns for ${samples.length} samples at 99 Hz`);
    assert.equal(thread.top[0].function, 'burn_cycles');
    assert.ok(thread.top[0].selfShare > 0.5, `burn_cycles has ${thread.top[0].selfShare} of the samples`);
    // Nearly all: a sample can land in process start-up or exit, or in the vDSO's clock_gettime,
    // whose frames the kernel's frame-pointer walk may not chain back to the loop.
    const underLoop = thread.top.find((f) => f.function === 'host_bound_loop')?.totalShare ?? 0;
    assert.ok(underLoop >= 0.9, `${underLoop} of the samples are under host_bound_loop`);
    assert.deepEqual(cpuProfile(bundle, { fromNs: 0, toNs: 1 }).threads, [], 'a window without samples');
  } finally {
    bundle.close();
  }

  const off = join(work, 'busy-off.ingero');
  await record({ output: off, command: [busy, '0.3'], handleSignals: false, cpuSampleHz: 0 });
  const quiet = openRecorded(off, join(work, 'cache'));
  try {
    assert.equal((quiet.db.prepare('SELECT count(*) AS n FROM cpu_samples').get() as { n: number }).n, 0);
    assert.equal(quiet.metadata()['recorder.cpu_sample_hz'], 0);
  } finally {
    quiet.close();
  }
});
