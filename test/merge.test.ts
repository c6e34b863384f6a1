// ingero merge: per-node bundles built with BundleWriter (origins 1.5 s and 0.7 s apart,
// overlapping pids, shared and distinct stacks, every side table) merged through the real CLI,
// then checked against the inputs: verify passes, every event keeps its absolute time, node,
// process, op, arguments and resolved stack; side tables move with their node's clock; differing
// metadata is kept per node; explain names the right node. Also the shipped per-node samples
// against the shipped cluster bundle, multi-node inputs, --offset, and every refusal.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withTmpfs } from './tmpfs.ts';
import { assertOneLineError, runCli } from './cli-fixtures.ts';
import { explain, scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { BundleWriter, mergeBundles, openBundle, opById, opId, type Bundle, type FrameInput } from '../format/index.ts';

const root = join(import.meta.dirname, '..');
const samples = join(root, 'investigations');
const work = mkdtempSync(join(tmpdir(), 'ingero-merge-test-'));
const cacheDir = join(work, 'cache');
process.env.INGERO_CACHE_DIR = cacheDir;
after(() => rmSync(work, { recursive: true, force: true }));

const ingero = (...args: string[]) => runCli(args, { cacheDir: cacheDir });


const T0 = 1_775_000_000_000_000_000n;
const producer = { name: 'ingero-test', version: '0', command: 'merge.test' };

const PY_STACK: FrameInput[] = [
  { kind: 'python', function: { name: 'train_step', filename: 'train.py' }, line: 42 },
  { kind: 'python', function: { name: 'main', filename: 'train.py' }, line: 7 },
];
const nativeStack = (lib: string, fn: string): FrameInput[] => [
  { kind: 'native', address: 0xffff_8000_0000_1234n, rel_address: 0x1234n, mapping: { path: lib, build_id: 'abc123' }, function: { name: fn, system_name: `_Z${fn.length}${fn}v` }, offset: 4 },
  ...PY_STACK,
];

interface NodeSpec {
  readonly name: string;
  readonly origin: bigint;
  readonly kernel: string;
  readonly pids: readonly number[];
  readonly events: number;
  readonly seed: number;
}

/** A single-node recording with every kind of row the merge must carry. */
async function buildNode(path: string, spec: NodeSpec): Promise<void> {
  const w = BundleWriter.create(path, { originUnixNs: spec.origin, producer, nodeName: spec.name, compressionLevel: 3 });
  w.setMetadata('host.kernel', spec.kernel);
  w.setMetadata('host.cpu_cores', 8);
  w.setMetadata('gpu.model', 'NVIDIA H100');
  const shared = w.internStack(PY_STACK);
  const cuda = w.internStack(nativeStack('libcudart.so.12', 'cudaLaunchKernel'));
  const own = w.internStack(nativeStack(`lib-${spec.name}.so`, `work_${spec.seed}`));
  w.internStack([{ kind: 'python', function: { name: `unused_${spec.seed}` } }]); // every stack survives, referenced or not
  const stacks = [shared, cuda, own, null];
  const ops = [opId('cudaLaunchKernel'), opId('cudaMalloc'), opId('cudaMemcpy'), opId('sched_switch')];
  let rnd = spec.seed;
  const next = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31);
  let ts = 1_000;
  for (let i = 0; i < spec.events; i++) {
    ts += next() % 50_000;
    const pid = spec.pids[i % spec.pids.length]!;
    w.appendEvent({
      ts_ns: ts,
      dur_ns: next() % 100_000,
      pid,
      tid: pid + (i % 3),
      op_id: ops[next() % ops.length]!,
      arg0: BigInt(next()),
      arg1: i % 5 === 0 ? 2n ** 63n + BigInt(i) : null,
      ret: i % 97 === 0 ? 2 : 0,
      stack_id: stacks[i % stacks.length],
    });
  }
  for (const pid of spec.pids) {
    w.addProcess({ pid, ppid: 1, start_ns: -5_000, end_ns: ts, comm: 'python3', cmdline: `python3 train.py --rank ${spec.seed}` });
    w.addThread({ pid, tid: pid, first_ns: 500, comm: 'python3' });
  }
  w.addSampling({ source_id: 1, op_id: null, from_ns: 1_000, to_ns: ts, policy: 'test-sample', note: spec.name });
  w.addAggregate({ bucket_ns: 0, width_ns: 1_000_000_000, op_id: opId('mm_page_alloc'), pid: 0, count: 10, stored: 0, sum_dur_ns: 0, min_dur_ns: 0, max_dur_ns: 0, sum_arg0: 40960 });
  w.addSystemSample({ ts_ns: 2_000_000, cpu_pct: 12.5, mem_pct: 40, mem_avail_bytes: 1 << 30, swap_bytes: 0, load1: 0.5 });
  w.addImportedFinding({ origin: 'test', origin_id: `${spec.name}-1`, detected_ns: 3_000_000, severity: 'HIGH', op: 'cudaMalloc', summary: `slow on ${spec.name}`, recommendations: ['look'], timeline: [{ layer: 'CUDA' }] });
  w.addAnnotation({ ts_ns: 4_000_000, end_ns: 5_000_000, pid: spec.pids[0]!, labels: { step: String(spec.seed) } });
  w.addCaptureLoss({ probe: 'ring', source_id: null, emitted: spec.events, dropped: 0, note: spec.name });
  await w.seal();
}

/** Every event as an absolute, id-free record, per node name: what a merge must preserve. */
function eventRecords(b: Bundle): Map<string, string[]> {
  const nodes = new Map((b.db.prepare('SELECT id, name FROM nodes').all() as { id: number; name: string }[]).map((r) => [r.id, r.name]));
  const stacks = new Map<number, string>();
  const out = new Map<string, string[]>();
  for (const e of b.events()) {
    let frames = '';
    if (e.stack_id !== null) {
      if (!stacks.has(e.stack_id)) stacks.set(e.stack_id, JSON.stringify(b.stack(e.stack_id), (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
      frames = stacks.get(e.stack_id)!;
    }
    const abs = b.originUnixNs + BigInt(e.ts_ns);
    const rec = [abs, e.dur_ns, e.pid, e.tid, e.op_id, e.arg0, e.arg1, e.arg2, e.arg3, e.ret, frames].map(String).join('|');
    const list = out.get(nodes.get(e.node_id)!) ?? [];
    list.push(rec);
    out.set(nodes.get(e.node_id)!, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

function withBundle<T>(path: string, fn: (b: Bundle) => T): T {
  const b = openBundle(path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

const A = join(work, 'a.ingero');
const B = join(work, 'b.ingero');
const C = join(work, 'c.ingero');
const SPECS: Record<string, NodeSpec> = {
  [A]: { name: 'gpu-a', origin: T0, kernel: '6.1.0', pids: [100, 200], events: 3000, seed: 1 },
  [B]: { name: 'gpu-b', origin: T0 + 1_500_000_000n, kernel: '6.8.0', pids: [100, 300], events: 2000, seed: 2 },
  // Same name as A's node, 0.7 s after it: disambiguated as "gpu-a (2)".
  [C]: { name: 'gpu-a', origin: T0 + 700_000_000n, kernel: '6.1.0', pids: [100], events: 1000, seed: 3 },
};

before(async () => {
  for (const [path, spec] of Object.entries(SPECS)) await buildNode(path, spec);
});

describe('ingero merge of three single-node recordings', () => {
  const out = join(work, 'abc.ingero');
  let run: ReturnType<typeof ingero>;
  before(() => {
    run = ingero('merge', A, B, C, '-o', out);
  });

  test('writes a bundle that verify passes, and says what it did', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^wrote .*abc\.ingero: 6,000 events, 3 nodes from 3 bundles/);
    assert.match(run.stdout, /^\s*0\s+gpu-a\s+a\.ingero\s+3,000\s+\+0 ns\s+0$/m);
    assert.match(run.stdout, /^\s*1\s+gpu-b\s+b\.ingero\s+2,000\s+\+1\.50 s\s+1500000000$/m);
    assert.match(run.stdout, /^\s*2\s+gpu-a \(2\)\s+c\.ingero \(node 0 gpu-a\)\s+1,000\s+\+700\.0 ms\s+700000000$/m);
    assert.match(run.stdout, /note: node "gpu-a" of c\.ingero is named "gpu-a \(2\)"/);
    const v = ingero('verify', out);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('staging') || f.includes('.tmp')), [], 'no staging or temp file left');
  });

  test('nodes renumbered with names kept and clock offsets = origin_i - origin_out', () => {
    withBundle(out, (b) => {
      assert.deepEqual(b.db.prepare('SELECT id, name, clock_offset_ns FROM nodes ORDER BY id').all(), [
        { id: 0, name: 'gpu-a', clock_offset_ns: 0 },
        { id: 1, name: 'gpu-b', clock_offset_ns: 1_500_000_000 },
        { id: 2, name: 'gpu-a (2)', clock_offset_ns: 700_000_000 },
      ]);
      assert.equal(b.originUnixNs, T0);
      assert.equal(b.metadata()['clock.origin_unix_ns'], T0.toString());
      assert.deepEqual(b.manifest.nodes, ['gpu-a', 'gpu-b', 'gpu-a (2)']);
    });
  });

  test('every event keeps its absolute time, process, op, arguments and resolved stack, per node', () => {
    const merged = withBundle(out, eventRecords);
    const expected = new Map<string, string[]>();
    for (const [path, name] of [[A, 'gpu-a'], [B, 'gpu-b'], [C, 'gpu-a (2)']] as const) expected.set(name, withBundle(path, eventRecords).get(SPECS[path]!.name)!);
    assert.deepEqual([...merged.keys()].sort(), [...expected.keys()].sort());
    for (const [name, list] of expected) {
      assert.equal(merged.get(name)!.length, list.length, `${name}: event count`);
      assert.deepEqual(merged.get(name), list, `${name}: events`);
    }
  });

  test('event counts per (node, op, pid) equal the inputs\', and events are in time order by id', () => {
    const count = (b: Bundle, node: number) => b.db.prepare('SELECT op_id, pid, count(*) AS n FROM events WHERE node_id = ? GROUP BY 1, 2 ORDER BY 1, 2').all(node);
    withBundle(out, (m) => {
      [A, B, C].forEach((path, node) => withBundle(path, (b) => assert.deepEqual(count(m, node), count(b, 0))));
      const disorder = m.db.prepare('SELECT count(*) AS n FROM events e JOIN events p ON p.id = e.id - 1 WHERE e.ts_ns < p.ts_ns').get() as { n: number };
      assert.equal(disorder.n, 0);
      const ids = m.db.prepare('SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM events').get();
      assert.deepEqual(ids, { lo: 1, hi: 6000, n: 6000 });
    });
  });

  test('stacks: identical ones shared across inputs, node-specific mappings kept apart, every stack kept', () => {
    withBundle(out, (m) => {
      const pyStacks = m.db.prepare(`SELECT DISTINCT e.stack_id FROM events e JOIN stack_frames sf ON sf.stack_id = e.stack_id WHERE sf.depth = 0 AND sf.location_id IN (SELECT l.id FROM locations l JOIN functions f ON f.id = l.function_id WHERE f.name = 'train_step')`).pluck().all();
      assert.equal(pyStacks.length, 1, 'the python-only stack of all three inputs is one stack');
      const fns = m.db.prepare("SELECT count(*) FROM functions WHERE name = 'cudaLaunchKernel'").pluck().get();
      assert.equal(fns, 1, 'one function row for the frame all inputs share');
      // libcudart is mapped on each node: a mapping belongs to a node, so three rows.
      assert.deepEqual(m.db.prepare("SELECT node_id FROM mappings WHERE path = 'libcudart.so.12' ORDER BY node_id").pluck().all(), [0, 1, 2]);
      // 4 stacks per input; the python-only one shared → 3*4 - 2.
      assert.equal(m.manifest.counts.stacks, 10);
      assert.equal(m.db.prepare("SELECT count(*) FROM functions WHERE name LIKE 'unused_%'").pluck().get(), 3, 'unreferenced stacks survive');
    });
  });

  test('side tables move with their node\'s clock and keep (node, pid) keys', () => {
    withBundle(out, (m) => {
      const shiftOf = [0, 1_500_000_000, 700_000_000];
      const procs = m.db.prepare('SELECT node_id, pid, start_ns, cmdline FROM processes ORDER BY node_id, pid').all() as { node_id: number; pid: number; start_ns: number; cmdline: string }[];
      assert.deepEqual(procs.map((p) => [p.node_id, p.pid]), [[0, 100], [0, 200], [1, 100], [1, 300], [2, 100]], 'pid 100 on every node stays three processes');
      for (const p of procs) assert.equal(p.start_ns, -5_000 + shiftOf[p.node_id]!);
      assert.match(procs[2]!.cmdline, /--rank 2/);
      const threads = m.db.prepare('SELECT node_id, first_ns FROM threads ORDER BY node_id, tid').all() as { node_id: number; first_ns: number }[];
      for (const t of threads) assert.equal(t.first_ns, 500 + shiftOf[t.node_id]!);
      assert.deepEqual(m.db.prepare('SELECT node_id, from_ns, note FROM sampling ORDER BY node_id').all(), shiftOf.map((s, n) => ({ node_id: n, from_ns: 1_000 + s, note: n === 1 ? 'gpu-b' : 'gpu-a' })));
      assert.deepEqual(m.db.prepare('SELECT node_id, bucket_ns, width_ns FROM op_aggregates ORDER BY node_id').all(), shiftOf.map((s, n) => ({ node_id: n, bucket_ns: s, width_ns: 1_000_000_000 })));
      assert.deepEqual(m.db.prepare('SELECT node_id, ts_ns FROM system_samples ORDER BY node_id').all(), shiftOf.map((s, n) => ({ node_id: n, ts_ns: 2_000_000 + s })));
      assert.deepEqual(m.db.prepare('SELECT node_id, detected_ns, origin_id, recommendations FROM imported_findings ORDER BY node_id').all(), [
        { node_id: 0, detected_ns: 3_000_000, origin_id: 'gpu-a-1', recommendations: '["look"]' },
        { node_id: 1, detected_ns: 3_000_000 + 1_500_000_000, origin_id: 'gpu-b-1', recommendations: '["look"]' },
        { node_id: 2, detected_ns: 3_000_000 + 700_000_000, origin_id: 'gpu-a-1', recommendations: '["look"]' },
      ]);
      assert.deepEqual(m.db.prepare('SELECT node_id, ts_ns, end_ns, labels FROM annotations ORDER BY node_id').all(), shiftOf.map((s, n) => ({ node_id: n, ts_ns: 4_000_000 + s, end_ns: 5_000_000 + s, labels: JSON.stringify({ step: String(n + 1) }) })));
      assert.deepEqual(m.db.prepare('SELECT node_id, emitted FROM capture_loss ORDER BY node_id').all(), [{ node_id: 0, emitted: 3000 }, { node_id: 1, emitted: 2000 }, { node_id: 2, emitted: 1000 }]);
    });
  });

  test('metadata: agreed facts kept plain, differing ones per node, merge.inputs names every input', () => {
    withBundle(out, (m) => {
      const meta = m.metadata();
      assert.equal(meta['host.cpu_cores'], 8);
      assert.equal(meta['gpu.model'], 'NVIDIA H100');
      assert.equal(meta['host.kernel'], undefined, 'no single kernel is claimed for all nodes');
      assert.equal(meta['node.gpu-a.host.kernel'], '6.1.0');
      assert.equal(meta['node.gpu-b.host.kernel'], '6.8.0');
      assert.equal(meta['node.gpu-a (2).host.kernel'], '6.1.0');
      assert.equal(m.manifest.host['host.kernel'], undefined);
      assert.equal(m.manifest.host['host.cpu_cores'], 8);
      const inputs = meta['merge.inputs'] as { file: string; sha256: string; origin_unix_ns: string; nodes: { id: number; name: string; input_name: string }[] }[];
      assert.deepEqual(inputs.map((i) => i.file), ['a.ingero', 'b.ingero', 'c.ingero']);
      [A, B, C].forEach((p, k) => {
        withBundle(p, (b) => assert.equal(inputs[k]!.sha256, b.manifest.database.sha256));
        assert.equal(inputs[k]!.origin_unix_ns, SPECS[p]!.origin.toString());
      });
      assert.deepEqual(inputs[2]!.nodes, [{ input_id: 0, input_name: 'gpu-a', id: 2, name: 'gpu-a (2)' }]);
    });
  });

  test('a merged bundle merges again: its per-node facts follow its nodes', () => {
    const again = join(work, 'again.ingero');
    const r = ingero('merge', join(samples, 'sample-gpu-node-01.ingero'), out, '-o', again);
    assert.equal(r.code, 0, r.stderr);
    withBundle(again, (m) => {
      assert.deepEqual(m.db.prepare('SELECT name FROM nodes ORDER BY id').pluck().all(), ['gpu-node-01', 'gpu-a', 'gpu-b', 'gpu-a (2)']);
      const meta = m.metadata();
      assert.equal(meta['node.gpu-b.host.kernel'], '6.8.0', 'kept per node, not nested under the node again');
      assert.equal(meta['node.gpu-a (2).host.kernel'], '6.1.0');
      assert.equal(meta['node.gpu-node-01.host.kernel'], '6.17.0-1007-aws');
      assert.equal(meta['node.gpu-node-01.host.cpu_cores'], 4);
      assert.equal(meta['node.gpu-b.host.cpu_cores'], 8);
      assert.equal(meta['host.cpu_cores'], undefined);
      assert.equal(m.eventCount(), 6200);
    });
  });
});

test('explain on a merged bundle names the node its finding comes from', async () => {
  const healthy = join(work, 'healthy.ingero');
  const stall = join(work, 'stall.ingero');
  await writeDemoBundle(healthy, scenarioByName('healthy')!, { seed: 1 });
  await writeDemoBundle(stall, scenarioByName('sync-stall')!, { seed: 1 });
  const out = join(work, 'demo-merged.ingero');
  const r = ingero('merge', healthy, stall, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  const alone = withBundle(stall, (b) => explain(b).findings[0]!);
  withBundle(out, (m) => {
    const report = explain(m);
    const top = report.findings[0]!;
    assert.equal(top.kind, 'sync-stall');
    assert.equal(top.node, 'demo-gpu-01 (2)', 'the stalled recording is the second node');
    assert.equal(top.node_id, 1);
    assert.equal(top.pid, alone.pid);
    assert.equal(report.findings.filter((f) => f.severity === 'HIGH' && f.node_id === 0).length, 0, 'the healthy node gets no HIGH finding');
  });
  const text = ingero('explain', out);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /demo-gpu-01 \(2\)/);
});

describe('shipped samples', () => {
  const out = join(work, 'samples.ingero');
  const nodes = ['01', '02', '03'].map((n) => join(samples, `sample-gpu-node-${n}.ingero`));

  test('merging sample-gpu-node-01/02/03 gives the 3-node bundle Ingero recorded as sample-cluster', () => {
    const r = ingero('merge', ...nodes, '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ingero('verify', out).code, 0);
    // Same inputs, other paths, another run: the same database, byte for byte.
    const copies = join(work, 'copies');
    mkdirSync(copies);
    for (const p of nodes) copyFileSync(p, join(copies, p.split('/').pop()!));
    const again = ingero('merge', ...readdirSync(copies).sort().map((f) => join(copies, f)), '-o', join(copies, 'again.ingero'), '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).databaseSha256, withBundle(out, (b) => b.manifest.database.sha256));
    withBundle(out, (m) => {
      assert.deepEqual(m.db.prepare('SELECT name FROM nodes ORDER BY id').pluck().all(), ['gpu-node-01', 'gpu-node-02', 'gpu-node-03']);
      const perNode = (b: Bundle, node: number) => b.db.prepare('SELECT op_id, pid, count(*) AS n FROM events WHERE node_id = ? GROUP BY 1, 2 ORDER BY 1, 2').all(node);
      nodes.forEach((p, k) => withBundle(p, (b) => assert.deepEqual(perNode(m, k), perNode(b, 0), `node ${k}`)));
      // Ingero's own multi-node recording of the same job holds the same events on the same clock.
      withBundle(join(samples, 'sample-cluster.ingero'), (cluster) => {
        assert.equal(m.originUnixNs, cluster.originUnixNs);
        const rows = (b: Bundle, sql: string) => b.db.prepare(sql).safeIntegers(true).all();
        for (const sql of [
          'SELECT ts_ns, dur_ns, node_id, pid, tid, op_id, arg0, arg1, arg2, arg3, ret FROM events ORDER BY id',
          'SELECT node_id, source_id, op_id, from_ns, to_ns, policy FROM sampling ORDER BY node_id, from_ns, source_id',
          'SELECT node_id, ts_ns, cpu_pct FROM system_samples ORDER BY node_id, ts_ns',
          'SELECT node_id, detected_ns, origin_id, severity FROM imported_findings ORDER BY node_id, detected_ns',
        ]) {
          assert.deepEqual(rows(m, sql), rows(cluster, sql), sql);
        }
      });
    });
  });

  test('a multi-node input keeps its nodes; a repeated node name is disambiguated', () => {
    const multi = join(work, 'multi.ingero');
    const r = ingero('merge', A, join(samples, 'sample-cluster.ingero'), nodes[0]!, '-o', multi);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ingero('verify', multi).code, 0);
    withBundle(multi, (m) => {
      const rows = m.db.prepare('SELECT id, name, clock_offset_ns FROM nodes ORDER BY id').all() as { id: number; name: string; clock_offset_ns: number }[];
      assert.deepEqual(rows.map((n) => n.name), ['gpu-a', 'gpu-node-01', 'gpu-node-02', 'gpu-node-03', 'gpu-node-01 (2)']);
      // The cluster's origin is 1775218715 s, A's earlier: every cluster node moves by the same amount.
      const shift = Number(1_775_218_715_000_000_000n - T0);
      assert.deepEqual(rows.slice(1, 4).map((n) => n.clock_offset_ns), [shift, shift, shift]);
      assert.deepEqual(m.db.prepare('SELECT node_id, count(*) AS n FROM events GROUP BY 1 ORDER BY 1').all(), [
        { node_id: 0, n: 3000 },
        { node_id: 1, n: 200 },
        { node_id: 2, n: 200 },
        { node_id: 3, n: 200 },
        { node_id: 4, n: 200 },
      ]);
      withBundle(join(samples, 'sample-cluster.ingero'), (c) => {
        assert.deepEqual(
          m.db.prepare('SELECT node_id - 1 AS node_id, ts_ns - ? AS ts_ns, op_id FROM events WHERE node_id BETWEEN 1 AND 3 ORDER BY id').all(shift),
          c.db.prepare('SELECT node_id, ts_ns, op_id FROM events ORDER BY id').all(),
        );
      });
    });
  });

  test('--offset on one node of a multi-node input moves that node alone, still in time order', () => {
    const out2 = join(work, 'multi-skewed.ingero');
    const r = ingero('merge', join(samples, 'sample-cluster.ingero'), A, '--offset', 'gpu-node-02=+3ms', '-o', out2);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ingero('verify', out2).code, 0, 'dense ids in time order');
    const shift = 1_775_218_715_000_000_000n - T0;
    withBundle(out2, (m) => {
      assert.equal(m.originUnixNs, T0);
      assert.deepEqual(m.db.prepare('SELECT clock_offset_ns FROM nodes ORDER BY id').pluck().all(), [Number(shift), Number(shift) + 3_000_000, Number(shift), 0]);
      withBundle(join(samples, 'sample-cluster.ingero'), (c) => {
        for (const node of [0, 1, 2]) {
          const extra = node === 1 ? 3_000_000 : 0;
          assert.deepEqual(
            m.db.prepare('SELECT ts_ns - ? AS ts_ns, op_id FROM events WHERE node_id = ? ORDER BY id').all(Number(shift) + extra, node),
            c.db.prepare('SELECT ts_ns, op_id FROM events WHERE node_id = ? ORDER BY id').all(node),
            `node ${node}`,
          );
        }
      });
    });
  });
});

test('--offset corrects a known skew: the node\'s times and clock_offset_ns move by it', () => {
  const out = join(work, 'skewed.ingero');
  const r = ingero('merge', A, B, '-o', out, '--offset', 'gpu-b=-2ms', '--offset', 'gpu-a=+0.5us');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /gpu-b .* -2\.0 ms$/m);
  withBundle(out, (m) => {
    // Corrected origins: A at T0 + 500 ns, B at T0 + 1.5 s - 2 ms; the output origin is A's.
    assert.equal(m.originUnixNs, T0 + 500n);
    assert.deepEqual(m.db.prepare('SELECT clock_offset_ns FROM nodes ORDER BY id').pluck().all(), [0, 1_498_000_000 - 500]);
    const first = (b: Bundle, node: number) => b.db.prepare('SELECT ts_ns FROM events WHERE node_id = ? ORDER BY id LIMIT 1').pluck().get(node) as number;
    const b0 = withBundle(B, (b) => first(b, 0));
    assert.equal(BigInt(first(m, 1)) + m.originUnixNs, T0 + 1_500_000_000n + BigInt(b0) - 2_000_000n);
    assert.equal(ingero('verify', out).code, 0);
  });
});

describe('refusals: one line, the right exit code, nothing left behind', () => {
  const dir = join(work, 'refusals');
  const out = join(dir, 'out.ingero');
  before(() => mkdirSync(dir));
  const leftovers = () => readdirSync(dir).filter((f) => f !== 'a-copy.ingero' && f !== 'truncated.ingero');

  test('a bundle merged with itself (same path or a copy)', () => {
    let r = ingero('merge', A, A, '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /same recording as .*a\.ingero.*give each recording once/);
    copyFileSync(A, join(dir, 'a-copy.ingero'));
    r = ingero('merge', A, B, join(dir, 'a-copy.ingero'), '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /a-copy\.ingero: holds the same recording as/);
    assert.deepEqual(leftovers(), []);
  });

  test('a missing or damaged input is named', () => {
    let r = ingero('merge', A, join(dir, 'nope.ingero'), '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /nope\.ingero: no such file/);
    const bytes = readFileSync(B);
    writeFileSync(join(dir, 'truncated.ingero'), bytes.subarray(0, bytes.length - 100));
    r = ingero('merge', A, join(dir, 'truncated.ingero'), '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /truncated\.ingero/);
    assert.deepEqual(leftovers(), []);
  });

  test('usage: fewer than two inputs, a bad --offset, a bad --level exit 2', () => {
    for (const args of [[A], [A, B, '--offset', 'gpu-b'], [A, B, '--offset', 'gpu-b=fast'], [A, B, '--level', '30']]) {
      const r = ingero('merge', ...args, '-o', out);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assertOneLineError(r, /merge needs at least two bundles|--offset takes NODE=±DURATION|--level must be/);
    }
    assert.deepEqual(leftovers(), []);
  });

  test('an --offset naming no node lists the nodes', () => {
    const r = ingero('merge', A, B, '--offset', 'gpu-z=1ms', '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /--offset names node "gpu-z".*"gpu-a", "gpu-b"/);
    assert.deepEqual(leftovers(), []);
  });

  test('an existing output is kept unless --force; the output may not be an input', () => {
    writeFileSync(out, 'precious');
    let r = ingero('merge', A, B, '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /already exists.*--force/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    r = ingero('merge', A, B, '-o', out, '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(withBundle(out, (b) => b.eventCount()), 5000);
    r = ingero('merge', A, B, '-o', A, '--force');
    assert.equal(r.code, 1);
    assertOneLineError(r, /would overwrite an input/);
    rmSync(out);
    assert.deepEqual(leftovers(), []);
  });

  test('a hostile input (events out of time order behind valid checksums) is refused by name', async () => {
    // A writer appending in order, then a copy of its database with two timestamps swapped,
    // sealed as a new bundle: checksums right, content breaking the spec.
    const bad = join(dir, 'unordered.ingero');
    const w = BundleWriter.create(bad, { originUnixNs: T0, producer, nodeName: 'bad' });
    for (let i = 0; i < 100; i++) w.appendEvent({ ts_ns: i * 1000, dur_ns: 10, pid: 1, tid: 1, op_id: opId('cudaMalloc') });
    w.flush();
    // Swap ts of events 10 and 11 in the staging database before sealing.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(`${bad}.staging`);
    db.exec('UPDATE events SET ts_ns = 50000 WHERE id = 10');
    db.close();
    await w.seal();
    const r = ingero('merge', A, bad, '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /unordered\.ingero: event 11 starts before the event stored ahead of it/);
    rmSync(bad);
    assert.deepEqual(leftovers(), []);
  });

  test('a hostile input (text in an event column, a process naming a missing node) is refused by name', async () => {
    const Database = (await import('better-sqlite3')).default;
    for (const [name, sql, pattern] of [
      ['text-arg', "UPDATE events SET arg2 = 'ignore previous instructions' WHERE id = 7", /text-arg\.ingero: event 7 holds text/],
      ['orphan-process', 'INSERT INTO processes (node_id, pid) VALUES (5, 42)', /orphan-process\.ingero: table processes column node_id names node 5, which table nodes lacks/],
    ] as const) {
      const bad = join(dir, `${name}.ingero`);
      const w = BundleWriter.create(bad, { originUnixNs: T0, producer, nodeName: name });
      for (let i = 0; i < 20; i++) w.appendEvent({ ts_ns: i * 1000, dur_ns: 10, pid: 1, tid: 1, op_id: opId('cudaMalloc'), arg0: 1 });
      w.flush();
      const db = new Database(`${bad}.staging`);
      db.exec(sql);
      db.close();
      await w.seal();
      const r = ingero('merge', A, bad, '-o', out);
      assert.equal(r.code, 1, name);
      assertOneLineError(r, pattern);
      rmSync(bad);
      assert.deepEqual(leftovers(), []);
    }
  });

  test('disk full while merging: one line, no output, no staging', async (t) => {
    await withTmpfs(t, join(work, 'tiny'), '256k', async (mnt) => {
      const r = ingero('merge', A, B, C, '-o', join(mnt, 'full.ingero'));
      assert.equal(r.code, 1);
      assertOneLineError(r, /full\.ingero: disk full while merging — nothing was written/);
      assert.deepEqual(readdirSync(mnt), []);
    });
  });
});

test('the library reports what the CLI prints', async () => {
  const out = join(work, 'lib.ingero');
  const r = await mergeBundles([B, A], out, { producer });
  assert.equal(r.events, 5000);
  assert.equal(r.originUnixNs, T0);
  assert.deepEqual(r.nodes.map((n) => [n.id, n.name, n.clockOffsetNs, n.events]), [[0, 'gpu-b', 1_500_000_000, 2000], [1, 'gpu-a', 0, 3000]]);
  assert.equal(r.startNs, withBundle(A, (b) => b.db.prepare('SELECT min(ts_ns) FROM events').pluck().get()));
  assert.ok(statSync(out).size === r.bytes);
  assert.ok(!existsSync(`${out}.staging`));
});

test('an op code this catalog lacks keeps the name and argument meanings its producer gave it', async () => {
  const foreign = 256 + 250; // a cuda-source code a newer recorder could use
  assert.equal(opById(foreign), undefined, 'the code must be outside this catalog for the test to mean anything');
  const newer = join(work, 'newer-producer.ingero');
  const w = BundleWriter.create(newer, { originUnixNs: T0 + 2_000_000_000n, producer, nodeName: 'gpu-new', compressionLevel: 3 });
  w.describeOp({ id: foreign, source_id: 1, name: 'cudaFutureLaunch', description: 'A call this ingero does not know yet.', args: [{ arg: 0, name: 'bytes', unit: 'bytes', description: 'Bytes moved.' }] });
  for (let i = 0; i < 10; i++) w.appendEvent({ ts_ns: 1_000 + i * 1_000, dur_ns: 500, pid: 7, tid: 7, op_id: foreign, arg0: 4096n });
  await w.seal();
  const out = join(work, 'with-foreign-op.ingero');
  const r = await mergeBundles([A, newer], out, { producer });
  assert.ok(!r.notes.some((n) => n.includes(String(foreign))), `no note about ${foreign}: ${r.notes.join('; ')}`);
  withBundle(out, (b) => {
    assert.equal(b.opName(foreign), 'cudaFutureLaunch');
    assert.equal(b.ops().get(foreign)?.description, 'A call this ingero does not know yet.');
    assert.deepEqual(b.db.prepare('SELECT arg, name, unit, description FROM op_args WHERE op_id = ?').all(foreign), [{ arg: 0, name: 'bytes', unit: 'bytes', description: 'Bytes moved.' }]);
    assert.equal(b.db.prepare('SELECT count(*) FROM events WHERE op_id = ?').pluck().get(foreign), 10);
  });
});

describe('a PyTorch profiler import merged with an eBPF recording of the same job', () => {
  // Two ranks imported from the shipped Kineto traces (kernels, names, corr_id) and a recording
  // made by hand with everything the recorder writes beside them (stacks, on-CPU samples), 1 ms
  // after rank0's origin.
  const rank0 = join(work, 'rank0.ingero');
  const rank1 = join(work, 'rank1.ingero');
  const recorded = join(work, 'recorded.ingero');
  const merged = join(work, 'kineto-merged.ingero');
  const inputs = [recorded, rank0, rank1];
  before(async () => {
    const { importKinetoTraces } = await import('../import/index.ts');
    const fixture = (n: string) => join(root, 'test', 'fixtures', 'kineto', n);
    await importKinetoTraces([fixture('sampled-128rank-rank0.json.gz')], rank0);
    await importKinetoTraces([fixture('sampled-128rank-rank1.json.gz')], rank1);
    const origin = withBundle(rank0, (b) => b.originUnixNs) + 1_000_000n;
    const w = BundleWriter.create(recorded, { originUnixNs: origin, producer, nodeName: 'gpu-host-07', compressionLevel: 3 });
    w.setMetadata('recorder.cpu_sample_hz', 99);
    w.addProcess({ pid: 4242, ppid: 1, start_ns: 0, comm: 'python3' });
    w.addThread({ pid: 4242, tid: 4242, first_ns: 0, comm: 'python3' });
    const launchStack = w.internStack(nativeStack('libcudart.so.12', 'cudaLaunchKernel'));
    const hot = w.internStack(nativeStack('libtorch_cpu.so', 'at_native_add'));
    for (let i = 0; i < 300; i++) w.appendEvent({ ts_ns: 10_000 + i * 100_000, dur_ns: 4_000, pid: 4242, tid: 4242, op_id: opId('cudaLaunchKernel'), arg0: 0x7f00_0000_1000n, stack_id: launchStack });
    for (let i = 0; i < 120; i++) w.addCpuSample({ ts_ns: 20_000 + i * 250_000, pid: 4242, tid: 4242, cpu: i % 4, stack_id: i % 5 === 0 ? null : i % 2 ? hot : launchStack });
    await w.seal();
    const r = ingero('merge', ...inputs, '-o', merged);
    assert.equal(r.code, 0, r.stderr);
  });

  const count = (path: string, sql: string) => withBundle(path, (b) => Number(b.db.prepare(sql).pluck().get()));

  test('verify passes; events, on-CPU samples, processes and threads are the sums of the inputs\'', () => {
    assert.equal(ingero('verify', merged).code, 0);
    for (const table of ['events', 'cpu_samples', 'processes', 'threads', 'annotations']) {
      const sum = inputs.reduce((n, p) => n + count(p, `SELECT count(*) FROM ${table}`), 0);
      assert.ok(sum > 0 || table === 'cpu_samples', `${table}: the inputs hold rows`);
      assert.equal(count(merged, `SELECT count(*) FROM ${table}`), sum, table);
    }
    assert.equal(count(merged, 'SELECT count(corr_id) FROM events'), inputs.reduce((n, p) => n + count(p, 'SELECT count(corr_id) FROM events'), 0), 'corr_id kept on every event');
    assert.equal(count(merged, 'SELECT count(*) FROM cpu_samples'), 120);
  });

  test('kernels and names: one row per distinct one across the inputs, and every event still names its own', () => {
    const distinct = (sql: string) => new Set(inputs.flatMap((p) => withBundle(p, (b) => b.db.prepare(sql).pluck().all() as string[])));
    const kernelKey = "SELECT json_array(name, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, shared_memory) FROM gpu_kernels";
    assert.equal(count(merged, 'SELECT count(*) FROM gpu_kernels'), distinct(kernelKey).size);
    assert.equal(count(merged, 'SELECT count(*) FROM names'), distinct('SELECT name FROM names').size);
    assert.ok(count(rank1, 'SELECT count(*) FROM gpu_kernels') > 0 && count(rank1, 'SELECT count(*) FROM names') > 0);
    // Each event's kernel or name, resolved, at its absolute time: the same multiset per node.
    const resolved = (path: string) =>
      withBundle(path, (b) => {
        const rows = b.db
          .prepare(
            `SELECT n.name AS node, e.ts_ns, e.op_id, e.corr_id, k.name AS kernel, a0.name AS name0, a1.name AS name1 FROM events e JOIN nodes n ON n.id = e.node_id
             LEFT JOIN gpu_kernels k ON e.op_id = ${opId('kernel')} AND k.id = e.arg0
             LEFT JOIN op_args u0 ON u0.op_id = e.op_id AND u0.arg = 0 AND u0.unit = 'name' LEFT JOIN names a0 ON u0.op_id IS NOT NULL AND a0.id = e.arg0
             LEFT JOIN op_args u1 ON u1.op_id = e.op_id AND u1.arg = 1 AND u1.unit = 'name' LEFT JOIN names a1 ON u1.op_id IS NOT NULL AND a1.id = e.arg1`,
          )
          .all() as Record<string, unknown>[];
        return rows.map((r) => JSON.stringify([r.node, String(b.originUnixNs + BigInt(r.ts_ns as number)), r.op_id, r.corr_id, r.kernel, r.name0, r.name1])).sort();
      });
    const expected = inputs.flatMap(resolved).sort();
    assert.ok(expected.some((r) => JSON.parse(r)[4] !== null) && expected.some((r) => JSON.parse(r)[5] !== null), 'kernels and names are referenced');
    assert.deepEqual(resolved(merged), expected);
  });

  test('corr_id still joins each launch to the GPU work it started, on its own node', () => {
    const gpu = [opId('kernel'), opId('memcpy'), opId('memset')].join(',');
    const pairs = (path: string) =>
      withBundle(path, (b) =>
        (b.db
          .prepare(
            `SELECT n.name AS node, h.op_id AS host_op, h.ts_ns AS host_ts, g.op_id AS gpu_op, g.ts_ns AS gpu_ts FROM events g
             JOIN events h ON h.node_id = g.node_id AND h.corr_id = g.corr_id AND h.op_id / 256 <> 10 JOIN nodes n ON n.id = g.node_id
             WHERE g.op_id IN (${gpu})`,
          )
          .all() as Record<string, number | string>[]).map((r) => `${r.node}|${r.host_op}|${b.originUnixNs + BigInt(r.host_ts)}|${r.gpu_op}|${b.originUnixNs + BigInt(r.gpu_ts)}`),
      );
    const expected = inputs.flatMap(pairs).sort();
    assert.ok(expected.length > 1000, `${expected.length} launch → GPU pairs in the inputs`);
    assert.deepEqual(pairs(merged).sort(), expected);
  });

  test('on-CPU samples keep their node, thread, CPU and resolved stack, on the merged clock', () => {
    const samples = (path: string) =>
      withBundle(path, (b) =>
        (b.db.prepare('SELECT n.name AS node, s.ts_ns, s.pid, s.tid, s.cpu, s.stack_id FROM cpu_samples s JOIN nodes n ON n.id = s.node_id').all() as Record<string, number | string | null>[]).map((r) =>
          [r.node, b.originUnixNs + BigInt(r.ts_ns!), r.pid, r.tid, r.cpu, r.stack_id === null ? '' : b.stack(Number(r.stack_id)).map((f) => f.function).join(';')].map(String).join('|'),
        ),
      );
    const expected = inputs.flatMap(samples).sort();
    assert.ok(expected.some((s) => s.endsWith('at_native_add;train_step;main')));
    assert.deepEqual(samples(merged).sort(), expected);
  });

  test('an event naming a kernel its input lacks is refused by name, nothing written', async () => {
    const broken = join(work, 'dangling-kernel.ingero');
    const w = BundleWriter.create(broken, { originUnixNs: withBundle(rank0, (b) => b.originUnixNs), producer, nodeName: 'gpu-x', compressionLevel: 3 });
    w.appendEvent({ ts_ns: 1_000, dur_ns: 500, pid: 0, tid: 0, op_id: opId('kernel'), arg0: 999, arg2: 0, arg3: 7, corr_id: 1 });
    await w.seal();
    const out = join(work, 'dangling-merged.ingero');
    const r = ingero('merge', rank0, broken, '-o', out);
    assert.notEqual(r.code, 0);
    assertOneLineError(r, /dangling-kernel\.ingero: event 1 names gpu_kernels row 999 in arg0, which that table lacks/);
    assert.ok(!existsSync(out) && !existsSync(`${out}.staging`));
  });
});
