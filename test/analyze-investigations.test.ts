// The analyzer on real data: the imported Ingero investigations (investigations/*.ingero). The
// findings must agree with what is known about each (test/fixtures/ingero-investigations and
// reference/ingero-db-format.md), and sampled data must never produce a throughput drop.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { explain, type ExplainReport } from '../analyze/index.ts';
import { BundleWriter, opId, openBundle } from '../format/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ingero-analyze-inv-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

function report(name: string): ExplainReport | null {
  const path = join(ROOT, 'investigations', name);
  if (!existsSync(path)) return null;
  const b = openBundle(path);
  try {
    return explain(b);
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

test('dataloader starvation (pytorch/pytorch#154318): CPU starvation of the launch thread by DataLoader workers', { skip: missing('pytorch-dataloader-starvation.ingero') }, () => {
  const r = report('pytorch-dataloader-starvation.ingero')!;
  const top = r.findings[0]!;
  assert.equal(top.kind, 'scheduler-tail-latency');
  assert.equal(top.op, 'cudaLaunchKernel');
  assert.equal(top.pid, 2233);
  assert.equal(top.p99_ns, 25799899);
  assert.ok(Math.abs(top.p50_ns - 73_000) < 1_000, `p50 ≈ 73 µs, got ${top.p50_ns}`);
  assert.match(top.root_cause, /pt_data_worker/);
  assert.notEqual(top.severity, 'HIGH', 'inferred, not observed: never HIGH');
  assert.ok(top.caveats.some((c) => /sample/.test(c)), 'says the events are a sample');
  assert.ok(top.caveats.some((c) => /Not observed directly/.test(c)));
  assert.ok(!r.findings.some((f) => f.kind === 'throughput-drop'), 'no throughput drop from sampled launches');
  assert.ok(r.limitations.some((l) => /not judged/.test(l) && /sample/.test(l)));
  assert.ok(r.imported_findings.length > 0, 'Ingero\'s own chains are listed apart');
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
