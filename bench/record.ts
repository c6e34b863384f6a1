// bench/record.ts: what recording costs the traced program, next to bpftrace in the same run.
//   1. untraced: ns per cudaLaunchKernel call of the fake-CUDA workload (push prologue);
//   2. traced by ingero (uprobe + uretprobe, one event per call, kernel events off): added ns
//      per call, events/s sustained, drops;
//   3. traced by bpftrace with the same two probes and one printf per event;
//   4. throughput with kernel events on: one workload thread, then two (the two vCPUs are then
//      shared by the workload and the recorder).
// The workload runs on CPU 1, the recorder on CPU 0. Needs root. Run: npx tsx bench/record.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '../recorder/index.ts';
import { buildFakeCuda } from '../test/fixtures/fake-cuda/build.ts';

const fake = buildFakeCuda({ cet: false });
const work = mkdtempSync(join(tmpdir(), 'ingero-bench-'));
spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
let runs = 0;

function benchArgs(threads: number, calls: number): { argv: string[]; log: string } {
  const log = join(work, `run${runs++}`);
  return { argv: ['/usr/bin/taskset', '-c', threads > 1 ? '0,1' : '1', fake.workload, log, 'bench', String(threads), String(calls)], log };
}

/** "bench CALLS ELAPSED_NS" from the workload's log. */
function benchResult(log: string): { calls: number; elapsedNs: number } {
  const base = log.slice(log.lastIndexOf('/') + 1);
  const file = readdirSync(work).find((f) => f.startsWith(`${base}.`))!;
  const [, calls, ns] = readFileSync(join(work, file), 'utf8').trim().split(' ');
  return { calls: Number(calls), elapsedNs: Number(ns) };
}

function untraced(calls: number) {
  const { argv, log } = benchArgs(1, calls);
  execFileSync(argv[0], argv.slice(1));
  return benchResult(log);
}

async function ingero(threads: number, calls: number, kernel: boolean) {
  const { argv, log } = benchArgs(threads, calls);
  const r = await record({ output: join(work, `ingero${runs}.ingero`), command: argv, cudaLibs: [fake.runtime], kernel, handleSignals: false });
  return { ...benchResult(log), events: r.events, dropped: r.dropped, bundleBytes: r.bytes, recordMs: r.durationMs };
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

const perCall = (r: { calls: number; elapsedNs: number }) => r.elapsedNs / r.calls;
const CALLS = 2_000_000;
const BPFTRACE_CALLS = 200_000;

const base = untraced(CALLS);
const traced = await ingero(1, CALLS, false);
const bt = bpftrace(BPFTRACE_CALLS);
const withKernel = await ingero(1, CALLS, true);
const wide = await ingero(2, CALLS, true);
const throughput = (r: typeof wide) => ({
  calls: r.calls,
  events: r.events,
  dropped: r.dropped,
  events_per_s: r.events / (r.elapsedNs / 1e9),
  bundle_bytes: r.bundleBytes,
});

const results = {
  machine: `Linux ${os.release()}, ${os.cpus().length} vCPUs, ${os.cpus()[0]?.model}`,
  date: new Date().toISOString(),
  untraced_ns_per_call: perCall(base),
  ingero: {
    ns_per_call: perCall(traced),
    added_ns_per_call: perCall(traced) - perCall(base),
    events: traced.events,
    expected_events: traced.calls,
    dropped: traced.dropped,
    events_per_s: traced.calls / (traced.elapsedNs / 1e9),
  },
  bpftrace: {
    ns_per_call: perCall(bt),
    added_ns_per_call: perCall(bt) - perCall(base),
    events: bt.events,
    expected_events: bt.calls,
    events_per_s: bt.calls / (bt.elapsedNs / 1e9),
  },
  ingero_one_thread_kernel_events_on: throughput(withKernel),
  ingero_two_threads_kernel_events_on: throughput(wide),
};
console.log(JSON.stringify(results, null, 2));
rmSync(work, { recursive: true, force: true });
rmSync(fake.dir, { recursive: true, force: true });
