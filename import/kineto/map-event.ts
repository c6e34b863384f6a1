// One Kineto trace file → rows of one bundle node. Times are written relative to a provisional
// origin in the trace's own clock (the file's first timestamp, floored to a whole second), since
// the clock's base (baseTimeNanoseconds) may come after traceEvents; import-kineto.ts moves the
// node onto the bundle clock once the file has been read.
import { OPS, SOURCE, type BundleWriter } from '../../format/index.ts';
import { eventKind, KINETO_CATEGORIES } from './categories.ts';
import { microsToNs, parseMicros, type Micros } from './micros.ts';
import type { RawEvent } from './trace-stream.ts';

const op = (name: string) => OPS.find((o) => o.name === name)!.id;
const OP = {
  kernel: op('kernel'),
  memcpy: op('memcpy'),
  memset: op('memset'),
  sync: op('cuda_sync'),
  cpuOp: op('cpu_op'),
  python: op('python_function'),
  other: op('profiler_event'),
  runtimeCall: op('cuda_runtime_call'),
  driverCall: op('cuda_driver_call'),
  ncclAllReduce: op('ncclAllReduce'),
  ncclAllGather: op('ncclAllGather'),
  ncclReduceScatter: op('ncclReduceScatter'),
  ncclBroadcast: op('ncclBroadcast'),
  ncclCollective: op('ncclCollective'),
};

/** Runtime, driver and graph API names with an op code of their own. */
const API_OPS = new Map(OPS.filter((o) => o.sourceId === SOURCE.cuda || o.sourceId === SOURCE.driver || o.sourceId === SOURCE.graph).map((o) => [o.name, o.id]));

const MEMCPY_DIRECTION: Readonly<Record<string, number>> = { HtoD: 1, DtoH: 2, HtoA: 3, AtoH: 4, AtoA: 5, AtoD: 6, DtoA: 7, DtoD: 8, HtoH: 9, PtoP: 10 };
const MEMORY_KIND: Readonly<Record<string, number>> = { Pageable: 1, Pinned: 2, Device: 3, Array: 4, Managed: 5 };
const SYNC_KIND: Readonly<Record<string, number>> = { 'Stream Sync': 1, 'Event Sync': 2, 'Context Sync': 3, 'Stream Wait Event': 4 };

/** `Memcpy HtoD (Pageable -> Device)` → direction | src memory << 8 | dst memory << 16. */
export function memcpyKind(name: string): number {
  const m = /Memcpy (\w+)(?: \((\w+) -> (\w+)\))?/.exec(name);
  if (!m) return 0;
  return (MEMCPY_DIRECTION[m[1]!] ?? 0) | ((MEMORY_KIND[m[2] ?? ''] ?? 0) << 8) | ((MEMORY_KIND[m[3] ?? ''] ?? 0) << 16);
}

/** `nccl:all_reduce` (record_function names of torch.distributed) → the NCCL op. */
function ncclOp(name: string): number {
  const what = name.slice(5).toLowerCase();
  if (what.includes('reduce_scatter')) return OP.ncclReduceScatter;
  if (what.includes('all_reduce') || what === 'allreduce') return OP.ncclAllReduce;
  if (what.includes('all_gather') || what.includes('allgather')) return OP.ncclAllGather;
  if (what.includes('broadcast')) return OP.ncclBroadcast;
  return OP.ncclCollective;
}

const int = (v: unknown): number | null => {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
};
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
/** The number inside `stream 7` / `device 0` (early traces name tracks that way). */
const trackNumber = (v: unknown): number | null => int(v) ?? int(/(\d+)\s*$/.exec(str(v))?.[1]);
const dims = (v: unknown): [number, number, number] | null => {
  if (!Array.isArray(v) || v.length !== 3) return null;
  const d = v.map(int);
  return d.every((x) => x !== null) ? (d as [number, number, number]) : null;
};

export interface NodeCounts {
  events: number;
  kernels: number;
  memcpys: number;
  memsets: number;
  syncs: number;
  cpuOps: number;
  runtimeCalls: number;
  collectives: number;
  annotations: number;
  otherEvents: number;
  launchFlows: number;
}

export interface Anomalies {
  no_time: number;
  negative_durations: number;
}

export class TraceMapper {
  /** Provisional origin in the trace clock, whole µs; set by the first timestamp. */
  originUs: number | null = null;
  /** Earliest time written, relative to the provisional origin. */
  minRelNs = Infinity;
  readonly counts: NodeCounts = { events: 0, kernels: 0, memcpys: 0, memsets: 0, syncs: 0, cpuOps: 0, runtimeCalls: 0, collectives: 0, annotations: 0, otherEvents: 0, launchFlows: 0 };
  readonly anomalies: Anomalies = { no_time: 0, negative_durations: 0 };
  /** Whether any event carried a category only a PyTorch profiler writes. */
  sawKinetoCategory = false;
  private readonly processNames = new Map<number, string>();
  private readonly processLabels = new Map<number, string>();
  private readonly threadNames = new Map<string, string>();
  private readonly hostThreads = new Map<string, { pid: number; tid: number; first: number }>();
  private readonly hostProcesses = new Map<number, number>();

  constructor(
    private readonly w: BundleWriter,
    private readonly node: number,
  ) {}

  private rel(m: Micros): number {
    if (this.originUs === null) this.originUs = Math.floor(m.us / 1e6) * 1e6;
    const ns = (m.us - this.originUs) * 1000 + m.ns;
    if (ns < this.minRelNs) this.minRelNs = ns;
    return ns;
  }

  private duration(v: unknown): number {
    const m = typeof v === 'string' ? parseMicros(v) : null;
    if (!m) return 0;
    const ns = microsToNs(m);
    if (ns < 0) {
      this.anomalies.negative_durations++;
      return 0;
    }
    return ns;
  }

  private seenHost(pid: number, tid: number, ts: number): void {
    const key = `${pid}:${tid}`;
    const t = this.hostThreads.get(key);
    if (!t) this.hostThreads.set(key, { pid, tid, first: ts });
    else if (ts < t.first) t.first = ts;
    const p = this.hostProcesses.get(pid);
    if (p === undefined || ts < p) this.hostProcesses.set(pid, ts);
  }

  map(e: RawEvent): void {
    const ph = typeof e.ph === 'string' ? e.ph : '';
    const cat = typeof e.cat === 'string' ? e.cat : undefined;
    if (cat !== undefined && !this.sawKinetoCategory && KINETO_CATEGORIES.has(cat)) this.sawKinetoCategory = true;
    if (ph === 'M') return this.metadataEvent(e);
    const tsText = typeof e.ts === 'string' ? parseMicros(e.ts) : null;
    if (!tsText) {
      this.anomalies.no_time++;
      return;
    }
    const kind = eventKind(cat, ph);
    if (kind === 'launch_flow') {
      this.counts.launchFlows++;
      return;
    }
    const ts = this.rel(tsText);
    const dur = this.duration(e.dur);
    const name = str(e.name);
    const args = (e.args !== null && typeof e.args === 'object' ? e.args : {}) as Record<string, unknown>;
    const pid = int(e.pid);
    const tid = int(e.tid) ?? 0;
    const corr = int(args.correlation);
    const node = this.node;
    const w = this.w;
    switch (kind) {
      case 'kernel':
      case 'memcpy':
      case 'memset':
      case 'sync': {
        const device = int(args.device) ?? trackNumber(e.pid);
        const stream = int(args.stream) ?? trackNumber(e.tid);
        this.counts.events++;
        if (kind === 'kernel') {
          this.counts.kernels++;
          const kernel = w.internKernel({ name, grid: dims(args.grid), block: dims(args.block), registers: int(args['registers per thread']), shared_memory: int(args['shared memory']) });
          w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: 0, tid: 0, op_id: OP.kernel, arg0: kernel, arg2: device, arg3: stream, corr_id: corr });
        } else if (kind === 'memcpy') {
          this.counts.memcpys++;
          w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: 0, tid: 0, op_id: OP.memcpy, arg0: int(args.bytes), arg1: memcpyKind(name), arg2: device, arg3: stream, corr_id: corr });
        } else if (kind === 'memset') {
          this.counts.memsets++;
          w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: 0, tid: 0, op_id: OP.memset, arg0: int(args.bytes), arg2: device, arg3: stream, corr_id: corr });
        } else {
          this.counts.syncs++;
          w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: 0, tid: 0, op_id: OP.sync, arg0: SYNC_KIND[str(args.cuda_sync_kind) || name] ?? 0, arg2: device, arg3: stream, corr_id: corr });
        }
        return;
      }
      case 'runtime':
      case 'driver': {
        const own = API_OPS.get(name);
        const generic = own === undefined;
        this.counts.events++;
        this.counts.runtimeCalls++;
        this.seenHost(pid ?? 0, tid, ts);
        w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: pid ?? 0, tid, op_id: own ?? (kind === 'runtime' ? OP.runtimeCall : OP.driverCall), arg0: generic ? w.internName(name) : null, arg1: generic ? int(args.cbid) : null, corr_id: corr });
        return;
      }
      case 'cpu_op':
      case 'python': {
        this.counts.events++;
        this.counts.cpuOps++;
        this.seenHost(pid ?? 0, tid, ts);
        w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: pid ?? 0, tid, op_id: kind === 'cpu_op' ? OP.cpuOp : OP.python, arg0: w.internName(name), arg1: kind === 'cpu_op' ? int(args['External id'] ?? args['external id']) : null });
        return;
      }
      case 'annotation':
        if (name.startsWith('nccl:')) {
          this.counts.events++;
          this.counts.collectives++;
          this.seenHost(pid ?? 0, tid, ts);
          const o = ncclOp(name);
          w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: pid ?? 0, tid, op_id: o, arg0: null, arg1: o === OP.ncclCollective ? w.internName(name) : null });
          return;
        }
        this.annotation(ts, dur, pid, cat!, name, pid === null ? {} : { tid: String(tid) });
        return;
      case 'gpu_annotation':
        this.annotation(ts, dur, null, cat!, name, { device: String(int(args.device) ?? trackNumber(e.pid) ?? ''), stream: String(int(args.stream) ?? trackNumber(e.tid) ?? '') });
        return;
      case 'profiler_window':
        this.annotation(ts, dur, null, cat!, name, {});
        return;
      default:
        if (ph === 'i' || ph === 'I') {
          this.annotation(ts, null, pid, cat ?? '', name, { phase: 'instant' });
          return;
        }
        this.counts.events++;
        this.counts.otherEvents++;
        w.appendEvent({ ts_ns: ts, dur_ns: dur, node_id: node, pid: pid ?? 0, tid, op_id: OP.other, arg0: w.internName(name), arg1: w.internName(cat ?? ''), arg2: ph.length > 0 ? ph.charCodeAt(0) : null, arg3: int(e.id) });
    }
  }

  private annotation(ts: number, dur: number | null, pid: number | null, category: string, name: string, extra: Record<string, string>): void {
    this.counts.annotations++;
    this.w.addAnnotation({ node_id: this.node, ts_ns: ts, end_ns: dur === null ? null : ts + dur, pid, labels: { source: 'kineto', category, name, ...extra } });
  }

  private metadataEvent(e: RawEvent): void {
    const pid = int(e.pid);
    const args = (e.args ?? {}) as Record<string, unknown>;
    if (pid === null) return;
    if (e.name === 'process_name') this.processNames.set(pid, str(args.name));
    else if (e.name === 'process_labels') this.processLabels.set(pid, str(args.labels));
    else if (e.name === 'thread_name') this.threadNames.set(`${pid}:${int(e.tid) ?? 0}`, str(args.name));
  }

  /** Processes and threads of the host side (GPU tracks are not processes). */
  writeProcesses(): { processes: number; threads: number } {
    let processes = 0;
    for (const [pid, first] of [...this.hostProcesses].sort((a, b) => a[0] - b[0])) {
      if (/^GPU/.test(this.processLabels.get(pid) ?? '')) continue;
      this.w.addProcess({ node_id: this.node, pid, start_ns: first, comm: this.processNames.get(pid) ?? '' });
      processes++;
    }
    for (const t of [...this.hostThreads.values()].sort((a, b) => a.pid - b.pid || a.tid - b.tid)) {
      // Kineto names threads "thread 2919752 (pt_main_thread)".
      const label = this.threadNames.get(`${t.pid}:${t.tid}`) ?? '';
      this.w.addThread({ node_id: this.node, tid: t.tid, pid: t.pid, first_ns: t.first, comm: /\((.*)\)\s*$/.exec(label)?.[1] ?? label });
    }
    return { processes, threads: this.hostThreads.size };
  }
}
