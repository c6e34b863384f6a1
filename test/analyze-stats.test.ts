// Exact statistics: every percentile equals a brute-force nearest-rank computation over the
// same events, per op and per process; thresholds and timeline behave as documented.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { computeStats, explain, parseThresholdArgs, resolveThresholds, scenarioByName, timeline, writeDemoBundle } from '../analyze/index.ts';
import { BundleWriter, opId, openBundle, type Bundle } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-analyze-stats-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
let bundle: Bundle;
before(async () => {
  await writeDemoBundle(join(work, 'mix.ingero'), scenarioByName('gpu-contention')!, { seed: 5 });
  bundle = openBundle(join(work, 'mix.ingero'));
});
after(() => {
  bundle?.close();
  rmSync(work, { recursive: true, force: true });
});

function bruteForce(durations: number[]) {
  const s = [...durations].sort((a, b) => a - b);
  const at = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
  return { count: s.length, total_ns: s.reduce((a, b) => a + b, 0), min_ns: s[0], p50_ns: at(0.5), p90_ns: at(0.9), p95_ns: at(0.95), p99_ns: at(0.99), p999_ns: at(0.999), max_ns: s[s.length - 1] };
}

test('per-op percentiles are exact (nearest rank) against a brute-force computation', () => {
  const report = computeStats(bundle);
  assert.equal(report.events, bundle.eventCount());
  assert.equal(report.ops.reduce((s, o) => s + o.count, 0), bundle.eventCount());
  for (const o of report.ops) {
    const durations = bundle.db.prepare('SELECT dur_ns FROM events WHERE op_id = ?').pluck().all(o.op_id) as number[];
    const want = bruteForce(durations);
    for (const [k, v] of Object.entries(want)) assert.equal((o as unknown as Record<string, number>)[k], v, `${o.op} ${k}`);
    assert.equal(o.op, bundle.opName(o.op_id));
  }
});

test('per-process percentiles are exact too, and name the process', () => {
  const report = computeStats(bundle);
  const pids = new Set(report.by_process.map((p) => p.pid));
  assert.ok(pids.has(4711) && pids.has(5120), 'both GPU processes');
  for (const p of report.by_process.filter((r) => r.count > 100)) {
    const durations = bundle.db.prepare('SELECT dur_ns FROM events WHERE op_id = ? AND pid = ? AND node_id = ?').pluck().all(p.op_id, p.pid, p.node_id) as number[];
    const want = bruteForce(durations);
    assert.equal(p.p50_ns, want.p50_ns);
    assert.equal(p.p99_ns, want.p99_ns);
    assert.equal(p.p999_ns, want.p999_ns);
    assert.equal(p.total_ns, want.total_ns);
  }
  assert.equal(report.by_process.find((p) => p.pid === 5120)!.process, 'python3');
});

test('a hand-built bundle gives the exact numbers', async () => {
  const path = join(work, 'tiny.ingero');
  const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'test', version: '0', command: 'test' } });
  const durs = [5, 1, 4, 2, 3, 100, 7, 6, 9, 8];
  durs.forEach((d, i) => w.appendEvent({ ts_ns: i * 1000, dur_ns: d, pid: 1, tid: 1, op_id: opId('cudaMalloc') }));
  await w.seal();
  const b = openBundle(path);
  try {
    const s = computeStats(b).ops[0]!;
    assert.deepEqual([s.count, s.total_ns, s.min_ns, s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns, s.mean_ns], [10, 145, 1, 5, 9, 100, 100, 15]);
    assert.equal(s.op, 'cudaMalloc');
    assert.equal(s.source, 'cuda');
  } finally {
    b.close();
  }
});

test('timeline: per-second counts add up to the op totals and percentiles are exact per window', () => {
  const launch = opId('cudaLaunchKernel');
  const t = timeline(bundle, { opIds: [launch], pids: [4711] });
  assert.equal(t.window_ns, 1e9);
  const series = t.series[0]!;
  assert.equal(series.op, 'cudaLaunchKernel');
  const total = computeStats(bundle).by_process.find((p) => p.pid === 4711 && p.op_id === launch)!.count;
  assert.equal(series.points.reduce((s, p) => s + p.count, 0), total);
  const p = series.points[5]!;
  const inWindow = bundle.db.prepare('SELECT dur_ns FROM events WHERE op_id = ? AND pid = 4711 AND ts_ns >= ? AND ts_ns < ?').pluck().all(launch, p.t_ns, p.t_ns + 1e9) as number[];
  assert.equal(p.count, inWindow.length);
  assert.equal(p.p99_ns, bruteForce(inWindow).p99_ns);
  assert.throws(() => timeline(bundle, { windowNs: 10 }), /at most/);
});

test('thresholds: defaults, overrides, and clear errors for unknown names or bad values', () => {
  assert.equal(resolveThresholds().tailRatio, 3);
  assert.equal(resolveThresholds({ tailRatio: 5 }).tailRatio, 5);
  assert.throws(() => resolveThresholds({ nope: 1 }), /unknown threshold "nope"/);
  assert.throws(() => parseThresholdArgs(['tailRatio']), /name=value/);
  assert.throws(() => parseThresholdArgs(['tailRatio=abc']), /must be a number/);
  // Raising the contention bar above what the data shows silences the finding.
  const loud = explain(bundle).findings.filter((f) => f.kind === 'gpu-contention' && f.severity === 'HIGH');
  assert.ok(loud.length > 0);
  const quiet = explain(bundle, { thresholds: { gpuSlowdown: 100 } }).findings.filter((f) => f.kind === 'gpu-contention' && f.severity === 'HIGH');
  assert.equal(quiet.length, 0);
  assert.equal(explain(bundle, { thresholds: { gpuSlowdown: 100 } }).thresholds.gpuSlowdown, 100);
});
