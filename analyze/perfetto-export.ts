// A bundle as a Chrome JSON trace (the Trace Event Format), which Perfetto UI (ui.perfetto.dev)
// and chrome://tracing open: one track per thread, every event a slice or an instant with its
// decoded arguments and its event_id (to go back with `ingero sql`), GPU work on tracks of its
// own (one process per node and GPU, one track per stream) with flow arrows from the launching
// call, on-CPU samples as instants on their thread, host samples as counters, annotations as
// async slices (or instants) of their process, the analyzer's findings as global instants.
//
// Output shape, one trace event per line:
//   {"displayTimeUnit":"ns","traceEvents":[
//   {...},
//   ...
//   ],
//   "metadata":{origin_unix_ns, producer, host, nodes, counts, capture, export}}
//
// Design:
// - Streaming: events are read in id order (= start-time order) by one query (Bundle.eventWhere:
//   events starting before toNs and still running at fromNs, of the given pids and node), written
//   in 1 MiB chunks through the caller's sink; memory holds a chunk, the open intervals of each
//   thread and the events that share one start time, never the whole bundle (peak RSS 163 MB
//   for 1M events, 173 MB for 10M: bench/export.ts).
// - Time: ts and dur are microseconds since the bundle origin, printed from the integer ns as
//   exact decimals (1234567 ns -> 1234.567): no float noise, nothing lost.
// - Tracks: JSON pids and tids are 32-bit and Perfetto names threads by tid alone, so every
//   (node, pid) and (node, pid, tid) gets its own JSON id: the real one on a single-node bundle,
//   (node index + 1) * 10^7 + the real one on a multi-node bundle, and a synthetic id from
//   4.1e9 up where those collide or do not fit. Names and args keep the real ids.
// - Nesting: Perfetto's JSON importer drops or mangles complete events that partially overlap
//   on one thread. Each thread keeps a stack of open intervals per lane; an event that is not
//   inside the innermost open interval (and does not start after it ends) goes to the first
//   overflow lane where it nests, created on demand as "<thread> (overlap k)". Events that start
//   at the same ns are written longest first, so that an enclosing call does not land in an
//   overflow lane just because its id came second (chrome://tracing also nests wrongly when the
//   longer of two same-start events comes later in the file).
// - GPU (source gpu, schema 2): pid and tid are 0 there, so events go by device (arg2) and stream
//   (arg3) instead: a "GPU <device>" process per (node, device), a "stream <n>" track per stream
//   for kernels, copies and sets, and one track for cuda_sync (host waits as the GPU saw them).
//   A kernel slice is named after its kernel (gpu_kernels) with its launch configuration in
//   args; a call named by an argument of unit name (cpu_op, cuda_runtime_call, ...) after that
//   name, args.op keeping the op.
// - Flows: a host call and the GPU work sharing its corr_id on a node are joined by a flow
//   (Chrome v1 flow events: "s" on the call's track at its start, "f" with "bp":"e" on the work's
//   track at its start; Perfetto binds each to the slice enclosing that point, as it does for
//   Kineto's own ac2g flows). The calls with a corr_id seen so far are kept (node, corr_id →
//   track and time), and work met before its call waits for it: memory grows with the calls that
//   carry a corr_id (profiler imports), not with the bundle.
// - On-CPU samples (cpu_samples, schema 2): Perfetto's JSON importer has no sample events, so
//   each sample is a thread-scoped instant on its thread's track, named after its leaf frame,
//   with the CPU and the stack (leaf first) in args; Perfetto shows them as ticks under the
//   thread's slices, and selecting a range lists them by name (the top leaf frames).
// - Text from the bundle (names, findings) is data: it only ever reaches the output through
//   JSON.stringify.
import { BundleError, escapeLayoutCharacters, opId, SOURCE, type Bundle } from '../format/index.ts';
import { readFacts, procKey, type BundleFacts } from './bundle-facts.ts';
import { argDecoder, integerJson, type ArgDecoder } from './event-args.ts';
import { GPU_WORK_OPS, hasColumn } from './gpu-activity.ts';
import { explain } from './explain.ts';
import type { Finding } from './types.ts';

export interface PerfettoExportOptions {
  /** Events still running at or after this time (ns since the origin), including calls that began earlier. */
  readonly fromNs?: number;
  /** Events starting before this time. */
  readonly toNs?: number;
  readonly pids?: readonly number[];
  readonly nodeId?: number;
  /** Run the analyzer and add its findings as global instants (default true; costs a full analysis). */
  readonly findings?: boolean;
  /**
   * Called as the export advances: fraction done in [0, 1] (non-decreasing) and the phase under
   * way ('analysis: ' + explain's phase, then 'events'). Costs one count of the selected events.
   */
  readonly onProgress?: (fraction: number, phase: string) => void;
}

/** Share of an export's time the analysis takes when findings are on (bench/RESULTS.md: 17 s of 51 s at 10M events). */
const ANALYSIS_SHARE = 0.3;

export interface PerfettoExportSummary {
  /** Bundle events written (slices + instants). */
  readonly events: number;
  readonly slices: number;
  readonly instants: number;
  readonly processes: number;
  readonly threads: number;
  readonly overflowLanes: number;
  readonly counterSamples: number;
  /** Rows of table annotations written (labelled spans as async slices, instants as process instants). */
  readonly annotations: number;
  /** (node, GPU) processes and their stream tracks (cuda_sync tracks included). */
  readonly gpus: number;
  readonly gpuTracks: number;
  /** Launch → GPU work pairs joined by corr_id, one flow each. */
  readonly flows: number;
  /** Rows of cpu_samples written as instants. */
  readonly cpuSamples: number;
  readonly findings: number;
  readonly importedFindings: number;
  /** UTF-8 bytes handed to the sink. */
  readonly bytes: number;
}

/** Receives the output in order; a returned promise is awaited before more is produced. The chunk is the sink's to keep. */
export type TraceSink = (chunk: Buffer) => void | Promise<void>;

/** Average output size per event, measured by bench/export.ts; used only to warn early. */
export const ESTIMATED_BYTES_PER_EVENT = 230;

/** How many events an export with these filters writes, and about how many bytes. */
export function estimateExport(bundle: Bundle, options: PerfettoExportOptions = {}): { events: number; bytes: number } {
  const { sql, params } = selection(bundle, options);
  const events = (bundle.db.prepare(`SELECT count(*) FROM events WHERE ${sql}`).pluck().get(...params) as number) ?? 0;
  return { events, bytes: events * ESTIMATED_BYTES_PER_EVENT };
}

export async function exportPerfetto(bundle: Bundle, sink: TraceSink, options: PerfettoExportOptions = {}): Promise<PerfettoExportSummary> {
  const facts = readFacts(bundle);
  const progress = options.onProgress;
  const analysisShare = options.findings === false ? 0 : ANALYSIS_SHARE;
  const findings = options.findings === false ? [] : explain(bundle, { onProgress: progress && ((f, phase) => progress(f * analysisShare, `analysis: ${phase}`)) }).findings;
  const expected = progress ? Math.max(1, estimateExport(bundle, options).events) : 1;
  const out = new ChunkedOutput(sink);
  const tracks = new TrackTable(facts, out);
  const decoder = new EventDecoder(bundle);
  const flows = new FlowJoiner(out);
  let slices = 0;
  let instants = 0;

  out.add('{"displayTimeUnit":"ns","traceEvents":[');
  const inScope = findings.filter((f) => findingInScope(f, options));
  for (const f of inScope) out.timedEvent(instantTime(f.from_ns, options), findingEvent(f));
  const imported = importedFindingEvents(bundle, facts, options);
  for (const e of imported) out.timedEvent(e.ts_ns, e.event);

  // Events that start at the same ns are buffered and taken longest first (see the header).
  const MAX_SAME_TS = 4096;
  let batch: EventRow[] = [];
  const flushBatch = async () => {
    if (batch.length > 1) batch.sort((a, b) => b[DUR] - a[DUR] || a[ID] - b[ID]);
    for (const e of batch) {
      const ts = e[TS];
      const dur = e[DUR];
      const gpu = isGpuOp(e[OP]);
      const thread = gpu ? tracks.gpuTrack(e[NODE], e[ARG0 + 2], e[ARG0 + 3], e[OP] === CUDA_SYNC) : tracks.thread(e[NODE], e[PID], e[TID]);
      const lane = dur > 0 ? tracks.laneFor(thread, ts, ts + dur) : thread.lanes[0]!;
      const head = `{"ph":"${dur > 0 ? 'X' : 'i'}","pid":${thread.process.jsonPid},"tid":${lane.jsonTid},"ts":${microseconds(ts)},`;
      const tail = dur > 0 ? `"dur":${microseconds(dur)},` : `"s":"t",`;
      out.item(`${head}${tail}${decoder.describe(e)}}`);
      const corr = e[CORR];
      if (corr !== null && dur > 0 && (!gpu || GPU_WORK.has(e[OP]))) flows.add(e[NODE], corr, gpu, thread.process.jsonPid, lane.jsonTid, ts);
      if (dur > 0) slices++;
      else instants++;
    }
    batch = [];
    if (out.full()) {
      await out.flush();
      progress?.(analysisShare + (1 - analysisShare) * Math.min(1, (slices + instants) / expected), 'events');
    }
  };
  for (const e of eventRows(bundle, options)) {
    if (batch.length > 0 && (e[TS] !== batch[0]![TS] || batch.length >= MAX_SAME_TS)) await flushBatch();
    batch.push(e);
  }
  await flushBatch();

  let cpuSamples = 0;
  for (const c of cpuSampleRows(bundle, options)) {
    const thread = tracks.thread(c.node_id, c.pid, c.tid);
    const frames = c.stack_id === null ? [] : decoder.frames(c.stack_id);
    const name = frames[0] ?? 'on-CPU (no user stack)';
    out.timedEvent(c.ts_ns, { ph: 'i', s: 't', pid: thread.process.jsonPid, tid: thread.lanes[0]!.jsonTid, name, cat: 'cpu_sample', args: { cpu: c.cpu, stack_id: c.stack_id, stack: frames } });
    cpuSamples++;
    if (out.full()) await out.flush();
  }

  let counterSamples = 0;
  for (const s of systemSamples(bundle, options)) {
    const host = tracks.host(s.node_id);
    for (const [name, unit, value] of [
      ['cpu', '%', s.cpu_pct],
      ['memory', '%', s.mem_pct],
      ['memory available', 'bytes', s.mem_avail_bytes],
      ['swap', 'bytes', s.swap_bytes],
      ['load', '1 min', s.load1],
    ] as const) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      out.timedEvent(s.ts_ns, { ph: 'C', pid: host.jsonPid, tid: host.jsonTid, name, args: { [unit]: value } });
    }
    counterSamples++;
    if (out.full()) await out.flush();
  }

  let annotations = 0;
  for (const a of annotationRows(bundle, options)) {
    // A process's own annotation goes to that process; a global one to its node's host process.
    const pid = a.pid !== null ? tracks.process(a.node_id, a.pid).jsonPid : tracks.host(a.node_id).jsonPid;
    const common = { pid, tid: pid, cat: 'annotation', name: annotationName(a.labels), args: { labels: a.labels } };
    if (a.end_ns !== null && a.end_ns > a.ts_ns) {
      const id = `annotation-${a.rowid}`;
      out.timedEvent(a.ts_ns, { ph: 'b', id, ...common });
      out.timedEvent(a.end_ns, { ph: 'e', id, ...common });
    } else {
      out.timedEvent(a.ts_ns, { ph: 'i', s: 'p', ...common });
    }
    annotations++;
    if (out.full()) await out.flush();
  }

  const summary: PerfettoExportSummary = {
    events: slices + instants,
    slices,
    instants,
    processes: tracks.processCount(),
    threads: tracks.threadCount(),
    overflowLanes: tracks.overflowLanes,
    counterSamples,
    annotations,
    gpus: tracks.gpuCount(),
    gpuTracks: tracks.gpuTrackCount(),
    flows: flows.count,
    cpuSamples,
    findings: inScope.length,
    importedFindings: imported.length,
    bytes: 0,
  };
  out.add(`\n],\n"metadata":${JSON.stringify(traceMetadata(bundle, facts, options, summary))}}\n`);
  await out.flush();
  return { ...summary, bytes: out.bytes };
}

/**
 * The SQL condition selecting the exported events: those starting before toNs that are still
 * running at fromNs, of the given pids and node. A window must show the calls it opens inside
 * (a long cudaStreamSynchronize begun before it), so the scan starts as far before fromNs as the
 * longest earlier event lasts.
 */
function selection(bundle: Bundle, o: PerfettoExportOptions): { sql: string; params: unknown[] } {
  const filter = { toNs: o.toNs, pids: o.pids, nodeId: o.nodeId };
  if (o.fromNs === undefined) {
    const { sql, params } = bundle.eventWhere(filter);
    return { sql, params: [...params] };
  }
  const longest = (bundle.db.prepare('SELECT max(dur_ns) FROM events WHERE id < ?').pluck().get(bundle.idAtTime(o.fromNs)) as number | null) ?? 0;
  const { sql, params } = bundle.eventWhere({ ...filter, fromNs: o.fromNs - Math.max(0, longest) });
  return { sql: `${sql} AND (ts_ns >= ? OR ts_ns + dur_ns > ?)`, params: [...params, o.fromNs, o.fromNs] };
}

/**
 * One events row: id, ts_ns, dur_ns, node_id, pid, tid, op_id, arg0..arg3, ret, stack_id. An
 * argument is a number when a double holds it exactly, else the decimal text of the integer.
 */
type EventRow = [number, number, number, number, number, number, number, Arg, Arg, Arg, Arg, number | null, number | null, number | null];
type Arg = number | string | null;
const [ID, TS, DUR, NODE, PID, TID, OP, ARG0, , , , RET, STACK, CORR] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;

const GPU_SOURCE = SOURCE.gpu;
const isGpuOp = (op: number) => Math.floor(op / 256) === GPU_SOURCE;
const CUDA_SYNC = opId('cuda_sync');
/** GPU work a launch starts (flows end there; cuda_sync is the host waiting, not work). */
const GPU_WORK = new Set(Object.values(GPU_WORK_OPS));

/**
 * The filtered events in id order, read as plain numbers: Bundle.events() makes a BigInt of every
 * column and an object of every row, which took half the export's time. Types are checked here
 * instead, as Bundle.events() does: a hostile row is refused in one line.
 */
function* eventRows(bundle: Bundle, options: PerfettoExportOptions): IterableIterator<EventRow> {
  const { sql, params } = selection(bundle, options);
  const exact = (c: string) => `CASE WHEN ${c} BETWEEN -9007199254740991 AND 9007199254740991 THEN ${c} ELSE CAST(${c} AS TEXT) END`;
  // Schema 1 has no corr_id.
  const corr = hasColumn(bundle, 'events', 'corr_id') ? 'corr_id' : 'NULL';
  const stmt = bundle.db.prepare(`SELECT id, ts_ns, dur_ns, node_id, pid, tid, op_id, ${['arg0', 'arg1', 'arg2', 'arg3'].map(exact).join(', ')}, ret, stack_id, ${corr} FROM events WHERE ${sql} ORDER BY id`).raw(true);
  for (const r of stmt.iterate(...params) as IterableIterator<unknown[]>) {
    if (!isSoundRow(r)) throw new BundleError('SCHEMA', `${bundle.path}: event ${String(r[0])} holds text, a blob or a real number in an integer column — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
    const ts = r[1] as number;
    const dur = r[2] as number;
    if (!(ts >= 0 && dur >= 0 && ts + dur <= Number.MAX_SAFE_INTEGER)) {
      throw new BundleError('SCHEMA', `${bundle.path}: event ${String(r[0])} has a start time or duration that is negative or beyond 2^53 ns — the bundle is damaged or hostile; run ingero verify on it and get a fresh copy`);
    }
    yield r as EventRow;
  }
}

/** ns as a decimal number of µs, exact: 1234567 -> "1234.567", 1000 -> "1", 1500 -> "1.5". */
export function microseconds(ns: number): string {
  const sign = ns < 0 ? '-' : '';
  const a = Math.abs(ns);
  const frac = a % 1000;
  const whole = (a - frac) / 1000;
  if (frac === 0) return `${sign}${whole}`;
  return `${sign}${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

/**
 * Collects output into chunks of about 1 MiB before handing them to the sink. Text is encoded
 * straight into the chunk's buffer (joining strings, then encoding them, cost a sixth of the time).
 */
class ChunkedOutput {
  private static readonly CHUNK_BYTES = 1 << 20;
  private buffer = Buffer.allocUnsafe(2 * ChunkedOutput.CHUNK_BYTES);
  private used = 0;
  private ready: Buffer[] = [];
  private items = 0;
  bytes = 0;

  constructor(private readonly sink: TraceSink) {}

  add(json: string): void {
    // Traced strings reach terminals through `-o -`: their bidi and zero-width characters as \uXXXX.
    const text = escapeLayoutCharacters(json);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.used + text.length * 3 > this.buffer.length) this.seal();
    if (text.length * 3 > this.buffer.length) this.ready.push(Buffer.from(text));
    else this.used += this.buffer.write(text, this.used);
  }

  private seal(): void {
    if (this.used === 0) return;
    this.ready.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(2 * ChunkedOutput.CHUNK_BYTES);
    this.used = 0;
  }

  /** One element of traceEvents, already JSON. */
  item(json: string): void {
    this.add(this.items++ === 0 ? `\n${json}` : `,\n${json}`);
  }

  /** One trace event from a plain object (every string in it goes through JSON.stringify). */
  event(e: object): void {
    this.item(JSON.stringify(e));
  }

  /** The same with an exact "ts" (microseconds printed from the integer ns) in front. */
  timedEvent(tsNs: number, e: object): void {
    this.item(`{"ts":${microseconds(tsNs)},${JSON.stringify(e).slice(1)}`);
  }

  full(): boolean {
    return this.used >= ChunkedOutput.CHUNK_BYTES || this.ready.length > 0;
  }

  async flush(): Promise<void> {
    this.seal();
    const chunks = this.ready;
    this.ready = [];
    for (const chunk of chunks) {
      this.bytes += chunk.length;
      await this.sink(chunk);
    }
  }
}

interface ProcessTrack {
  readonly jsonPid: number;
  readonly threads: Map<number, ThreadTrack>;
}

interface ThreadTrack {
  readonly process: ProcessTrack;
  readonly name: string;
  readonly tid: number;
  /** lanes[0] is the thread itself; the others are its overflow lanes. */
  readonly lanes: Lane[];
}

interface Lane {
  readonly jsonTid: number;
  /** End times (ns) of the open intervals, innermost last. */
  readonly ends: number[];
}

/** JSON ids are unsigned 32-bit; real ids are used where they fit and do not collide. */
const ID_BLOCK = 10_000_000;
const MAX_NODE_BLOCKS = 400;
const FIRST_SYNTHETIC_ID = 4_100_000_000;

class IdSpace {
  private readonly used = new Set<number>();
  private next = FIRST_SYNTHETIC_ID;

  claim(preferred: number | null): number {
    if (preferred !== null && !this.used.has(preferred)) {
      this.used.add(preferred);
      return preferred;
    }
    while (this.used.has(this.next)) this.next++;
    this.used.add(this.next);
    return this.next++;
  }
}

/** Processes and threads met so far, their JSON ids, names (written as M events) and lanes. */
class TrackTable {
  private readonly nodes = new Map<number, Map<number, ProcessTrack>>();
  private readonly hosts = new Map<number, { jsonPid: number; jsonTid: number }>();
  private readonly pids = new IdSpace();
  private readonly tids = new IdSpace();
  private readonly nodeIndex: Map<number, number>;
  private readonly multiNode: boolean;
  /** GPU processes by node and device, their tracks by stream ('sync' for cuda_sync). */
  private readonly gpus = new Map<string, { process: ProcessTrack; tracks: Map<string, ThreadTrack> }>();
  private gpuTracks = 0;
  private threads = 0;
  private processes = 0;
  overflowLanes = 0;

  constructor(
    private readonly facts: BundleFacts,
    private readonly out: ChunkedOutput,
  ) {
    this.nodeIndex = new Map([...facts.nodes.keys()].map((id, i) => [id, i]));
    this.multiNode = facts.nodes.size > 1;
  }

  processCount(): number {
    return this.processes;
  }

  threadCount(): number {
    return this.threads;
  }

  gpuCount(): number {
    return this.gpus.size;
  }

  gpuTrackCount(): number {
    return this.gpuTracks;
  }

  /**
   * The track of a GPU's stream (or its cuda_sync track, for sync), under one "GPU <device>"
   * process per node and device. Device and stream are the events' arg2 and arg3.
   */
  gpuTrack(node: number, device: Arg, stream: Arg, sync: boolean): ThreadTrack {
    const gpuKey = `${node}:${device}`;
    let g = this.gpus.get(gpuKey);
    if (!g) {
      const process: ProcessTrack = { jsonPid: this.pids.claim(null), threads: new Map() };
      g = { process, tracks: new Map() };
      this.gpus.set(gpuKey, g);
      const gpuName = device === null ? 'GPU (device not recorded)' : `GPU ${device}`;
      const name = `${gpuName}${this.multiNode ? ` on ${this.nodeName(node)}` : ''}`;
      this.out.event({ ph: 'M', name: 'process_name', pid: process.jsonPid, tid: process.jsonPid, args: { name, device, node: this.nodeName(node) } });
    }
    const trackKey = sync ? 'sync' : String(stream);
    let t = g.tracks.get(trackKey);
    if (!t) {
      const jsonTid = this.tids.claim(null);
      const name = sync ? 'host waits (cuda_sync)' : stream === null ? 'stream (not recorded)' : `stream ${stream}`;
      t = { process: g.process, name, tid: jsonTid, lanes: [{ jsonTid, ends: [] }] };
      g.tracks.set(trackKey, t);
      this.gpuTracks++;
      this.out.event({ ph: 'M', name: 'thread_name', pid: g.process.jsonPid, tid: jsonTid, args: { name, stream: sync ? null : stream } });
      // Streams in their numeric order, the cuda_sync track last.
      const order = sync ? 2 ** 31 - 1 : typeof stream === 'number' && stream >= 0 && stream < 2 ** 31 - 2 ? stream : 2 ** 31 - 2;
      this.out.event({ ph: 'M', name: 'thread_sort_index', pid: g.process.jsonPid, tid: jsonTid, args: { sort_index: order } });
    }
    return t;
  }

  private preferredId(node: number, id: number): number | null {
    if (!Number.isSafeInteger(id) || id < 0 || id >= ID_BLOCK) return null;
    if (!this.multiNode) return id;
    const index = this.nodeIndex.get(node);
    return index !== undefined && index < MAX_NODE_BLOCKS ? (index + 1) * ID_BLOCK + id : null;
  }

  private nodeName(node: number): string {
    return this.facts.nodes.get(node) ?? `node ${node}`;
  }

  process(node: number, pid: number): ProcessTrack {
    let byPid = this.nodes.get(node);
    if (!byPid) this.nodes.set(node, (byPid = new Map()));
    let p = byPid.get(pid);
    if (!p) {
      p = { jsonPid: this.pids.claim(this.preferredId(node, pid)), threads: new Map() };
      byPid.set(pid, p);
      this.processes++;
      const comm = this.facts.processes.get(procKey(node, pid))?.comm || 'process';
      const name = `${comm} (pid ${pid})${this.multiNode ? ` on ${this.nodeName(node)}` : ''}`;
      this.out.event({ ph: 'M', name: 'process_name', pid: p.jsonPid, tid: p.jsonPid, args: { name, pid, node: this.nodeName(node) } });
    }
    return p;
  }

  thread(node: number, pid: number, tid: number): ThreadTrack {
    const p = this.process(node, pid);
    let t = p.threads.get(tid);
    if (!t) {
      const jsonTid = this.tids.claim(this.preferredId(node, tid));
      const comm = this.facts.threads.get(procKey(node, tid)) || (tid === pid ? this.facts.processes.get(procKey(node, pid))?.comm : '') || '';
      const name = comm ? `${comm}${jsonTid === tid ? '' : ` (tid ${tid})`}` : `tid ${tid}`;
      t = { process: p, name, tid, lanes: [{ jsonTid, ends: [] }] };
      p.threads.set(tid, t);
      this.threads++;
      this.out.event({ ph: 'M', name: 'thread_name', pid: p.jsonPid, tid: jsonTid, args: { name, tid } });
    }
    return t;
  }

  /** The lane where [start, end) nests properly, opening an overflow lane when none does. */
  laneFor(t: ThreadTrack, start: number, end: number): Lane {
    for (const lane of t.lanes) {
      const ends = lane.ends;
      while (ends.length > 0 && ends[ends.length - 1]! <= start) ends.pop();
      if (ends.length === 0 || ends[ends.length - 1]! >= end) {
        ends.push(end);
        return lane;
      }
    }
    const lane: Lane = { jsonTid: this.tids.claim(null), ends: [end] };
    t.lanes.push(lane);
    this.overflowLanes++;
    const name = `${t.name} (overlap ${t.lanes.length - 1})`;
    this.out.event({ ph: 'M', name: 'thread_name', pid: t.process.jsonPid, tid: lane.jsonTid, args: { name, tid: t.tid, overlap: t.lanes.length - 1 } });
    return lane;
  }

  /** The per-node "host" process (and its one thread) that carries the system_samples counters. */
  host(node: number): { jsonPid: number; jsonTid: number } {
    let h = this.hosts.get(node);
    if (!h) {
      h = { jsonPid: this.pids.claim(null), jsonTid: this.tids.claim(null) };
      this.hosts.set(node, h);
      this.out.event({ ph: 'M', name: 'process_name', pid: h.jsonPid, tid: h.jsonTid, args: { name: `host (${this.nodeName(node)})`, node: this.nodeName(node) } });
    }
    return h;
  }
}

/** Integers where the schema says so (in SQL the check cost more than the rest of the query). */
function isSoundRow(r: unknown[]): boolean {
  for (let i = TS; i <= OP; i++) if (!Number.isInteger(r[i])) return false;
  for (let i = ARG0; i < ARG0 + 4; i++) {
    const v = r[i];
    if (v !== null && !Number.isInteger(v) && !(typeof v === 'string' && /^-?\d+$/.test(v))) return false;
  }
  return (r[RET] === null || Number.isInteger(r[RET])) && (r[STACK] === null || Number.isInteger(r[STACK])) && (r[CORR] === null || Number.isSafeInteger(r[CORR]));
}

interface OpFormat {
  /** `"name":…,"cat":…,` already JSON. */
  readonly nameCat: string;
  /** `"cat":…,` alone (for slices named otherwise than after the op). */
  readonly cat: string;
  /** `"op":…` (args of slices named otherwise than after the op). */
  readonly opArg: string;
  /** arg0..arg3 as `"key":value` JSON (a kernel gives several pairs); undefined where unused. */
  readonly args: (((v: number | string) => string) | undefined)[];
  readonly offCpu: boolean;
  /** The argument naming the slice (a names.id or a gpu_kernels.id) and how it reads; -1: the op names it. */
  readonly nameArg: number;
  readonly nameOf: ((v: number | string) => string) | null;
}

interface KernelRow {
  readonly name: string;
  readonly args: string;
}

/** Turns an event row into the name, cat and args of its trace event. */
class EventDecoder {
  private readonly ops = new Map<number, OpFormat>();
  private readonly argRows: Map<number, { arg: number; name: string; unit: string }[]>;
  private readonly stacks = new Map<number, { frames: string[]; json: string }>();
  private names: Map<number, string> | null = null;
  private kernels: Map<number, KernelRow> | null = null;

  constructor(private readonly bundle: Bundle) {
    this.argRows = new Map();
    for (const r of bundle.db.prepare('SELECT op_id, arg, name, unit FROM op_args ORDER BY op_id, arg').all() as { op_id: number; arg: number; name: string; unit: string }[]) {
      if (!this.argRows.has(r.op_id)) this.argRows.set(r.op_id, []);
      this.argRows.get(r.op_id)!.push(r);
    }
  }

  /** names.name by id (schema 2), read once when an argument of unit name is first met. */
  private name(v: number | string): string {
    if (!this.names) {
      this.names = new Map();
      if (hasColumn(this.bundle, 'names', 'name')) for (const [id, name] of this.bundle.db.prepare('SELECT id, name FROM names').raw().all() as [number, unknown][]) this.names.set(id, String(name));
    }
    return this.names.get(Number(v)) ?? `name #${v} (not in table names)`;
  }

  /** A kernel's name and its launch configuration as JSON pairs (gpu_kernels, schema 2). */
  private kernel(v: number | string): KernelRow {
    if (!this.kernels) {
      this.kernels = new Map();
      if (hasColumn(this.bundle, 'gpu_kernels', 'name')) {
        const dims = (x: unknown, y: unknown, z: unknown) => (x === null && y === null && z === null ? undefined : `${x ?? '?'},${y ?? '?'},${z ?? '?'}`);
        for (const r of this.bundle.db.prepare('SELECT id, name, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, shared_memory FROM gpu_kernels').all() as Record<string, unknown>[]) {
          const config = { grid: dims(r.grid_x, r.grid_y, r.grid_z), block: dims(r.block_x, r.block_y, r.block_z), registers: r.registers ?? undefined, shared_memory: r.shared_memory ?? undefined };
          this.kernels.set(r.id as number, { name: String(r.name), args: JSON.stringify(config).slice(1, -1) });
        }
      }
    }
    return this.kernels.get(Number(v)) ?? { name: `kernel #${v} (not in gpu_kernels)`, args: '' };
  }

  private format(opId: number): OpFormat {
    let f = this.ops.get(opId);
    if (!f) {
      const info = this.bundle.ops().get(opId);
      const name = this.bundle.opName(opId);
      const source = info?.source ?? `source_${Math.floor(opId / 256)}`;
      const args: OpFormat['args'] = [];
      const taken = new Set(['event_id', 'op', 'ret', 'stack_id', 'stack', 'corr_id']);
      let nameArg = -1;
      let nameOf: OpFormat['nameOf'] = null;
      for (const r of this.argRows.get(opId) ?? []) {
        if (!Number.isInteger(r.arg) || r.arg < 0 || r.arg > 3 || typeof r.name !== 'string' || typeof r.unit !== 'string') continue;
        const key = taken.has(r.name) ? `${r.name}_arg${r.arg}` : r.name;
        taken.add(key);
        const k = JSON.stringify(key);
        const naming = nameArg < 0 && (r.unit === 'kernel' || r.unit === 'name');
        if (naming) {
          nameArg = r.arg;
          nameOf = r.unit === 'kernel' ? (v) => this.kernel(v).name : (v) => this.name(v);
        }
        if (r.unit === 'kernel') {
          // The kernel naming the slice is not repeated in args (C++ kernel names run to kilobytes).
          const idKey = JSON.stringify(`${key}_id`);
          args[r.arg] = (v) => {
            const kernel = this.kernel(v);
            return `${naming ? '' : `${k}:${JSON.stringify(kernel.name)},`}${idKey}:${integerJson(v)}${kernel.args ? `,${kernel.args}` : ''}`;
          };
        } else if (r.unit === 'name') {
          args[r.arg] = (v) => `${k}:${JSON.stringify(this.name(v))}`;
        } else {
          const decode: ArgDecoder = argDecoder(r.name, r.unit);
          args[r.arg] = (v) => `${k}:${decode(v)}`;
        }
      }
      const cat = `"cat":${JSON.stringify(source)},`;
      f = { nameCat: `"name":${JSON.stringify(name)},${cat}`, cat, opArg: `"op":${JSON.stringify(name)}`, args, offCpu: name === 'sched_switch', nameArg, nameOf };
      this.ops.set(opId, f);
    }
    return f;
  }

  /** `"name":…,"cat":…,"args":{…}` for one event. */
  describe(e: EventRow): string {
    const f = this.format(e[OP]);
    let args = `"event_id":${e[ID]}`;
    for (let i = 0; i < 4; i++) {
      const v = e[ARG0 + i] as Arg;
      if (v === null) continue;
      const a = f.args[i];
      args += a ? `,${a(v)}` : `,"arg${i}":${integerJson(v)}`;
    }
    const ret = e[RET];
    if (ret !== null) args += `,"ret":${ret}`;
    const stack = e[STACK];
    if (stack !== null) args += `,"stack_id":${stack},"stack":${this.stackJson(stack)}`;
    const corr = e[CORR];
    if (corr !== null) args += `,"corr_id":${corr}`;
    if (f.offCpu) {
      const state = e[ARG0 + 2];
      const name = state === null ? 'off-CPU' : state === 0 ? 'off-CPU (preempted)' : 'off-CPU (blocked)';
      return `"name":"${name}",${f.cat}"args":{${args},"op":"sched_switch"}`;
    }
    const named = f.nameOf ? (e[ARG0 + f.nameArg] as Arg) : null;
    if (named !== null) return `"name":${JSON.stringify(f.nameOf!(named))},${f.cat}"args":{${args},${f.opArg}}`;
    return `${f.nameCat}"args":{${args}}`;
  }

  /** A stack's frames, leaf first ("function (file:line)"), at most 64; cached by id. */
  frames(id: number): string[] {
    return this.stack(id).frames;
  }

  private stackJson(id: number): string {
    return this.stack(id).json;
  }

  private stack(id: number): { frames: string[]; json: string } {
    let s = this.stacks.get(id);
    if (s === undefined) {
      const frames = this.bundle.stack(id).slice(0, 64).map((fr) => {
        const where = fr.file ? ` (${fr.file}${fr.line !== null ? `:${fr.line}` : ''})` : fr.module ? ` (${fr.module.slice(fr.module.lastIndexOf('/') + 1)})` : '';
        const fn = fr.function ?? (fr.address !== null ? `0x${BigInt.asUintN(64, fr.address).toString(16)}` : '?');
        return `${fn}${where}`;
      });
      s = { frames, json: JSON.stringify(frames) };
      if (this.stacks.size >= 10_000) this.stacks.clear();
      this.stacks.set(id, s);
    }
    return s;
  }
}

function findingInScope(f: Finding, o: PerfettoExportOptions): boolean {
  if (o.nodeId !== undefined && f.node_id !== o.nodeId) return false;
  if (o.pids && !o.pids.includes(f.pid)) return false;
  if (o.fromNs !== undefined && f.to_ns < o.fromNs) return false;
  if (o.toNs !== undefined && f.from_ns >= o.toNs) return false;
  return true;
}

/** Where an instant for [from, to] goes: its start, moved into the exported window. */
function instantTime(from: number, o: PerfettoExportOptions): number {
  return o.fromNs !== undefined && from < o.fromNs ? o.fromNs : from;
}

function findingEvent(f: Finding): object {
  return {
    ph: 'i',
    s: 'g',
    name: `[${f.severity}] ${f.kind}: ${f.summary}`,
    cat: 'finding',
    args: {
      origin: 'ingero explain (this bundle, analysed now)',
      finding_id: f.id,
      severity: f.severity,
      kind: f.kind,
      summary: f.summary,
      root_cause: f.root_cause,
      process: f.process,
      pid: f.pid,
      node: f.node,
      op: f.op,
      window_from_ns: f.from_ns,
      window_to_ns: f.to_ns,
      impact_ns: f.impact_ns,
      evidence: f.evidence.map((e) => ({ layer: e.layer, detail: e.detail, event_ids: e.event_ids ?? [] })),
      recommendations: f.recommendations,
      caveats: f.caveats,
    },
  };
}

/** Findings stored in the bundle by another tool, as global instants marked with their origin. */
function importedFindingEvents(bundle: Bundle, facts: BundleFacts, o: PerfettoExportOptions): { ts_ns: number; event: object }[] {
  const rows = bundle.db
    .prepare('SELECT id, origin, origin_id, node_id, detected_ns, severity, op, summary, root_cause, explanation, recommendations, p50_ns, p99_ns, tail_ratio, occurrences FROM imported_findings ORDER BY id')
    .all() as Record<string, unknown>[];
  const start = bundle.startNs();
  const events: { ts_ns: number; event: object }[] = [];
  for (const r of rows) {
    const detected = typeof r.detected_ns === 'number' && Number.isSafeInteger(r.detected_ns) ? r.detected_ns : null;
    if (o.nodeId !== undefined && r.node_id !== o.nodeId) continue;
    if (detected !== null && ((o.fromNs !== undefined && detected < o.fromNs) || (o.toNs !== undefined && detected >= o.toNs))) continue;
    let recommendations: unknown = r.recommendations;
    try {
      recommendations = JSON.parse(String(r.recommendations));
    } catch {
      /* kept as the text it is */
    }
    events.push({ ts_ns: instantTime(detected ?? start, o), event: {
      ph: 'i',
      s: 'g',
      name: `[imported ${String(r.severity)}] ${String(r.op || 'finding')}: ${String(r.summary)}`,
      cat: 'imported-finding',
      args: {
        origin: `${String(r.origin)} (stored in the bundle by another tool; not produced or checked by ingero)`,
        origin_id: r.origin_id,
        severity: r.severity,
        op: r.op,
        summary: r.summary,
        root_cause: r.root_cause,
        explanation: r.explanation,
        recommendations,
        p50_ns: r.p50_ns,
        p99_ns: r.p99_ns,
        tail_ratio: r.tail_ratio,
        occurrences: r.occurrences,
        detected_ns: detected ?? 'unknown (placed at the bundle start)',
        node: facts.nodes.get(r.node_id as number) ?? r.node_id,
      },
    } });
  }
  return events;
}

/**
 * Joins host calls and the GPU work that shares their corr_id on a node (see the header), writing
 * one "s" / "f" pair per join with an id of its own: a call that launched several pieces of work
 * (a CUDA graph) gets one arrow to each.
 */
class FlowJoiner {
  private readonly calls = new Map<string, FlowEnd>();
  private readonly waiting = new Map<string, FlowEnd[]>();
  count = 0;

  constructor(private readonly out: ChunkedOutput) {}

  add(node: number, corr: number, gpu: boolean, pid: number, tid: number, ts: number): void {
    const key = `${node}:${corr}`;
    const here = { pid, tid, ts };
    if (!gpu) {
      if (this.calls.has(key)) return; // a second call with the id: the first one launched
      this.calls.set(key, here);
      for (const work of this.waiting.get(key) ?? []) this.join(here, work);
      this.waiting.delete(key);
      return;
    }
    const call = this.calls.get(key);
    if (call) this.join(call, here);
    else this.waiting.set(key, [...(this.waiting.get(key) ?? []), here]);
  }

  private join(call: FlowEnd, work: FlowEnd): void {
    const id = ++this.count;
    this.out.timedEvent(call.ts, { ph: 's', id, pid: call.pid, tid: call.tid, cat: 'flow', name: 'launch' });
    this.out.timedEvent(work.ts, { ph: 'f', bp: 'e', id, pid: work.pid, tid: work.tid, cat: 'flow', name: 'launch' });
  }
}

interface FlowEnd {
  readonly pid: number;
  readonly tid: number;
  readonly ts: number;
}

interface CpuSampleRow {
  readonly node_id: number;
  readonly ts_ns: number;
  readonly pid: number;
  readonly tid: number;
  readonly cpu: number;
  readonly stack_id: number | null;
}

/** On-CPU samples in scope (schema 2; none for older bundles), in time order. */
function* cpuSampleRows(bundle: Bundle, o: PerfettoExportOptions): IterableIterator<CpuSampleRow> {
  if (!hasColumn(bundle, 'cpu_samples', 'ts_ns')) return;
  const where = ["typeof(ts_ns) = 'integer'", "typeof(node_id) = 'integer'", "typeof(pid) = 'integer'", "typeof(tid) = 'integer'", "(stack_id IS NULL OR typeof(stack_id) = 'integer')", 'ts_ns >= 0'];
  const params: number[] = [];
  if (o.nodeId !== undefined) (where.push('node_id = ?'), params.push(o.nodeId));
  if (o.fromNs !== undefined) (where.push('ts_ns >= ?'), params.push(o.fromNs));
  if (o.toNs !== undefined) (where.push('ts_ns < ?'), params.push(o.toNs));
  if (o.pids) where.push(`pid IN (${o.pids.map(Number).join(',') || 'NULL'})`);
  yield* bundle.db.prepare(`SELECT node_id, ts_ns, pid, tid, cpu, stack_id FROM cpu_samples WHERE ${where.join(' AND ')} ORDER BY ts_ns, rowid`).iterate(...params) as IterableIterator<CpuSampleRow>;
}

interface SystemSample {
  readonly node_id: number;
  readonly ts_ns: number;
  readonly cpu_pct: unknown;
  readonly mem_pct: unknown;
  readonly mem_avail_bytes: unknown;
  readonly swap_bytes: unknown;
  readonly load1: unknown;
}

function* systemSamples(bundle: Bundle, o: PerfettoExportOptions): IterableIterator<SystemSample> {
  const where: string[] = ["typeof(ts_ns) = 'integer'", "typeof(node_id) = 'integer'"];
  const params: number[] = [];
  if (o.nodeId !== undefined) (where.push('node_id = ?'), params.push(o.nodeId));
  if (o.fromNs !== undefined) (where.push('ts_ns >= ?'), params.push(o.fromNs));
  if (o.toNs !== undefined) (where.push('ts_ns < ?'), params.push(o.toNs));
  const stmt = bundle.db.prepare(`SELECT node_id, ts_ns, cpu_pct, mem_pct, mem_avail_bytes, swap_bytes, load1 FROM system_samples WHERE ${where.join(' AND ')} ORDER BY node_id, ts_ns`);
  yield* stmt.iterate(...params) as IterableIterator<SystemSample>;
}

interface AnnotationRow {
  readonly rowid: number;
  readonly node_id: number;
  readonly ts_ns: number;
  readonly end_ns: number | null;
  readonly pid: number | null;
  /** The labels object, or the stored text when it is not a JSON object (bundle data either way). */
  readonly labels: unknown;
}

/** Annotations in scope: of the node, overlapping the window, global or of one of the pids. */
function annotationRows(bundle: Bundle, o: PerfettoExportOptions): AnnotationRow[] {
  const where: string[] = ["typeof(ts_ns) = 'integer'", "typeof(node_id) = 'integer'", "(end_ns IS NULL OR typeof(end_ns) = 'integer')", "(pid IS NULL OR typeof(pid) = 'integer')"];
  const params: number[] = [];
  if (o.nodeId !== undefined) (where.push('node_id = ?'), params.push(o.nodeId));
  if (o.fromNs !== undefined) (where.push('coalesce(end_ns, ts_ns) >= ?'), params.push(o.fromNs));
  if (o.toNs !== undefined) (where.push('ts_ns < ?'), params.push(o.toNs));
  if (o.pids) where.push(`(pid IS NULL OR pid IN (${o.pids.map(Number).join(',') || 'NULL'}))`);
  const rows = bundle.db.prepare(`SELECT rowid, node_id, ts_ns, end_ns, pid, labels FROM annotations WHERE ${where.join(' AND ')} ORDER BY ts_ns, rowid`).all(...params) as (Omit<AnnotationRow, 'labels'> & { labels: unknown })[];
  return rows
    .filter((r) => r.ts_ns >= 0 && r.ts_ns <= Number.MAX_SAFE_INTEGER && (r.end_ns === null || r.end_ns <= Number.MAX_SAFE_INTEGER))
    .map((r) => {
      let labels: unknown = r.labels;
      try {
        const parsed: unknown = JSON.parse(String(r.labels));
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) labels = parsed;
      } catch {
        /* kept as the text it is */
      }
      return { ...r, labels };
    });
}

/** "phase=epoch 1, step=3": the labels as Perfetto's slice name (all of them stay in args). */
function annotationName(labels: unknown): string {
  if (typeof labels !== 'object' || labels === null) return `annotation: ${String(labels).slice(0, 120)}`;
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return pairs.length ? pairs.join(', ').slice(0, 200) : 'annotation';
}

function traceMetadata(bundle: Bundle, facts: BundleFacts, o: PerfettoExportOptions, s: PerfettoExportSummary): object {
  const m = bundle.manifest;
  return {
    'ingero-bundle': bundle.path,
    origin_unix_ns: m.time.origin_unix_ns,
    time_unit: 'ts and dur are microseconds since origin_unix_ns, exact to the nanosecond',
    producer: m.producer,
    host: m.host,
    nodes: [...facts.nodes].map(([id, name]) => ({ id, name })),
    counts: m.counts,
    capture: { dropped: facts.dataQuality.dropped_events, sampled: facts.dataQuality.sampled, losses: facts.dataQuality.losses, sampled_periods: facts.dataQuality.sampled_periods },
    database_sha256: m.database.sha256,
    export: {
      from_ns: o.fromNs ?? null,
      to_ns: o.toNs ?? null,
      pids: o.pids ?? null,
      node_id: o.nodeId ?? null,
      findings: o.findings !== false,
      events: s.events,
      slices: s.slices,
      instants: s.instants,
      processes: s.processes,
      threads: s.threads,
      overflow_lanes: s.overflowLanes,
      counter_samples: s.counterSamples,
      annotations_written: s.annotations,
      gpus: s.gpus,
      gpu_tracks: s.gpuTracks,
      flows: s.flows,
      cpu_samples_written: s.cpuSamples,
      findings_written: s.findings,
      imported_findings_written: s.importedFindings,
    },
  };
}
