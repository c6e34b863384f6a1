// ingero export as a user runs it: the real CLI writes Chrome JSON traces of real bundles (the
// investigation, the valid spec vectors, synthetic multi-node and overlapping bundles written
// with BundleWriter), and each trace is parsed back and held against the bundle: every event
// exactly once with its exact times, names, categories and decoded arguments; proper nesting on
// every track (what Perfetto's importer needs); distinct tracks per node; names, counters and
// findings; and the output file whole or absent.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertOneLineError, runCli } from './cli-fixtures.ts';
import Database from 'better-sqlite3';
import { BundleWriter, openBundle, opId, packDims, type Bundle, type EventRecord } from '../format/index.ts';
import { writeContainer } from '../format/seal.ts';
import { ESTIMATED_BYTES_PER_EVENT, estimateExport } from '../analyze/perfetto-export.ts';

const root = join(import.meta.dirname, '..');
const vectors = join(root, 'spec', 'vectors');
const work = mkdtempSync(join(tmpdir(), 'ingero-export-test-'));
const cache = join(work, 'cache');
process.env.INGERO_CACHE_DIR = cache;
after(() => rmSync(work, { recursive: true, force: true }));

const ingero = (...args: string[]) => runCli(args, { cacheDir: cache });


interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  pid?: number;
  tid?: number;
  ts?: number;
  dur?: number;
  s?: string;
  /** Async slices (annotations): b and e events pair by cat, name and id. */
  id?: string | number;
  /** Flow ends: "e" binds to the enclosing slice. */
  bp?: string;
  args?: Record<string, any>;
}

interface ParsedTrace {
  displayTimeUnit: string;
  events: TraceEvent[];
  /** ts and dur of each event in ns, read from the JSON text (not through a double). */
  tsNs: (bigint | undefined)[];
  durNs: (bigint | undefined)[];
  metadata: Record<string, any>;
}

/** A decimal number of µs as written, to exact ns; refuses exponents and sub-ns digits. */
function nsOf(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,3}))?$/.exec(text);
  assert.ok(m, `exact decimal µs, got ${text}`);
  const ns = BigInt(m[2]!) * 1000n + BigInt((m[3] ?? '').padEnd(3, '0'));
  return m[1] ? -ns : ns;
}

function parseTrace(text: string): ParsedTrace {
  const whole = JSON.parse(text);
  const lines = text.split('\n');
  assert.equal(lines[0], '{"displayTimeUnit":"ns","traceEvents":[', 'displayTimeUnit first, where Perfetto looks for it');
  const end = lines.indexOf('],');
  const eventLines = lines.slice(1, end);
  assert.equal(eventLines.length, whole.traceEvents.length, 'one trace event per line');
  const raw = (line: string, key: string) => {
    const m = new RegExp(`"${key}":(-?[0-9.eE+]+)`).exec(line);
    return m ? nsOf(m[1]!) : undefined;
  };
  return {
    displayTimeUnit: whole.displayTimeUnit,
    events: whole.traceEvents,
    tsNs: eventLines.map((l) => raw(l, 'ts')),
    durNs: eventLines.map((l) => raw(l, 'dur')),
    metadata: whole.metadata,
  };
}

function exportTrace(bundlePath: string, ...flags: string[]): ParsedTrace {
  const out = join(work, `t-${Math.random().toString(36).slice(2)}.json`);
  const r = ingero('export', bundlePath, '-o', out, ...flags);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^wrote .*: [\d,]+ events .* overflow lane.* in [\d.]+ s/m);
  assert.equal(existsSync(`${out}.tmp`), false);
  const trace = parseTrace(readFileSync(out, 'utf8'));
  rmSync(out);
  return trace;
}

/** Every complete event on one (pid, tid) track must nest: Perfetto drops partial overlaps. */
function assertProperNesting(t: ParsedTrace): void {
  const tracks = new Map<string, { start: bigint; end: bigint; i: number }[]>();
  t.events.forEach((e, i) => {
    if (e.ph !== 'X') return;
    const key = `${e.pid}/${e.tid}`;
    if (!tracks.has(key)) tracks.set(key, []);
    tracks.get(key)!.push({ start: t.tsNs[i]!, end: t.tsNs[i]! + t.durNs[i]!, i });
  });
  for (const [key, slices] of tracks) {
    slices.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : a.i - b.i));
    const open: bigint[] = [];
    for (const s of slices) {
      while (open.length && open[open.length - 1]! <= s.start) open.pop();
      assert.ok(!open.length || open[open.length - 1]! >= s.end, `track ${key}: event ${JSON.stringify(t.events[s.i])} partially overlaps an enclosing one ending at ${open[open.length - 1]} ns`);
      open.push(s.end);
    }
  }
}

const MEMCPY_KINDS = ['H2H', 'H2D', 'D2H', 'D2D', 'default'];
const hex = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;
const dims = (v: bigint) => {
  const u = BigInt.asUintN(64, v);
  return `${u & 0xffffffffn},${(u >> 32n) & 0xffffn},${(u >> 48n) & 0xffffn}`;
};

/**
 * The trace holds exactly the given events of the bundle (all of them by default), each once,
 * as it should be written; and its tracks name the real process and thread.
 */
function assertEventsMatch(bundle: Bundle, t: ParsedTrace, expected: Iterable<EventRecord> = bundle.events()): number {
  const byId = new Map<number, number>();
  t.events.forEach((e, i) => {
    if (e.ph !== 'X' && !(e.ph === 'i' && e.s === 't')) return;
    const id = e.args?.event_id;
    assert.ok(Number.isInteger(id), `event_id in ${JSON.stringify(e)}`);
    assert.equal(byId.has(id), false, `event ${id} written twice`);
    byId.set(id, i);
  });
  const processes = new Map(t.events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args!]));
  const threads = new Map(t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [`${e.pid}/${e.tid}`, e.args!]));
  const nodes = new Map((bundle.db.prepare('SELECT id, name FROM nodes').all() as { id: number; name: string }[]).map((n) => [n.id, n.name]));
  const argNames = new Map<string, string>();
  const argUnits = new Map<string, string>();
  for (const r of bundle.db.prepare('SELECT op_id, arg, name, unit FROM op_args').all() as { op_id: number; arg: number; name: string; unit: string }[]) {
    argNames.set(`${r.op_id}/${r.arg}`, r.name);
    argUnits.set(`${r.op_id}/${r.arg}`, r.unit);
  }
  // Schema 2: names and kernels that arguments point at, and the corr_id of each event.
  const hasTable = (name: string) => bundle.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
  const names = new Map(hasTable('names') ? (bundle.db.prepare('SELECT id, name FROM names').raw().all() as [number, string][]) : []);
  const kernels = new Map(hasTable('gpu_kernels') ? (bundle.db.prepare('SELECT id, name FROM gpu_kernels').raw().all() as [number, string][]) : []);
  const corr = new Map(bundle.db.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'corr_id'").get() ? (bundle.db.prepare('SELECT id, corr_id FROM events WHERE corr_id IS NOT NULL').raw().all() as [number, number][]) : []);
  let n = 0;
  for (const ev of expected) {
    n++;
    const i = byId.get(ev.id);
    assert.ok(i !== undefined, `event ${ev.id} missing from the trace`);
    byId.delete(ev.id);
    const e = t.events[i]!;
    assert.equal(t.tsNs[i], BigInt(ev.ts_ns), `event ${ev.id} ts`);
    if (ev.dur_ns > 0) {
      assert.equal(e.ph, 'X');
      assert.equal(t.durNs[i], BigInt(ev.dur_ns), `event ${ev.id} dur`);
    } else {
      assert.equal(e.ph, 'i');
      assert.equal(e.s, 't');
    }
    const op = bundle.ops().get(ev.op_id);
    const opName = bundle.opName(ev.op_id);
    assert.equal(e.cat, op?.source ?? `source_${Math.floor(ev.op_id / 256)}`);
    const namingArg = [0, 1, 2, 3].find((k) => ['name', 'kernel'].includes(argUnits.get(`${ev.op_id}/${k}`) ?? ''));
    const naming = namingArg === undefined ? null : [ev.arg0, ev.arg1, ev.arg2, ev.arg3][namingArg]!;
    if (opName === 'sched_switch') {
      assert.equal(e.name, ev.arg2 === null ? 'off-CPU' : ev.arg2 === 0n ? 'off-CPU (preempted)' : 'off-CPU (blocked)');
      assert.equal(e.args!.op, 'sched_switch');
    } else if (naming !== null) {
      // Named after the kernel or name an argument points at; the op stays in args.
      const unit = argUnits.get(`${ev.op_id}/${namingArg}`);
      assert.equal(e.name, (unit === 'kernel' ? kernels : names).get(Number(naming)), `event ${ev.id} named after its ${unit}`);
      assert.equal(e.args!.op, opName);
    } else {
      assert.equal(e.name, opName);
    }
    assert.equal(e.args!.corr_id, corr.get(ev.id), `corr_id of event ${ev.id}`);
    [ev.arg0, ev.arg1, ev.arg2, ev.arg3].forEach((v, k) => {
      const name = argNames.get(`${ev.op_id}/${k}`);
      if (v === null) return assert.equal(e.args![name ?? `arg${k}`], undefined, `unused arg${k} of event ${ev.id} written`);
      if (name === undefined) return assert.equal(BigInt(e.args![`arg${k}`]), v);
      const got = e.args![name];
      const unit = argUnits.get(`${ev.op_id}/${k}`);
      if (unit === 'kernel') {
        assert.equal(e.args![`${name}_id`], Number(v), `${name} of event ${ev.id}`);
        if (k !== namingArg) assert.equal(got, kernels.get(Number(v)));
      } else if (unit === 'name') assert.equal(got, names.get(Number(v)), `${name} of event ${ev.id}`);
      else if (unit === 'packed' && name === 'kind') assert.match(got, /^\w+ \(\w+ → \w+\)$/, `copy kind of event ${ev.id}`);
      else if (unit === 'pointer') assert.equal(got, hex(v), `${name} of event ${ev.id}`);
      else if (name === 'grid' || name === 'block') assert.equal(got, dims(v));
      else if (unit === 'packed') assert.equal(got, hex(v), `${name} of event ${ev.id}`);
      else if (name === 'kind') assert.equal(got, MEMCPY_KINDS[Number(v)] ?? Number(v));
      else if (name === 'prev_state') assert.equal(typeof got, 'string');
      else if (name === 'ports' || name === 'addrs') assert.equal(typeof got, 'string');
      else assert.equal(BigInt(got), v, `${name} of event ${ev.id}`);
    });
    if (ev.ret !== null) assert.equal(e.args!.ret, ev.ret);
    if (ev.stack_id !== null) {
      assert.equal(e.args!.stack_id, ev.stack_id);
      assert.deepEqual(e.args!.stack.length, Math.min(64, bundle.stack(ev.stack_id).length));
    }
    const proc = processes.get(e.pid);
    assert.ok(proc, `process_name for pid ${e.pid}`);
    if (op?.source === 'gpu') {
      // GPU work goes by device and stream (its pid and tid are 0); cuda_sync to the device's waits track.
      assert.equal(proc.device, ev.arg2 === null ? null : Number(ev.arg2), `device of event ${ev.id}'s track`);
      assert.equal(proc.node, nodes.get(ev.node_id));
      const thread = threads.get(`${e.pid}/${e.tid}`);
      assert.ok(thread, `thread_name for ${e.pid}/${e.tid}`);
      assert.equal(thread.stream, opName === 'cuda_sync' || ev.arg3 === null ? null : Number(ev.arg3), `stream of event ${ev.id}'s track`);
      continue;
    }
    assert.equal(proc.pid, ev.pid, `real pid of event ${ev.id}'s track`);
    assert.equal(proc.node, nodes.get(ev.node_id));
    assert.match(proc.name, new RegExp(`\\(pid ${ev.pid}\\)`));
    const thread = threads.get(`${e.pid}/${e.tid}`);
    assert.ok(thread, `thread_name for ${e.pid}/${e.tid}`);
    assert.equal(thread.tid, ev.tid, `real tid of event ${ev.id}'s track`);
  }
  assert.deepEqual([...byId.keys()], [], 'events in the trace that the filter excludes');
  assert.equal(t.metadata.export.events, n);
  return n;
}

function assertIdsDistinct(t: ParsedTrace): void {
  const pids = t.events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid);
  assert.equal(new Set(pids).size, pids.length, 'one process_name per JSON pid');
  const tids = t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid);
  assert.equal(new Set(tids).size, tids.length, 'JSON tids are unique across processes (Perfetto names threads by tid)');
  for (const e of t.events) if (e.pid !== undefined) assert.ok(Number.isInteger(e.pid) && e.pid >= 0 && e.pid < 2 ** 32 && e.tid! >= 0 && e.tid! < 2 ** 32, 'JSON ids are unsigned 32-bit');
}

/**
 * Exports a bundle whole and holds the trace to it: every stored event once and exact, complete
 * events properly nested, track ids distinct. Returns the trace and the number of events matched.
 */
function exportWholeChecked(bundlePath: string, ...flags: string[]): { t: ParsedTrace; events: number } {
  const t = exportTrace(bundlePath, ...flags);
  const bundle = openBundle(bundlePath);
  let events: number;
  try {
    events = assertEventsMatch(bundle, t);
    assert.equal(events, bundle.eventCount());
  } finally {
    bundle.close();
  }
  assertProperNesting(t);
  assertIdsDistinct(t);
  return { t, events };
}

describe('ingero export of real bundles', () => {
  test('the pytorch investigation: every event once, exact, nested; findings as global instants', () => {
    const path = join(root, 'investigations', 'pytorch-dataloader-starvation.ingero');
    const t = exportTrace(path);
    assert.equal(t.displayTimeUnit, 'ns');
    const bundle = openBundle(path);
    try {
      assert.equal(assertEventsMatch(bundle, t), bundle.eventCount());
      assert.equal(t.metadata.origin_unix_ns, bundle.manifest.time.origin_unix_ns);
      assert.deepEqual(t.metadata.counts, bundle.manifest.counts);
      assert.equal(t.metadata.capture.sampled, true);
      const samples = bundle.db.prepare('SELECT count(*) FROM system_samples').pluck().get() as number;
      assert.ok(samples > 0);
      assert.equal(t.events.filter((e) => e.ph === 'C' && e.name === 'cpu').length, samples, 'one cpu counter per host sample');
    } finally {
      bundle.close();
    }
    assertProperNesting(t);
    assertIdsDistinct(t);
    const findings = t.events.filter((e) => e.cat === 'finding');
    assert.ok(findings.length > 0, 'the analyzer finds the starvation');
    for (const f of findings) {
      assert.equal(f.ph, 'i');
      assert.equal(f.s, 'g');
      assert.match(f.args!.severity, /^(HIGH|MEDIUM|LOW)$/);
      assert.ok(f.args!.summary && f.args!.root_cause && Array.isArray(f.args!.evidence));
      assert.ok(f.args!.evidence.every((x: { event_ids: unknown }) => Array.isArray(x.event_ids)));
    }
    const imported = t.events.filter((e) => e.cat === 'imported-finding');
    assert.ok(imported.length > 0);
    assert.ok(imported.every((e) => e.ph === 'i' && e.s === 'g' && /another tool/.test(e.args!.origin) && /^\[imported /.test(e.name)));
    const main = t.events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args!.tid === 2233);
    assert.equal(main?.args!.name, 'python3');
    const none = exportTrace(path, '--no-findings');
    assert.equal(none.events.filter((e) => e.cat === 'finding').length, 0, '--no-findings skips the analysis');
    assert.equal(none.events.filter((e) => e.cat === 'imported-finding').length, imported.length, 'stored findings cost nothing and stay');
    assert.equal(none.metadata.export.findings, false);
  });

  const expected = JSON.parse(readFileSync(join(vectors, 'expected.json'), 'utf8')) as Record<string, { ok?: boolean; events?: number }>;
  for (const [name, v] of Object.entries(expected).filter(([, v]) => v.ok)) {
    test(`spec vector ${name}`, () => {
      assert.equal(exportWholeChecked(join(vectors, name)).events, v.events);
    });
  }

  test('multi-node-sampled: pid 100 on both nodes gets two tracks; imported finding and counters', () => {
    const t = exportTrace(join(vectors, 'multi-node-sampled.ingero'));
    const procs = t.events.filter((e) => e.ph === 'M' && e.name === 'process_name' && e.args!.pid === 100);
    assert.equal(procs.length, 2);
    assert.notEqual(procs[0]!.pid, procs[1]!.pid);
    assert.deepEqual(procs.map((p) => / \(pid 100\) on (node-[ab])$/.exec(p.args!.name)?.[1]).sort(), ['node-a', 'node-b']);
    assert.ok(t.events.some((e) => e.ph === 'C'));
    assert.ok(t.events.some((e) => e.cat === 'imported-finding' && e.args!.origin_id));
    // The vector's one annotation, a span of pid 100 on node-a: an async slice on that process.
    const spans = t.events.filter((e) => e.cat === 'annotation');
    assert.deepEqual(spans.map((e) => [e.ph, e.ts, e.name, e.args!.labels.phase]), [['b', 1, 'phase=epoch 1', 'epoch 1'], ['e', 400, 'phase=epoch 1', 'epoch 1']]);
    assert.equal(spans[0]!.pid, procs.find((p) => p.args!.name.endsWith('on node-a'))!.pid);
    assert.equal(spans[0]!.id, spans[1]!.id);
    assert.equal(t.metadata.nodes.length, 2);
    assert.equal(t.metadata.capture.dropped, 12);
  });
});

// A synthetic two-node bundle: the same pid on both nodes, named threads, every kind of argument,
// events sharing a start time, partial overlaps, instants, stacks, host samples, a stored finding.
const synthetic = join(work, 'synthetic.ingero');
const PID = 4242;
const expectations = {
  /** ts -> exact text expected in the JSON */
  times: [
    [1234567, '1234.567'],
    [2_000_000, '2000'],
    [98765432101234, '98765432101.234'],
  ] as const,
};

before(async () => {
  mkdirSync(work, { recursive: true });
  const w = BundleWriter.create(synthetic, { originUnixNs: 1767225600000000000n, producer: { name: 'test', version: '1', command: 'export test' }, nodeName: 'gpu-a' });
  w.addNode(1, 'gpu-b');
  for (const node of [0, 1]) {
    w.addProcess({ node_id: node, pid: PID, comm: node === 0 ? 'trainer' : 'trainer-b' });
    w.addThread({ node_id: node, tid: PID, pid: PID, first_ns: 0, comm: 'main' });
    w.addThread({ node_id: node, tid: PID + 1, pid: PID, first_ns: 0, comm: 'loader' });
    w.addSystemSample({ node_id: node, ts_ns: 1_000_000, cpu_pct: 97.5, mem_pct: 40, mem_avail_bytes: 1 << 30, swap_bytes: 0, load1: 3.25 });
    w.addSystemSample({ node_id: node, ts_ns: 2_000_000, cpu_pct: 12, mem_pct: null, load1: 1 });
  }
  const stack = w.internStack([
    { kind: 'python', function: { name: 'train_step', filename: 'train.py' }, line: 42 },
    { kind: 'native', address: 0x7f00_0000_1234n, mapping: { path: '/usr/lib/libcudart.so.12' }, function: { name: 'cudaLaunchKernel' } },
  ]);
  const launch = opId('cudaLaunchKernel');
  const e = (o: Parameters<typeof w.appendEvent>[0]) => w.appendEvent(o);
  for (const node of [0, 1]) {
    // Partial overlap on the main thread: [10, 50) µs and [30, 80) µs.
    e({ node_id: node, ts_ns: 10_000, dur_ns: 40_000, pid: PID, tid: PID, op_id: opId('cudaStreamSynchronize'), arg0: 0n, ret: 0 });
    e({ node_id: node, ts_ns: 30_000, dur_ns: 50_000, pid: PID, tid: PID, op_id: opId('cudaMemcpyAsync'), arg0: 64n << 20n, arg1: 1n, arg2: 0xdeadbeefn, ret: 0 });
    e({ node_id: node, ts_ns: 35_000, dur_ns: 5_000, pid: PID, tid: PID, op_id: launch, arg0: 0xffff_8000_1234_5678n, arg1: 7n, arg2: packDims(1024, 2, 3), arg3: packDims(256, 1, 1), stack_id: stack, ret: 0 });
    // Same start, the longer one second in id order: it must enclose, not overflow.
    e({ node_id: node, ts_ns: 100_000, dur_ns: 1_000, pid: PID, tid: PID, op_id: opId('cuLaunchKernel'), arg0: 1n, arg1: 0n, arg2: packDims(1, 1, 1), arg3: packDims(32, 1, 1) });
    e({ node_id: node, ts_ns: 100_000, dur_ns: 9_000, pid: PID, tid: PID, op_id: launch, arg0: 2n, arg1: 0n, arg2: packDims(8, 1, 1), arg3: packDims(64, 1, 1) });
    // Off-CPU intervals of the loader, preempted then blocked, and instants.
    e({ node_id: node, ts_ns: 20_000, dur_ns: 3_000, pid: PID, tid: PID + 1, op_id: opId('sched_switch'), arg0: 99n, arg1: 99n, arg2: 0n });
    e({ node_id: node, ts_ns: 40_000, dur_ns: 7_000, pid: PID, tid: PID + 1, op_id: opId('sched_switch'), arg0: 0n, arg1: 0n, arg2: 1n });
    e({ node_id: node, ts_ns: 45_000, dur_ns: 0, pid: PID, tid: PID + 1, op_id: opId('process_fork'), arg0: 5000n });
  }
  for (const [ts] of expectations.times) e({ ts_ns: ts, dur_ns: 1, pid: PID, tid: PID + 1, op_id: opId('cudaFree'), arg0: 0x10n, ret: 2 });
  // The loader's tid again, in another process (tid reuse): Perfetto names threads by tid alone.
  w.addProcess({ pid: 5000, comm: 'other' });
  e({ ts_ns: 60_000, dur_ns: 2_000, pid: 5000, tid: PID + 1, op_id: opId('cudaDeviceSynchronize') });
  w.addImportedFinding({ origin: 'ingero-go causal_chains', origin_id: 'c1', node_id: 1, detected_ns: 50_000, severity: 'HIGH', op: 'cudaMemcpyAsync', summary: 'copy "stall"</script>\n', recommendations: ['pin memory'] });
  await w.seal();
});

describe('ingero export of a synthetic multi-node bundle', () => {
  test('every event exact; same pid on two nodes gets two tracks; overlaps go to named overflow lanes', () => {
    const { t } = exportWholeChecked(synthetic, '--no-findings');
    const procs = t.events.filter((e) => e.ph === 'M' && e.name === 'process_name' && e.args!.pid === PID);
    assert.deepEqual(procs.map((p) => p.args!.name).sort(), [`trainer (pid ${PID}) on gpu-a`, `trainer-b (pid ${PID}) on gpu-b`]);
    assert.notEqual(procs[0]!.pid, procs[1]!.pid);
    // One overflow lane per node: the copy that starts inside the sync and ends after it.
    const lanes = t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && / \(overlap \d+\)$/.test(e.args!.name));
    assert.equal(lanes.length, 2);
    assert.equal(t.metadata.export.overflow_lanes, 2);
    for (const lane of lanes) {
      assert.equal(lane.args!.name, 'main (tid 4242) (overlap 1)');
      const on = t.events.filter((e) => e.pid === lane.pid && e.tid === lane.tid && e.ph === 'X');
      assert.deepEqual(on.map((e) => e.name), ['cudaMemcpyAsync']);
      assert.equal(on[0]!.args!.kind, 'H2D');
      assert.equal(on[0]!.args!.bytes, 64 << 20);
      assert.equal(on[0]!.args!.stream, '0xdeadbeef');
    }
    const launches = t.events.filter((e) => e.name === 'cudaLaunchKernel' && e.args!.func === '0xffff800012345678');
    assert.equal(launches.length, 2);
    assert.equal(launches[0]!.args!.grid, '1024,2,3');
    assert.equal(launches[0]!.args!.block, '256,1,1');
    assert.deepEqual(launches[0]!.args!.stack, ['train_step (train.py:42)', 'cudaLaunchKernel (libcudart.so.12)']);
    const offCpu = t.events.filter((e) => e.name.startsWith('off-CPU'));
    assert.deepEqual(offCpu.map((e) => e.name).sort(), ['off-CPU (blocked)', 'off-CPU (blocked)', 'off-CPU (preempted)', 'off-CPU (preempted)']);
    assert.ok(offCpu.every((e) => e.cat === 'host' && e.args!.next_tid !== undefined && typeof e.args!.prev_state === 'string'));
    const names = new Set(t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name));
    assert.ok(names.has('loader (tid 4243)') && names.has('main (tid 4242)'), [...names].join(', '));
    const reused = t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args!.tid === PID + 1);
    assert.equal(reused.length, 3, 'tid 4243 in pid 4242 on both nodes and in pid 5000 on gpu-a');
    // Counters: one host process per node, one counter event per metric present.
    const hosts = t.events.filter((e) => e.ph === 'M' && e.name === 'process_name' && /^host \(/.test(e.args!.name));
    assert.deepEqual(hosts.map((h) => h.args!.name).sort(), ['host (gpu-a)', 'host (gpu-b)']);
    for (const h of hosts) {
      const counters = t.events.filter((e) => e.ph === 'C' && e.pid === h.pid);
      assert.deepEqual(counters.map((c) => `${c.ts} ${c.name} ${JSON.stringify(c.args)}`), [
        '1000 cpu {"%":97.5}',
        '1000 memory {"%":40}',
        `1000 memory available {"bytes":${1 << 30}}`,
        '1000 swap {"bytes":0}',
        '1000 load {"1 min":3.25}',
        '2000 cpu {"%":12}',
        '2000 load {"1 min":1}',
      ]);
    }
    // The stored finding is data: quotes, markup and newlines survive as text.
    const imported = t.events.find((e) => e.cat === 'imported-finding')!;
    assert.equal(imported.args!.summary, 'copy "stall"</script>\n');
    assert.deepEqual(imported.args!.recommendations, ['pin memory']);
    assert.equal(imported.args!.node, 'gpu-b');
  });

  test('times are exact decimal µs built from the integer ns', () => {
    const text = ingero('export', synthetic, '-o', '-', '--no-findings');
    assert.equal(text.code, 0, text.stderr);
    for (const [ns, us] of expectations.times) {
      assert.match(text.stdout, new RegExp(`"ts":${us.replace('.', '\\.')},"dur":0\\.001,"name":"cudaFree"`), `${ns} ns`);
    }
  });

  test('filters: --from/--to, --pid and --node select exactly the matching events', () => {
    const bundle = openBundle(synthetic);
    try {
      // --from 0.02ms .. --to 0.05ms on the bundle clock (ts_ns), not counted from the first event.
      assert.ok(bundle.manifest.time.start_ns > 0, 'the first event is after the origin, so the two clocks differ');
      const from = 20_000;
      const to = 50_000;
      const windowed = exportTrace(synthetic, '--no-findings', '--from', '0.02ms', '--to', '0.05ms');
      // Events starting in the window, and those begun before it and still running in it.
      const inWindow = [...bundle.events({ toNs: to })].filter((e) => e.ts_ns >= from || e.ts_ns + e.dur_ns > from);
      assert.ok(inWindow.some((e) => e.ts_ns < from && bundle.opName(e.op_id) === 'cudaStreamSynchronize'), 'the sync begun before the window is in it');
      assertEventsMatch(bundle, windowed, inWindow);
      assertProperNesting(windowed);
      assert.equal(windowed.metadata.export.from_ns, from);
      const node = exportTrace(synthetic, '--no-findings', '--node', 'gpu-b');
      assertEventsMatch(bundle, node, bundle.events({ nodeId: 1 }));
      assert.ok(node.events.every((e) => e.ph !== 'C' || e.pid === node.events.find((m) => m.ph === 'M' && m.args?.name === 'host (gpu-b)')!.pid));
      const byId = exportTrace(synthetic, '--no-findings', '--node', '0', '--pid', `${PID},77`, '--pid', '78');
      assertEventsMatch(bundle, byId, bundle.events({ nodeId: 0, pids: [PID] }));
      // The size warning counts what the filters select.
      assert.deepEqual(estimateExport(bundle, { nodeId: 0, pids: [PID] }), { events: byId.metadata.export.events, bytes: byId.metadata.export.events * ESTIMATED_BYTES_PER_EVENT });
      assert.equal(estimateExport(bundle).events, bundle.eventCount());
    } finally {
      bundle.close();
    }
  });

  test('-o - writes the trace to stdout and the summary to stderr', () => {
    const r = ingero('export', synthetic, '-o', '-', '--no-findings');
    assert.equal(r.code, 0, r.stderr);
    const t = parseTrace(r.stdout);
    assert.ok(t.events.length > 0);
    assert.match(r.stderr, /^wrote stdout: 20 events/);
  });
});

describe('ingero export refuses and cleans up', () => {
  test('an existing output is refused without --force and replaced with it', () => {
    const out = join(work, 'existing.json');
    writeFileSync(out, 'keep me');
    const r = ingero('export', synthetic, '-o', out, '--no-findings');
    assert.equal(r.code, 1);
    assertOneLineError(r, /existing\.json exists — pass --force/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    const forced = ingero('export', synthetic, '-o', out, '--no-findings', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok(parseTrace(readFileSync(out, 'utf8')).events.length > 0);
  });

  test('a directory as output is refused before any work', () => {
    const r = ingero('export', synthetic, '-o', work, '--force', '--no-findings');
    assert.equal(r.code, 1);
    assertOneLineError(r, /is a directory — give a file name/);
    assert.equal(existsSync(`${work}.tmp`), false);
  });

  test('an output in a missing directory is one line, exit 1, nothing written', () => {
    const dir = join(work, 'no', 'such');
    const r = ingero('export', synthetic, '-o', join(dir, 'x.json'), '--no-findings');
    assert.equal(r.code, 1);
    assertOneLineError(r, /does not exist — create it/);
    assert.equal(existsSync(join(work, 'no')), false);
  });

  /** A copy of a bundle whose database was edited with SQL, in a valid container (its manifest cannot tell). */
  function hostileCopy(source: string, name: string, edit: string): string {
    const b = openBundle(source);
    const manifest = structuredClone(b.manifest) as any;
    const dbPath = join(work, `${name}.sqlite`);
    copyFileSync(b.databasePath, dbPath);
    b.close();
    const db = new Database(dbPath);
    db.exec(edit);
    db.close();
    const dbBytes = readFileSync(dbPath);
    manifest.database = { ...manifest.database, bytes: dbBytes.length, sha256: createHash('sha256').update(dbBytes).digest('hex') };
    const path = join(work, `${name}.ingero`);
    writeContainer(dbPath, path, JSON.stringify(manifest), { compressionLevel: 3, frameBytes: 4 << 20 });
    rmSync(dbPath);
    return path;
  }

  test('a failure after output was written removes the temporary file', async () => {
    // Enough events to flush several chunks, then one whose end lies beyond 2^53 ns.
    const sound = join(work, 'sound.ingero');
    const w = BundleWriter.create(sound, { originUnixNs: 0n, producer: { name: 'test', version: '1', command: 'export test' } });
    for (let i = 0; i < 20_001; i++) w.appendEvent({ ts_ns: i * 1000, dur_ns: 500, pid: 1, tid: 1, op_id: opId('cudaMalloc'), arg0: BigInt(i), arg1: 0x1000n });
    await w.seal();
    const bad = hostileCopy(sound, 'bad-late', `UPDATE events SET dur_ns = ${2 ** 53} WHERE id = 20001`);
    const dir = join(work, 'late');
    mkdirSync(dir);
    const r = ingero('export', bad, '-o', join(dir, 'x.json'), '--no-findings');
    assert.equal(r.code, 1);
    assertOneLineError(r, /event 20001 .* beyond 2\^53 ns/);
    assert.deepEqual(readdirSync(dir), [], 'neither the output nor its temporary file is left');
  });

  test('text, blobs and reals in integer columns are refused in one line', () => {
    for (const [name, edit] of [
      ['text-arg', "UPDATE events SET arg2 = 'zz' WHERE id = 7"],
      ['real-arg', 'UPDATE events SET arg0 = 1.5 WHERE id = 7'],
      ['blob-pid', "UPDATE events SET pid = X'00ff' WHERE id = 7"],
      ['text-ret', "UPDATE events SET ret = 'r' WHERE id = 7"],
    ]) {
      const r = ingero('export', hostileCopy(join(vectors, 'cuda-basic.ingero'), name!, edit!), '-o', '-', '--no-findings');
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assertOneLineError(r, /event 7 holds text, a blob or a real number/);
    }
  });

  test('a missing or corrupt bundle is one line, exit 1, nothing written', () => {
    const out = join(work, 'never.json');
    const missing = ingero('export', join(vectors, 'nope.ingero'), '-o', out);
    assert.equal(missing.code, 1);
    assertOneLineError(missing, /no such file/);
    const corrupt = ingero('export', join(vectors, 'truncated.ingero'), '-o', out);
    assert.equal(corrupt.code, 1);
    assertOneLineError(corrupt, /truncated/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.tmp`), false);
  });

  test('wrong arguments exit 2 with one line', () => {
    for (const args of [
      ['--pid', 'abc'],
      ['--from', '5m', '--to', '1m'],
      ['--node', 'gpu-z'],
      ['--from', 'soon'],
    ]) {
      const r = ingero('export', synthetic, '-o', join(work, 'w.json'), ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assertOneLineError(r, /--pid|--to|--node|--from/);
    }
    const self = ingero('export', synthetic, '-o', synthetic, '--force');
    assert.equal(self.code, 2);
    assert.ok(existsSync(synthetic));
  });
});

describe('the GPU side and on-CPU samples', () => {
  const kineto = (n: string) => join(root, 'test', 'fixtures', 'kineto', n);
  const alexnet = join(work, 'alexnet.ingero');
  const ranks = join(work, 'ranks.ingero');
  before(async () => {
    const { importKinetoTraces } = await import('../import/index.ts');
    await importKinetoTraces([kineto('alexnet-a100.json.gz')], alexnet);
    // Two ranks of one job: two nodes, each with its GPUs and its own corr_id space.
    await importKinetoTraces([kineto('sampled-128rank-rank0.json.gz'), kineto('sampled-128rank-rank1.json.gz')], ranks);
  });

  const GPU_WORK = ['kernel', 'memcpy', 'memset'].map((n) => opId(n));

  /** GPU tracks, slices per stream, and every flow joining a launch to work with its corr_id. */
  function assertGpuSide(path: string, t: ParsedTrace): void {
    const bundle = openBundle(path);
    try {
      const nodes = new Map((bundle.db.prepare('SELECT id, name FROM nodes').all() as { id: number; name: string }[]).map((n) => [n.id, n.name]));
      const gpuProcs = new Map(t.events.filter((e) => e.ph === 'M' && e.name === 'process_name' && /^GPU /.test(e.args!.name)).map((e) => [e.pid!, e.args!]));
      const streams = new Map(t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && gpuProcs.has(e.pid!)).map((e) => [`${e.pid}/${e.tid}`, e.args!]));
      // Slices per (node, device, stream) in the trace, counted by their track's names.
      const got = new Map<string, number>();
      for (const e of t.events) {
        if (e.ph !== 'X' || !gpuProcs.has(e.pid!) || (e.args!.op ?? e.name) === 'cuda_sync') continue;
        const p = gpuProcs.get(e.pid!)!;
        const key = `${p.node}/${p.device}/${streams.get(`${e.pid}/${e.tid}`)!.stream}`;
        got.set(key, (got.get(key) ?? 0) + 1);
      }
      const want = new Map(
        (bundle.db.prepare(`SELECT node_id, arg2, arg3, count(*) AS n FROM events WHERE op_id IN (${GPU_WORK.join(',')}) AND dur_ns > 0 GROUP BY 1, 2, 3`).all() as { node_id: number; arg2: number; arg3: number; n: number }[]).map((r) => [`${nodes.get(r.node_id)}/${r.arg2}/${r.arg3}`, r.n]),
      );
      assert.ok(want.size > 1, 'several streams');
      assert.deepEqual(got, want, 'slices per node, GPU and stream');
      for (const [, p] of gpuProcs) assert.equal(p.name, `GPU ${p.device}${nodes.size > 1 ? ` on ${p.node}` : ''}`);

      // Flows: one start and one end per id; the start on the launching call's slice, the end on
      // the GPU work's, both with the same corr_id on the same node.
      const slicesAt = new Map<string, TraceEvent[]>();
      for (const e of t.events) if (e.ph === 'X') slicesAt.set(`${e.pid}/${e.tid}/${e.ts}`, [...(slicesAt.get(`${e.pid}/${e.tid}/${e.ts}`) ?? []), e]);
      const byId = new Map<number, TraceEvent[]>();
      for (const e of t.events) if (e.ph === 's' || e.ph === 'f') byId.set(Number(e.id), [...(byId.get(Number(e.id)) ?? []), e]);
      const nodeOf = (e: TraceEvent) => (gpuProcs.get(e.pid!)?.node ?? t.events.find((m) => m.ph === 'M' && m.name === 'process_name' && m.pid === e.pid)!.args!.node) as string;
      const joined = new Set<string>();
      for (const [id, pair] of byId) {
        assert.deepEqual(pair.map((e) => e.ph).sort(), ['f', 's'], `flow ${id}: one start, one end`);
        const s = pair.find((e) => e.ph === 's')!;
        const f = pair.find((e) => e.ph === 'f')!;
        assert.equal(f.bp, 'e', 'the end binds to the slice enclosing it');
        const launch = slicesAt.get(`${s.pid}/${s.tid}/${s.ts}`)?.find((e) => e.args!.corr_id !== undefined);
        const work = slicesAt.get(`${f.pid}/${f.tid}/${f.ts}`)?.find((e) => e.args!.corr_id !== undefined);
        assert.ok(launch && work, `flow ${id} starts and ends on slices`);
        assert.notEqual(launch.cat, 'gpu');
        assert.ok(['kernel', 'memcpy', 'memset'].includes(work.args!.op ?? work.name), `flow ${id} ends on GPU work, not ${work.name}`);
        assert.equal(launch.args!.corr_id, work.args!.corr_id, `flow ${id} joins one corr_id`);
        assert.equal(nodeOf(launch), nodeOf(work), `flow ${id} stays on its node`);
        joined.add(`${nodeOf(work)}/${work.args!.event_id}`);
      }
      const pairs = bundle.db
        .prepare(`SELECT DISTINCT g.node_id, g.id FROM events g JOIN events h ON h.node_id = g.node_id AND h.corr_id = g.corr_id AND h.op_id / 256 <> 10 AND h.dur_ns > 0 WHERE g.op_id IN (${GPU_WORK.join(',')}) AND g.dur_ns > 0`)
        .all() as { node_id: number; id: number }[];
      assert.ok(pairs.length > 50, `${pairs.length} GPU work items with a launching call`);
      assert.deepEqual([...joined].sort(), pairs.map((p) => `${nodes.get(p.node_id)}/${p.id}`).sort(), 'one flow into each piece of GPU work that has a launching call');
      assert.equal(t.metadata.export.flows, byId.size);
    } finally {
      bundle.close();
    }
  }

  test('a PyTorch profiler import: every event as it is stored, GPU streams on their own tracks, a flow per launch', () => {
    const { t } = exportWholeChecked(alexnet, '--no-findings');
    assertGpuSide(alexnet, t);
    const kernel = t.events.find((e) => e.ph === 'X' && e.args!.op === 'kernel')!;
    assert.match(kernel.args!.grid, /^\d+,\d+,\d+$/);
    assert.ok(Number.isInteger(kernel.args!.registers));
  });

  test('two ranks in one bundle: a GPU process per node and device, flows within each node', () => {
    const t = exportTrace(ranks, '--no-findings');
    assertProperNesting(t);
    assertIdsDistinct(t);
    assertGpuSide(ranks, t);
  });

  test('on-CPU samples: an instant on the sampled thread, named after its leaf frame, the stack in args', async () => {
    const path = join(work, 'cpu-samples.ingero');
    const w = BundleWriter.create(path, { originUnixNs: 1767225600000000000n, producer: { name: 'test', version: '1', command: 'export test' } });
    w.addProcess({ pid: PID, start_ns: 0, comm: 'trainer' });
    w.addThread({ pid: PID, tid: PID + 1, first_ns: 0, comm: 'loader' });
    const frame = (name: string) => ({ kind: 'native' as const, address: 0x1000n, mapping: { path: '/usr/lib/libtorch_cpu.so' }, function: { name } });
    const hot = w.internStack([frame('at::native::add_kernel'), frame('train_step'), frame('main')]);
    const load = w.internStack([frame('PyObject_Call'), frame('load_batch')]);
    for (let i = 0; i < 40; i++) w.appendEvent({ ts_ns: i * 1_000_000, dur_ns: 500_000, pid: PID, tid: PID, op_id: opId('cudaLaunchKernel'), arg0: 0x7f00n });
    for (let i = 0; i < 100; i++) w.addCpuSample({ ts_ns: 10_000 + i * 400_000, pid: PID, tid: i % 4 === 0 ? PID + 1 : PID, cpu: i % 3, stack_id: i % 10 === 9 ? null : i % 4 === 0 ? load : hot });
    await w.seal();
    const t = exportTrace(path, '--no-findings');
    const samples = t.events.filter((e) => e.cat === 'cpu_sample');
    assert.equal(samples.length, 100);
    assert.equal(t.metadata.export.cpu_samples_written, 100);
    const threadName = new Map(t.events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [`${e.pid}/${e.tid}`, e.args!]));
    samples.forEach((e, k) => {
      assert.equal(e.ph, 'i');
      assert.equal(e.s, 't');
      const i = Number((t.tsNs[t.events.indexOf(e)]! - 10_000n) / 400_000n);
      assert.equal(k, i, 'in time order');
      assert.equal(threadName.get(`${e.pid}/${e.tid}`)!.tid, i % 4 === 0 ? PID + 1 : PID, 'on the sampled thread');
      assert.equal(e.args!.cpu, i % 3);
      if (i % 10 === 9) return assert.equal(e.name, 'on-CPU (no user stack)');
      const leaf = i % 4 === 0 ? 'PyObject_Call' : 'at::native::add_kernel';
      assert.equal(e.name, `${leaf} (libtorch_cpu.so)`);
      assert.equal(e.args!.stack.length, i % 4 === 0 ? 2 : 3);
      assert.equal(e.args!.stack[0], e.name);
    });
    assertProperNesting(t);
    // A window applies to samples as to events: [10 ms, 20 ms) holds samples 25..49.
    const part = exportTrace(path, '--no-findings', '--from', '10ms', '--to', '20ms');
    assert.equal(part.events.filter((e) => e.cat === 'cpu_sample').length, 25);
  });
});
