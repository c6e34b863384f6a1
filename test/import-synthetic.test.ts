// Importing what the real fixtures lack, from a v0.10+ database built here: events.comm, text
// ids, two nodes reusing a pid, CUDA Graph ops (including one with no name), TCP, NET, block IO,
// drain summaries, an unknown (source, op) pair, Python frames, an ips-only stack, all three
// chain id styles, event_aggregates_5s, annotations and pod cgroups. Also a live -wal beside the
// source, which must be read without creating anything next to it.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openBundle, opId, verifyBundle, type Bundle } from '../format/index.ts';
import { importIngeroDb, type ImportReport } from '../import/index.ts';
import { parseStack } from '../import/map-stacks.ts';
import { createV010, insertEvents, type EventSpec } from './ingero-db-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-import-synthetic-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const S = 1_000_000_000n;
const T0 = 1_775_000_000_123_456_789n; // above 2^53: any rounding shows in the exact-ns checks
const ORIGIN = 1_774_999_980n * S; // the 1-minute aggregate bucket holding T0 is the earliest instant
const H1 = -1_234_567_890_123_456_789n; // a negative hash, as half of Ingero's are
const U64_MAX_AS_SIGNED = -1n;

const EVENTS: EventSpec[] = [
  { id: 'alpha:1', ts: T0 + S, pid: 100, tid: 100, source: 1, op: 1, dur: 5000n, arg0: 1n << 20n, arg1: U64_MAX_AS_SIGNED, stackHash: H1, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:2', ts: T0 + 2n * S, pid: 100, tid: 100, source: 8, op: 1, dur: 100n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:3', ts: T0 + 2n * S + 1000n, pid: 100, tid: 100, source: 8, op: 4, dur: 700n, arg0: 0x1234n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:4', ts: T0 + 2n * S + 2000n, pid: 100, tid: 100, source: 8, op: 6, dur: 50n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:5', ts: T0 + 3n * S, pid: 100, tid: 101, source: 3, op: 1, dur: 1_000_000n, arg1: 200n, cgroup: 1n, node: 'alpha', comm: 'pt_worker' },
  { id: 'alpha:6', ts: T0 + 4n * S, pid: 100, tid: 100, source: 5, op: 1, dur: 2_000_000n, arg0: 8n, arg1: 12345n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:7', ts: T0 + 5n * S, pid: 100, tid: 100, source: 7, op: 2, dur: 3_000_000n, arg0: 5n, arg1: 4096n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:8', ts: T0 + 6n * S, pid: 100, tid: 100, source: 6, op: 1, gpuId: 4, arg0: (0x0a000001n << 32n) | 0x0a000002n, arg1: (443n << 16n) | 5555n, node: 'alpha' },
  { id: 'alpha:9', ts: T0 + 7n * S, pid: 100, tid: 100, source: 3, op: 20, arg0: 10n, arg1: 40960n, node: 'alpha' },
  { id: 'alpha:10', ts: T0 + 8n * S, pid: 100, tid: 100, source: 2, op: 9, arg0: 7n, node: 'alpha' },
  { id: 'alpha:11', ts: T0 + 9n * S, pid: 100, tid: 100, source: 3, op: 7, arg1: 101n, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'alpha:12', ts: T0 + 9n * S + 5n, pid: 100, tid: 100, source: 1, op: 3, dur: 4000n, arg0: 0x7f0011223344n, ret: 2, stackHash: H1, cgroup: 77n, node: 'alpha', comm: 'trainer' },
  { id: 'beta:1', ts: T0 + 41n * S, pid: 100, tid: 100, source: 4, op: 5, dur: 9000n, arg0: 4096n, stackHash: H1, node: 'beta', comm: 'other' },
  { id: 'beta:2', ts: T0 + 42n * S, pid: 0, tid: 0, source: 3, op: 2, arg1: 100n, node: 'beta' },
];

function populate(path: string) {
  const db = createV010(path);
  insertEvents(db, EVENTS);
  db.prepare('INSERT INTO stack_traces VALUES (?, ?, ?)').run(H1, '', JSON.stringify([{ pf: '/app/train.py', pfn: 'step', pl: 42 }, { s: 'cudaMalloc+0x1f3', f: 'libcudart.so.12' }, { i: '0x7f00deadbeef', f: 'libtorch.so' }]));
  db.prepare('INSERT INTO stack_traces VALUES (?, ?, ?)').run(42n, '["0x1000","0x2000"]', '');
  const session = db.prepare('INSERT INTO sessions (started_at, stopped_at, gpu_model, gpu_driver, cuda_ver, kernel, flags, node) VALUES (?,?,?,?,?,?,?,?)');
  session.run(T0, T0 + 30n * S, 'NVIDIA H100 80GB HBM3, 81559 MiB', '550.54.15', '12.4', '6.8.0', 'stack,record', 'alpha');
  session.run(T0 + 40n * S, T0 + 50n * S, 'NVIDIA H100 80GB HBM3, 81559 MiB', '550.54.15', '12.4', '6.8.0', 'stack,record-all', 'beta');
  db.prepare('INSERT INTO process_names VALUES (?, ?, ?)').run(100, 'python3', T0 + 10n * S);
  db.prepare('INSERT INTO process_names VALUES (?, ?, ?)').run(101, 'worker', T0 + 11n * S);
  db.prepare("INSERT INTO cgroup_metadata VALUES (77, 'abc123', '/kubepods/pod-x', 'trainer-pod', 'ml')").run();
  db.prepare('INSERT INTO cgroup_schedstat VALUES (77, 10, 100, 3, ?, ?), (77, 20, 900, 9, ?, ?)').run(T0, T0 + S, T0, T0 + 2n * S);
  const chain = db.prepare('INSERT INTO causal_chains VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)');
  chain.run('alpha:tail-high-cudaMalloc', T0 + 20n * S, 'HIGH', 'cudaMalloc slow', 'contention', 'why', '["pin cores","nice"]', 'cudaMalloc', 500, 5, 100.0, '[{"layer":"CUDA","op":"cudaMalloc","detail":"p99=500us","dur_us":500}]', 'alpha');
  chain.run('beta:graph-capture-oom', T0 + 45n * S, 'HIGH', 'graph capture OOM', 'oom', 'why', '', '', 0, 0, 0, '', '');
  chain.run('chain-001', T0 + 21n * S, 'MEDIUM', 'first tick', 'x', 'y', '[]', 'cuMemAlloc', 90, 10, 9.0, '[]', 'beta');
  chain.run('chain-002', T0 + 22n * S, 'MEDIUM', 'second tick', 'x', 'y', '[]', 'cuMemAlloc', 95, 10, 9.5, '[]', 'beta');
  chain.run('chain-003', T0 + 23n * S, 'LOW', 'other', 'x', 'y', 'not json', 'cuMemAlloc', 0, 0, 0, 'not json', 'beta');
  const agg = (table: string, bucket: bigint, count: number) => db.prepare(`INSERT INTO ${table} VALUES (?, 1, 3, 100, ?, 1, 4000, 4000, 4000, 0)`).run(bucket, count);
  agg('event_aggregates', ORIGIN, 1000);
  agg('event_aggregates_5s', 1_775_000_000n * S, 600);
  agg('event_aggregates_5s', 1_775_000_005n * S, 400);
  db.prepare('INSERT INTO annotations (timestamp, labels, pid, span_start, span_end, peer_pid) VALUES (?, ?, ?, ?, ?, ?)').run(T0 + 7n * S, '{"phase":"epoch-1"}', 100, T0 + 6n * S, T0 + 8n * S, 100);
  db.prepare('INSERT INTO annotations (timestamp, labels) VALUES (?, ?)').run(T0 + 9n * S, '{"note":"ckpt"}');
  const snap = db.prepare('INSERT INTO system_snapshots (timestamp, cpu_pct, mem_pct, mem_avail, swap_mb, load_avg) VALUES (?, ?, ?, ?, ?, ?)');
  snap.run(T0 + S, 50.5, 20.0, 1000, 2, 1.5);
  snap.run(T0 + 41n * S, 10.0, 30.0, 2000, 0, 0.5);
  return db;
}

describe('import of a synthetic v0.10+ database', () => {
  const source = join(work, 'synthetic-cluster.db');
  const out = join(work, 'synthetic.ingero');
  let report: ImportReport;
  let b: Bundle;
  const rel = (t: bigint) => Number(t - ORIGIN);
  const row = (sql: string, ...params: unknown[]) => b.db.prepare(sql).safeIntegers(true).get(...params) as Record<string, unknown>;

  before(async () => {
    populate(source).close();
    report = await importIngeroDb(source, out);
    b = openBundle(out);
  });
  after(() => b.close());

  test('detects v0.10+, verifies and keeps both nodes', () => {
    assert.equal(report.generation, 'v0.10+');
    assert.deepEqual(verifyBundle(out).problems, []);
    assert.deepEqual(report.nodes, ['alpha', 'beta']);
    assert.equal(b.manifest.time.origin_unix_ns, ORIGIN.toString());
    assert.equal(b.eventCount(), EVENTS.length);
  });

  test('times are exact to the ns, and end-stamped ops become start + duration', () => {
    const at = (op: string) => row('SELECT ts_ns, dur_ns FROM events WHERE op_id = ?', opId(op));
    assert.deepEqual(at('cudaMalloc'), { ts_ns: BigInt(rel(T0 + S)), dur_ns: 5000n });
    assert.deepEqual(at('sched_switch'), { ts_ns: BigInt(rel(T0 + 3n * S - 1_000_000n)), dur_ns: 1_000_000n });
    assert.deepEqual(at('block_read'), { ts_ns: BigInt(rel(T0 + 4n * S - 2_000_000n)), dur_ns: 2_000_000n });
    assert.deepEqual(at('net_recv'), { ts_ns: BigInt(rel(T0 + 5n * S - 3_000_000n)), dur_ns: 3_000_000n });
    assert.deepEqual(at('cudaGraphLaunch'), { ts_ns: BigInt(rel(T0 + 2n * S + 1000n)), dur_ns: 700n });
  });

  test('arguments land where the catalog says, 64-bit values intact', () => {
    const args = (op: number) => row('SELECT arg0, arg1, arg2, arg3, ret FROM events WHERE op_id = ?', op);
    assert.deepEqual(args(opId('cudaMalloc')), { arg0: 1048576n, arg1: -1n, arg2: null, arg3: null, ret: 0n });
    assert.deepEqual(args(opId('cudaLaunchKernel')), { arg0: 0x7f0011223344n, arg1: 0n, arg2: null, arg3: null, ret: 2n });
    assert.deepEqual(args(opId('sched_switch')), { arg0: null, arg1: null, arg2: null, arg3: 200n, ret: null });
    assert.deepEqual(args(opId('sched_wakeup')), { arg0: null, arg1: 100n, arg2: null, arg3: null, ret: null });
    assert.deepEqual(args(opId('process_fork')), { arg0: 101n, arg1: null, arg2: null, arg3: null, ret: null });
    assert.deepEqual(args(opId('tcp_retransmit')), { arg0: (0x0a000001n << 32n) | 0x0a000002n, arg1: (443n << 16n) | 5555n, arg2: 4n, arg3: null, ret: null });
    assert.deepEqual(args(opId('mm_page_alloc_summary')), { arg0: 10n, arg1: 40960n, arg2: null, arg3: null, ret: null });
    assert.deepEqual(args(opId('block_read')), { arg0: 8n, arg1: 12345n, arg2: null, arg3: null, ret: null });
    assert.deepEqual(args(opId('cudaGraphLaunch')), { arg0: 0x1234n, arg1: 0n, arg2: null, arg3: null, ret: 0n });
    assert.equal(report.anomalies.stray_args, 0);
  });

  test('unknown (source, op) pairs pass through as raw codes with placeholder names', () => {
    assert.equal(b.opName(8 * 256 + 6), 'op_8_6');
    assert.equal(b.opName(2 * 256 + 9), 'op_2_9');
    assert.deepEqual(row('SELECT arg0 FROM events WHERE op_id = ?', 2 * 256 + 9), { arg0: 7n });
  });

  test('Python and native frames stay distinct kinds; ips-only and unreferenced stacks survive', () => {
    const { stack_id } = row('SELECT stack_id FROM events WHERE op_id = ?', opId('cudaMalloc'));
    const frames = b.stack(Number(stack_id));
    assert.deepEqual(
      frames.map((f) => [f.kind, f.function, f.file, f.line, f.module, f.offset, f.address]),
      // Stored Python first (Ingero found no interpreter frame to merge before), imported leaf
      // first: cudaMalloc, called from libtorch, called from train.py's step.
      [
        ['native', 'cudaMalloc', null, null, 'libcudart.so.12', 0x1f3, null],
        ['native', null, null, null, 'libtorch.so', null, 0x7f00deadbeefn],
        ['python', 'step', '/app/train.py', 42, null, null, null],
      ],
    );
    const same = row('SELECT count(DISTINCT stack_id) AS n FROM events WHERE stack_id IS NOT NULL');
    assert.equal(same.n, 1n, 'one stack shared by the three events that reference it, across nodes');
    const ipsOnly = (b.db.prepare('SELECT DISTINCT stack_id FROM stack_frames WHERE stack_id != ?').pluck().all(Number(stack_id)) as number[]).map((id) => b.stack(id).map((f) => f.address));
    assert.deepEqual(ipsOnly, [[0x1000n, 0x2000n]]);
  });

  test('processes are keyed by (node, pid), named from events.comm first, with fork parents and pod cgroups', () => {
    const procs = b.db.prepare('SELECT n.name AS node, p.pid, p.ppid, p.comm, p.cgroup FROM processes p JOIN nodes n ON n.id = p.node_id ORDER BY 1, 2').all();
    assert.deepEqual(procs, [
      { node: 'alpha', pid: 100, ppid: null, comm: 'trainer', cgroup: '/kubepods/pod-x (container abc123, pod ml/trainer-pod)' },
      { node: 'alpha', pid: 101, ppid: 100, comm: 'worker', cgroup: '' },
      { node: 'beta', pid: 0, ppid: null, comm: '', cgroup: '' },
      { node: 'beta', pid: 100, ppid: null, comm: 'other', cgroup: '' },
    ]);
    assert.deepEqual(b.db.prepare("SELECT comm FROM threads WHERE tid = 101").pluck().all(), ['pt_worker']);
  });

  test('chains: new-style ids kept one each, chain-NNN folded by (node, op, severity), nothing lost', () => {
    const findings = b.db.prepare('SELECT n.name AS node, origin_id, severity, occurrences, summary, p50_ns, p99_ns, tail_ratio, recommendations, timeline FROM imported_findings f JOIN nodes n ON n.id = f.node_id ORDER BY origin_id').all() as Record<string, unknown>[];
    assert.deepEqual(
      findings.map((f) => [f.node, f.origin_id, f.occurrences]),
      [
        ['alpha', 'alpha:tail-high-cudaMalloc', 1],
        ['beta', 'beta:graph-capture-oom', 1],
        ['beta', 'chain-001 chain-002', 2],
        ['beta', 'chain-003', 1],
      ],
    );
    assert.equal(findings[0]!.p99_ns, 500_000);
    assert.equal(findings[0]!.recommendations, '["pin cores","nice"]');
    assert.equal(findings[1]!.p50_ns, null, 'a 0 from Ingero means "not measured"');
    assert.equal(findings[2]!.summary, 'second tick', 'a folded finding carries the latest instance');
    assert.equal(findings[3]!.recommendations, '["not json"]');
    assert.equal(findings[3]!.timeline, '[{"layer":"","op":"","detail":"not json"}]');
  });

  test('aggregates of both widths, annotations, snapshots and sampling per session', () => {
    assert.deepEqual(b.db.prepare('SELECT width_ns, bucket_ns, count FROM op_aggregates ORDER BY width_ns, bucket_ns').all(), [
      { width_ns: 5e9, bucket_ns: 20e9, count: 600 },
      { width_ns: 5e9, bucket_ns: 25e9, count: 400 },
      { width_ns: 60e9, bucket_ns: 0, count: 1000 },
    ]);
    const notes = b.db.prepare('SELECT ts_ns, end_ns, pid, labels FROM annotations ORDER BY ts_ns').all() as Record<string, unknown>[];
    assert.deepEqual(notes, [
      { ts_ns: rel(T0 + 6n * S), end_ns: rel(T0 + 8n * S), pid: 100, labels: '{"phase":"epoch-1","ingero.peer_pid":"100"}' },
      { ts_ns: rel(T0 + 9n * S), end_ns: null, pid: null, labels: '{"note":"ckpt"}' },
    ]);
    assert.deepEqual(b.db.prepare('SELECT n.name, s.mem_avail_bytes FROM system_samples s JOIN nodes n ON n.id = s.node_id ORDER BY ts_ns').raw().all(), [
      ['alpha', 1000 * 1024 * 1024],
      ['beta', 2000 * 1024 * 1024],
    ]);
    const selective = b.db.prepare("SELECT n.name, from_ns, to_ns FROM sampling s JOIN nodes n ON n.id = s.node_id WHERE policy = 'ingero-selective-storage'").raw().all();
    assert.deepEqual(selective, [['alpha', rel(T0 + 10n * S), rel(T0 + 30n * S)]], 'the record-all run (beta) is not selectively stored');
    const meta = b.metadata();
    assert.equal(meta['gpu.model'], 'NVIDIA H100 80GB HBM3');
    assert.equal(meta['gpu.memory_bytes'], 81559 * 1024 * 1024);
    assert.deepEqual(meta['ingero.cgroup_schedstat'], [{ cgroup_id: 77, p99_off_cpu: 20, total_off_cpu: 900, event_count: 9, window_start: T0.toString(), window_end: (T0 + 2n * S).toString() }]);
  });
});

test('a live -wal beside the source is read, and nothing new appears beside it', async () => {
  const dir = mkdtempSync(join(work, 'wal-'));
  const live = join(work, 'live.db');
  const db = populate(live);
  db.pragma('wal_autocheckpoint = 0');
  insertEvents(db, [{ id: 'alpha:99', ts: T0 + 12n * S, pid: 100, tid: 100, source: 1, op: 6, dur: 10n, node: 'alpha' }]);
  // Snapshot the files while the writer still holds them, as after a crash: the last rows live only in the WAL.
  copyFileSync(live, join(dir, 'live.db'));
  copyFileSync(`${live}-wal`, join(dir, 'live.db-wal'));
  db.close();
  const report = await importIngeroDb(join(dir, 'live.db'), join(work, 'live.ingero'));
  assert.equal(report.events, EVENTS.length + 1);
  assert.deepEqual(readdirSync(dir).sort(), ['live.db', 'live.db-wal']);
  assert.equal(existsSync(join(work, 'live.ingero.staging')), false);
});

test('mixed stacks come out leaf first: Python frames Ingero merged before an interpreter frame stay there, ones it put before native leaves go after them', () => {
  const names = (json: unknown[]) => parseStack(JSON.stringify(json), '').frames.map((f) => (f.kind === 'python' ? `py:${f.function!.name}` : (f.function?.name ?? f.mapping?.path)));
  const py = (pfn: string) => ({ pf: '/app/train.py', pfn, pl: 1 });
  const torch = { s: '_ZN2at6native5copy_ERNS_6TensorERKS1_b+0x57', f: 'libtorch_cpu.so' };
  assert.deepEqual(names([py('step'), py('<module>'), { s: 'cudaMemcpyAsync+0x10', f: 'libcudart.so.12' }, torch]), ['cudaMemcpyAsync', 'at::native::copy_(at::Tensor&, at::Tensor const&, bool)', 'py:step', 'py:<module>']);
  const interpreter = [{ s: 'cudaMalloc+0x1f3', f: 'libcudart.so.12' }, py('step'), py('<module>'), { s: '_PyEval_EvalFrameDefault+0x1a2', f: 'libpython3.11.so.1.0' }, { s: 'Py_RunMain+0x1', f: 'python3.11' }];
  assert.deepEqual(names(interpreter), ['cudaMalloc', 'py:step', 'py:<module>', '_PyEval_EvalFrameDefault', 'Py_RunMain']);
  const unresolved = [py('step'), { i: '0x7f00deadbeef' }];
  assert.deepEqual(parseStack(JSON.stringify(unresolved), '').frames.map((f) => f.kind), ['native', 'python'], 'unresolved native leaves (the process had exited) are leaves too');
  assert.deepEqual(names([{ s: 'f+0x1', f: 'a.so' }, py('step')]), ['f', 'py:step'], 'already leaf first');
});

test('oversized traced strings are cut to the bundle limits, so the bundle still verifies', async () => {
  const path = join(work, 'hostile.db');
  const db = createV010(path);
  const huge = (n: number) => 'x'.repeat(n);
  insertEvents(db, [{ id: 'h:1', ts: T0, pid: 5, tid: 5, source: 1, op: 1, dur: 10n, stackHash: 9n, node: 'h', comm: huge(10_000) }]);
  db.prepare('INSERT INTO stack_traces VALUES (9, ?, ?)').run('', JSON.stringify([{ s: `${huge(10_000)}+0x10`, f: huge(5000) }, { pf: huge(5000), pfn: 'f', pl: 1 }]));
  db.prepare('INSERT INTO sessions (started_at, gpu_model, node) VALUES (?, ?, ?)').run(T0, huge(2_000_000), 'h');
  db.prepare("INSERT INTO causal_chains VALUES ('h:x', ?, 'HIGH', ?, '', '', ?, 'cudaMalloc', 0, 0, 0, '', 'h')").run(T0, huge(2_000_000), JSON.stringify([huge(2_000_000)]));
  db.prepare('INSERT INTO annotations (timestamp, labels) VALUES (?, ?)').run(T0, JSON.stringify({ a: huge(100_000), b: 'kept?' }));
  db.close();
  const out = join(work, 'hostile.ingero');
  await importIngeroDb(path, out);
  assert.deepEqual(verifyBundle(out).problems, []);
  const b = openBundle(out);
  try {
    const [frame] = b.stack(1);
    assert.ok(frame!.function!.endsWith('…') && Buffer.byteLength(frame!.function!) <= 4096);
    assert.equal(b.db.prepare('SELECT octet_length(comm) FROM processes').pluck().get(), 4096);
  } finally {
    b.close();
  }
});

test('an events row with a source code outside 0-255 is reported as damage', async () => {
  const path = join(work, 'bad-code.db');
  const db = createV010(path);
  insertEvents(db, [{ id: 'b:1', ts: T0, pid: 5, tid: 5, source: 300, op: 1, node: 'b' }]);
  db.close();
  const out = join(work, 'bad-code.ingero');
  await assert.rejects(importIngeroDb(path, out), /source 300, op 1, outside Ingero's 0-255 codes/);
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(`${out}.staging`), false);
});
