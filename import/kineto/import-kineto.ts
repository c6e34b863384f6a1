// importKinetoTraces: PyTorch profiler (Kineto) Chrome traces → one sealed .ingero bundle, a node
// per file (a rank of a distributed job). Each file is streamed once (bounded memory whatever its
// size); its events are written relative to a provisional origin and moved onto the bundle clock
// when the file ends, since the clock base may be the file's last key. The bundle clock is the
// first file's: ts_ns = 0 is the first timestamp of the first file floored to a whole second (or
// earlier, whole seconds, when another event or rank starts before it).
// On any failure the staging file is removed: no partial output is left behind.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { BundleError } from '../../format/index.ts';
import { checkOutputPath, createWriter } from '../output-path.ts';
import { TraceMapper, type Anomalies, type NodeCounts } from './map-event.ts';
import { streamTrace } from './trace-stream.ts';

export interface KinetoImportProgress {
  readonly phase: 'events' | 'sealing';
  /** Source bytes read so far, over all files, of total. */
  readonly done: number;
  readonly total: number;
  readonly events: number;
}

export interface KinetoImportOptions {
  readonly onProgress?: (p: KinetoImportProgress) => void;
  /** zstd level; default 19 below 16 MiB of sources, else 9 (as for Ingero databases). */
  readonly compressionLevel?: number;
  readonly signal?: AbortSignal;
}

export interface KinetoNodeReport extends NodeCounts {
  readonly file: string;
  readonly node: string;
  readonly rank: number | null;
  readonly bytes: number;
  readonly sha256: string;
  readonly processes: number;
  readonly threads: number;
  readonly devices: number;
}

export interface KinetoImportReport {
  readonly format: 'kineto';
  readonly output: string;
  readonly sources: readonly KinetoNodeReport[];
  readonly sourceBytes: number;
  readonly bundleBytes: number;
  readonly databaseBytes: number;
  readonly databaseSha256: string;
  readonly events: number;
  readonly nodes: readonly string[];
  readonly anomalies: Anomalies;
  readonly seconds: number;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const LARGE_SOURCE_BYTES = 16 * 1024 * 1024;
/** Top-level keys larger than this (Kineto's INFO log lines) are named in metadata, not copied. */
const TOP_LEVEL_VALUE_BYTES = 64 * 1024;
const NS_PER_S = 1e9;

export async function importKinetoTraces(sources: readonly string[], outPath: string, options: KinetoImportOptions = {}): Promise<KinetoImportReport> {
  const started = performance.now();
  for (const s of sources) checkOutputPath(s, outPath);
  const sizes = sources.map((s) => {
    try {
      return statSync(s).size;
    } catch {
      throw new BundleError('NOT_FOUND', `${s}: no such file — check the path`);
    }
  });
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const w = createWriter(outPath, {
    originUnixNs: 0n,
    producer: { name: 'ingero', version: pkg.version, command: `import ${sources.map((s) => basename(s)).join(' ')}` },
    compressionLevel: options.compressionLevel ?? (totalBytes > LARGE_SOURCE_BYTES ? 9 : 19),
  });
  try {
    const reports: KinetoNodeReport[] = [];
    const anomalies: Anomalies = { no_time: 0, negative_durations: 0 };
    const traces: Record<string, unknown>[] = [];
    let originUnixNs: bigint | null = null;
    let minNs = Infinity;
    let bytesBefore = 0;
    let events = 0;
    for (let node = 0; node < sources.length; node++) {
      const path = sources[node]!;
      const mapper = new TraceMapper(w, node);
      const top: Record<string, unknown> = {};
      const result = await streamTrace(path, sizes[node]!, {
        signal: options.signal,
        onEvent: (e) => mapper.map(e),
        onTopLevel: (key, value) => (top[key] = value),
        onBytes: (done) => options.onProgress?.({ phase: 'events', done: bytesBefore + done, total: totalBytes, events: events + mapper.counts.events }),
      });
      const isKineto = result.sawTraceEvents && (mapper.sawKinetoCategory || 'schemaVersion' in top || 'deviceProperties' in top || 'distributedInfo' in top);
      if (!isKineto) {
        throw new BundleError('USAGE', `${path}: ${result.sawTraceEvents ? 'is a Chrome trace without any PyTorch profiler category or key (cpu_op, kernel, deviceProperties, ...)' : 'is JSON without trace events (no traceEvents array, or an empty one)'}, not a PyTorch profiler (Kineto) trace — ingero import reads torch.profiler traces and Ingero databases`);
      }
      bytesBefore += result.bytes;
      events += mapper.counts.events;
      const dist = objectOrNull(top.distributedInfo);
      const rank = dist ? intOf(dist.rank) : null;
      const nodeName = rank !== null ? `rank${rank}` : basename(path).replace(/\.gz$/, '').replace(/\.json$/, '') || `trace${node}`;
      if (reports.some((r) => r.node === nodeName)) {
        throw new BundleError('USAGE', `${path}: is ${nodeName} again (${reports.find((r) => r.node === nodeName)!.file} already is) — give each rank's trace once`);
      }
      w.addNode(node, nodeName);
      const { processes, threads } = mapper.writeProcesses();

      // Onto the bundle clock: the file's provisional origin in unix ns is its clock base (the
      // newer Kineto writes times relative to baseTimeNanoseconds) plus the provisional origin.
      if (mapper.originUs !== null) {
        const base = bigintOf(top.baseTimeNanoseconds) ?? 0n;
        const fileOrigin = base + BigInt(mapper.originUs) * 1000n;
        if (originUnixNs === null) originUnixNs = fileOrigin;
        const shift = Number(fileOrigin - originUnixNs);
        if (!Number.isSafeInteger(shift) || Math.abs(shift) > Number.MAX_SAFE_INTEGER / 4) {
          throw new BundleError('USAGE', `${path}: its clock is ${(shift / NS_PER_S / 86400).toFixed(0)} days away from ${sources[0]}'s — traces of one run are expected; import them separately`);
        }
        w.shiftTimes(shift, node);
        minNs = Math.min(minNs, mapper.minRelNs + shift);
      }
      for (const [k, v] of Object.entries(mapper.anomalies)) anomalies[k as keyof Anomalies] += v;
      const devices = Array.isArray(top.deviceProperties) ? top.deviceProperties : [];
      traces.push({ node: nodeName, file: basename(path), bytes: result.bytes, sha256: result.sha256, gzip: result.gzip, clock: top.baseTimeNanoseconds !== undefined ? 'µs since baseTimeNanoseconds' : 'unix µs', ...smallTopLevel(top) });
      reports.push({ file: path, node: nodeName, rank, bytes: result.bytes, sha256: result.sha256, processes, threads, devices: devices.length, ...mapper.counts });
    }
    // Anything before the origin moves the origin earlier by whole seconds.
    if (minNs < 0 && originUnixNs !== null) {
      const earlier = Math.ceil(-minNs / NS_PER_S) * NS_PER_S;
      w.shiftTimes(earlier);
      originUnixNs -= BigInt(earlier);
    }
    w.setMetadata('clock.origin_unix_ns', (originUnixNs ?? 0n).toString());
    w.setMetadata('kineto.traces', traces);
    const firstDevices = traces.find((t) => Array.isArray(t.deviceProperties))?.deviceProperties as Record<string, unknown>[] | undefined;
    if (firstDevices && firstDevices.length > 0) {
      w.setMetadata('gpu.devices', firstDevices);
      w.setMetadata('gpu.model', String(firstDevices[0]!.name ?? ''));
      w.setMetadata('gpu.count', firstDevices.length);
    }
    const dist = traces.map((t) => t.distributedInfo).filter((d) => d !== undefined);
    if (dist.length > 0) w.setMetadata('gpu.distributed', dist);
    w.setMetadata('import.source', reports.map((r) => ({ file: basename(r.file), bytes: r.bytes, sha256: r.sha256, node: r.node })));
    w.setMetadata('import.anomalies', anomalies);
    w.setMetadata('import.notes', {
      launch_flows: 'ac2g/async flow events are not kept as rows: they pair a launch with its GPU work, as events.corr_id does.',
      gpu_events: 'kernel, memcpy, memset and cuda_sync rows have pid 0 and tid 0; device in arg2, stream in arg3; the launching call has the same corr_id.',
      runtime_args: 'runtime calls with an op code of their own have NULL arguments: the profiler does not record them.',
    });
    options.onProgress?.({ phase: 'sealing', done: totalBytes, total: totalBytes, events });
    const sealed = await w.seal();
    return {
      format: 'kineto',
      output: outPath,
      sources: reports,
      sourceBytes: totalBytes,
      bundleBytes: sealed.bytes,
      databaseBytes: sealed.databaseBytes,
      databaseSha256: sealed.manifest.database.sha256,
      events: sealed.events,
      nodes: reports.map((r) => r.node),
      anomalies,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    w.abort();
    throw err;
  }
}

function objectOrNull(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function intOf(v: unknown): number | null {
  const n = Number(v);
  return v !== undefined && v !== null && v !== '' && Number.isSafeInteger(n) ? n : null;
}

function bigintOf(v: unknown): bigint | null {
  return typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : null;
}

/** Top-level keys as JSON with numbers restored (the stream keeps them as text), the large ones only named. */
function smallTopLevel(top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const left: string[] = [];
  for (const [k, v] of Object.entries(top)) {
    const json = JSON.stringify(v, (_key, x) => (typeof x === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(x) && Number.isSafeInteger(Math.trunc(Number(x))) ? Number(x) : x));
    if (json.length > TOP_LEVEL_VALUE_BYTES) left.push(k);
    else out[k] = JSON.parse(json);
  }
  if (left.length) out.keys_left_out = left;
  return out;
}
