// The Events view's list: which events it holds (the scope, narrowed by the `/` filter) and where
// it stands in them. The position is two event ids (the first row shown and the selected one),
// so every move, page and jump is a read of a few rows next to an id through bundle.events()
// (id cursors forward, 'latest' order backwards, a time via the id binary search): as fast on
// the last page of ten million events as on the first, with nothing paged through.
import type { StatsReport } from '../analyze/index.ts';
import type { EventFilter, EventRecord } from '../format/index.ts';
import { formatDuration } from '../analyze/format-units.ts';
import type { JumpTarget } from './jump-target.ts';
import { isEmptyFilter, type ListFilter } from './list-filter.ts';
import type { Scope, TraceContext } from './trace-context.ts';

export interface EventListQuery {
  /** What bundle.events() selects (no cursor, order or limit). */
  readonly filter: EventFilter;
  /** Stable text naming the query (memo keys, kept positions). */
  readonly key: string;
  /** The list in words, for the header. */
  readonly what: string;
}

/**
 * The events of the scope (its op unless `allOps`, an open finding's process and window) and
 * the filter. An op named in the filter replaces the scope's op; words match op names here.
 * With the analysis's stats, the read is also kept to the time its ops and processes had events
 * in (their first and last starts): events has no index but id, so a page of a rare op would
 * otherwise read the table to its end looking for more (seconds on ten million rows, per key).
 * The bound is exact, so it does not change what the list holds, nor its key.
 */
export function eventListQuery(trace: TraceContext, scope: Scope, allOps: boolean, f: ListFilter, stats?: StatsReport): EventListQuery {
  const fi = scope.finding;
  const opParts = [...f.ops, ...f.words];
  let opIds: number[] | undefined = allOps || scope.opId === null ? undefined : [scope.opId];
  if (opParts.length) opIds = [...trace.bundle.ops().values()].filter((o) => opParts.every((p) => o.name.toLowerCase().includes(p))).map((o) => o.id);
  const filter: EventFilter = {
    opIds,
    pids: f.pids.length ? (fi ? f.pids.filter((p) => p === fi.pid) : f.pids) : fi ? [fi.pid] : undefined,
    tids: f.tids.length ? f.tids : undefined,
    nodeId: fi?.node_id,
    fromNs: fi?.from_ns,
    toNs: fi ? fi.to_ns + 1 : undefined,
    minDurNs: f.minDurNs ?? undefined,
  };
  const bounded = stats ? boundedByStats(filter, stats) : filter;
  const opsText = !opIds ? 'all ops' : opIds.length === 1 ? trace.bundle.opName(opIds[0]!) : opIds.length ? `${opIds.length} ops` : 'no op (none matches the filter)';
  const what = `${opsText}${fi ? `, pid ${fi.pid}, ${formatDuration(fi.from_ns)} → ${formatDuration(fi.to_ns)}` : ''}${isEmptyFilter(f) ? '' : ` · /${f.text}`}`;
  return { filter: bounded, key: JSON.stringify([filter.opIds ?? null, filter.pids ?? null, filter.tids ?? null, filter.nodeId ?? null, filter.fromNs ?? null, filter.toNs ?? null, filter.minDurNs ?? null]), what };
}

/** The filter kept to the span from the first to the last start of its (node, pid, op) groups in stats.by_process. */
function boundedByStats(filter: EventFilter, stats: StatsReport): EventFilter {
  if (!filter.opIds && !filter.pids && filter.nodeId === undefined) return filter;
  let first = Infinity;
  let last = -Infinity;
  for (const g of stats.by_process) {
    if ((filter.opIds && !filter.opIds.includes(g.op_id)) || (filter.pids && !filter.pids.includes(g.pid)) || (filter.nodeId !== undefined && filter.nodeId !== g.node_id)) continue;
    first = Math.min(first, g.first_ns);
    last = Math.max(last, g.last_ns);
  }
  // No group matches: an empty range, read without touching a row.
  if (first > last) return { ...filter, fromNs: 0, toNs: 0 };
  return { ...filter, fromNs: Math.max(filter.fromNs ?? 0, first), toNs: Math.min(filter.toNs ?? Infinity, last + 1) };
}

/** Where the list stands: the first event shown (0: the list's first) and the selected one (0: the first shown). */
export interface EventPosition {
  readonly top: number;
  readonly cursor: number;
}

export const AT_START: EventPosition = { top: 0, cursor: 0 };

/** Up to `limit` events of the list from id `fromId` on, in time order (memoized). */
export function eventsFrom(trace: TraceContext, q: EventListQuery, fromId: number, limit: number): EventRecord[] {
  return trace.cached(`events:${q.key}:from:${fromId}:${limit}`, () => [...trace.bundle.events({ ...q.filter, afterId: Math.max(0, fromId - 1), limit })]);
}

/** Up to `limit` events of the list before id `beforeId`, latest first (memoized). */
export function eventsBefore(trace: TraceContext, q: EventListQuery, beforeId: number, limit: number): EventRecord[] {
  return trace.cached(`events:${q.key}:before:${beforeId}:${limit}`, () => [...trace.bundle.events({ ...q.filter, beforeId, order: 'latest', limit })]);
}

/** What the screen shows at a position: the page, the selected row, and whether more lies either way. */
export interface EventPage {
  readonly rows: readonly EventRecord[];
  /** Index of the selected row (0 when the page is empty). */
  readonly at: number;
  readonly hasNext: boolean;
  readonly hasPrevious: boolean;
}

export function eventPage(trace: TraceContext, q: EventListQuery, pos: EventPosition, pageSize: number): EventPage {
  const read = eventsFrom(trace, q, pos.top, pageSize + 1);
  const rows = read.slice(0, pageSize);
  const at = Math.max(0, rows.findIndex((e) => e.id === pos.cursor));
  const hasPrevious = rows.length > 0 && eventsBefore(trace, q, rows[0]!.id, 1).length > 0;
  return { rows, at, hasNext: read.length > pageSize, hasPrevious };
}

export type EventMove = 'down' | 'up' | 'pageDown' | 'pageUp' | 'first' | 'last';

/** The position after a key; the same position when the list has nothing that way. */
export function moveEvents(trace: TraceContext, q: EventListQuery, pos: EventPosition, pageSize: number, move: EventMove): EventPosition {
  const { rows, at, hasNext } = eventPage(trace, q, pos, pageSize);
  if (!rows.length) return pos;
  const at_ = (r: readonly EventRecord[], i: number) => r[Math.max(0, Math.min(r.length - 1, i))]!.id;
  switch (move) {
    case 'down':
      if (at + 1 < rows.length) return { top: rows[0]!.id, cursor: rows[at + 1]!.id };
      if (!hasNext) return pos;
      return startingAt(trace, q, rows[rows.length - 1]!.id + 1);
    case 'up': {
      if (at > 0) return { top: rows[0]!.id, cursor: rows[at - 1]!.id };
      const before = eventsBefore(trace, q, rows[0]!.id, pageSize);
      if (!before.length) return pos;
      return { top: before[before.length - 1]!.id, cursor: before[0]!.id };
    }
    case 'pageDown': {
      if (!hasNext) return { top: rows[0]!.id, cursor: rows[rows.length - 1]!.id };
      const next = eventsFrom(trace, q, rows[rows.length - 1]!.id + 1, pageSize);
      return { top: next[0]!.id, cursor: at_(next, at) };
    }
    case 'pageUp': {
      const before = eventsBefore(trace, q, rows[0]!.id, pageSize);
      if (!before.length) return { top: rows[0]!.id, cursor: rows[0]!.id };
      const top = before[before.length - 1]!.id;
      return { top, cursor: at_(eventsFrom(trace, q, top, pageSize), at) };
    }
    case 'first':
      return startingAt(trace, q, 0);
    case 'last': {
      const last = eventsBefore(trace, q, Number.MAX_SAFE_INTEGER, pageSize);
      return last.length ? { top: last[last.length - 1]!.id, cursor: last[0]!.id } : pos;
    }
  }
}

/** The list's first event at or after id `fromId`, at the top of the page. */
function startingAt(trace: TraceContext, q: EventListQuery, fromId: number): EventPosition {
  const e = eventsFrom(trace, q, fromId, 1)[0];
  return e ? { top: e.id, cursor: e.id } : AT_START;
}

/** Where a jump lands, and what to say when it could not land exactly there. */
export function jumpEvents(trace: TraceContext, q: EventListQuery, pageSize: number, target: JumpTarget): { readonly pos: EventPosition; readonly note: string | null } {
  if (target.kind === 'first' || target.kind === 'last') {
    const pos = moveEvents(trace, q, AT_START, pageSize, target.kind);
    return { pos, note: eventsFrom(trace, q, 0, 1).length ? null : `no events of ${q.what}` };
  }
  const b = trace.bundle;
  const fromId = target.kind === 'event' ? target.id : b.idAtTime(target.ns);
  const pos = startingAt(trace, q, fromId);
  if (pos.cursor === 0) {
    const last = moveEvents(trace, q, AT_START, pageSize, 'last');
    const what = target.kind === 'event' ? `event ${target.id}` : `${formatDuration(target.ns)}`;
    return { pos: last, note: last.cursor ? `no events of ${q.what} at or after ${what}: showing the last one` : `no events of ${q.what}` };
  }
  if (target.kind === 'event' && pos.cursor !== target.id) {
    const exists = target.id >= 1 && target.id <= trace.lastEventId();
    return { pos, note: exists ? `event ${target.id} is not in this list (${q.what}): showing the next one, ${pos.cursor} — a shows all ops, / with nothing clears the filter` : `no event ${target.id} in this bundle (ids 1–${trace.lastEventId()}): showing ${pos.cursor}` };
  }
  return { pos, note: null };
}
