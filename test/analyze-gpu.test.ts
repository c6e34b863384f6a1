// GPU-side analysis on bundles built here with known intervals (every expected number is worked
// out by hand below), plus the real AlexNet trace for the idle-GPU severity rule.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { computeStats, diffBundles, explain } from '../analyze/index.ts';
import { BundleWriter, openBundle, opId, type Bundle } from '../format/index.ts';
import { importKinetoTraces } from '../import/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-gpu-test-'));
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));
const MS = 1_000_000;
const PID = 77;

async function build(name: string, fill: (w: BundleWriter, k: (name: string) => number) => void): Promise<Bundle> {
  const path = join(work, name);
  const w = BundleWriter.create(path, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'test', version: '0', command: 'test' } });
  w.addProcess({ pid: PID, start_ns: 0, comm: 'trainer' });
  fill(w, (n) => w.internKernel({ name: n }));
  await w.seal();
  return openBundle(path, { cacheDir });
}

let corr = 1;
/** A launch call at `launchMs` and its kernel on `stream` from `fromMs` to `toMs`. */
function kernel(w: BundleWriter, id: number, launchMs: number, fromMs: number, toMs: number, stream = 7): void {
  const c = corr++;
  w.appendEvent({ ts_ns: launchMs * MS, dur_ns: 5_000, pid: PID, tid: PID, op_id: opId('cudaLaunchKernel'), corr_id: c });
  w.appendEvent({ ts_ns: fromMs * MS, dur_ns: (toMs - fromMs) * MS, pid: 0, tid: 0, op_id: opId('kernel'), arg0: id, arg2: 0, arg3: stream, corr_id: c });
}

describe('GPU analysis', () => {
  test('busy time, idle gaps by cause, launch queueing', async () => {
    const bundle = await build('idle.ingero', (w, k) => {
      const gemm = k('gemm');
      w.addAnnotation({ ts_ns: 0, end_ns: 10 * MS, pid: PID, labels: { source: 'kineto', category: 'user_annotation', name: 'ProfilerStep#1' } });
      w.addAnnotation({ ts_ns: 10 * MS, end_ns: 20 * MS, pid: PID, labels: { source: 'kineto', category: 'user_annotation', name: 'ProfilerStep#2' } });
      kernel(w, gemm, 0.5, 1, 2); // busy [1,2]
      kernel(w, gemm, 1.2, 1.5, 3, 8); // overlaps on another stream: busy [1,3]
      // The host synchronizes over [3, 4] then launches at 4.5: gap [3, 5] is after a sync.
      w.appendEvent({ ts_ns: 3 * MS, dur_ns: 1 * MS, pid: PID, tid: PID, op_id: opId('cudaStreamSynchronize') });
      kernel(w, gemm, 4.5, 5, 6);
      // Launched at 8, after the GPU ran dry at 6: gap [6, 8.5] waits on the host.
      kernel(w, gemm, 8, 8.5, 9.5);
      // Across the step boundary at 10: gap [9.5, 12] is between steps. Queued early (launch 2 ms).
      kernel(w, gemm, 2, 12, 13);
    });
    try {
      const g = computeStats(bundle).gpus;
      assert.equal(g.length, 1);
      // Union: [1,3] + [5,6] + [8.5,9.5] + [12,13] = 2 + 1 + 1 + 1 = 5 ms of a 12 ms span.
      assert.equal(g[0]!.busy_ns, 5 * MS);
      assert.equal(g[0]!.span_ns, 12 * MS);
      assert.deepEqual(g[0]!.streams, [7, 8]);
      assert.equal(g[0]!.kernels[0]!.count, 5);
      const report = explain(bundle);
      const idle = report.findings.find((f) => f.kind === 'gpu-idle')!;
      assert.equal(idle.severity, 'MEDIUM', 'busy 5 of 12 ms is under half the span');
      assert.equal(idle.pid, PID);
      const by = (kind: string) => idle.evidence.find((e) => e.kind === kind)?.values.idle_ns;
      assert.equal(by('idle-sync'), 2 * MS);
      assert.equal(by('idle-host'), 2.5 * MS);
      assert.equal(by('idle-between-steps'), 2.5 * MS);
      assert.equal(idle.impact_ns, 7 * MS);
      const queue = report.findings.find((f) => f.kind === 'launch-queueing')!;
      // Delays: 0.5, 0.3, 0.5, 0.5, 10 ms → p50 0.5 ms, p99 10 ms.
      assert.equal(queue.evidence[0]!.values.p50_ns, 0.5 * MS);
      assert.equal(queue.evidence[0]!.values.p99_ns, 10 * MS);
      assert.equal(queue.evidence[0]!.values.launches, 5);
    } finally {
      bundle.close();
    }
  });

  test('exposed NCCL time and a kernel regressing in one step', async () => {
    const bundle = await build('comm.ingero', (w, k) => {
      const gemm = k('gemm');
      const nccl = k('ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, unsigned long, ncclWork*)');
      for (let s = 0; s < 4; s++) w.addAnnotation({ ts_ns: s * 20 * MS, end_ns: (s + 1) * 20 * MS, pid: PID, labels: { source: 'kineto', category: 'user_annotation', name: `ProfilerStep#${s}` } });
      for (let s = 0; s < 4; s++) {
        const t = s * 20;
        // gemm: 2 ms per launch, 6 ms in step 2 (two launches there).
        const d = s === 2 ? 6 : 2;
        kernel(w, gemm, t, t + 1, t + 1 + d);
        kernel(w, gemm, t + 1, t + 10, t + 10 + d);
        // all-reduce [t+2, t+6] on stream 9: overlaps gemm [t+1, t+3] (or [t+1, t+7] in step 2).
        kernel(w, nccl, t + 1.5, t + 2, t + 6, 9);
      }
    });
    try {
      const report = explain(bundle);
      const comm = report.findings.find((f) => f.kind === 'comm-overlap')!;
      // Per step 4 ms of NCCL; overlapped 1 ms in steps 0, 1, 3 and 4 ms in step 2: 7 of 16 ms.
      assert.equal(comm.evidence[0]!.values.comm_ns, 16 * MS);
      assert.equal(comm.evidence[0]!.values.overlapped_ns, 7 * MS);
      assert.equal(comm.evidence[0]!.values.exposed_ns, 9 * MS);
      const reg = report.findings.find((f) => f.kind === 'kernel-regression')!;
      assert.equal(reg.op, 'gemm');
      assert.equal(reg.evidence[0]!.values.step, 2);
      assert.equal(reg.evidence[0]!.values.mean_ns, 6 * MS);
      assert.equal(reg.evidence[0]!.values.median_ns, 2 * MS);
      assert.equal(reg.evidence[0]!.values.extra_ns, 8 * MS);
      assert.ok(!report.findings.some((f) => f.kind === 'kernel-regression' && f.op.startsWith('nccl')), 'the all-reduce took the same time every step');
    } finally {
      bundle.close();
    }
  });

  test('a real trace: AlexNet on an A100 keeps its GPU busy under half its span, a MEDIUM idle finding', async () => {
    const out = join(work, 'alexnet.ingero');
    await importKinetoTraces([new URL('./fixtures/kineto/alexnet-a100.json.gz', import.meta.url).pathname], out);
    const bundle = openBundle(out, { cacheDir });
    try {
      const g = computeStats(bundle).gpus.find((x) => x.device === 0)!;
      assert.ok(g.busy_ns < g.span_ns / 2);
      const idle = explain(bundle).findings.find((f) => f.kind === 'gpu-idle' && f.op === 'GPU 0')!;
      assert.equal(idle.severity, 'MEDIUM');
      assert.equal(idle.evidence[0]!.values.busy_ns, g.busy_ns);
      const causes = idle.evidence.filter((e) => e.kind.startsWith('idle-') && e.kind !== 'idle-gap').reduce((s, e) => s + e.values.idle_ns!, 0);
      assert.equal(causes, g.idle_ns, 'the causes account for every idle ns');
    } finally {
      bundle.close();
    }
  });

  test('diff compares per-kernel times: the kernel slowed 3x between two recordings (60 launches each side) is a regression', async () => {
    const make = (name: string, ms: number) =>
      build(name, (w, k) => {
        const gemm = k('gemm');
        const relu = k('relu');
        for (let i = 0; i < 60; i++) {
          kernel(w, gemm, i * 10, i * 10 + 1, i * 10 + 1 + ms);
          kernel(w, relu, i * 10 + 5, i * 10 + 6, i * 10 + 6.5);
        }
      });
    const before = await make('diff-before.ingero', 1);
    const after = await make('diff-after.ingero', 3);
    try {
      const r = diffBundles(before, after);
      const gemm = r.kernels.find((k) => k.op === 'gemm')!;
      assert.equal(gemm.verdict, 'regression');
      assert.equal(gemm.before!.p50_ns, 1 * MS);
      assert.equal(gemm.after!.p50_ns, 3 * MS);
      assert.equal(gemm.total_delta_ns, 120 * MS);
      assert.equal(r.kernels.find((k) => k.op === 'relu')!.verdict, 'unchanged');
    } finally {
      before.close();
      after.close();
    }
  });
});
