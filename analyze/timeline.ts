// Rates and latencies over time: per op, per window (1 s by default), the count, rate, total
// time and exact p50/p99/max of the events starting in that window.
import type { Bundle } from '../format/index.ts';
import type { EventIndex } from './event-index.ts';
import { F64List, scanRows } from './scan.ts';
import { percentile } from './percentile.ts';

export interface TimelineOptions {
  /** Window width in ns (default 1 s). */
  readonly windowNs?: number;
  /** Start (inclusive) and end (exclusive) on the bundle clock; default: the whole bundle. */
  readonly fromNs?: number;
  readonly toNs?: number;
  /** Only these ops (default: all). */
  readonly opIds?: readonly number[];
  /** Only these processes (default: all). */
  readonly pids?: readonly number[];
  readonly nodeId?: number;
}

export interface TimelinePoint {
  /** Window start on the bundle clock. */
  readonly t_ns: number;
  readonly count: number;
  readonly rate_per_s: number;
  readonly total_ns: number;
  readonly p50_ns: number;
  readonly p99_ns: number;
  readonly max_ns: number;
}

export interface TimelineSeries {
  readonly op: string;
  readonly op_id: number;
  /** Windows with at least one event, in time order. */
  readonly points: readonly TimelinePoint[];
}

export interface Timeline {
  readonly window_ns: number;
  readonly from_ns: number;
  readonly to_ns: number;
  readonly series: readonly TimelineSeries[];
}

/** One op's durations per window, and the window last added to (events come in time order, so mostly the same one again). */
interface OpCells {
  readonly byWindow: Map<number, F64List>;
  window: number;
  list: F64List | undefined;
}

function addTo(c: OpCells, w: number, dur: number): void {
  if (w !== c.window) {
    let list = c.byWindow.get(w);
    if (!list) c.byWindow.set(w, (list = new F64List()));
    c.window = w;
    c.list = list;
  }
  c.list!.push(dur);
}

/** A cell's durations in ascending order; as 32-bit integers where they all are (fit32), which sort in about half the time. */
function sortedDurations(list: F64List, fit32: boolean): Float64Array | Uint32Array {
  const d = list.toArray();
  return (fit32 ? Uint32Array.from(d) : d).sort();
}

/** Most windows one call may ask for: keeps memory bounded whatever the arguments. */
export const MAX_TIMELINE_WINDOWS = 100_000;

/** index: the bundle's events already in memory (analyze/event-index.ts), read instead of the table. */
export function timeline(bundle: Bundle, opts: TimelineOptions = {}, index?: EventIndex): Timeline {
  const windowNs = Math.round(opts.windowNs ?? 1e9);
  if (!(windowNs >= 1)) throw new RangeError(`timeline window must be at least 1 ns, got ${opts.windowNs}`);
  // Events are stored in start-time order, so the first and last rows by id bound the span
  // without scanning the table.
  const span = bundle.db.prepare('SELECT (SELECT ts_ns FROM events ORDER BY id LIMIT 1) AS a, (SELECT ts_ns FROM events ORDER BY id DESC LIMIT 1) AS b').get() as { a: number | null; b: number | null };
  const from = opts.fromNs ?? span.a ?? 0;
  const to = opts.toNs ?? (span.b ?? 0) + 1;
  const windows = Math.ceil((to - from) / windowNs);
  if (windows > MAX_TIMELINE_WINDOWS) throw new RangeError(`timeline of ${windows} windows asked for; at most ${MAX_TIMELINE_WINDOWS}: use a wider window or a shorter range`);
  const cells = new Map<number, OpCells>();
  const cellsOf = (op: number) => {
    let c = cells.get(op);
    if (!c) cells.set(op, (c = { byWindow: new Map(), window: NaN, list: undefined }));
    return c;
  };
  const add = (op: number, ts: number, dur: number) => addTo(cellsOf(op), Math.floor((ts - from) / windowNs), dur);
  if (index) {
    const ops = opts.opIds ? new Set(opts.opIds) : null;
    const pids = opts.pids ? new Set(opts.pids) : null;
    const pick = index.select((g) => (!ops || ops.has(g.op)) && (!pids || pids.has(g.pid)) && (opts.nodeId === undefined || g.node === opts.nodeId));
    // Each group's op cells looked up once, not per event (10M events walk here at open).
    const ofGroup: (OpCells | undefined)[] = [];
    index.rows(
      pick,
      (_id, ts, dur, g) => addTo((ofGroup[g.index] ??= cellsOf(g.op)), Math.floor((ts - from) / windowNs), dur),
      index.idAtTime(from),
      index.idAtTime(to),
    );
  } else {
    const { sql: where, params } = bundle.eventWhere({ fromNs: from, toNs: to, opIds: opts.opIds, pids: opts.pids, nodeId: opts.nodeId });
    scanRows(bundle.db, ['op_id', 'ts_ns', 'dur_ns'], `FROM events WHERE ${where}`, params, add);
  }
  const fit32 = index?.durationsFit32() ?? false;
  const series: TimelineSeries[] = [...cells.keys()]
    .sort((a, b) => a - b)
    .map((op) => {
      const { byWindow } = cells.get(op)!;
      const points = [...byWindow.keys()]
        .sort((a, b) => a - b)
        .map((w) => {
          const d = sortedDurations(byWindow.get(w)!, fit32);
          let total = 0;
          for (const x of d) total += x;
          return { t_ns: from + w * windowNs, count: d.length, rate_per_s: Math.round((d.length / windowNs) * 1e9 * 1e4) / 1e4, total_ns: total, p50_ns: percentile(d, 0.5), p99_ns: percentile(d, 0.99), max_ns: d[d.length - 1]! };
        });
      return { op: bundle.opName(op), op_id: op, points };
    });
  return { window_ns: windowNs, from_ns: from, to_ns: to, series };
}
