// Slow individual calls against the steady state (analyze/findings/slow-call.ts), on bundles
// written here with known calls: the baseline says what it stands on (every call, complete
// counts, or the stored sample), each call is cited by id with its thread and what happened
// around it, and a call another finding explains is not claimed again.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { explain, type ExplainReport } from '../analyze/index.ts';
import { BundleWriter, opId, openBundle } from '../format/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ingero-slow-call-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const LAUNCH = opId('cudaLaunchKernel');
const SCHED = opId('sched_switch');

interface Shape {
  /** Store only every 20th launch after 1 s, as a sampling recorder does. */
  readonly sampled?: 'with-aggregates' | 'without-aggregates';
  /** Extra slow launches (a tail rather than individual calls). */
  readonly tail?: number;
}

/**
 * 2000 launches of 10–16 µs over 4 s by thread 11 of pid 10; launch 1000 (at 2 s) takes 30 ms,
 * 25 ms of it off-CPU, preempted by pid 99.
 */
async function bundle(name: string, shape: Shape = {}): Promise<{ report: ExplainReport; slowId: number; switchId: number }> {
  const path = join(work, name);
  const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'test', version: '0', command: 'test' } });
  w.addProcess({ pid: 10, comm: 'python3' });
  w.addProcess({ pid: 99, comm: 'stress' });
  let id = 0;
  let slowId = 0;
  let switchId = 0;
  let sum = 0;
  for (let i = 0; i < 2000; i++) {
    const ts = 1e6 + i * 2e6;
    const slow = i === 1000 || (shape.tail !== undefined && i % Math.floor(2000 / shape.tail) === 7);
    const d = i === 1000 ? 30e6 : slow ? 15e6 : 10_000 + (i % 7) * 1000;
    sum += d;
    const stored = !shape.sampled || ts < 1e9 || i % 20 === 0 || slow;
    if (stored) {
      w.appendEvent({ ts_ns: ts, dur_ns: d, pid: 10, tid: 11, op_id: LAUNCH, arg0: 0x7f00 });
      id++;
      if (i === 1000) slowId = id;
    }
    if (i === 1000) {
      w.appendEvent({ ts_ns: ts + 2e6, dur_ns: 25e6, pid: 10, tid: 11, op_id: SCHED, arg0: 99, arg1: 99, arg2: 0 });
      switchId = ++id;
    }
  }
  if (shape.sampled) {
    w.addSampling({ from_ns: 1e9, policy: 'test-every-20th', note: 'test', op_id: LAUNCH });
    if (shape.sampled === 'with-aggregates') w.addAggregate({ bucket_ns: 0, width_ns: 5e9, op_id: LAUNCH, pid: 10, count: 2000, stored: id - 1, sum_dur_ns: sum, min_dur_ns: 10_000, max_dur_ns: 30e6, sum_arg0: 0 });
  }
  await w.seal();
  const b = openBundle(path);
  try {
    return { report: explain(b), slowId, switchId };
  } finally {
    b.close();
  }
}

test('every call stored: the slow launch is cited with its thread, its time and the preemption inside it, against the p50 of all calls', async () => {
  const { report, slowId, switchId } = await bundle('complete.ingero');
  const f = report.findings.find((x) => x.kind === 'slow-call');
  assert.ok(f, report.findings.map((x) => x.kind).join(', '));
  assert.equal(f.op, 'cudaLaunchKernel');
  const call = f.evidence.find((e) => e.kind === 'slow-call')!;
  assert.deepEqual(call.event_ids, [slowId, switchId]);
  assert.equal(call.values.dur_ns, 30e6);
  assert.equal(call.values.tid, 11);
  assert.equal(call.from_ns, 1e6 + 1000 * 2e6);
  assert.equal(call.values.baseline_ns, 13_000, 'the p50 of the 2000 stored launches');
  assert.match(call.detail, /p50 of all 2,000 calls/);
  assert.match(f.root_cause, /off-CPU 25\.0 ms .*runnable but preempted.*stress \(pid 99\)/);
  assert.equal(f.confidence, 'high');
  assert.equal(f.impact_ns, 30e6 - 13_000);
  assert.deepEqual(f.caveats.filter((c) => /sample/.test(c)), []);
});

test('sampled launches with complete counts: the baseline is the mean of the other calls from op_aggregates', async () => {
  const { report, slowId } = await bundle('aggregates.ingero', { sampled: 'with-aggregates' });
  const f = report.findings.find((x) => x.kind === 'slow-call')!;
  const call = f.evidence.find((e) => e.kind === 'slow-call')!;
  assert.ok(call.event_ids!.includes(slowId));
  // (sum of all 2000 − the 30 ms one) / 1999, rounded.
  const others = (Array.from({ length: 2000 }, (_, i) => (i === 1000 ? 0 : 10_000 + (i % 7) * 1000)).reduce((a, b) => a + b, 0)) / 1999;
  assert.equal(call.values.baseline_ns, Math.round(others));
  assert.match(call.detail, /mean of the other 1,999 calls \(complete counts from op_aggregates/);
  assert.ok(!f.caveats.some((c) => /steady state .* comes from the stored sample/.test(c)));
});

test('sampled launches without complete counts: the baseline is the stored p50, and the finding says so', async () => {
  const { report } = await bundle('sample-only.ingero', { sampled: 'without-aggregates' });
  const f = report.findings.find((x) => x.kind === 'slow-call')!;
  assert.match(f.evidence.find((e) => e.kind === 'slow-call')!.detail, /stored calls \(a sample\)/);
  assert.ok(f.caveats.some((c) => /comes from the stored sample, which over-represents slow calls/.test(c)), f.caveats.join('\n'));
});

test('many slow calls are a tail, not individual calls: no slow-call finding', async () => {
  const { report } = await bundle('tail.ingero', { tail: 100 });
  assert.ok(!report.findings.some((x) => x.kind === 'slow-call'), report.findings.map((x) => x.kind).join(', '));
});

test('a slow call another finding explains is not claimed twice: the preempted launch under a 1 ms stall threshold belongs to the stall', async () => {
  const path = join(work, 'complete.ingero');
  const b = openBundle(path);
  try {
    const r = explain(b, { thresholds: { stallNs: 1e6 } });
    assert.ok(r.findings.some((x) => x.kind === 'gpu-thread-stall'), r.findings.map((x) => x.kind).join(', '));
    assert.ok(!r.findings.some((x) => x.kind === 'slow-call'));
    const ids = r.findings.flatMap((x) => x.evidence.flatMap((e) => [...new Set(e.event_ids ?? [])].map((id) => `${id}`)));
    const perFinding = r.findings.map((x) => new Set(x.evidence.flatMap((e) => e.event_ids ?? [])));
    for (let i = 0; i < perFinding.length; i++) for (let j = i + 1; j < perFinding.length; j++) assert.deepEqual([...perFinding[i]!].filter((id) => perFinding[j]!.has(id)), [], `findings ${i} and ${j} share events`);
    assert.ok(ids.length > 0);
  } finally {
    b.close();
  }
});

test('windowed: a slow call is judged only inside the window, against the steady state of the window\'s calls', () => {
  const b = openBundle(join(work, 'aggregates.ingero'));
  try {
    // In one second the 25 ms preemption is 2.5 % CPU contention, which owns it: judged without it.
    const noContention = { contentionShare: 1, highContentionShare: 1 };
    const within = explain(b, { fromNs: 1.5e9, toNs: 2.5e9 });
    assert.ok(within.findings.some((x) => x.kind === 'cpu-contention') && !within.findings.some((x) => x.kind === 'slow-call'), 'the preemption is the contention\'s symptom');
    const inside = explain(b, { fromNs: 1.5e9, toNs: 2.5e9, thresholds: noContention }).findings.find((x) => x.kind === 'slow-call');
    assert.ok(inside, 'the 30 ms launch at 2 s is in 1.5–2.5 s');
    assert.match(inside.evidence[0]!.detail, /mean of the other 1,999 calls/, 'complete counts of the whole recording');
    assert.ok(!explain(b, { fromNs: 2.5e9, thresholds: noContention }).findings.some((x) => x.kind === 'slow-call'), 'not after 2.5 s');
  } finally {
    b.close();
  }
});

test('dataloader starvation: the 25.8 ms first cudaLaunchKernel at 13.37 s is a slow call against the complete-count mean of the other 29, a first call', { skip: existsSync(join(ROOT, 'investigations', 'pytorch-dataloader-starvation.ingero')) ? false : 'investigations/pytorch-dataloader-starvation.ingero is missing (run investigations/rebuild.sh)' }, () => {
  const b = openBundle(join(ROOT, 'investigations', 'pytorch-dataloader-starvation.ingero'));
  try {
    const f = explain(b).findings.find((x) => x.kind === 'slow-call' && x.op === 'cudaLaunchKernel')!;
    assert.ok(f, 'found');
    const call = f.evidence[0]!;
    assert.deepEqual(call.event_ids, [31]);
    // op_aggregates: 30 cudaLaunchKernel of pid 2233 summing 28.03 ms; without the 25.8 ms call, 29 averaging 77 µs.
    const agg = b.db.prepare("SELECT sum(count) AS n, sum(sum_dur_ns) AS ns FROM op_aggregates WHERE pid = 2233 AND op_id = (SELECT id FROM ops WHERE name = 'cudaLaunchKernel')").get() as { n: number; ns: number };
    assert.equal(call.values.baseline_ns, Math.round((agg.ns - 25799899) / (agg.n - 1)));
    assert.match(call.detail, /first stored cudaLaunchKernel call/);
    assert.equal(f.severity, 'LOW');
    assert.doesNotMatch(`${f.summary} ${f.root_cause}`, /worker/);
  } finally {
    b.close();
  }
});
