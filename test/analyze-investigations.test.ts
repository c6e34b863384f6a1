// The analyzer on real data: the imported Ingero investigations (investigations/*.ingero). The
// findings must agree with what is known about each (test/fixtures/ingero-investigations and
// reference/ingero-db-format.md), and sampled data must never produce a throughput drop.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { explain, type ExplainOptions, type ExplainReport } from '../analyze/index.ts';
import { BundleWriter, opId, openBundle } from '../format/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ingero-analyze-inv-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

function report(name: string, opts: ExplainOptions = {}): ExplainReport | null {
  const path = join(ROOT, 'investigations', name);
  if (!existsSync(path)) return null;
  const b = openBundle(path);
  try {
    return explain(b, opts);
  } finally {
    b.close();
  }
}

function missing(name: string): string | false {
  const path = join(ROOT, 'investigations', name);
  if (existsSync(path)) return false;
  const why = `investigations/${name} is missing (run investigations/rebuild.sh)`;
  console.warn(`SKIP: ${why}`);
  return why;
}

test('dataloader starvation (pytorch/pytorch#154318): the worker phase from complete counts, and no worker blamed before it was forked', { skip: missing('pytorch-dataloader-starvation.ingero') }, () => {
  const r = report('pytorch-dataloader-starvation.ingero')!;
  const top = r.findings[0]!;
  // Launches per minute from op_aggregates (complete): 70 cuLaunchKernel in the 46.8 s before
  // 60 s, 5 in the 30 s after; the 8 workers are forked at 63.55–65.17 s and the host CPU is
  // 99 % busy from then on.
  assert.equal(top.kind, 'throughput-drop');
  assert.equal(top.pid, 2233);
  assert.equal(top.from_ns, 60e9);
  assert.ok(top.evidence.some((e) => e.kind === 'rate' && /complete counts from op_aggregates/.test(e.detail)), 'the rate says it stands on complete counts');
  assert.match(top.root_cause, /forked 8 child processes between 63\.55 s and 65\.17 s/);
  assert.match(top.root_cause, /99% busy/);
  assert.equal(top.confidence, 'medium', 'host CPU samples do not say who used the CPU');
  assert.ok(top.alternatives.some((a) => a.cause === 'preemption' && a.verdict === 'rejected' && /complete counts/.test(a.detail)), JSON.stringify(top.alternatives));
  // The 25.8 ms cudaLaunchKernel at 13.37 s is the process's third launch, 50 s before any
  // worker existed: no finding may blame workers for it.
  for (const f of r.findings) {
    if (f.to_ns < 63.5e9) assert.doesNotMatch(`${f.summary} ${f.root_cause}`, /worker|helper/, `${f.kind} blames workers that did not exist yet`);
  }
  assert.ok(r.imported_findings.length > 0, 'Ingero\'s own chains are listed apart');
});

test('dataloader starvation: the throughput drop, though its rates are complete counts, cites the stored events inside it (the forks, the longest off-CPU stretches)', { skip: missing('pytorch-dataloader-starvation.ingero') }, () => {
  const top = report('pytorch-dataloader-starvation.ingero')!.findings[0]!;
  assert.equal(top.kind, 'throughput-drop');
  const b = openBundle(join(ROOT, 'investigations', 'pytorch-dataloader-starvation.ingero'));
  try {
    const rows = (ids: readonly number[]) => b.db.prepare(`SELECT e.id, e.ts_ns, e.dur_ns, e.pid, e.tid, o.name FROM events e JOIN ops o ON o.id = e.op_id WHERE e.id IN (${ids.join(',')}) ORDER BY e.id`).all() as { id: number; ts_ns: number; dur_ns: number; pid: number; tid: number; name: string }[];
    const forks = top.evidence.find((e) => e.op === 'process_fork')!;
    // The 8 process_fork rows of pid 2233 at 63.55–65.17 s.
    const forkRows = rows(forks.event_ids ?? []);
    assert.equal(forkRows.length, 8);
    assert.ok(forkRows.every((r) => r.name === 'process_fork' && r.pid === 2233 && r.ts_ns >= 63.5e9 && r.ts_ns < 65.2e9), JSON.stringify(forkRows));
    const off = top.evidence.find((e) => e.kind === 'off-cpu' && e.event_ids)!;
    const offRows = rows(off.event_ids!);
    assert.equal(offRows.length, 5);
    assert.ok(offRows.every((r) => r.name === 'sched_switch' && r.tid === 2233 && r.ts_ns >= top.from_ns && r.ts_ns < top.to_ns), JSON.stringify(offRows));
    // The longest stored one of the thread in the drop is the 23.9 ms switch at 65.03 s.
    const longest = b.db.prepare("SELECT max(dur_ns) FROM events WHERE tid = 2233 AND ts_ns >= ? AND ts_ns < ? AND op_id = (SELECT id FROM ops WHERE name = 'sched_switch')").pluck().get(top.from_ns, top.to_ns) as number;
    assert.equal(Math.max(...offRows.map((r) => r.dur_ns)), longest);
    assert.match(off.detail, /stored sample of sched_switch/);
  } finally {
    b.close();
  }
});

test('dataloader starvation, 13–20 s: a copy share on the stored sample is a lower bound over the time the process was alive, not over the span of the stored calls', { skip: missing('pytorch-dataloader-starvation.ingero') }, () => {
  // After 10.7 s Ingero stored only anomalies and syncs: the 14 stored copies (441 ms, of 20
  // counted in op_aggregates' first minute) lie in 13.21–13.78 s, and the stored GPU calls span
  // 0.65 s, yet the process was alive through the whole window (its sched_switch rows run to 19.85 s).
  const r = report('pytorch-dataloader-starvation.ingero', { fromNs: 13e9, toNs: 20e9 })!;
  assert.ok(!r.findings.some((f) => f.kind === 'memcpy-bottleneck'), r.findings.map((f) => `${f.severity} ${f.kind}: ${f.summary}`).join('\n'));
  const low = report('pytorch-dataloader-starvation.ingero', { fromNs: 13e9, toNs: 20e9, thresholds: { memcpyShare: 0.05 } })!;
  const copy = low.findings.find((f) => f.kind === 'memcpy-bottleneck');
  assert.ok(copy, 'found with a 5 % threshold');
  const share = copy.evidence.find((e) => e.kind === 'share')!;
  assert.equal(share.values.stored_sample, 1);
  assert.equal(share.values.copy_ns, 441155025, 'the stored copies in the window');
  assert.equal(share.to_ns, 20e9, 'the span runs to the end of the window, where the process still lived');
  assert.ok(share.values.share! < 0.1, String(share.values.share));
  assert.match(share.detail, /at least .* lower bound from the stored sample/);
  assert.match(copy.summary, /at least/);
  assert.notEqual(copy.severity, 'HIGH');
});

for (const node of ['02', '03']) {
  test(`sample-gpu-node-${node}: a 50 ms sleep loop is not preemption, fast block IO is not interference`, { skip: missing(`sample-gpu-node-${node}.ingero`) }, () => {
    const r = report(`sample-gpu-node-${node}.ingero`)!;
    assert.ok(!r.findings.some((f) => ['scheduler-tail-latency', 'cpu-contention', 'io-interference', 'throughput-drop'].includes(f.kind)), r.findings.map((f) => f.kind).join(', '));
    assert.equal(r.findings.filter((f) => f.severity === 'HIGH').length, 0);
  });
}

test('sample-gpu-node-01 has no GPU calls left, and says so', { skip: missing('sample-gpu-node-01.ingero') }, () => {
  const r = report('sample-gpu-node-01.ingero')!;
  assert.equal(r.findings.filter((f) => f.severity !== 'LOW').length, 0);
  assert.ok(r.limitations.some((l) => /no CUDA or driver API calls/.test(l)));
});

test('sample-cluster: per-node analysis, no false claims on any node', { skip: missing('sample-cluster.ingero') }, () => {
  const r = report('sample-cluster.ingero')!;
  assert.equal(r.bundle.nodes.length, 3);
  assert.ok(!r.findings.some((f) => ['scheduler-tail-latency', 'cpu-contention', 'throughput-drop'].includes(f.kind)));
});

/** Steady launches at 1000/s for 30 s; after 10 s only every 50th is stored, as with Ingero's selective storage. */
async function sampledBundle(name: string, aggregates: 'none' | 'steady' | 'drop'): Promise<ExplainReport> {
  const path = join(work, name);
  const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'test', version: '0', command: 'test' } });
  const launch = opId('cudaLaunchKernel');
  w.addProcess({ pid: 10, comm: 'python3' });
  for (let i = 0; i < 30_000; i++) {
    const ts = i * 1e6;
    if (ts < 10e9 || i % 50 === 0) w.appendEvent({ ts_ns: ts, dur_ns: 5000 + (i % 7) * 100, pid: 10, tid: 10, op_id: launch });
  }
  w.addSampling({ from_ns: 10e9, policy: 'ingero-selective-storage', note: 'test' });
  if (aggregates !== 'none') {
    for (let b = 0; b < 6; b++) {
      const count = aggregates === 'drop' && b >= 3 && b < 5 ? 1000 : 5000;
      w.addAggregate({ bucket_ns: b * 5e9, width_ns: 5e9, op_id: launch, pid: 10, count, stored: b < 2 ? 5000 : 100, sum_dur_ns: count * 5000, min_dur_ns: 5000, max_dur_ns: 5600, sum_arg0: 0 });
    }
  }
  await w.seal();
  const b = openBundle(path);
  try {
    return explain(b);
  } finally {
    b.close();
  }
}

test('sampled launches without complete counts: no throughput drop, and the report says why', async () => {
  const r = await sampledBundle('sampled-none.ingero', 'none');
  assert.ok(!r.findings.some((f) => f.kind === 'throughput-drop'));
  assert.ok(r.limitations.some((l) => /cudaLaunchKernel/.test(l) && /not a drop/.test(l)));
});

test('sampled launches with steady complete counts: no throughput drop', async () => {
  const r = await sampledBundle('sampled-steady.ingero', 'steady');
  assert.ok(!r.findings.some((f) => f.kind === 'throughput-drop'));
});

test('sampled launches whose complete counts do drop: the drop is found from op_aggregates', async () => {
  const r = await sampledBundle('sampled-drop.ingero', 'drop');
  const drop = r.findings.find((f) => f.kind === 'throughput-drop');
  assert.ok(drop, 'drop found');
  assert.ok(drop.caveats.some((c) => /op_aggregates/.test(c)));
  assert.equal(drop.from_ns, 15e9);
});

test('a long call early on does not stretch the process past its last event into a phantom drop (Kineto AlexNet: a 29.9 s call, launches to 43.9 s)', async () => {
  // One 30 s runtime call at 1 s, then steady launches 1000/s from 31 s to 41 s, nothing after.
  const path = join(work, 'long-call.ingero');
  const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'test', version: '0', command: 'test' } });
  w.addProcess({ pid: 10, comm: 'python3' });
  w.appendEvent({ ts_ns: 1e9, dur_ns: 30e9, pid: 10, tid: 10, op_id: opId('cudaMalloc') });
  for (let i = 0; i < 10_000; i++) w.appendEvent({ ts_ns: 31e9 + i * 1e6, dur_ns: 5000, pid: 10, tid: 10, op_id: opId('cudaLaunchKernel') });
  w.appendEvent({ ts_ns: 41e9, dur_ns: 10e6, pid: 10, tid: 10, op_id: opId('cudaMalloc') });
  await w.seal();
  const b = openBundle(path);
  try {
    const r = explain(b);
    assert.ok(!r.findings.some((f) => f.kind === 'throughput-drop'), r.findings.map((f) => `${f.kind}: ${f.summary}`).join('\n'));
  } finally {
    b.close();
  }
});
