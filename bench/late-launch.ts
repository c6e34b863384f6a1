// bench/late-launch: what the late-launch chain costs explain on a merged GPU + host bundle. The
// bundle has two nodes as ingero merge makes them: a GPU side (N kernels, each with its launch
// call and corr_id, as a Kineto import stores them) and a host side (the launching thread's
// sched_switch rows, its launches as uprobes saw them, a hog that preempts it before every
// 1,000th launch). Measured in one process, in the same run: the whole explain; the shared GPU
// pass (gpuTimeline, which every GPU finding already paid for before late-launch); and the
// late-launch chains on top of that pass (lateLaunches), three times each, interleaved.
//
//   npx tsx bench/late-launch.ts [--kernels N]
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { AnalysisContext } from '../analyze/context.ts';
import { readFacts } from '../analyze/bundle-facts.ts';
import { EventIndex } from '../analyze/event-index.ts';
import { explain } from '../analyze/explain.ts';
import { gpuTimeline } from '../analyze/findings/gpu-timeline.ts';
import { lateLaunches } from '../analyze/findings/late-launch.ts';
import { computeStats } from '../analyze/stats.ts';
import { resolveThresholds } from '../analyze/thresholds.ts';
import { BundleWriter, openBundle, opId, type EventInput } from '../format/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const kernels = Number(process.argv[process.argv.indexOf('--kernels') + 1] ?? 0) || 200_000;
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
process.env.INGERO_CACHE_DIR ??= join(outDir, 'cache');
const path = join(outDir, `late-launch-${kernels}.ingero`);
rmSync(path, { force: true });

const US = 1_000;
const PID = 4242;
const TID = 4243;
const HOG = 999;
const PREEMPT_EVERY = 1_000;
const PREEMPT_NS = 2_000 * US;

const w = BundleWriter.create(path, { originUnixNs: 1_775_000_000_000_000_000n, producer: { name: 'bench', version: '0', command: 'late-launch' }, nodeName: 'gpu-host-07', compressionLevel: 3 });
w.addNode(1, 'rank0');
w.addProcess({ pid: PID, ppid: 1, start_ns: 0, comm: 'python3' });
w.addThread({ pid: PID, tid: TID, first_ns: 0, comm: 'pt_main_thread' });
w.addProcess({ pid: HOG, ppid: 1, start_ns: 0, comm: 'stress-ng' });
w.addProcess({ node_id: 1, pid: PID, start_ns: 0, comm: 'python3' });
const gemm = w.internKernel({ name: 'void gemm_kernel<float>(float*)' });
const events: EventInput[] = [];
let t = 1_000 * US;
for (let i = 0; i < kernels; i++) {
  if (i > 0 && i % PREEMPT_EVERY === 0) {
    events.push({ ts_ns: t - 60 * US, dur_ns: PREEMPT_NS, node_id: 0, pid: PID, tid: TID, op_id: opId('sched_switch'), arg0: HOG, arg1: HOG, arg2: 0 });
    t += PREEMPT_NS;
  }
  if (i % 20 === 0) events.push({ ts_ns: t - 45 * US, dur_ns: 5 * US, node_id: 0, pid: PID, tid: TID, op_id: opId('sched_switch'), arg0: 0, arg1: 0, arg2: 1 });
  events.push({ ts_ns: t - 50 * US, dur_ns: 5 * US, node_id: 1, pid: PID, tid: TID, op_id: opId('cudaLaunchKernel'), corr_id: i + 1 });
  events.push({ ts_ns: t - 47 * US, dur_ns: 4 * US, node_id: 0, pid: PID, tid: TID, op_id: opId('cudaLaunchKernel') });
  events.push({ ts_ns: t, dur_ns: 90 * US, node_id: 1, pid: 0, tid: 0, op_id: opId('kernel'), arg0: gemm, arg2: 0, arg3: 7, corr_id: i + 1 });
  t += 100 * US;
}
events.sort((a, b) => a.ts_ns - b.ts_ns);
for (const e of events) w.appendEvent(e);
await w.seal();

const bundle = openBundle(path);
const ms = (fn: () => void) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const rows: { explain: number; timeline: number; chains: number; found: number }[] = [];
for (let run = 0; run < 3; run++) {
  let found = 0;
  const whole = ms(() => void (found = explain(bundle).findings.filter((f) => f.kind === 'late-launch').length));
  const index = new EventIndex(bundle);
  const facts = readFacts(bundle, index);
  const ctx = new AnalysisContext(bundle, facts, computeStats(bundle, { facts, index }), resolveThresholds(), index);
  const timeline = ms(() => void gpuTimeline(ctx));
  let chains = 0;
  const chainMs = ms(() => void (chains = lateLaunches(ctx).reduce((n, d) => n + d.chains.length, 0)));
  if (found !== 1 || chains === 0) throw new Error(`expected one late-launch finding with chains, got ${found} findings and ${chains} chains`);
  rows.push({ explain: whole, timeline, chains: chainMs, found: chains });
}
bundle.close();
const list = (k: 'explain' | 'timeline' | 'chains') => rows.map((r) => r[k].toFixed(0)).join(' / ');
process.stdout.write(
  [
    `late-launch bench, ${new Date().toISOString()}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    `bundle: ${events.length.toLocaleString('en-US')} events (${kernels.toLocaleString('en-US')} kernels, a 2 ms preemption before every ${PREEMPT_EVERY}th launch), ${rows[0]!.found} chains examined`,
    `explain, whole (ms, 3 runs):        ${list('explain')}`,
    `shared GPU pass, gpuTimeline (ms):   ${list('timeline')}`,
    `late-launch chains on top (ms):      ${list('chains')}`,
    '',
  ].join('\n'),
);
