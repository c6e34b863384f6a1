// The one trace context every view reads: the opened bundle and memoized per-view queries
// (timelines, stack rankings, event pages). Views are front ends over this object and the
// session's analysis, never over the database directly, so they all agree on what they show.
import { hasColumn, kernelNames } from '../analyze/gpu-activity.ts';
import { timeline, type Finding, type Timeline } from '../analyze/index.ts';
import type { Bundle, EventRecord, ResolvedFrame } from '../format/index.ts';
import { gpuTracks, type GpuTracks } from './gpu-tracks.ts';

/** What the views are narrowed to: an op, and optionally a finding's process and time window. */
export interface Scope {
  readonly opId: number | null;
  /** The finding whose process and window narrow events and stacks (null: whole bundle). */
  readonly finding: Finding | null;
}

export const WHOLE_BUNDLE: Scope = { opId: null, finding: null };

/** How an argument column of an op is named and measured (table op_args). */
export interface ArgMeaning {
  readonly name: string;
  readonly unit: string;
}

/** Events of one op sharing one captured stack, with their time. */
export interface StackUse {
  readonly stackId: number;
  readonly opId: number;
  readonly count: number;
  readonly totalNs: number;
  readonly maxNs: number;
}

/** A kernel's launch configuration (table gpu_kernels); null fields were not given. */
export interface KernelConfig {
  readonly name: string;
  readonly grid: readonly (number | null)[];
  readonly block: readonly (number | null)[];
  readonly registers: number | null;
  readonly shared_memory: number | null;
}

/** Events that share an event's correlation id on its node: the call that launched GPU work, or the work a call launched. */
export interface Correlated {
  readonly corrId: number | null;
  readonly events: readonly EventRecord[];
  /** Events read on each side of the event while looking (the search stops there). */
  readonly searched: number;
}

/** Query results kept for views to come back to (pages, timelines, stack rankings). */
const MEMO_ENTRIES = 256;

/**
 * Rows read on each side of an event for the ones sharing its correlation id. A launch comes
 * before its kernel and close to it in the start-time order (events has no index on corr_id,
 * and a scan of ten million rows would freeze the screen), so the search is bounded and the
 * detail pane says how far it looked.
 */
export const CORRELATION_SEARCH_ROWS = 50_000;

export class TraceContext {
  readonly bundle: Bundle;
  private argCache?: Map<number, ArgMeaning[]>;
  private readonly memo = new Map<string, unknown>();

  constructor(bundle: Bundle) {
    this.bundle = bundle;
  }

  /**
   * A result computed once per key (views ask again on every render). Only the most recently
   * used results are kept: scrolling through millions of events must not keep every page.
   */
  cached<T>(key: string, compute: () => T): T {
    const value = this.memo.has(key) ? (this.memo.get(key) as T) : compute();
    this.memo.delete(key);
    this.memo.set(key, value);
    if (this.memo.size > MEMO_ENTRIES) this.memo.delete(this.memo.keys().next().value!);
    return value;
  }

  /** Events in the bundle as its manifest states them: for what the screen says, without a
   *  count(*) over millions of rows before the first frame. */
  statedEventCount(): number {
    return this.bundle.manifest.counts.events;
  }

  /** The last event id (ids run 1…n in start-time order), one step down the primary key. */
  lastEventId(): number {
    return this.cached('lastEventId', () => (this.bundle.db.prepare('SELECT coalesce(max(id), 0) FROM events').pluck().get() as number) ?? 0);
  }

  /** A stack's frames (memoized: the Events detail pane asks again on every render). */
  stack(stackId: number): ResolvedFrame[] {
    return this.cached(`stack:${stackId}`, () => this.bundle.stack(stackId));
  }

  has(key: string): boolean {
    return this.memo.has(key);
  }

  argMeanings(): Map<number, ArgMeaning[]> {
    if (!this.argCache) {
      this.argCache = new Map();
      for (const r of this.bundle.db.prepare('SELECT op_id, arg, name, unit FROM op_args ORDER BY op_id, arg').all() as { op_id: number; arg: number; name: string; unit: string }[]) {
        let list = this.argCache.get(r.op_id);
        if (!list) this.argCache.set(r.op_id, (list = []));
        if (r.arg >= 0 && r.arg < 4) list[r.arg] = { name: r.name, unit: r.unit };
      }
    }
    return this.argCache;
  }


  /** Captured stacks of the scope, hottest (most total time) first. */
  stackUses(scope: Scope): StackUse[] {
    const f = scope.finding;
    const where = ['stack_id IS NOT NULL'];
    const params: number[] = [];
    if (f) {
      where.push('id >= ?', 'id < ?', 'pid = ?', 'node_id = ?');
      params.push(this.bundle.idAtTime(f.from_ns), this.bundle.idAtTime(f.to_ns + 1), f.pid, f.node_id);
    }
    if (scope.opId !== null) where.push('op_id = ?'), params.push(scope.opId);
    const rows = this.bundle.db
      .prepare(`SELECT stack_id AS stackId, op_id AS opId, count(*) AS count, sum(dur_ns) AS totalNs, max(dur_ns) AS maxNs FROM events WHERE ${where.join(' AND ')} GROUP BY op_id, stack_id`)
      .all(...params) as StackUse[];
    return rows.sort((a, b) => b.totalNs - a.totalNs || b.count - a.count || a.stackId - b.stackId);
  }

  /** Whether the bundle's schema has a column (schema-2 additions: corr_id, gpu_kernels, names). */
  private hasColumn(table: string, column: string): boolean {
    return this.cached(`column:${table}.${column}`, () => hasColumn(this.bundle, table, column));
  }

  /** kernel events' arg0 → kernel name (analyze/gpu-activity.ts; empty without table gpu_kernels). */
  kernelName(id: number): string | undefined {
    return this.cached('kernelNames', () => kernelNames(this.bundle)).get(id);
  }

  kernelConfig(id: number): KernelConfig | null {
    return this.cached(`kernel:${id}`, () => {
      if (!this.hasColumn('gpu_kernels', 'name')) return null;
      const r = this.bundle.db.prepare('SELECT name, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, shared_memory FROM gpu_kernels WHERE id = ?').get(id) as Record<string, number | string | null> | undefined;
      if (!r) return null;
      const n = (v: unknown) => (typeof v === 'number' ? v : null);
      return { name: String(r.name), grid: [n(r.grid_x), n(r.grid_y), n(r.grid_z)], block: [n(r.block_x), n(r.block_y), n(r.block_z)], registers: n(r.registers), shared_memory: n(r.shared_memory) };
    });
  }

  /** An interned name (table names: framework operators, runtime calls without an op code of their own). */
  internedName(id: number): string | undefined {
    return this.cached(`name:${id}`, () => {
      if (!this.hasColumn('names', 'name')) return undefined;
      const name = this.bundle.db.prepare('SELECT name FROM names WHERE id = ?').pluck().get(id);
      return name === undefined || name === null ? undefined : String(name);
    });
  }

  /** The events sharing `e`'s correlation id on its node, nearest first, within CORRELATION_SEARCH_ROWS rows either side. */
  correlated(e: EventRecord): Correlated {
    return this.cached(`corr:${e.id}`, () => {
      if (!this.hasColumn('events', 'corr_id')) return { corrId: null, events: [], searched: 0 };
      const corrId = this.bundle.db.prepare('SELECT corr_id FROM events WHERE id = ?').pluck().get(e.id);
      if (typeof corrId !== 'number') return { corrId: null, events: [], searched: 0 };
      const ids = this.bundle.db
        .prepare('SELECT id FROM events WHERE id BETWEEN ? AND ? AND id != ? AND corr_id = ? AND node_id = ? ORDER BY abs(id - ?) LIMIT 8')
        .pluck()
        .all(e.id - CORRELATION_SEARCH_ROWS, e.id + CORRELATION_SEARCH_ROWS, e.id, corrId, e.node_id, e.id) as number[];
      const events = ids.flatMap((id) => [...this.bundle.events({ afterId: id - 1, limit: 1 })]);
      return { corrId, events, searched: CORRELATION_SEARCH_ROWS };
    });
  }

  /** Busy time per window of every GPU (gpu-tracks.ts), over the whole bundle in `windows` windows. */
  gpuTracksOf(windows: number): GpuTracks {
    const from = this.bundle.startNs();
    const to = this.bundle.endNs();
    const windowNs = Math.max(1, Math.ceil(Math.max(1, to - from) / Math.max(1, windows)));
    return gpuTracks(this.bundle, from, windowNs, Math.max(1, windows));
  }

  /** One op's timeline over the whole bundle in about `windows` windows. */
  timelineOf(opId: number, windows: number): Timeline {
    const from = this.bundle.startNs();
    const to = this.bundle.endNs();
    const windowNs = Math.max(1, Math.ceil(Math.max(1, to - from) / Math.max(1, windows)));
    return timeline(this.bundle, { opIds: [opId], fromNs: from, toNs: from + windowNs * Math.max(1, windows), windowNs });
  }
}
