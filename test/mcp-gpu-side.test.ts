// gpu_activity and cpu_profile over stdio against the real `ingero mcp --dir`: two PyTorch
// profiler imports (AlexNet on one node, two ranks of a 128-rank job as two nodes) and a
// recording with on-CPU samples on twelve threads. Numbers are held against the analyzer and
// against SQL on each bundle; every default result stays within 8 KB; a bundle without the data
// says so.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeStats } from '../analyze/index.ts';
import { BundleWriter, openBundle, opId } from '../format/index.ts';
import { importKinetoTraces } from '../import/index.ts';
import { connectStdio, resultParts, ROOT, type StdioServer } from './mcp-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-mcp-gpu-'));
const dir = join(work, 'bundles');
const env = { INGERO_CACHE_DIR: join(work, 'cache') };
const kineto = (n: string) => join(ROOT, 'test', 'fixtures', 'kineto', n);
const ALEXNET = 'alexnet.ingero';
const RANKS = 'ranks.ingero';
const SAMPLED = 'sampled.ingero';
const THREADS = 12;
let server: StdioServer;

before(async () => {
  mkdirSync(dir);
  await importKinetoTraces([kineto('alexnet-a100.json.gz')], join(dir, ALEXNET));
  await importKinetoTraces([kineto('sampled-128rank-rank0.json.gz'), kineto('sampled-128rank-rank1.json.gz')], join(dir, RANKS));
  const w = BundleWriter.create(join(dir, SAMPLED), { originUnixNs: 1_767_225_600_000_000_000n, producer: { name: 'test', version: '0', command: 'mcp gpu test' } });
  w.setMetadata('recorder.cpu_sample_hz', 99);
  w.addProcess({ pid: 500, start_ns: 0, comm: 'trainer' });
  const frame = (name: string) => ({ kind: 'native' as const, address: 0x1000n, mapping: { path: '/usr/lib/libtorch_cpu.so' }, function: { name } });
  const stacks = [
    w.internStack([frame('at::native::add_kernel'), frame('train_step'), frame('main')]),
    w.internStack([frame('memcpy'), frame('collate'), frame('main')]),
    w.internStack([frame('sched_yield'), frame('main')]),
  ];
  for (let t = 0; t < THREADS; t++) w.addThread({ pid: 500, tid: 500 + t, first_ns: 0, comm: `worker-${t}` });
  for (let i = 0; i < 3000; i++) {
    const tid = 500 + (i % THREADS < 6 ? 0 : i % THREADS);
    w.addCpuSample({ ts_ns: i * 100_000, pid: 500, tid, cpu: i % 8, stack_id: i % 11 === 0 ? null : stacks[(i * 7) % 3]! });
  }
  w.appendEvent({ ts_ns: 0, dur_ns: 300_000_000, pid: 500, tid: 500, op_id: opId('cudaStreamSynchronize') });
  await w.seal();
  server = await connectStdio(['--dir', dir], env);
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

async function call(name: string, args: Record<string, unknown>) {
  const r = resultParts(await server.client.callTool({ name, arguments: args }));
  assert.equal(r.isError, false, `${name}: ${r.text.slice(0, 300)}`);
  return { data: r.data as Record<string, any>, bytes: Buffer.byteLength(r.text) };
}

function withBundle<T>(name: string, fn: (b: ReturnType<typeof openBundle>) => T): T {
  const b = openBundle(join(dir, name), { cacheDir: env.INGERO_CACHE_DIR });
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

describe('gpu_activity', () => {
  it('gives each GPU its busy, idle and span as the analyzer computes them, top kernels first, within 8 KB', async () => {
    for (const name of [ALEXNET, RANKS]) {
      const { data, bytes } = await call('gpu_activity', { bundle: name });
      assert.ok(bytes <= 8 * 1024, `${name}: ${bytes} bytes`);
      const expected = withBundle(name, (b) => computeStats(b).gpus);
      assert.ok(expected.length > 0);
      assert.deepEqual(data.gpus.map((g: any) => [g.node, g.device, g.busy_ns, g.idle_ns, g.span_ns]), expected.map((g) => [g.node, g.device, g.busy_ns, g.idle_ns, g.span_ns]));
      for (const [i, g] of (data.gpus as any[]).entries()) {
        assert.equal(g.busy_share + g.idle_share, 1);
        assert.ok(g.top_kernels.length <= 5 && g.top_kernels.length === Math.min(5, expected[i]!.kernels.length));
        assert.deepEqual(g.top_kernels.map((k: any) => [k.count, k.total_ns, k.p99_ns]), expected[i]!.kernels.slice(0, 5).map((k) => [k.count, k.total_ns, k.p99_ns]));
        for (const k of g.top_kernels) assert.ok(k.name.length <= 81, 'names shortened by default');
      }
      // Kernel counts per GPU are the bundle's.
      const counts = withBundle(name, (b) => b.db.prepare(`SELECT n.name AS node, e.arg2 AS device, count(*) AS n FROM events e JOIN nodes n ON n.id = e.node_id WHERE e.op_id = ${opId('kernel')} GROUP BY 1, 2 ORDER BY e.node_id, 2`).all() as { node: string; device: number; n: number }[]);
      assert.deepEqual(data.gpus.filter((g: any) => g.kernel.count > 0).map((g: any) => [g.node, g.device, g.kernel.count]), counts.map((c) => [c.node, c.device, c.n]));
    }
    const ranks = await call('gpu_activity', { bundle: RANKS, node_id: 1 });
    assert.ok(ranks.data.gpus.length > 0 && ranks.data.gpus.every((g: any) => g.node === 'rank1'));
  });

  it('a bundle without GPU activity says where the GPU calls are instead', async () => {
    const { data } = await call('gpu_activity', { bundle: SAMPLED });
    assert.deepEqual(data.gpus, []);
    assert.match(data.notes[0], /No GPU activity rows .* get_trace_stats/);
  });
});

describe('cpu_profile', () => {
  it('per thread: samples, CPU time at the recorded rate and top frames as SQL counts them, the busiest first, within 8 KB', async () => {
    const { data, bytes } = await call('cpu_profile', { bundle: SAMPLED });
    assert.ok(bytes <= 8 * 1024, `${bytes} bytes`);
    assert.equal(data.hz, 99);
    assert.equal(data.samples, 3000);
    assert.equal(data.threads.length, 5);
    assert.equal(data.truncated, true);
    const perThread = withBundle(SAMPLED, (b) => b.db.prepare('SELECT tid, count(*) AS n, count(stack_id) AS with_stack FROM cpu_samples GROUP BY tid ORDER BY n DESC, tid').all() as { tid: number; n: number; with_stack: number }[]);
    assert.deepEqual(data.threads.map((t: any) => [t.tid, t.samples, t.without_stack]), perThread.slice(0, 5).map((t) => [t.tid, t.n, t.n - t.with_stack]));
    const main = data.threads[0];
    assert.equal(main.thread, 'worker-0');
    assert.equal(main.process, 'trainer');
    assert.equal(main.cpu_ns, Math.round((main.samples * 1e9) / 99));
    const leaf = withBundle(SAMPLED, (b) =>
      b.db.prepare(`SELECT f.name, count(*) AS n FROM cpu_samples s JOIN stack_frames sf ON sf.stack_id = s.stack_id AND sf.depth = 0 JOIN locations l ON l.id = sf.location_id JOIN functions f ON f.id = l.function_id WHERE s.tid = ? GROUP BY 1`).all(main.tid) as { name: string; n: number }[],
    );
    for (const f of main.top) {
      if (f.function === 'main') assert.equal(f.total, main.samples - main.without_stack, 'main is on every stack');
      else assert.equal(f.self, leaf.find((l) => l.name === f.function)?.n ?? 0, f.function);
      assert.equal(f.module, 'libtorch_cpu.so');
    }
    const all = await call('cpu_profile', { bundle: SAMPLED, limit: 100 });
    assert.equal(all.data.threads.length, 7);
    const window = await call('cpu_profile', { bundle: SAMPLED, tid: 500, from_ns: 0, to_ns: 30_000_000 });
    assert.equal(window.data.samples, withBundle(SAMPLED, (b) => b.db.prepare('SELECT count(*) FROM cpu_samples WHERE tid = 500 AND ts_ns < 30000000').pluck().get()));
  });

  it('a bundle without samples says so, and where on/off-CPU time is instead', async () => {
    const { data } = await call('cpu_profile', { bundle: ALEXNET });
    assert.equal(data.samples, 0);
    assert.deepEqual(data.threads, []);
    assert.match(data.notes[0], /No on-CPU samples in this bundle.*thread_activity/);
  });
});
