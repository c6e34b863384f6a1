// ingero import of PyTorch profiler (Kineto) traces, checked against the traces themselves read
// a second, independent way: a plain JSON.parse of the decompressed fixture, counted and summed
// here, never through the importer's code.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { computeStats } from '../analyze/index.ts';
import { openBundle, opId } from '../format/index.ts';
import { importKinetoTraces } from '../import/index.ts';
import { assertOneLineError, runCli } from './cli-fixtures.ts';

const FIXTURES = new URL('./fixtures/kineto/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ingero-kineto-test-'));
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

interface TraceEvent { ph?: string; cat?: string; name?: string; pid?: unknown; tid?: unknown; ts?: number; dur?: number; args?: Record<string, unknown> }
const readTrace = (file: string) => JSON.parse(gunzipSync(readFileSync(join(FIXTURES, file))).toString('utf8')) as { traceEvents: TraceEvent[]; distributedInfo?: { rank: number } };
/** µs as JSON.parse gives them → ns; exact for these fixtures, whose times have no decimals beyond `.0`. */
const ns = (us: number) => Math.round(us * 1000);

const GPU_CATS: Record<string, string> = { kernel: 'kernel', gpu_memcpy: 'memcpy', gpu_memset: 'memset' };

/** Per device and kind: count and summed duration, straight from the JSON. */
function expectedGpuTotals(trace: ReturnType<typeof readTrace>): Map<string, { count: number; dur: number }> {
  const out = new Map<string, { count: number; dur: number }>();
  for (const e of trace.traceEvents) {
    const kind = GPU_CATS[e.cat ?? ''];
    if (e.ph !== 'X' || !kind) continue;
    const key = `${e.args!.device}:${kind}`;
    const t = out.get(key) ?? { count: 0, dur: 0 };
    t.count++;
    t.dur += ns(e.dur!);
    out.set(key, t);
  }
  return out;
}

/** Union of the GPU intervals of one device, computed here: sort by start, merge overlaps. */
function expectedBusy(trace: ReturnType<typeof readTrace>, device: number): { busy: number; span: number } {
  const work = trace.traceEvents.filter((e) => e.ph === 'X' && GPU_CATS[e.cat ?? ''] && e.args!.device === device);
  // Relative to the first start before scaling: absolute µs · 1000 would exceed a double's exact range.
  const t0 = Math.min(...work.map((e) => e.ts!));
  const iv = work.map((e) => [ns(e.ts! - t0), ns(e.ts! - t0) + ns(e.dur!)] as [number, number]);
  iv.sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let [s, t] = iv[0]!;
  for (const [a, b] of iv.slice(1)) {
    if (a > t) {
      busy += t - s;
      [s, t] = [a, b];
    } else t = Math.max(t, b);
  }
  busy += t - s;
  return { busy, span: Math.max(...iv.map((x) => x[1])) - iv[0]![0] };
}

async function imported(files: string[], name: string) {
  const out = join(work, name);
  const report = await importKinetoTraces(files.map((f) => join(FIXTURES, f)), out);
  return { report, bundle: openBundle(out, { cacheDir }) };
}

describe('Kineto import', () => {
  test('kernels, copies and sets per device: counts and summed durations equal the trace read with JSON.parse', async () => {
    const trace = readTrace('alexnet-a100.json.gz');
    const { bundle } = await imported(['alexnet-a100.json.gz'], 'alexnet.ingero');
    try {
      const rows = bundle.db.prepare(`SELECT arg2 AS device, o.name AS kind, count(*) AS n, sum(dur_ns) AS dur FROM events e JOIN ops o ON o.id = e.op_id WHERE o.name IN ('kernel', 'memcpy', 'memset') GROUP BY 1, 2`).all() as { device: number; kind: string; n: number; dur: number }[];
      const got = new Map(rows.map((r) => [`${r.device}:${r.kind}`, { count: r.n, dur: r.dur }]));
      const want = expectedGpuTotals(trace);
      assert.ok(want.size >= 3, 'the fixture has kernels, copies and sets');
      assert.deepEqual(got, want);
      // Every kernel's launching runtime call is linked to it by corr_id.
      const unlinked = bundle.db.prepare(`SELECT count(*) FROM events k WHERE k.op_id = ? AND NOT EXISTS (SELECT 1 FROM events c WHERE c.node_id = k.node_id AND c.corr_id = k.corr_id AND c.op_id / 256 IN (1, 4))`).pluck().get(opId('kernel'));
      assert.equal(unlinked, 0);
      const launches = trace.traceEvents.filter((e) => e.cat === 'kernel').map((e) => e.args!.correlation);
      const linked = bundle.db.prepare(`SELECT count(*) FROM events k JOIN events c ON c.corr_id = k.corr_id AND c.op_id = ? WHERE k.op_id = ?`).pluck().get(opId('cudaLaunchKernel'), opId('kernel'));
      const launchNames = new Map(trace.traceEvents.filter((e) => e.cat === 'cuda_runtime').map((e) => [e.args!.correlation, e.name]));
      assert.equal(linked, launches.filter((c) => launchNames.get(c) === 'cudaLaunchKernel').length);
      // Names and launch configurations, from the kernel rows of the trace.
      const first = trace.traceEvents.find((e) => e.cat === 'kernel')!;
      const k = bundle.db.prepare(`SELECT g.* FROM events e JOIN gpu_kernels g ON g.id = e.arg0 WHERE e.op_id = ? AND e.corr_id = ?`).get(opId('kernel'), first.args!.correlation) as Record<string, number | string>;
      assert.equal(k.name, first.name);
      assert.deepEqual([k.grid_x, k.grid_y, k.grid_z, k.block_x, k.block_y, k.block_z], [...(first.args!.grid as number[]), ...(first.args!.block as number[])]);
      assert.equal(k.registers, first.args!['registers per thread']);
      const cpuOps = trace.traceEvents.filter((e) => e.cat === 'cpu_op').length;
      assert.equal(bundle.db.prepare('SELECT count(*) FROM events WHERE op_id = ?').pluck().get(opId('cpu_op')), cpuOps);
      const meta = bundle.metadata();
      assert.equal((meta['gpu.devices'] as unknown[]).length, 8);
      assert.equal(meta['gpu.model'], 'NVIDIA A100-PG509-200');
    } finally {
      bundle.close();
    }
  });

  test('stats gpus[]: busy time equals a separate interval union, span first start to last end; ranks are nodes on one clock', async () => {
    const traces = [readTrace('sampled-128rank-rank0.json.gz'), readTrace('sampled-128rank-rank1.json.gz')];
    const { bundle, report } = await imported(['sampled-128rank-rank0.json.gz', 'sampled-128rank-rank1.json.gz'], 'two-ranks.ingero');
    try {
      assert.deepEqual(report.nodes, ['rank0', 'rank1']);
      const stats = computeStats(bundle);
      assert.equal(stats.gpus.length, 2);
      for (const [node, trace] of traces.entries()) {
        const device = node; // rank r ran on GPU r in this job
        const g = stats.gpus.find((x) => x.node_id === node && x.device === device)!;
        const want = expectedBusy(trace, device);
        assert.equal(g.busy_ns, want.busy, `rank${node} busy`);
        assert.equal(g.span_ns, want.span, `rank${node} span`);
        const kernels = trace.traceEvents.filter((e) => e.cat === 'kernel');
        assert.equal(g.kernel.count, kernels.length);
        const top = g.kernels[0]!;
        const durs = kernels.filter((e) => e.name === top.name).map((e) => ns(e.dur!)).sort((a, b) => a - b);
        assert.equal(top.count, durs.length);
        assert.equal(top.total_ns, durs.reduce((a, b) => a + b, 0));
        assert.equal(top.p50_ns, durs[Math.ceil(0.5 * durs.length) - 1]);
      }
      // One clock: an event's bundle time plus the origin is its unix time in both ranks.
      const origin = bundle.originUnixNs;
      for (const [node, trace] of traces.entries()) {
        const minTs = Math.min(...trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'kernel').map((e) => e.ts!));
        const first = bundle.db.prepare('SELECT min(ts_ns) FROM events WHERE node_id = ? AND op_id = ?').pluck().get(node, opId('kernel')) as number;
        assert.equal(origin + BigInt(first), BigInt(minTs) * 1000n);
      }
      const steps = bundle.db.prepare("SELECT count(*) FROM annotations WHERE json_extract(labels, '$.name') LIKE 'ProfilerStep#%'").pluck().get() as number;
      assert.equal(steps, traces.flatMap((t) => t.traceEvents).filter((e) => e.name?.startsWith('ProfilerStep#')).length);
    } finally {
      bundle.close();
    }
  });

  test('times are parsed as decimal text: three-decimal µs become exact ns where a double would round', async () => {
    const tsText = '1700000000123456.789';
    assert.notEqual(BigInt(Math.round(Number(tsText) * 1000)), 1700000000123456789n, 'a float parse would be wrong here');
    const body = `{"schemaVersion": 1, "traceEvents": [
      {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 7, "tid": 7, "ts": 1700000000123450.001, "dur": 4.999, "args": {"correlation": 5}},
      {"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": ${tsText}, "dur": 1.001, "args": {"device": 0, "stream": 7, "correlation": 5}}
    ], "baseTimeNanoseconds": 0}`;
    const src = join(work, 'decimal.json');
    writeFileSync(src, body);
    const out = join(work, 'decimal.ingero');
    await importKinetoTraces([src], out);
    const bundle = openBundle(out, { cacheDir });
    try {
      const k = bundle.db.prepare('SELECT ts_ns, dur_ns FROM events WHERE op_id = ?').get(opId('kernel')) as { ts_ns: number; dur_ns: number };
      assert.equal(bundle.originUnixNs + BigInt(k.ts_ns), 1700000000123456789n);
      assert.equal(k.dur_ns, 1001);
      const launch = bundle.db.prepare('SELECT ts_ns, dur_ns FROM events WHERE op_id = ?').get(opId('cudaLaunchKernel')) as { ts_ns: number; dur_ns: number };
      assert.equal(k.ts_ns - launch.ts_ns, 6_788, 'launch-to-start gap exact to the ns');
      assert.equal(launch.dur_ns, 4999);
    } finally {
      bundle.close();
    }
  });

  test('early category names (Operator, Runtime, Kernel, Memcpy, Memset) and a clock base written after traceEvents', async () => {
    const body = JSON.stringify({
      traceEvents: [
        { ph: 'X', cat: 'Operator', name: 'aten::mm', pid: 9, tid: 9, ts: 100, dur: 50, args: {} },
        { ph: 'X', cat: 'Runtime', name: 'cudaLaunchKernel', pid: 9, tid: 9, ts: 110, dur: 5, args: { correlation: 1 } },
        { ph: 'X', cat: 'Kernel', name: 'gemm', pid: 'device 0', tid: 'stream 7', ts: 120, dur: 30, args: { correlation: 1 } },
        { ph: 'X', cat: 'Memcpy', name: 'Memcpy DtoH (Device -> Pinned)', pid: 'device 0', tid: 'stream 7', ts: 160, dur: 10, args: { correlation: 2, bytes: 4096 } },
        { ph: 'X', cat: 'Memset', name: 'Memset (Device)', pid: 'device 0', tid: 'stream 7', ts: 175, dur: 1, args: { correlation: 3, bytes: 64 } },
        { ph: 's', cat: 'async', name: 'launch', id: 1, pid: 9, tid: 9, ts: 110 },
        { ph: 'X', cat: 'mystery_category', name: 'something new', pid: 9, tid: 9, ts: 90, dur: 2 },
      ],
      baseTimeNanoseconds: 1_700_000_000_000_000_000,
    }).replace('"baseTimeNanoseconds":1700000000000000000', '"baseTimeNanoseconds":1700000000000000000');
    const src = join(work, 'early.json.gz');
    writeFileSync(src, gzipSync(body));
    const out = join(work, 'early.ingero');
    const report = await importKinetoTraces([src], out);
    assert.equal(report.sources[0]!.kernels, 1);
    const bundle = openBundle(out, { cacheDir });
    try {
      const rows = bundle.db.prepare('SELECT o.name, e.ts_ns, e.arg1, e.arg2, e.arg3 FROM events e JOIN ops o ON o.id = e.op_id ORDER BY e.id').all() as { name: string; ts_ns: number; arg1: number; arg2: number; arg3: number }[];
      assert.deepEqual(rows.map((r) => r.name), ['profiler_event', 'cpu_op', 'cudaLaunchKernel', 'kernel', 'memcpy', 'memset']);
      const kernel = rows[3]!;
      assert.deepEqual([kernel.arg2, kernel.arg3], [0, 7], 'device and stream from "device 0" / "stream 7"');
      assert.equal(rows[4]!.arg1, 2 | (3 << 8) | (2 << 16), 'DtoH, device to pinned');
      // Times relative to baseTimeNanoseconds, which came last: unix = base + ts µs.
      assert.equal(bundle.originUnixNs + BigInt(kernel.ts_ns), 1_700_000_000_000_000_000n + 120_000n);
      const kept = bundle.db.prepare("SELECT n.name FROM events e JOIN names n ON n.id = e.arg1 WHERE e.op_id = ?").pluck().get(opId('profiler_event'));
      assert.equal(kept, 'mystery_category', 'an unknown category is kept with its name');
    } finally {
      bundle.close();
    }
  });

  test('the CLI tells the format by content; truncated, non-Kineto and array JSON are refused in one line, nothing written', () => {
    const out = join(work, 'cli.ingero');
    const ok = runCli(['import', join(FIXTURES, 'alexnet-a100.json.gz'), '-o', out], { cacheDir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /859 events from 1 PyTorch profiler trace \(1 node: rank0\)/);
    const full = gunzipSync(readFileSync(join(FIXTURES, 'alexnet-a100.json.gz')));
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.json', full.subarray(0, full.length >> 1), /truncated.json: the JSON ends before its top-level object closes — the trace was cut short/],
      ['truncated.json.gz', readFileSync(join(FIXTURES, 'alexnet-a100.json.gz')).subarray(0, 9000), /the trace was cut short/],
      ['chrome.json', Buffer.from('{"traceEvents":[{"ph":"X","cat":"foo","name":"a","ts":1,"dur":2,"pid":1,"tid":1}]}'), /is a Chrome trace without any PyTorch profiler category or key .* not a PyTorch profiler \(Kineto\) trace/],
      ['array.json', Buffer.from('[{"ph":"X"}]'), /holds a JSON array .* not a PyTorch profiler \(Kineto\) trace/],
      ['broken.json', Buffer.from('{"traceEvents": [ {"ph": "X",, } ]}'), /is not valid JSON/],
      ['notes.txt', Buffer.from('hello world\n'), /is not an SQLite database \(an Ingero recording\) nor a PyTorch profiler trace/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const src = join(work, name);
      writeFileSync(src, bytes);
      const bad = join(work, `${name}.ingero`);
      const r = runCli(['import', src, '-o', bad], { cacheDir });
      assert.equal(r.code, 1, name);
      assertOneLineError(r, pattern);
      assert.ok(!existsSync(bad) && !existsSync(`${bad}.staging`), `${name}: nothing left behind`);
    }
  });
});
