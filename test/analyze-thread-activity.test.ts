// findStalls and threadActivity (analyze/thread-activity.ts): exact numbers on a hand-built
// bundle, and on the shipped investigation and a demo bundle checked against independent SQL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { findStalls, threadActivity } from '../analyze/thread-activity.ts';
import { BundleWriter, openBundle, opId, SOURCE, type Bundle } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-thread-activity-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const M = 1_000_000;
const INVESTIGATION = join(import.meta.dirname, '..', 'investigations', 'pytorch-dataloader-starvation.ingero');

/**
 * One feeding thread (tid 100) with every kind of stall at known times, in ms:
 * launch [0,1); preempted by hog [2,5); launch [6,7); sync [8,18) blocked inside [9,17);
 * fork of worker at 20; preempted [25,26); launch [30,31); GPU calls sampled over [40,100)
 * with launches at 50 and 90.
 */
async function writeBuiltBundle(path: string): Promise<void> {
  const w = BundleWriter.create(path, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero-test', version: '0', command: 'thread-activity' } });
  w.addProcess({ pid: 100, ppid: 1, start_ns: 0, comm: 'trainer' });
  w.addProcess({ pid: 200, ppid: 1, start_ns: 0, comm: 'hog' });
  w.addProcess({ pid: 300, ppid: 100, start_ns: 20 * M, end_ns: 25 * M, exit_code: 0, comm: 'worker' });
  w.addThread({ tid: 100, pid: 100, first_ns: 0, comm: 'main' });
  const launch = opId('cudaLaunchKernel');
  const sync = opId('cudaStreamSynchronize');
  const sched = opId('sched_switch');
  const ev = (ts: number, dur: number, op: number, extra: Record<string, number> = {}) => w.appendEvent({ ts_ns: ts * M, dur_ns: dur * M, pid: 100, tid: 100, op_id: op, ...extra });
  ev(0, 1, launch);
  ev(2, 3, sched, { arg0: 201, arg1: 200, arg2: 0 });
  ev(6, 1, launch);
  ev(8, 10, sync, { arg0: 0 });
  ev(9, 8, sched, { arg0: 0, arg1: 0, arg2: 1 });
  ev(20, 0, opId('process_fork'), { arg0: 300 });
  ev(25, 1, sched, { arg0: 201, arg1: 200, arg2: 0 });
  ev(30, 1, launch);
  ev(50, 1, launch);
  ev(90, 1, launch);
  w.addSampling({ source_id: SOURCE.cuda, from_ns: 40 * M, to_ns: 100 * M, policy: 'test-sample', note: 'GPU calls sampled' });
  await w.seal();
}

let built: Bundle;
let investigation: Bundle;
let demo: Bundle;

before(async () => {
  const builtPath = join(work, 'built.ingero');
  await writeBuiltBundle(builtPath);
  built = openBundle(builtPath);
  investigation = openBundle(INVESTIGATION);
  const demoPath = join(work, 'demo.ingero');
  await writeDemoBundle(demoPath, scenarioByName('dataloader-starvation')!, { seed: 3 });
  demo = openBundle(demoPath);
});
after(() => [built, investigation, demo].forEach((b) => b?.close()));

test('findStalls ranks every kind of stall of a built bundle with exact times', () => {
  const r = findStalls(built);
  assert.deepEqual(r.threads, [{ node_id: 0, pid: 100, tid: 100, process: 'trainer', thread: 'main', gpu_calls: 6, switches: 3 }]);
  const brief = r.stalls.map((s) => [s.kind, s.from_ns / M, s.dur_ns / M, s.state, s.off_cpu_ns === null ? null : s.off_cpu_ns / M]);
  assert.deepEqual(brief, [
    ['no-gpu-calls', 18, 12, null, 1],
    ['off-cpu', 9, 8, 'blocked', 8],
    ['on-cpu-no-gpu-calls', 18, 7, null, null],
    ['no-gpu-calls', 1, 5, null, 3],
    ['off-cpu', 2, 3, 'preempted', 3],
    ['no-gpu-calls', 7, 1, null, 0],
    ['off-cpu', 25, 1, 'preempted', 1],
  ].map(([k, f, d, s, o]) => [k, f, d, s, k === 'off-cpu' ? null : o]));
  const preempted = r.stalls.find((s) => s.kind === 'off-cpu' && s.from_ns === 2 * M)!;
  assert.deepEqual(preempted.ran_instead, { pid: 200, tid: 201, process: 'hog' });
  const gap = r.stalls[0]!;
  // The fork inside the gap, its child resolved to name and exit; the sync call that preceded it.
  assert.deepEqual(gap.during.map((e) => [e.op, e.child]), [['process_fork', { pid: 300, process: 'worker', end_ns: 25 * M, exit_code: 0 }]]);
  assert.match(gap.during[0]!.what, /forked pid 300 \(worker\), exited at 25000000 ns with 0/);
  assert.deepEqual(gap.before.map((e) => [e.op, e.ts_ns / M]), [['cudaStreamSynchronize', 8], ['cudaLaunchKernel', 6]]);
  assert.deepEqual(gap.after.map((e) => [e.op, e.ts_ns / M]), [['cudaLaunchKernel', 30]]);
  // The gaps over the sampled period are not ranked; the longest is named.
  assert.ok(!r.stalls.some((s) => s.from_ns >= 31 * M), 'no stall inside the sampled period');
  assert.ok(r.caveats.some((c) => c.includes('39.0 ms from 51000000 ns') && c.includes('sampled period')), r.caveats.join('\n'));
  assert.deepEqual(findStalls(built), r, 'deterministic');
  assert.deepEqual(findStalls(built, { limit: 2, kinds: ['off-cpu'] }).stalls.map((s) => s.from_ns / M), [9, 2]);
  assert.deepEqual(findStalls(built, { fromNs: 0, toNs: 8 * M }).stalls.map((s) => [s.kind, s.from_ns / M]), [['no-gpu-calls', 1], ['off-cpu', 2]], 'the gap from 7 ms ends with a call outside the range');
});

test('threadActivity splits a built thread\'s time into on-CPU, preempted, blocked and inside GPU calls', () => {
  const whole = threadActivity(built);
  const w = whole.threads[0]!.windows[0]!;
  assert.deepEqual({ ...w, off_cpu: { ...w.off_cpu } }, {
    from_ns: 0,
    to_ns: 91 * M + 1,
    observed_ns: 91 * M,
    on_cpu_ns: 79 * M,
    off_cpu: { preempted_ns: 4 * M, blocked_ns: 8 * M, unknown_ns: 0 },
    in_gpu_calls_ns: 15 * M,
    gpu_calls: 6,
    switches: 3,
    complete: false,
  });
  const tens = threadActivity(built, { windowNs: 10 * M }).threads[0]!.windows;
  assert.deepEqual(tens.slice(0, 3).map((x) => [x.observed_ns / M, x.on_cpu_ns! / M, x.off_cpu.preempted_ns / M, x.off_cpu.blocked_ns / M, x.in_gpu_calls_ns / M, x.complete]), [
    [10, 6, 3, 1, 4, true],
    [10, 3, 0, 7, 8, true],
    [10, 9, 1, 0, 0, true],
  ]);
  assert.equal(tens[5]!.complete, false, 'the window over the sampled period says so');
  // A window that starts inside the blocked interval counts the part of it that reaches in.
  const late = threadActivity(built, { fromNs: 12 * M, toNs: 20 * M }).threads[0]!.windows[0]!;
  assert.deepEqual([late.off_cpu.blocked_ns / M, late.in_gpu_calls_ns / M], [5, 6]);
});

test('on the shipped investigation the longest stall is the feeding thread off-CPU after the forks, as SQL says', () => {
  const db = investigation.db;
  const r = findStalls(investigation);
  const gpuTids = db.prepare("SELECT DISTINCT e.tid FROM events e JOIN ops o ON o.id = e.op_id JOIN sources s ON s.id = o.source_id WHERE s.layer IN ('CUDA', 'DRIVER', 'GRAPH') ORDER BY 1").pluck().all();
  assert.deepEqual(r.threads.map((t) => t.tid), gpuTids);
  const longest = db.prepare("SELECT id, ts_ns, dur_ns FROM events WHERE op_id = (SELECT id FROM ops WHERE name = 'sched_switch') AND tid = 2233 ORDER BY dur_ns DESC, id LIMIT 10").all() as { id: number; ts_ns: number; dur_ns: number }[];
  assert.deepEqual(r.stalls.map((s) => [s.kind, s.event_id, s.from_ns, s.dur_ns]), longest.map((e) => ['off-cpu', e.id, e.ts_ns, e.dur_ns]), 'every GPU gap is inside the sampled period, so the top ten are off-CPU rows');
  const top = r.stalls[0]!;
  assert.equal(top.state, 'unknown');
  assert.ok(top.cannot_show.some((c) => c.includes('prev_state is not recorded')));
  assert.ok(top.cannot_show.some((c) => c.includes('only a sample')));
  const fork = top.before.find((e) => e.op === 'process_fork')!;
  const child = db.prepare("SELECT e.arg0 AS pid, p.comm FROM events e JOIN processes p ON p.pid = e.arg0 WHERE e.op_id = (SELECT id FROM ops WHERE name = 'process_fork') AND e.pid = 2233 AND e.ts_ns < ? ORDER BY e.id DESC LIMIT 1").get(top.from_ns) as { pid: number; comm: string };
  assert.deepEqual([fork.child?.pid, fork.child?.process], [child.pid, child.comm]);
  assert.ok(r.caveats.some((c) => c.includes('sampled period')), 'says where the data is silent');
});

test('threadActivity on the shipped investigation matches SQL sums per 10 s window', () => {
  const from = 13_210_657_601;
  const r = threadActivity(investigation, { fromNs: from, windowNs: 10e9 });
  const windows = r.threads.find((t) => t.tid === 2233)!.windows;
  const sql = investigation.db.prepare(`
    SELECT (ts_ns - CAST(? AS INTEGER)) / 10000000000 AS w, count(*) AS n FROM events
    WHERE tid = 2233 AND op_id = (SELECT id FROM ops WHERE name = 'sched_switch') AND ts_ns >= ? GROUP BY 1`);
  for (const row of sql.all(from, from) as { w: number; n: number }[]) assert.equal(windows[row.w]!.switches, row.n, `switches in window ${row.w}`);
  const clipped = investigation.db.prepare(`
    SELECT sum(min(ts_ns + dur_ns, ?) - max(ts_ns, ?)) FROM events
    WHERE tid = 2233 AND op_id = (SELECT id FROM ops WHERE name = 'sched_switch') AND ts_ns < ? AND ts_ns + dur_ns > ?`).pluck();
  for (const w of windows) {
    assert.equal(w.off_cpu.unknown_ns, (clipped.get(w.to_ns, w.from_ns, w.to_ns, w.from_ns) as number | null) ?? 0, `off-CPU in window ${w.from_ns}`);
    assert.equal(w.off_cpu.preempted_ns + w.off_cpu.blocked_ns, 0, 'the import has no prev_state');
    assert.equal(w.on_cpu_ns, null, 'sched_switch is sampled throughout');
    assert.equal(w.complete, false);
  }
});

test('on a demo bundle the longest gap and off-CPU time agree with SQL', () => {
  const db = demo.db;
  const r = findStalls(demo, { kinds: ['no-gpu-calls'], limit: 1 });
  const tid = r.threads[0]!.tid;
  // Gaps between a thread's GPU calls: start minus the latest end of all earlier calls.
  const gap = db
    .prepare(`
      SELECT ts_ns - prev_end AS gap, prev_end FROM (
        SELECT e.id, e.ts_ns, max(e.ts_ns + e.dur_ns) OVER (ORDER BY e.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
        FROM events e JOIN ops o ON o.id = e.op_id JOIN sources s ON s.id = o.source_id
        WHERE e.tid = ? AND s.layer IN ('CUDA', 'DRIVER', 'GRAPH'))
      WHERE prev_end IS NOT NULL ORDER BY gap DESC, id LIMIT 1`)
    .get(tid) as { gap: number; prev_end: number };
  assert.deepEqual([r.stalls[0]!.from_ns, r.stalls[0]!.dur_ns], [gap.prev_end, gap.gap]);
  const a = threadActivity(demo, { windowNs: 5e9 });
  const t = a.threads.find((x) => x.tid === tid)!;
  const byState = db.prepare(`
    SELECT coalesce(sum(CASE WHEN arg2 = 0 THEN min(ts_ns + dur_ns, ?) - max(ts_ns, ?) END), 0) AS pre,
           coalesce(sum(CASE WHEN arg2 != 0 THEN min(ts_ns + dur_ns, ?) - max(ts_ns, ?) END), 0) AS blk
    FROM events WHERE tid = ? AND op_id = (SELECT id FROM ops WHERE name = 'sched_switch') AND ts_ns < ? AND ts_ns + dur_ns > ?`);
  for (const w of t.windows) {
    const s = byState.get(w.to_ns, w.from_ns, w.to_ns, w.from_ns, tid, w.to_ns, w.from_ns) as { pre: number; blk: number };
    assert.deepEqual([w.off_cpu.preempted_ns, w.off_cpu.blocked_ns], [s.pre, s.blk], `window ${w.from_ns}`);
    assert.equal(w.complete, true);
    assert.equal(w.on_cpu_ns, w.observed_ns - s.pre - s.blk);
  }
});
