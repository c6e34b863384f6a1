// Where the traced threads spent their CPU time: the on-CPU samples of table cpu_samples (schema
// 2) folded per thread into their top frames, over the whole recording or a window. The numbers
// are sample counts and the CPU time they stand for (count / sampling frequency): an estimate, and said to
// be one. A bundle without the table (schema 1, an import, a recording with sampling off) has no
// profile, which `available` says.
import type { Bundle } from '../format/index.ts';

export interface CpuProfileOptions {
  readonly node?: number;
  readonly pid?: number;
  readonly tid?: number;
  /** Window on the bundle clock, [fromNs, toNs). */
  readonly fromNs?: number;
  readonly toNs?: number;
  /** Frames per thread (default 10). */
  readonly top?: number;
}

export interface CpuFrame {
  /** Function name (demangled), or the hex address when unresolved. Traced data. */
  readonly function: string;
  readonly module: string | null;
  /** Samples with this function as the leaf: its own CPU time. */
  readonly self: number;
  readonly selfShare: number;
  /** Samples with this function anywhere on the stack: its time including callees. */
  readonly total: number;
  readonly totalShare: number;
}

export interface CpuProfileThread {
  readonly node_id: number;
  readonly pid: number;
  readonly tid: number;
  readonly samples: number;
  /** Estimated CPU time: samples / recorder.cpu_sample_hz (0 when the frequency is not recorded). */
  readonly cpu_ns: number;
  /** Samples whose user stack could not be taken (thread in the kernel, no frame pointers). */
  readonly withoutStack: number;
  /** By self samples, then total. */
  readonly top: readonly CpuFrame[];
}

export interface CpuProfile {
  /** The bundle has on-CPU samples at all. */
  readonly available: boolean;
  /** Sampling frequency from metadata recorder.cpu_sample_hz, when recorded. */
  readonly hz: number | null;
  readonly samples: number;
  /** Threads by samples, most first. */
  readonly threads: readonly CpuProfileThread[];
}

const DEFAULT_TOP = 10;

export function cpuProfile(bundle: Bundle, o: CpuProfileOptions = {}): CpuProfile {
  const db = bundle.db;
  const hzValue = bundle.metadata()['recorder.cpu_sample_hz'];
  const hz = typeof hzValue === 'number' ? hzValue : null;
  if (!db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'cpu_samples'").get()) return { available: false, hz, samples: 0, threads: [] };
  const where: string[] = [];
  const params: number[] = [];
  const filter = (sql: string, v: number | undefined) => {
    if (v === undefined) return;
    where.push(sql);
    params.push(v);
  };
  filter('node_id = ?', o.node);
  filter('pid = ?', o.pid);
  filter('tid = ?', o.tid);
  filter('ts_ns >= ?', o.fromNs);
  filter('ts_ns < ?', o.toNs);
  const rows = db
    .prepare(`SELECT node_id, pid, tid, stack_id, count(*) AS n FROM cpu_samples ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY node_id, pid, tid, stack_id`)
    .all(...params) as { node_id: number; pid: number; tid: number; stack_id: number | null; n: number }[];

  const stacks = new Map<number, { leaf: string; module: string | null; all: Map<string, string | null> }>();
  const stackOf = (id: number) => {
    let s = stacks.get(id);
    if (!s) {
      const frames = bundle.stack(id);
      const all = new Map<string, string | null>();
      for (const f of frames) if (!all.has(name(f))) all.set(name(f), f.module);
      s = { leaf: frames.length ? name(frames[0]) : '?', module: frames[0]?.module ?? null, all };
      stacks.set(id, s);
    }
    return s;
  };

  const threads = new Map<string, { node_id: number; pid: number; tid: number; samples: number; cpu_ns: number; withoutStack: number; frames: Map<string, { module: string | null; self: number; total: number }> }>();
  for (const r of rows) {
    const key = `${r.node_id}:${r.tid}:${r.pid}`;
    let t = threads.get(key);
    if (!t) {
      t = { node_id: r.node_id, pid: r.pid, tid: r.tid, samples: 0, cpu_ns: 0, withoutStack: 0, frames: new Map() };
      threads.set(key, t);
    }
    t.samples += r.n;
    t.cpu_ns += hz ? (r.n * 1e9) / hz : 0;
    if (r.stack_id === null) {
      t.withoutStack += r.n;
      continue;
    }
    const s = stackOf(r.stack_id);
    for (const [fn, module] of s.all) {
      const f = t.frames.get(fn) ?? { module, self: 0, total: 0 };
      f.total += r.n;
      if (fn === s.leaf) f.self += r.n;
      t.frames.set(fn, f);
    }
  }
  const top = o.top ?? DEFAULT_TOP;
  const out = [...threads.values()]
    .map((t) => ({
      node_id: t.node_id,
      pid: t.pid,
      tid: t.tid,
      samples: t.samples,
      cpu_ns: t.cpu_ns,
      withoutStack: t.withoutStack,
      top: [...t.frames.entries()]
        .map(([fn, f]) => ({ function: fn, module: f.module, self: f.self, selfShare: f.self / t.samples, total: f.total, totalShare: f.total / t.samples }))
        .sort((a, b) => b.self - a.self || b.total - a.total || a.function.localeCompare(b.function))
        .slice(0, top),
    }))
    .sort((a, b) => b.samples - a.samples || a.node_id - b.node_id || a.tid - b.tid);
  return { available: true, hz, samples: out.reduce((n, t) => n + t.samples, 0), threads: out };
}

function name(f: { function: string | null; address: bigint | null }): string {
  return f.function ?? (f.address !== null ? `0x${BigInt.asUintN(64, f.address).toString(16)}` : '?');
}
