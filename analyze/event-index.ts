// The events table in memory, read in one pass: what statistics, detectors and the stall ranking
// read row by row, so that explain reads the table once instead of once per question.
//
// Each row keeps its start time (as a 32-bit step from the previous row's), its duration (32 bits)
// and its group: the (node, pid, tid, op) it belongs to. Arguments are kept only for sched_switch
// rows (who ran, prev_state), because the off-CPU analyses read them in bulk; other per-group
// facts (return codes, time bounds) are totalled during the pass. About 10 bytes per event plus
// 16 per sched_switch row: 10M events fit in about 120 MB.
//
// A question a detector asks of the events is answered with rows(): the selected groups' rows,
// in id (= start time) order, optionally within an id range. Columns not kept (arg0 of a fork,
// say) are read from SQLite by id for the few rows that need them (columnsOf).
import { BundleError, firstAtLeast, idAtTimeBySteps, lowerBound, type Bundle } from '../format/index.ts';
import { F64List, scanRows } from './scan.ts';

/** The rows of one (node, pid, tid, op) and what the pass totalled over them. */
export interface EventGroup {
  readonly index: number;
  readonly node: number;
  readonly pid: number;
  readonly tid: number;
  readonly op: number;
  count: number;
  /** Earliest start, latest start and latest end of its rows (ns, bundle clock). */
  minTs: number;
  maxTs: number;
  maxEnd: number;
  /** Rows with a return code (ret IS NOT NULL). */
  answered: number;
  /** Rows with a non-zero return code, by code (null when none). */
  failing: Map<number, FailingCalls> | null;
  /** Ids of the first FAILING_IDS_KEPT failing rows, ascending. */
  readonly failingIds: number[];
}

/** Calls of one op with one captured stack, over the rows held. */
export interface StackUse {
  readonly op_id: number;
  readonly stack_id: number;
  readonly count: number;
  readonly total_dur_ns: number;
  readonly max_dur_ns: number;
}

export interface EventIndexOptions {
  /** Only events with ids in [loId, hiId) (all of them by default). */
  readonly loId?: number;
  readonly hiId?: number;
  /** Also total the rows of each (op, stack) in the pass (stackUses), as the MCP summary shows them. */
  readonly stackUses?: boolean;
}

/** Rows of one group with one non-zero return code. */
export interface FailingCalls {
  n: number;
  firstId: number;
  firstNs: number;
  lastEnd: number;
}

/** Failing ids kept per group: api-error cites the first 2000 of a process. */
export const FAILING_IDS_KEPT = 2000;

/** A step or duration that does not fit 32 bits: the value lives in an escape map. */
const ESCAPE = 0xffffffff;
/** Rows between absolute start times kept for starting a walk anywhere. */
const CHECKPOINT = 1024;
/** A walk visits only the selected groups' rows when they are fewer than 1 in SPARSE_WALK of its range. */
const SPARSE_WALK = 16;
const LISTED_SHARE = 8;
/** prev_state of a sched_switch row that has none; a real number, so never a recorded state. */
const NO_STATE = 0.5;
/** NULL in the packed sched_switch fields (packedSwitch): who ran and its tid, prev_state. */
const PID_NULL = 2 ** 22 - 1;
const STATE_NULL = 2 ** 9 - 1;
/**
 * What a sched_switch row says of the switch, packed by SQL into one number: who ran (pid) in
 * bits 31..52, its tid in bits 9..30, prev_state in bits 0..8, each field's all-ones value
 * meaning NULL. One value per row instead of three: the pass calls a JS function per row with
 * each column as an argument, and each argument costs (bench/RESULTS.md, Analyze). Rows whose
 * values are not integers that fit (text, reals, a negative value, a pid of 2^22 − 1 or more, a
 * state of 511 or more) get −1 and are read exactly afterwards (switchColumns). NULL on other rows.
 */
function packedSwitch(sched: number): string {
  const fits = (v: string, nullCode: number) => `(${v} IS NULL OR (typeof(${v}) = 'integer' AND ${v} BETWEEN 0 AND ${nullCode - 1}))`;
  return `CASE WHEN op_id = ${sched} THEN CASE WHEN ${fits('coalesce(arg1, arg3)', PID_NULL)} AND ${fits('arg0', PID_NULL)} AND ${fits('arg2', STATE_NULL)} THEN (coalesce(arg1, arg3, ${PID_NULL}) << 31) | (coalesce(arg0, ${PID_NULL}) << 9) | coalesce(arg2, ${STATE_NULL}) ELSE -1 END END`;
}
/** The three sched_switch values as the pass would read them one column each. */
function switchColumns(sched: number): string[] {
  return [`coalesce(arg1, arg3)`, 'arg0', `coalesce(arg2, ${NO_STATE})`].map((v) => `CASE WHEN op_id = ${sched} THEN ${v} END`);
}

export class EventIndex {
  /** Rows held: events with ids in [loId, hiId). */
  readonly rowCount: number;
  readonly loId: number;
  readonly hiId: number;
  /** True when every event of the bundle is held. */
  readonly whole: boolean;
  readonly groups: readonly EventGroup[];
  /** sched_switch's op id (the first of that name), undefined when the bundle has none. */
  readonly schedOp: number | undefined;
  /** Start of the first row and latest end of any row (0 and 0 for no rows). */
  readonly firstTs: number;
  readonly lastEnd: number;
  private readonly step: Uint32Array;
  private readonly dur: Uint32Array;
  private readonly group: Uint16Array | Uint32Array;
  private readonly checkpoints: Float64Array;
  /** Row lists of the groups sparse walks asked for (sparseRows). */
  private readonly lists = new Map<number, { readonly rows: Uint32Array; readonly ts: Float64Array }>();
  /** Rows held in lists: at most 1 in LISTED_SHARE of the bundle's. */
  private listed = 0;
  private readonly tsEscapes: Map<number, number>;
  private readonly durEscapes: Map<number, number>;
  /** Ids of the rows when they are not loId, loId + 1, ... (a bundle breaking the spec). */
  private readonly ids: Float64Array | null;
  /** sched_switch rows in order: row number, who ran (NaN unknown), its tid (NaN unknown), prev_state (NaN unknown). */
  private readonly schedRow: Chunked<Uint32Array>;
  private readonly schedBy: Chunked<Float32Array>;
  private readonly schedByTid: Chunked<Float32Array>;
  private readonly schedState: Chunked<Float32Array>;
  private readonly bundle: Bundle;
  /** Start times of one CHECKPOINT block of rows, decoded for idAtTime (block -1: none yet). */
  private readonly blockTs = new Float64Array(CHECKPOINT);
  private block = -1;

  /** Per (op, stack) totals of the rows with a stack, by op then stack id; null unless asked for. */
  readonly stackUses: readonly StackUse[] | null;

  /** Reads the events with ids in [loId, hiId) (all of them by default) in one pass. */
  constructor(bundle: Bundle, range: EventIndexOptions = {}) {
    this.bundle = bundle;
    const db = bundle.db;
    const maxId = (db.prepare('SELECT coalesce(max(id), 0) FROM events').pluck().get() as number) ?? 0;
    this.loId = Math.max(1, range.loId ?? 1);
    this.hiId = Math.min(maxId + 1, range.hiId ?? Infinity);
    this.whole = this.loId === 1 && this.hiId === maxId + 1;
    this.schedOp = bundle.opIdsByName('sched_switch')[0];
    const sched = this.schedOp ?? -1;
    // A dense table has exactly hiId − loId rows here; others grow the arrays as they go.
    let capacity = Math.max(16, Math.min(this.hiId - this.loId, 1 << 26));
    let step = new Uint32Array(capacity);
    let durs = new Uint32Array(capacity);
    let group: Uint16Array | Uint32Array = new Uint16Array(capacity);
    const checkpoints = new F64List();
    const tsEscapes = new Map<number, number>();
    const durEscapes = new Map<number, number>();
    const ids = new F64List();
    let dense = true;
    const groups: EventGroup[] = [];
    const byKey = new Map<number | string, EventGroup>();
    const schedRow = new Chunked(Uint32Array);
    const schedBy = new Chunked(Float32Array);
    const schedByTid = new Chunked(Float32Array);
    const schedState = new Chunked(Float32Array);
    let rows = 0;
    let prevTs = 0;
    let firstTs = NaN;
    let lastEnd = -Infinity;
    let outOfRange = 0;
    /** Positions in the sched_switch lists of rows whose values did not pack (read afterwards). */
    const unpacked: number[] = [];
    let last: EventGroup | undefined;
    const stacks = range.stackUses ? new Map<number | string, { op_id: number; stack_id: number; count: number; total_dur_ns: number; max_dur_ns: number }>() : null;
    const switchPacked = packedSwitch(sched);
    scanRows(
      db,
      ['id', 'ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id', 'ret', switchPacked, ...(stacks ? ['stack_id'] : [])],
      'FROM events WHERE id >= ? AND id < ? ORDER BY id',
      [this.loId, this.hiId],
      (id, ts, d, node, pid, tid, op, ret, sw, stack) => {
        // Every analysis does arithmetic on times and sizes arrays by them: a time that is text,
        // negative or past 2^53 ns (hostile or damaged bundles; a plain open does not scan for
        // them) would crash or exhaust memory downstream, and a text or blob id would reach
        // reports as one.
        if (!(ts >= 0 && d >= 0 && ts + d <= Number.MAX_SAFE_INTEGER) || typeof node !== 'number' || typeof pid !== 'number' || typeof op !== 'number') {
          outOfRange++;
          return;
        }
        if (typeof tid !== 'number') tid = NaN;
        if (rows === capacity) {
          capacity *= 2;
          step = grow(step, capacity);
          durs = grow(durs, capacity);
          group = grow(group, capacity);
        }
        const r = rows++;
        if (r === 0) firstTs = ts;
        if (dense && id !== this.loId + r) {
          dense = false;
          for (let k = 0; k < r; k++) ids.push(this.loId + k);
        }
        if (!dense) ids.push(id);
        if (r % CHECKPOINT === 0) checkpoints.push(ts);
        const delta = ts - prevTs;
        if (Number.isInteger(delta) && delta >= 0 && delta < ESCAPE) step[r] = delta;
        else (step[r] = ESCAPE), tsEscapes.set(r, ts);
        prevTs = ts;
        if (Number.isInteger(d) && d < ESCAPE) durs[r] = d;
        else (durs[r] = ESCAPE), durEscapes.set(r, d);
        const end = ts + d;
        if (end > lastEnd) lastEnd = end;
        let g = last;
        if (!g || g.op !== op || g.tid !== tid || g.pid !== pid || g.node !== node) {
          const key = node >= 0 && node < 32768 && tid >= 0 && tid < 4194304 && op >= 0 && op < 65536 ? (node * 4194304 + tid) * 65536 + op : `${node}:${pid}:${tid}:${op}`;
          g = byKey.get(key);
          if (!g || g.pid !== pid) {
            const full = `${node}:${pid}:${tid}:${op}`;
            g = byKey.get(full);
            if (!g) {
              g = { index: groups.length, node, pid, tid, op, count: 0, minTs: ts, maxTs: ts, maxEnd: end, answered: 0, failing: null, failingIds: [] };
              groups.push(g);
              byKey.set(full, g);
              if (!byKey.has(key)) byKey.set(key, g);
              if (groups.length === 65536) group = Uint32Array.from(group);
            }
          }
          last = g;
        }
        group[r] = g.index;
        g.count++;
        if (ts < g.minTs) g.minTs = ts;
        if (ts > g.maxTs) g.maxTs = ts;
        if (end > g.maxEnd) g.maxEnd = end;
        if (ret !== null) {
          g.answered++;
          if (ret !== 0) {
            g.failing ??= new Map();
            const f = g.failing.get(ret);
            if (!f) g.failing.set(ret, { n: 1, firstId: id, firstNs: ts, lastEnd: end });
            else {
              f.n++;
              if (id < f.firstId) f.firstId = id;
              if (ts < f.firstNs) f.firstNs = ts;
              if (end > f.lastEnd) f.lastEnd = end;
            }
            if (g.failingIds.length < FAILING_IDS_KEPT) g.failingIds.push(id);
          }
        }
        if (sw !== null) {
          schedRow.push(r);
          if (sw === -1) {
            unpacked.push(schedBy.length);
            schedBy.push(NaN), schedByTid.push(NaN), schedState.push(NaN);
          } else {
            // A NULL field (who ran or state unknown) becomes NaN.
            const by = Math.floor(sw / 2 ** 31);
            const low = sw - by * 2 ** 31;
            const byTid = low >>> 9;
            const state = low & STATE_NULL;
            schedBy.push(by === PID_NULL ? NaN : by);
            schedByTid.push(byTid === PID_NULL ? NaN : byTid);
            schedState.push(state === STATE_NULL ? NaN : state);
          }
        }
        if (stacks && stack !== null && stack !== undefined) {
          const key = Number.isSafeInteger(stack) && stack >= 0 && stack < 2 ** 32 ? op * 2 ** 32 + stack : `${op}:${stack}`;
          const u = stacks.get(key);
          if (!u) stacks.set(key, { op_id: op, stack_id: stack, count: 1, total_dur_ns: d, max_dur_ns: d });
          else {
            u.count++;
            u.total_dur_ns += d;
            if (d > u.max_dur_ns) u.max_dur_ns = d;
          }
        }
      },
    );
    if (outOfRange > 0) {
      throw new BundleError('SCHEMA', `${bundle.path}: ${outOfRange} event(s) have a node, pid, op, start time or duration that is not a number, or a time that is negative or beyond 2^53 ns (104 days) — the bundle is damaged or hostile and cannot be analysed; run ingero verify on it and get a fresh copy`);
    }
    if (unpacked.length > 0) {
      // The same rows, in the same order, as gave −1 above: their values one column each.
      let k = 0;
      scanRows(db, switchColumns(sched), `FROM events WHERE id >= ? AND id < ? AND (${switchPacked}) = -1 ORDER BY id`, [this.loId, this.hiId], (by, byTid, state) => {
        const at = unpacked[k++]!;
        // NULL comes through as null: who ran is unknown (NaN) when the row does not name it.
        schedBy.set(at, by ?? NaN);
        schedByTid.set(at, byTid ?? NaN);
        schedState.set(at, state === NO_STATE ? NaN : state);
      });
    }
    this.rowCount = rows;
    this.step = step.subarray(0, rows);
    this.dur = durs.subarray(0, rows);
    this.group = group.subarray(0, rows);
    this.checkpoints = checkpoints.toArray();
    this.tsEscapes = tsEscapes;
    this.durEscapes = durEscapes;
    this.ids = dense ? null : ids.toArray();
    this.groups = groups;
    this.firstTs = rows ? firstTs : 0;
    this.lastEnd = rows ? lastEnd : 0;
    this.schedRow = schedRow;
    this.schedBy = schedBy;
    this.schedByTid = schedByTid;
    this.schedState = schedState;
    // In GROUP BY op_id, stack_id order, as the SQL aggregate this replaces gave them.
    this.stackUses = stacks ? [...stacks.values()].sort((a, b) => a.op_id - b.op_id || a.stack_id - b.stack_id) : null;
  }

  /** Id of row r. */
  idOf(r: number): number {
    return this.ids ? this.ids[r]! : this.loId + r;
  }

  /** The first row whose id is ≥ id (rowCount when none). */
  rowAtId(id: number): number {
    if (!this.ids) return Math.min(this.rowCount, Math.max(0, Math.ceil(id) - this.loId));
    const ids = this.ids;
    return firstAtLeast(0, this.rowCount, id, (i) => ids[i]!);
  }

  /**
   * bundle.idAtTime(ns) answered from memory where the index holds every event under dense ids:
   * the same search (every CHECKPOINT-th start time, then a binary search within one block) over
   * the same start times, without a primary-key read per step. Detectors ask it tens of thousands
   * of times at 10M events.
   */
  idAtTime(ns: number): number {
    if (!this.whole || this.ids) return this.bundle.idAtTime(ns);
    // row r holds id r + 1 here
    return idAtTimeBySteps(ns, this.hiId - 1, CHECKPOINT, this.checkpoints, (id) => {
      const k = Math.floor((id - 1) / CHECKPOINT);
      this.decodeBlock(k);
      return this.blockTs[id - 1 - k * CHECKPOINT]!;
    });
  }

  /** Start times of rows [k·CHECKPOINT, (k+1)·CHECKPOINT) into blockTs. */
  private decodeBlock(k: number): void {
    if (this.block === k) return;
    const { step, tsEscapes, blockTs } = this;
    const from = k * CHECKPOINT;
    const to = Math.min(this.rowCount, from + CHECKPOINT);
    let ts = this.checkpoints[k]!;
    blockTs[0] = ts;
    for (let r = from + 1; r < to; r++) {
      const s = step[r]!;
      ts = s === ESCAPE ? tsEscapes.get(r)! : ts + s;
      blockTs[r - from] = ts;
    }
    this.block = k;
  }

  /** True when every duration fits 32 bits (statistics then sort them as such). */
  durationsFit32(): boolean {
    return this.durEscapes.size === 0;
  }

  /** Groups matching pick, as a lookup by group index (null when none match). */
  select(pick: (g: EventGroup) => boolean): Uint8Array | null {
    const out = new Uint8Array(this.groups.length);
    let any = false;
    for (const g of this.groups) if (pick(g)) (out[g.index] = 1), (any = true);
    return any ? out : null;
  }

  /**
   * Calls fn(id, ts, dur, group, row) for each row of the selected groups (all when selected is
   * undefined) with ids in [loId, hiId), in id order; fn returning true stops the walk.
   */
  rows(selected: Uint8Array | null | undefined, fn: (id: number, ts: number, dur: number, g: EventGroup, row: number) => boolean | void, loId = -Infinity, hiId = Infinity): void {
    if (selected === null) return;
    const from = loId === -Infinity ? 0 : this.rowAtId(loId);
    const to = hiId === Infinity ? this.rowCount : this.rowAtId(hiId);
    if (from >= to) return;
    const { step, dur, group, groups, tsEscapes, durEscapes } = this;
    // Few rows out of many: visit only theirs, from the selected groups' own row lists.
    if (selected && (to - from) >= SPARSE_WALK * CHECKPOINT) {
      let wanted = 0;
      let unlisted = 0;
      for (const g of groups) if (selected[g.index]) (wanted += g.count), (unlisted += this.lists.has(g.index) ? 0 : g.count);
      if (wanted * SPARSE_WALK < to - from && this.listed + unlisted <= this.rowCount / LISTED_SHARE) {
        const { rows, ts: times } = this.sparseRows(selected);
        let k = lowerBound(rows, from);
        for (; k < rows.length && rows[k]! < to; k++) {
          const r = rows[k]!;
          const d = dur[r]!;
          if (fn(this.ids ? this.ids[r]! : this.loId + r, times[k]!, d === ESCAPE ? durEscapes.get(r)! : d, groups[group[r]!]!, r) === true) return;
        }
        return;
      }
    }
    let r = Math.floor(from / CHECKPOINT) * CHECKPOINT;
    let ts = this.checkpoints[r / CHECKPOINT]!;
    for (; r < from; ) {
      r++;
      const s = step[r]!;
      ts = s === ESCAPE ? tsEscapes.get(r)! : ts + s;
    }
    for (; r < to; r++) {
      if (r > from) {
        const s = step[r]!;
        ts = s === ESCAPE ? tsEscapes.get(r)! : ts + s;
      }
      const gi = group[r]!;
      if (selected && selected[gi] === 0) continue;
      const d = dur[r]!;
      if (fn(this.ids ? this.ids[r]! : this.loId + r, ts, d === ESCAPE ? durEscapes.get(r)! : d, groups[gi]!, r) === true) return;
    }
  }

  /**
   * The rows of the selected groups and their start times, in row order. Each group's list is read
   * once (one walk for all the groups not yet listed) and kept: 12 bytes a row, for groups that
   * are a small part of the bundle only, and for at most 1 row in LISTED_SHARE overall.
   */
  private sparseRows(selected: Uint8Array): { rows: Uint32Array; ts: Float64Array } {
    const missing = this.groups.filter((g) => selected[g.index] && !this.lists.has(g.index));
    if (missing.length) {
      const pick = new Uint8Array(this.groups.length);
      const lists = new Map<number, { rows: Uint32Array; ts: Float64Array; n: number }>();
      for (const g of missing) (pick[g.index] = 1), lists.set(g.index, { rows: new Uint32Array(g.count), ts: new Float64Array(g.count), n: 0 });
      this.walk(pick, (r, ts, gi) => {
        const l = lists.get(gi)!;
        l.rows[l.n] = r;
        l.ts[l.n++] = ts;
      });
      for (const [gi, l] of lists) this.lists.set(gi, { rows: l.rows, ts: l.ts }), (this.listed += l.n);
    }
    const chosen = this.groups.filter((g) => selected[g.index]).map((g) => this.lists.get(g.index)!);
    if (chosen.length === 1) return chosen[0]!;
    // Merged by row: several groups' lists into one ordered list.
    const total = chosen.reduce((n, l) => n + l.rows.length, 0);
    const order = new Uint32Array(total);
    const rowsAll = new Uint32Array(total);
    const tsAll = new Float64Array(total);
    let at = 0;
    for (const l of chosen) rowsAll.set(l.rows, at), tsAll.set(l.ts, at), (at += l.rows.length);
    for (let i = 0; i < total; i++) order[i] = i;
    order.sort((a, b) => rowsAll[a]! - rowsAll[b]!);
    return { rows: Uint32Array.from(order, (i) => rowsAll[i]!), ts: Float64Array.from(order, (i) => tsAll[i]!) };
  }

  /** Every row of the picked groups, with its start time and group index. */
  private walk(pick: Uint8Array, fn: (row: number, ts: number, group: number) => void): void {
    const { step, group, tsEscapes } = this;
    let ts = 0;
    for (let r = 0; r < this.rowCount; r++) {
      const s = step[r]!;
      ts = r % CHECKPOINT === 0 ? this.checkpoints[r / CHECKPOINT]! : s === ESCAPE ? tsEscapes.get(r)! : ts + s;
      const gi = group[r]!;
      if (pick[gi]) fn(r, ts, gi);
    }
  }

  /** What a sched_switch row (row r) says of the switch: who ran (pid), its tid and prev_state, NaN where not recorded. */
  switchOf(r: number): { readonly by: number; readonly byTid: number; readonly state: number } {
    const rows = this.schedRow;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rows.at(mid) < r) lo = mid + 1;
      else hi = mid;
    }
    if (lo === rows.length || rows.at(lo) !== r) return { by: NaN, byTid: NaN, state: NaN };
    return { by: this.schedBy.at(lo), byTid: this.schedByTid.at(lo), state: this.schedState.at(lo) };
  }

  /**
   * Writes the duration of each row in [fromRow, toRow) whose group has a slot (slot[group] ≥ 0)
   * into out at offsets[slot], advancing that offset.
   */
  scatterDurations(fromRow: number, toRow: number, slot: Int32Array, offsets: Float64Array, out: Float64Array | Uint32Array): void {
    const { dur, group, durEscapes } = this;
    for (let r = fromRow; r < toRow; r++) {
      const s = slot[group[r]!]!;
      if (s < 0) continue;
      const d = dur[r]!;
      out[offsets[s]!++] = d === ESCAPE ? durEscapes.get(r)! : d;
    }
  }
}

/** Extra columns of rows by id, read from SQLite: for the few rows whose values the index does not keep. */
export function columnsOf(bundle: Bundle, ids: readonly number[], columns: readonly string[]): Map<number, (number | null)[]> {
  const out = new Map<number, (number | null)[]>();
  const stmt = bundle.db.prepare(`SELECT id, ${columns.join(', ')} FROM events WHERE id = ?`).raw(true);
  for (const id of ids) {
    const row = stmt.get(id) as (number | null)[] | undefined;
    if (row) out.set(id, row.slice(1));
  }
  return out;
}


const CHUNK = 1 << 16;

/**
 * An append-only typed list in fixed chunks, readable at any position: growing never copies. A
 * value the element type cannot hold exactly (pids fit a Float32, a hostile 2^40 does not) is
 * kept aside, so reads give back exactly what was pushed.
 */
class Chunked<T extends Uint32Array | Float32Array> {
  private readonly chunks: T[] = [];
  private readonly exact = new Map<number, number>();
  length = 0;
  constructor(private readonly make: new (n: number) => T) {}

  push(v: number): void {
    if ((this.length & (CHUNK - 1)) === 0) this.chunks.push(new this.make(CHUNK));
    this.set(this.length++, v);
  }

  /** Replaces the value at i (< length). */
  set(i: number, v: number): void {
    const chunk = this.chunks[i >>> 16]!;
    const at = i & (CHUNK - 1);
    chunk[at] = v;
    if (chunk[at] !== v && !Number.isNaN(v)) this.exact.set(i, v);
    else if (this.exact.size > 0) this.exact.delete(i);
  }

  at(i: number): number {
    const v = this.chunks[i >>> 16]![i & (CHUNK - 1)]!;
    return this.exact.size === 0 ? v : (this.exact.get(i) ?? v);
  }
}

function grow<T extends Uint16Array | Uint32Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}
