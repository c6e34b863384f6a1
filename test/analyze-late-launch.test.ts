// The late-launch chain across two sources: a PyTorch profiler (Kineto) trace of a run and an
// eBPF-side recording of the same run, merged with the real `ingero merge`, then explained with
// the real `ingero explain --json`. The launching thread is preempted by a named hog before one
// launch, leaving the GPU idle; the chain must name the hog and cite the switch, the launch and
// the kernel, with numbers an independent SQL computation over the merged bundle gives too. The
// same gap with the thread on the CPU making GPU calls is not blamed on preemption, and a gap the
// host recording does not cover (or a launching thread it does not trace) is reported as not
// explained by host data.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from './cli-fixtures.ts';
import { BundleWriter, openBundle, opId } from '../format/index.ts';
import type { ExplainReport, Finding } from '../analyze/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-late-launch-'));
const cacheDir = join(work, 'cache');
after(() => process.env.KEEP_LATE_LAUNCH ? undefined : rmSync(work, { recursive: true, force: true }));
const ingero = (...args: string[]) => runCli(args, { cacheDir });
const producer = { name: 'ingero-test', version: '0', command: 'late-launch.test' };

const US = 1_000;
/** The Kineto trace's clock base; the eBPF recording started 1 s before it. */
const BASE_NS = 1_775_000_000_000_000_000n;
const EBPF_ORIGIN = BASE_NS - 1_000_000_000n;
/** Nanoseconds an eBPF time is ahead of the Kineto time of the same instant. */
const EBPF_SHIFT = 1_000_000_000;
const PID = 4242;
const TID = 4243;
const HOG = 999;
const KERNELS_BEFORE = 100;
/** The launching thread leaves the CPU here (µs on the Kineto clock) and comes back PREEMPT_US later. */
const PREEMPT_AT_US = 1_000 + (KERNELS_BEFORE - 1) * 100 + 40;
const PREEMPT_US = 20_000;
/** The second long gap: after the eBPF recording ends, so its host side is not recorded. */
const UNCOVERED_GAP_US = 15_000;
const EBPF_END_US = 60_000;

interface Launch {
  readonly launchUs: number;
  readonly kernelUs: number;
  readonly corr: number;
}

/** Launches every 100 µs, each 50 µs before its 90 µs kernel, with the two long gaps. */
function schedule(): Launch[] {
  const out: Launch[] = [];
  let corr = 1;
  for (let i = 0; i < KERNELS_BEFORE; i++) out.push({ launchUs: 950 + i * 100, kernelUs: 1_000 + i * 100, corr: corr++ });
  // After the preemption the thread launches 10 µs after it is back; the kernel starts 30 µs later.
  let t = PREEMPT_AT_US + PREEMPT_US + 10;
  for (let i = 0; i < 150; i++) out.push({ launchUs: t + i * 100, kernelUs: t + 30 + i * 100, corr: corr++ });
  t = out[out.length - 1]!.kernelUs + 90 + UNCOVERED_GAP_US;
  for (let i = 0; i < 50; i++) out.push({ launchUs: t - 30 + i * 100, kernelUs: t + i * 100, corr: corr++ });
  return out;
}
const LAUNCHES = schedule();

function writeKineto(path: string): void {
  const events: unknown[] = [
    { ph: 'M', name: 'process_name', pid: PID, args: { name: 'python3' } },
    { ph: 'M', name: 'thread_name', pid: PID, tid: TID, args: { name: `thread ${TID} (pt_main_thread)` } },
  ];
  for (const l of LAUNCHES) {
    events.push({ ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: PID, tid: TID, ts: l.launchUs, dur: 5, args: { correlation: l.corr } });
    events.push({ ph: 'X', cat: 'kernel', name: 'void gemm_kernel<float>(float*)', pid: 0, tid: 7, ts: l.kernelUs, dur: 90, args: { device: 0, stream: 7, correlation: l.corr } });
  }
  writeFileSync(path, JSON.stringify({ schemaVersion: 1, traceEvents: events, baseTimeNanoseconds: Number(BASE_NS) }).replace(`"baseTimeNanoseconds":${Number(BASE_NS)}`, `"baseTimeNanoseconds":${BASE_NS}`));
}

type HostVariant = 'preempted' | 'blocked' | 'gpu-calls' | 'untraced';

/** The eBPF side: the trainer's launches as uprobes saw them, its switches, a hog, on its own clock. */
async function writeEbpf(path: string, variant: HostVariant): Promise<void> {
  const w = BundleWriter.create(path, { originUnixNs: EBPF_ORIGIN, producer, nodeName: 'gpu-host-07', compressionLevel: 3 });
  const at = (us: number) => us * US + EBPF_SHIFT;
  // 'untraced': the recording followed another process only.
  const pid = variant === 'untraced' ? 5151 : PID;
  const tid = variant === 'untraced' ? 5152 : TID;
  w.addProcess({ pid, ppid: 1, start_ns: 0, comm: 'python3' });
  w.addThread({ pid, tid, first_ns: 0, comm: 'pt_main_thread' });
  w.addProcess({ pid: HOG, ppid: 1, start_ns: 0, comm: 'stress-ng' });
  const events: Parameters<BundleWriter['appendEvent']>[0][] = [];
  for (const l of LAUNCHES) if (l.launchUs < EBPF_END_US) events.push({ ts_ns: at(l.launchUs) + 3 * US, dur_ns: 4 * US, pid, tid, op_id: opId('cudaLaunchKernel'), arg0: 0x7f00_0000_1000n });
  // Short voluntary sleeps between launches: steady-state switches, off-CPU 20 µs each.
  for (let i = 0; i < KERNELS_BEFORE - 1; i += 10) events.push({ ts_ns: at(1_000 + i * 100), dur_ns: 20 * US, pid, tid, op_id: opId('sched_switch'), arg0: 0, arg1: 0, arg2: 1 });
  if (variant === 'preempted' || variant === 'untraced') {
    events.push({ ts_ns: at(PREEMPT_AT_US), dur_ns: PREEMPT_US * US, pid, tid, op_id: opId('sched_switch'), arg0: HOG, arg1: HOG, arg2: 0 });
  } else if (variant === 'blocked') {
    // The thread sleeps in a socket receive (prev_state S) instead of launching.
    events.push({ ts_ns: at(PREEMPT_AT_US) - 5 * US, dur_ns: (PREEMPT_US + 5) * US, pid, tid, op_id: opId('net_recv'), arg0: 9, arg1: 4096 });
    events.push({ ts_ns: at(PREEMPT_AT_US), dur_ns: PREEMPT_US * US, pid, tid, op_id: opId('sched_switch'), arg0: 0, arg1: 0, arg2: 1 });
  } else {
    // The thread stays on the CPU and makes GPU calls (allocations) through the gap.
    for (let t = PREEMPT_AT_US + 100; t < PREEMPT_AT_US + PREEMPT_US - 200; t += 400) events.push({ ts_ns: at(t), dur_ns: 300 * US, pid, tid, op_id: opId('cudaMalloc'), arg0: 1 << 20 });
  }
  // The hog runs on and off outside the preemption too; its own switches name the trainer as the next task.
  for (let t = 500; t < EBPF_END_US; t += 5_000) if (t < PREEMPT_AT_US - 1_000 || t > PREEMPT_AT_US + PREEMPT_US) events.push({ ts_ns: at(t), dur_ns: 1_000 * US, pid: HOG, tid: HOG, op_id: opId('sched_switch'), arg0: tid, arg1: pid, arg2: 0 });
  events.push({ ts_ns: at(EBPF_END_US), dur_ns: 0, pid: HOG, tid: HOG, op_id: opId('process_exec'), arg0: HOG });
  events.sort((a, b) => a.ts_ns - b.ts_ns);
  for (const e of events) w.appendEvent(e);
  await w.seal();
}

const kineto = join(work, 'rank0.json');
const rank0 = join(work, 'rank0.ingero');

async function mergedExplain(variant: HostVariant, ...mergeArgs: string[]): Promise<{ path: string; report: ExplainReport }> {
  const host = join(work, `host-${variant}.ingero`);
  const merged = join(work, `merged-${variant}${mergeArgs.length ? '-offset' : ''}.ingero`);
  await writeEbpf(host, variant);
  const m = ingero('merge', host, rank0, '-o', merged, ...mergeArgs);
  assert.equal(m.code, 0, m.stderr);
  const r = ingero('explain', merged, '--json');
  assert.equal(r.code, 0, r.stderr);
  return { path: merged, report: JSON.parse(r.stdout) as ExplainReport };
}

const lateLaunch = (r: ExplainReport, device = 'GPU 0') => r.findings.filter((f) => f.kind === 'late-launch' && f.op === device);
const ids = (f: Finding, kind: string) => f.evidence.filter((e) => e.kind === kind).flatMap((e) => e.event_ids ?? []);

/** The longest idle gap between kernels and its launch, the thread's off-CPU time in it (preempted, or blocked) and who ran, by SQL alone. */
function sqlChain(path: string, state: 'preempted' | 'blocked' = 'preempted') {
  const b = openBundle(path, { cacheDir });
  try {
    const kernel = opId('kernel');
    const gap = b.db
      .prepare(
        `WITH k AS (SELECT id, node_id, ts_ns, corr_id, max(ts_ns + dur_ns) OVER (PARTITION BY node_id, arg2 ORDER BY ts_ns ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM events WHERE op_id = ${kernel})
         SELECT k.id AS kernel_id, k.node_id AS node, k.prev_end AS g0, k.ts_ns AS g1, l.id AS launch_id, l.ts_ns AS tl, l.pid, l.tid
         FROM k JOIN events l ON l.node_id = k.node_id AND l.corr_id = k.corr_id AND l.op_id <> ${kernel}
         WHERE l.ts_ns > k.prev_end ORDER BY k.ts_ns - k.prev_end DESC LIMIT 1`,
      )
      .get() as { kernel_id: number; node: number; g0: number; g1: number; launch_id: number; tl: number; pid: number; tid: number };
    const off = b.db
      .prepare(
        `SELECT e.id, e.node_id, e.arg1 AS hog, min(e.ts_ns + e.dur_ns, ?) - max(e.ts_ns, ?) AS overlap, p.comm
         FROM events e LEFT JOIN processes p ON p.node_id = e.node_id AND p.pid = e.arg1
         WHERE e.op_id = ${opId('sched_switch')} AND e.tid = ? AND e.pid = ? AND ${state === 'preempted' ? 'e.arg2 = 0' : 'e.arg2 <> 0'} AND e.ts_ns < ? AND e.ts_ns + e.dur_ns > ?`,
      )
      .all(gap.tl, gap.g0, gap.tid, gap.pid, gap.tl, gap.g0) as { id: number; node_id: number; hog: number; overlap: number; comm: string }[];
    return { ...gap, offCpu: off.reduce((s, r) => s + r.overlap, 0), switches: off };
  } finally {
    b.close();
  }
}

describe('late launch across a Kineto trace and an eBPF recording merged onto one clock', () => {
  before(async () => {
    writeKineto(kineto);
    const r = ingero('import', kineto, '-o', rank0);
    assert.equal(r.code, 0, r.stderr);
  });

  test('host preemption → late launch → idle GPU: the chain names the hog and cites the switch, launch and kernel', async () => {
    const { path, report } = await mergedExplain('preempted');
    const sql = sqlChain(path);
    // The SQL view of the same run: the 20 ms preemption by stress-ng ends the longest gap.
    assert.equal(sql.switches.length, 1);
    assert.equal(sql.switches[0]!.comm, 'stress-ng');
    assert.equal(sql.switches[0]!.hog, HOG);
    assert.equal(sql.tid, TID);
    const [f, ...more] = lateLaunch(report);
    assert.ok(f, `a late-launch finding: ${report.findings.map((x) => x.kind).join(', ')}`);
    assert.equal(more.length, 0);
    assert.match(f.summary, /preempted by stress-ng \(pid 999 on gpu-host-07\)/);
    assert.match(f.root_cause, /^Host preemption → late launch → idle GPU: Thread 4243 of python3/);
    assert.equal(f.confidence, 'high');
    assert.equal(f.pid, PID);
    // Evidence from both sources: the kernel and launch of the Kineto node, the switch of the eBPF node.
    assert.ok(ids(f, 'idle-gap').includes(sql.kernel_id), 'cites the kernel that ends the gap');
    assert.ok(ids(f, 'late-launch').includes(sql.launch_id), 'cites the Kineto launch');
    assert.ok(ids(f, 'preempted').includes(sql.switches[0]!.id), 'cites the sched_switch');
    const hostNode = f.evidence.find((e) => e.kind === 'preempted')!.node_id;
    const gpuNode = f.evidence.find((e) => e.kind === 'idle-gap')!.node_id;
    assert.equal(hostNode, sql.switches[0]!.node_id);
    assert.equal(gpuNode, sql.node);
    assert.notEqual(hostNode, gpuNode, 'the chain joins two nodes of the merged bundle');
    // Its numbers are the SQL ones.
    const host = f.evidence.find((e) => e.kind === 'preempted')!.values;
    assert.equal(host.preempted_ns, sql.offCpu);
    assert.equal(host.window_ns, sql.tl - sql.g0);
    assert.equal(host.preempted_by_pid, HOG);
    const gap = f.evidence.find((e) => e.kind === 'idle-gap' && e.event_ids?.includes(sql.kernel_id))!.values;
    assert.equal(gap.gap_ns, sql.g1 - sql.g0);
    assert.equal(f.impact_ns, sql.offCpu);
    // Worked by hand: preempted from 10,940 µs for 20 ms; the GPU ran dry at 10,990 µs (the last
    // kernel's end) and the launch came at 30,950 µs: 19,950 µs of the 19,960 µs window.
    assert.equal(sql.offCpu, 19_950 * US);
    // The eBPF copy of the launch, 3 µs after Kineto's, is cited as the same call.
    assert.equal(f.evidence.find((e) => e.kind === 'late-launch' && e.event_ids?.includes(sql.launch_id))!.values.host_launch_skew_ns, 3 * US);
    // The gap after the recording's end is not given a cause.
    const unexplained = f.evidence.find((e) => e.kind === 'unexplained');
    assert.ok(unexplained, 'the uncovered gap is reported');
    assert.match(unexplained.detail, /not explained by host data: The host recording on gpu-host-07 runs from .* does not cover/);
    assert.equal(unexplained.values.gaps, 1);
    // Severity by the share of the GPU's idle time the chains explain.
    const idle = report.findings.find((x) => x.kind === 'gpu-idle')!;
    const share = sql.offCpu / idle.evidence[0]!.values.idle_ns!;
    assert.equal(f.severity, share >= 0.4 ? 'HIGH' : share >= 0.2 ? 'MEDIUM' : 'LOW');
    // gpu-idle names the chain for the gap it explains instead of a cause of its own.
    assert.ok(idle.evidence.some((e) => e.kind === 'idle-gap' && /late-launch: preempted by stress-ng/.test(e.detail)), idle.evidence.map((e) => e.detail).join('\n'));
    // No event is cited by two findings.
    const all = report.findings.flatMap((x) => x.evidence.flatMap((e) => e.event_ids ?? []));
    assert.equal(new Set(all).size, all.length);
    // The scheduler's view of the same switch folds into the chain rather than standing beside it.
    assert.ok(!report.findings.some((x) => x.kind === 'cpu-contention' && x.pid === PID), 'cpu-contention of the trainer folded into the chain');
    assert.ok(f.alternatives.some((a) => a.cause === 'cpu-contention' && a.verdict === 'runner-up'));
    // The kernel named is the one the merged bundle's gpu_kernels row gives for that event.
    const b = openBundle(path, { cacheDir });
    try {
      const name = b.db.prepare('SELECT k.name FROM events e JOIN gpu_kernels k ON k.id = e.arg0 WHERE e.id = ?').pluck().get(sql.kernel_id) as string;
      assert.equal(name, 'void gemm_kernel<float>(float*)');
      assert.ok(f.root_cause.includes(`kernel ${name} (#${sql.kernel_id})`), f.root_cause);
    } finally {
      b.close();
    }
    // Redaction keeps the links the chain follows (kernel ids, corr_id, threads): the same chain,
    // the same ids and numbers, only the names differ.
    const redacted = join(work, 'merged-preempted-redacted.ingero');
    const rr = ingero('redact', path, '-o', redacted);
    assert.equal(rr.code, 0, rr.stderr);
    const again = JSON.parse(ingero('explain', redacted, '--json').stdout) as ExplainReport;
    const shape = (x: Finding) => ({ severity: x.severity, impact: x.impact_ns, evidence: x.evidence.map((e) => [e.kind, e.event_ids ?? [], e.values]) });
    assert.deepEqual(lateLaunch(again).map(shape), [shape(f)]);
  });

  test('host blocking → late launch → idle GPU: asleep in a socket receive, cited with its switch', async () => {
    const { path, report } = await mergedExplain('blocked');
    const sql = sqlChain(path, 'blocked');
    assert.equal(sql.switches.length, 1);
    const [f] = lateLaunch(report);
    assert.ok(f);
    assert.match(f.root_cause, /^Host blocking → late launch → idle GPU: Thread 4243 of python3 .* prev_state S, from .*, inside net_recv #\d+\)/);
    assert.doesNotMatch(f.summary, /preempt/);
    const b = openBundle(path, { cacheDir });
    try {
      const recv = b.db.prepare('SELECT id FROM events WHERE op_id = ? AND tid = ?').pluck().get(opId('net_recv'), TID) as number;
      assert.deepEqual(ids(f, 'blocked'), [sql.switches[0]!.id, recv].sort((x, y) => x - y));
    } finally {
      b.close();
    }
    const host = f.evidence.find((e) => e.kind === 'blocked')!.values;
    assert.equal(host.blocked_ns, sql.offCpu, 'blocked time = the SQL overlap of the sleeping switch');
    assert.equal(host.preempted_ns, 0);
    assert.equal(f.impact_ns, sql.offCpu);
  });

  test('the same gap with the thread on the CPU making GPU calls is not blamed on preemption', async () => {
    const { path, report } = await mergedExplain('gpu-calls');
    const sql = sqlChain(path);
    assert.equal(sql.switches.length, 0, 'no preempted switch of the thread in the gap');
    const [f] = lateLaunch(report);
    assert.ok(f);
    assert.doesNotMatch(f.summary, /preempt|stress-ng/);
    assert.match(f.root_cause, /^Host busy in other GPU calls → late launch → idle GPU/);
    const host = f.evidence.find((e) => e.kind === 'gpu-calls')!;
    assert.equal(host.values.preempted_ns, 0);
    assert.ok(host.values.gpu_calls! > 0);
    const b = openBundle(path, { cacheDir });
    try {
      const mallocs = b.db.prepare(`SELECT count(*) FROM events WHERE op_id = ? AND tid = ? AND ts_ns >= ? AND ts_ns < ?`).pluck().get(opId('cudaMalloc'), TID, sql.g0, sql.tl) as number;
      assert.equal(host.values.gpu_calls, mallocs);
    } finally {
      b.close();
    }
    assert.equal(ids(f, 'preempted').length, 0);
    assert.ok(f.alternatives.some((a) => a.cause === 'preempted' && a.verdict === 'rejected'));
  });

  test('clocks that disagree (the host side moved 5 ms late): the thread is off-CPU at its own launch, so no cause is drawn for that gap', async () => {
    const { report } = await mergedExplain('preempted', '--offset', 'gpu-host-07=+5ms');
    const [f] = lateLaunch(report);
    assert.ok(f);
    const clash = f.evidence.find((e) => e.kind === 'contradicted');
    assert.ok(clash, f.evidence.map((e) => e.kind).join(', '));
    assert.match(clash.detail, /off-CPU \(sched_switch #\d+\) at the moment the GPU source says it launched .* the two clocks disagree, so no cause is drawn; give ingero merge the skew with --offset/);
    assert.ok(!f.evidence.some((e) => e.kind === 'preempted'), 'no preemption is claimed');
    assert.doesNotMatch(f.summary, /preempted/);
  });

  test('a launching thread the host recording does not trace: reported as not explained by host data', async () => {
    const { report } = await mergedExplain('untraced');
    const [f] = lateLaunch(report);
    assert.ok(f);
    assert.equal(f.confidence, 'low');
    assert.equal(f.severity, 'LOW');
    assert.equal(f.impact_ns, 0);
    assert.match(f.summary, /not explained by host data/);
    assert.match(f.root_cause, /No host recording with scheduler events names pid 4242 thread 4243/);
    assert.doesNotMatch(f.summary + f.root_cause, /stress-ng/);
  });

  test('the Kineto trace alone has no host side: no chain is claimed', () => {
    const r = ingero('explain', rank0, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lateLaunch(JSON.parse(r.stdout) as ExplainReport).length, 0);
  });
});
