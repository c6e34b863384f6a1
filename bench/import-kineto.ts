// bench/import-kineto: `ingero import` of a generated PyTorch profiler (Kineto) trace of N events
// (default 5M: cpu ops, launches with their ac2g flows, kernels, copies, sets, ProfilerStep
// ranges, µs with three decimals), beside the same streaming JSON library (@streamparser/json,
// same paths, numbers kept as text) merely parsing the same file in the same run. Each side runs
// in a child process of its own, so its peak RSS is its own.
//
//   npx tsx bench/import-kineto.ts [--events N] [--keep]
//
// Goal (issue 14): a 2 GB trace imports in bounded memory, at most 500 MB RSS.
import { TokenParser } from '@streamparser/json';
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { importKinetoTraces } from '../import/index.ts';
import { TextNumberTokenizer, TRACE_PATHS } from '../import/kineto/trace-stream.ts';

const { values: args, positionals } = parseArgs({
  options: { events: { type: 'string', default: '5000000' }, keep: { type: 'boolean', default: false } },
  allowPositionals: true,
});

/** Child modes: print {seconds, events, max_rss_bytes} as JSON. */
if (positionals[0] === 'parse' || positionals[0] === 'import') {
  const file = positionals[1]!;
  const t = performance.now();
  let events = 0;
  if (positionals[0] === 'parse') {
    const tok = new TextNumberTokenizer();
    const parser = new TokenParser({ paths: TRACE_PATHS, keepStack: false });
    tok.onToken = (token) => parser.write(token);
    parser.onValue = ({ stack }) => void (stack.length === 2 && events++);
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) tok.write(chunk as Buffer);
  } else {
    const r = await importKinetoTraces([file], positionals[2]!, {});
    events = r.events;
  }
  console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, events, max_rss_bytes: process.resourceUsage().maxRSS * 1024 }));
  process.exit(0);
}

const N = Number(args.events);
const work = mkdtempSync(join(tmpdir(), 'ingero-bench-kineto-'));
const trace = join(work, 'trace.json');

/** Writes a trace of about n events; returns the count written to traceEvents. */
async function generate(path: string, n: number): Promise<number> {
  const out = createWriteStream(path);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('{"schemaVersion": 1, "distributedInfo": {"backend": "nccl", "rank": 0, "world_size": 8}, "deviceProperties": [{"id": 0, "name": "Bench GPU", "totalGlobalMem": 85899345920}], "traceEvents": [\n');
  const base = 1_700_000_000_000_000; // µs
  let written = 0;
  let t = 0; // ns since base
  let corr = 1;
  let step = 0;
  const us = (ns: number) => `${base + Math.floor(ns / 1000)}.${String(ns % 1000).padStart(3, '0')}`;
  const dur = (ns: number) => `${Math.floor(ns / 1000)}.${String(ns % 1000).padStart(3, '0')}`;
  const kernels = ['void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>>', 'ampere_sgemm_128x64_tn', 'void cudnn::bn_fw_tr_1C11_kernel_NCHW<float, float, int, 512, true, 1>', 'ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, unsigned long, ncclWork*)'];
  const parts: string[] = [];
  while (written < n) {
    if (written % 50_000 === 0) {
      parts.push(`{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#${step++}", "pid": 100, "tid": 100, "ts": ${us(t)}, "dur": ${dur(40_000_000)}, "args": {"External id": ${corr}}}`);
      written++;
    }
    const c = corr++;
    const k = kernels[c % kernels.length]!;
    parts.push(`{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 100, "tid": 100, "ts": ${us(t)}, "dur": ${dur(9_123)}, "args": {"External id": ${c}, "Input Dims": [[64, 64], [64, 64]]}}`);
    parts.push(`{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 100, "tid": 100, "ts": ${us(t + 1_001)}, "dur": ${dur(4_517)}, "args": {"External id": ${c}, "cbid": 211, "correlation": ${c}}}`);
    parts.push(`{"ph": "s", "id": ${c}, "pid": 100, "tid": 100, "ts": ${us(t + 1_001)}, "cat": "ac2g", "name": "ac2g"}`);
    parts.push(`{"ph": "X", "cat": "kernel", "name": "${k}", "pid": 0, "tid": 7, "ts": ${us(t + 6_250)}, "dur": ${dur(3_000 + (c % 7) * 1_111)}, "args": {"External id": ${c}, "queued": 0, "device": 0, "context": 1, "stream": 7, "correlation": ${c}, "registers per thread": 32, "shared memory": 0, "grid": [128, 1, 1], "block": [256, 1, 1]}}`);
    parts.push(`{"ph": "f", "id": ${c}, "pid": 0, "tid": 7, "ts": ${us(t + 6_250)}, "cat": "ac2g", "name": "ac2g", "bp": "e"}`);
    written += 5;
    if (c % 20 === 0) {
      parts.push(`{"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD (Pinned -> Device)", "pid": 0, "tid": 7, "ts": ${us(t + 20_000)}, "dur": ${dur(2_345)}, "args": {"device": 0, "context": 1, "stream": 7, "correlation": ${corr++}, "bytes": 65536}}`);
      parts.push(`{"ph": "X", "cat": "gpu_memset", "name": "Memset (Device)", "pid": 0, "tid": 7, "ts": ${us(t + 23_000)}, "dur": ${dur(1_001)}, "args": {"device": 0, "context": 1, "stream": 7, "correlation": ${corr++}, "bytes": 4096}}`);
      written += 2;
    }
    t += 25_000;
    if (parts.length >= 4096) {
      await write(parts.join(',\n') + ',\n');
      parts.length = 0;
    }
  }
  parts.push('{"ph": "i", "s": "g", "name": "Record Window End", "pid": "", "tid": "", "ts": ' + us(t) + '}');
  await write(parts.join(',\n') + '\n], "traceName": "bench"}\n');
  await new Promise<void>((r) => out.end(() => r()));
  return written + 1;
}

function child(mode: string, ...rest: string[]): { seconds: number; events: number; max_rss_bytes: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), mode, ...rest], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const load = loadavg()[0]!.toFixed(1);
const t0 = performance.now();
const written = await generate(trace, N);
const gen = (performance.now() - t0) / 1000;
const bytes = statSync(trace).size;
const mb = (b: number) => (b / 1e6).toFixed(0);
console.log(`bench/import-kineto — ${new Date().toISOString().slice(0, 16)} UTC, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}, load ${load} at start`);
console.log(`generated trace: ${written.toLocaleString('en-US')} events, ${mb(bytes)} MB JSON, in ${gen.toFixed(1)} s`);
const parse = child('parse', trace);
console.log(`parse only (@streamparser/json, numbers as text): ${parse.seconds.toFixed(1)} s, ${(parse.events / parse.seconds / 1e3).toFixed(0)}k events/s, ${(bytes / parse.seconds / 1e6).toFixed(1)} MB/s, peak RSS ${mb(parse.max_rss_bytes)} MB`);
const out = join(work, 'trace.ingero');
const imp = child('import', trace, out);
const bundle = statSync(out).size;
console.log(`ingero import: ${imp.seconds.toFixed(1)} s, ${(written / imp.seconds / 1e3).toFixed(0)}k trace events/s (${imp.events.toLocaleString('en-US')} bundle rows), peak RSS ${mb(imp.max_rss_bytes)} MB (goal ≤ 500 MB: ${imp.max_rss_bytes <= 500e6 ? 'met' : 'NOT met'}), import / parse time ${(imp.seconds / parse.seconds).toFixed(2)}x, bundle ${mb(bundle)} MB`);
if (!args.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
