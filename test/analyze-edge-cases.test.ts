// Edge cases of the analysis front ends on small hand-built bundles: empty and single-event
// bundles, host-only traces, zero durations, identical timestamps, pids shared by two nodes,
// unknown op codes, raw-address stacks, sampling with op_aggregates, capture loss; and the
// determinism of explain --json across cache dirs, time zones and locales.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './cli-fixtures.ts';
import { computeStats, explain } from '../analyze/index.ts';
import { formatDuration } from '../analyze/format-units.ts';
import { BundleWriter, opId, openBundle } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-analyze-edge-'));
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const LAUNCH = opId('cudaLaunchKernel');
const SYNC = opId('cudaStreamSynchronize');
const MEMCPY = opId('cudaMemcpy');
const SCHED = opId('sched_switch');

type Fill = (w: BundleWriter) => void;
const BUNDLES: Record<string, Fill> = {
  empty: () => {},
  single: (w) => w.appendEvent({ ts_ns: 5, dur_ns: 10, pid: 1, tid: 1, op_id: LAUNCH }),
  // Host events only, with capture loss: nothing to find, but the loss must still be said.
  'host-only-lossy': (w) => {
    for (let i = 0; i < 500; i++) w.appendEvent({ ts_ns: i * 1e6, dur_ns: i % 50 === 0 ? 50e6 : 1e5, pid: 10 + (i % 3), tid: 10 + (i % 3), op_id: SCHED, arg0: 99, arg1: 99, arg2: 0 });
    w.addCaptureLoss({ probe: 'ringbuf', emitted: 600, dropped: 1, note: 'ring buffer full' });
  },
  'zero-durations': (w) => {
    for (let i = 0; i < 1000; i++) for (const [k, op] of [LAUNCH, SYNC, MEMCPY].entries()) w.appendEvent({ ts_ns: i * 1e6 + k, dur_ns: 0, pid: 7, tid: 7, op_id: op, arg0: 1 << 20, arg1: 1 });
  },
  'same-timestamp': (w) => {
    for (let i = 0; i < 3000; i++) w.appendEvent({ ts_ns: 1000, dur_ns: i % 100 === 0 ? 1e7 : 1e4, pid: 7, tid: 7, op_id: [LAUNCH, SYNC, MEMCPY][i % 3]!, arg0: 1024, arg1: 1 });
  },
  // Two threads of one process synchronize at the same time for 90% of every 1 ms step.
  'two-threads-sync': (w) => {
    w.addProcess({ pid: 7, comm: 'trainer' });
    for (let i = 0; i < 1000; i++) {
      for (const tid of [7, 8]) {
        w.appendEvent({ ts_ns: i * 1e6, dur_ns: 1e4, pid: 7, tid, op_id: LAUNCH });
        w.appendEvent({ ts_ns: i * 1e6 + 1e4, dur_ns: 9e5, pid: 7, tid, op_id: SYNC });
        w.appendEvent({ ts_ns: i * 1e6 + 1e4, dur_ns: 9e5, pid: 7, tid, op_id: MEMCPY, arg0: 1 << 20, arg1: 1 });
      }
    }
  },
  // The same pid on two nodes: a healthy trainA on node-a, a preempted trainB with drops on node-b.
  'two-nodes': (w) => {
    w.addNode(1, 'node-b');
    w.addProcess({ node_id: 0, pid: 100, comm: 'trainA' });
    w.addProcess({ node_id: 1, pid: 100, comm: 'trainB' });
    for (let i = 0; i < 2000; i++) {
      for (const node_id of [0, 1]) {
        w.appendEvent({ node_id, ts_ns: i * 1e6, dur_ns: 1e4, pid: 100, tid: 100, op_id: LAUNCH });
        w.appendEvent({ node_id, ts_ns: i * 1e6 + 1e4, dur_ns: node_id === 1 && i % 50 === 0 ? 3e7 : 5e4, pid: 100, tid: 100, op_id: SYNC });
      }
      if (i % 50 === 0) w.appendEvent({ node_id: 1, ts_ns: i * 1e6 + 2e4, dur_ns: 2.5e7, pid: 100, tid: 100, op_id: SCHED, arg0: 555, arg1: 555, arg2: 0 });
    }
    w.addCaptureLoss({ node_id: 1, probe: 'ringbuf', emitted: 10000, dropped: 123 });
  },
  // pid 300 is a shell that exits, then a trainer that gets the same pid (a reused pid).
  'reused-pid': (w) => {
    w.addProcess({ pid: 300, start_ns: 0, end_ns: 5e8, exit_code: 0, comm: 'bash' });
    w.addProcess({ pid: 300, start_ns: 6e8, comm: 'trainer' });
    for (let i = 0; i < 500; i++) w.appendEvent({ ts_ns: 6e8 + i * 1e6, dur_ns: 1e4, pid: 300, tid: 300, op_id: LAUNCH });
  },
  'unknown-ops-raw-stacks': (w) => {
    const raw = w.internStack([{ kind: 'native', address: 0xdeadbeefn }, { kind: 'native', address: 0x1234n, mapping: { path: '/lib/x.so' } }, { kind: 'native' }]);
    for (let i = 0; i < 300; i++) {
      w.appendEvent({ ts_ns: i * 1e6, dur_ns: 1e3 * ((i % 9) + 1), pid: 3, tid: 3, op_id: 250 * 256 + 7, arg0: 1, stack_id: raw });
      w.appendEvent({ ts_ns: i * 1e6 + 5, dur_ns: 100, pid: 3, tid: 3, op_id: 256 + 250, stack_id: raw });
    }
  },
  // 60 s of 1000 launches/s; from 20 s on only 1% of them are stored, complete counts in op_aggregates.
  'sampled-with-aggregates': (w) => {
    for (let s = 0; s < 60; s++) {
      const stored = s < 20 ? 1000 : 10;
      for (let k = 0; k < stored; k++) w.appendEvent({ ts_ns: s * 1e9 + k * (1e9 / stored), dur_ns: 5e3, pid: 9, tid: 9, op_id: LAUNCH });
      w.addAggregate({ bucket_ns: s * 1e9, width_ns: 1e9, op_id: LAUNCH, pid: 9, count: 1000, stored, sum_dur_ns: 5e6, min_dur_ns: 5e3, max_dur_ns: 5e3, sum_arg0: 0 });
    }
    w.addSampling({ op_id: LAUNCH, from_ns: 20e9, to_ns: null, policy: 'keep 1%' });
  },
  // Node-wide complete counts (pid 0) while two processes launch; pid 10 stops at 30 s, so the
  // node's rate halves while pid 9 carries on at the same pace.
  'sampled-node-wide-aggregates': (w) => {
    for (let s = 0; s < 60; s++) {
      for (const pid of s < 30 ? [9, 10] : [9]) for (let k = 0; k < 10; k++) w.appendEvent({ ts_ns: s * 1e9 + k * 1e8 + pid, dur_ns: 5e3, pid, tid: pid, op_id: LAUNCH });
      const count = s < 30 ? 2000 : 1000;
      w.addAggregate({ bucket_ns: s * 1e9, width_ns: 1e9, op_id: LAUNCH, pid: 0, count, stored: count / 100, sum_dur_ns: count * 5e3, min_dur_ns: 5e3, max_dur_ns: 5e3, sum_arg0: 0 });
    }
    w.addSampling({ op_id: LAUNCH, from_ns: 0, to_ns: null, policy: 'keep 1%' });
  },
  'sampled-without-aggregates': (w) => {
    for (let s = 0; s < 60; s++) {
      const stored = s < 20 ? 1000 : 10;
      for (let k = 0; k < stored; k++) w.appendEvent({ ts_ns: s * 1e9 + k * (1e9 / stored), dur_ns: 5e3, pid: 9, tid: 9, op_id: LAUNCH });
    }
    w.addSampling({ from_ns: 20e9, to_ns: null, policy: 'keep 1%' });
  },
};

const path = (name: string) => join(work, `${name}.ingero`);

before(async () => {
  for (const [name, fill] of Object.entries(BUNDLES)) {
    const w = BundleWriter.create(path(name), { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero', version: '0', command: 'edge cases' }, nodeName: 'node-a' });
    fill(w);
    await w.seal();
  }
});

function ingero(args: string[], env: Record<string, string> = {}): string {
  const r = runCli(args, { cwd: work, cacheDir, env: { NO_COLOR: '1', ...env } });
  assert.equal(r.code, 0, `ingero ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function analyse(name: string) {
  const b = openBundle(path(name), { cacheDir });
  try {
    return { report: explain(b), stats: computeStats(b) };
  } finally {
    b.close();
  }
}

/** Every number finite, every share in [0, 1], and the text (the given one, or every string
 *  in the value) free of NaN, Infinity, undefined, null and percentages outside 0–100 %. */
function assertSane(what: string, value: unknown, text = ''): void {
  const strings: string[] = [text];
  JSON.stringify(value, (k, v) => {
    if (typeof v === 'number') {
      assert.ok(Number.isFinite(v), `${what}: ${k} = ${v}`);
      if (k === 'share') assert.ok(v >= 0 && v <= 1, `${what}: share ${v}`);
    }
    if (typeof v === 'string') strings.push(v);
    return v;
  });
  text = strings.join('\n');
  assert.doesNotMatch(text, /NaN|Infinity|undefined|\bnull\b/, what);
  for (const m of text.matchAll(/(-?\d+(?:\.\d+)?)%/g)) assert.ok(Number(m[1]) >= 0 && Number(m[1]) <= 100, `${what}: ${m[0]} in ${text}`);
}

test('every edge-case bundle gives finite numbers, no impossible percentages and no "undefined" in explain and stats', () => {
  for (const name of Object.keys(BUNDLES)) {
    const { report, stats } = analyse(name);
    assertSane(`${name} explain`, report);
    assertSane(`${name} stats`, stats);
    assertSane(`${name} explain text`, null, ingero(['explain', path(name)]));
    assertSane(`${name} stats text`, null, ingero(['stats', '--by-process', path(name)]));
  }
});

test('an empty bundle and a single event are reported plainly', () => {
  const empty = analyse('empty');
  assert.equal(empty.report.findings.length, 0);
  assert.deepEqual([empty.stats.events, empty.stats.span_ns, empty.stats.ops.length], [0, 0, 0]);
  assert.match(ingero(['explain', path('empty')]), /0 events over 0 ns/);
  const single = analyse('single');
  assert.equal(single.stats.ops[0]!.p99_ns, 10);
  assert.match(ingero(['explain', path('single')]), /\b1 event over 10 ns/);
  assert.match(ingero(['stats', path('single')]), /\n1 event over 10 ns;/);
});

test('shares of wall time count overlapping calls of several threads once', () => {
  const { report } = analyse('two-threads-sync');
  for (const kind of ['sync-stall', 'memcpy-bottleneck']) {
    const f = report.findings.find((x) => x.kind === kind);
    assert.ok(f, `${kind} found`);
    const share = f.evidence.find((e) => e.kind === 'share')!;
    // Each thread waits 900 µs of every 1 ms step, at the same time: 90% of wall time, not 180%.
    assert.ok(Math.abs(share.values.share! - 0.9) < 0.01, `${kind} share ${share.values.share}`);
    assert.match(f.summary, / 90% of its time/);
  }
});

test('a finding about an unnamed process names it so in the text report', () => {
  const text = ingero(['explain', path('same-timestamp')]);
  assert.match(text, /— unnamed process \(pid 7\)/);
  assert.doesNotMatch(text, /~0 ns/, 'spikes at one instant have no period in time');
});

test('pids shared by two nodes stay apart in stats and findings', () => {
  const { report, stats } = analyse('two-nodes');
  const rows = stats.by_process.filter((r) => r.pid === 100 && r.op === 'cudaStreamSynchronize');
  assert.deepEqual(rows.map((r) => [r.node, r.process, r.count, r.max_ns]), [['node-a', 'trainA', 2000, 5e4], ['node-b', 'trainB', 2000, 3e7]]);
  assert.ok(report.findings.length > 0);
  for (const f of report.findings) {
    assert.deepEqual([f.node_id, f.node, f.process], [1, 'node-b', 'trainB'], f.id);
    assert.ok(f.caveats.some((c) => /123 events were dropped during capture on this node/.test(c)), f.id);
    assert.doesNotMatch(JSON.stringify(f), /trainA|node-a/, f.id);
  }
});

test('a pid reused during the recording is said to combine its processes', () => {
  const { report } = analyse('reused-pid');
  assert.ok(report.limitations.some((l) => l === 'pid 300 named 2 processes during the recording (bash, then trainer): its statistics and findings combine them under the first name.'), report.limitations.join('\n'));
  assert.doesNotMatch(analyse('two-nodes').report.limitations.join('\n'), /named \d+ processes/, 'the same pid on two nodes is two processes, not a reuse');
});

test('capture loss is said even when nothing is found', () => {
  const { report } = analyse('host-only-lossy');
  assert.equal(report.findings.length, 0);
  assert.ok(report.limitations.some((l) => /^1 event was dropped during capture/.test(l)), report.limitations.join('\n'));
  const text = ingero(['explain', path('host-only-lossy')]);
  assert.match(text, /1 event was dropped during capture/);
  assert.match(text, /Data quality\n  - ringbuf: 1 of 600 events dropped — ring buffer full\./);
});

test('unknown op codes and raw-address stacks are named, not dropped', () => {
  const { stats } = analyse('unknown-ops-raw-stacks');
  assert.deepEqual(stats.ops.map((o) => [o.op, o.source, o.count]), [['op_1_250', 'cuda', 300], ['op_250_7', 'source_250', 300]]);
});

test('a sampled bundle claims no throughput drop from fewer stored events', () => {
  for (const name of ['sampled-with-aggregates', 'sampled-node-wide-aggregates', 'sampled-without-aggregates']) {
    const { report } = analyse(name);
    assert.ok(!report.findings.some((f) => f.kind === 'throughput-drop'), name);
    assert.ok(report.data_quality.sampled, name);
  }
  assert.ok(analyse('sampled-without-aggregates').report.limitations.some((l) => /fewer stored events is not a drop/.test(l)));
});

test('explain --json is byte-identical across cache dirs, time zones and locales; text too', () => {
  for (const name of ['two-nodes', 'same-timestamp', 'sampled-with-aggregates']) {
    const json = ingero(['explain', '--json', path(name)], { TZ: 'UTC', LANG: 'C' });
    assert.equal(ingero(['explain', '--json', path(name)], { TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8', INGERO_CACHE_DIR: join(work, 'other-cache') }), json, name);
    const text = ingero(['explain', path(name)], { TZ: 'UTC', LANG: 'C' });
    assert.equal(ingero(['explain', path(name)], { TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' }), text, name);
  }
});

test('durations of a minute or more never print 60 seconds', () => {
  assert.equal(formatDuration(119.7e9), '2 min 0 s');
  assert.equal(formatDuration(61.2e9), '1 min 1 s');
});

test('a rate window too small for the trace is a limitation, not a crash or a hang', () => {
  const b = openBundle(path('two-nodes'), { cacheDir });
  try {
    for (const rateWindowNs of [0, 1]) {
      const report = explain(b, { thresholds: { rateWindowNs } });
      assert.ok(!report.findings.some((f) => f.kind === 'throughput-drop'));
      assert.ok(report.limitations.some((l) => /Throughput of cudaLaunchKernel in trainB \(pid 100 on node-b\) was not judged: a rate window of \d ns .* more than 1,000,000 windows/.test(l)), report.limitations.join('\n'));
    }
  } finally {
    b.close();
  }
});

test('explain reports its progress: fractions rise from 0 to 1 through named phases, and the report is the same', () => {
  for (const name of Object.keys(BUNDLES)) {
    const bundle = openBundle(path(name));
    try {
      const seen: [number, string][] = [];
      const report = explain(bundle, { onProgress: (f, phase) => seen.push([f, phase]) });
      assert.deepEqual(seen[0], [0, 'stats'], name);
      assert.deepEqual(seen.at(-1), [1, 'ranking'], name);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0], `${name}: non-decreasing`);
      assert.ok(seen.some(([, p]) => p === 'cold-start'), 'detector phases are named by finding kind');
      assert.deepEqual(report, explain(bundle));
    } finally {
      bundle.close();
    }
  }
});
