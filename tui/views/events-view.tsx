// Events: the raw events of the scope (selected op, or an open finding's process and window),
// narrowed by `/`, read a page at a time next to the position's ids (event-list.ts): nothing
// beyond the page is ever loaded, and a jump to a time, an id or the end is a few reads.
import { Box, Text } from 'ink';
import { GPU_WORK_OPS } from '../../analyze/gpu-activity.ts';
import { argDecoder, argInput, argText } from '../../analyze/index.ts';
import type { EventRecord } from '../../format/index.ts';
import { formatBytes, formatDuration } from '../../analyze/format-units.ts';
import { AT_START, eventListQuery, eventPage, jumpEvents, moveEvents, type EventListQuery, type EventMove, type EventPosition } from '../event-list.ts';
import type { JumpTarget } from '../jump-target.ts';
import { NO_FILTER, type ListFilter } from '../list-filter.ts';
import { ScrollList } from '../scroll-list.tsx';
import { filterKey, useColour, useKeptState, useSession, useViewKeys, type Session } from '../session.ts';
import { frameLine } from '../stack-lines.ts';
import { columnWidths, fit, header, row, type Column } from '../text.ts';
import type { ArgMeaning, Scope, TraceContext } from '../trace-context.ts';
import type { ViewPlugin } from './view-plugin.ts';

const DETAIL_LINES = 6;

/** Seconds on the bundle clock to the microsecond: enough to order and find events. */
function clock(ns: number): string {
  return `${(ns / 1e9).toFixed(6)} s`;
}

/**
 * One argument as the export decodes it (analyze/event-args.ts); byte counts in binary units, a
 * kernel (gpu_kernels.id) or an interned name (names.id) by its name, which is traced data.
 */
function argValue(trace: TraceContext, v: bigint, m: ArgMeaning | undefined): string {
  if (m?.unit === 'bytes' && v >= 0n && v < 2n ** 53n) return formatBytes(Number(v));
  if (m?.unit === 'kernel' || m?.unit === 'name') {
    const name = v >= 0n && v < 2n ** 53n ? (m.unit === 'kernel' ? trace.kernelName(Number(v)) : trace.internedName(Number(v))) : undefined;
    if (name !== undefined) return name;
  }
  return m ? argText(argDecoder(m.name, m.unit)(argInput(v))) : v.toString();
}

/** name=value for each argument the event has, named and shown in its unit (table op_args). */
export function eventArgs(trace: TraceContext, e: EventRecord): string {
  const meanings = trace.argMeanings().get(e.op_id) ?? [];
  const named = (i: number) => meanings[i]?.unit === 'kernel' || meanings[i]?.unit === 'name';
  // A kernel's or call's name goes last: names run long, and the short arguments (a kernel's
  // device and stream) must not be cut off behind them.
  return [0, 1, 2, 3]
    .sort((a, b) => Number(named(a)) - Number(named(b)) || a - b)
    .map((i) => {
      const v = [e.arg0, e.arg1, e.arg2, e.arg3][i]!;
      return v === null ? '' : `${meanings[i]?.name ?? `arg${i}`}=${argValue(trace, v, meanings[i])}`;
    })
    .filter(Boolean)
    .join(' ');
}

/** Evidence events the list marks with * (n/N go from one to the next). */
export interface MarkedEvents {
  readonly ids: readonly number[];
  readonly label: string;
}

function columns(trace: TraceContext): Column[] {
  const longestOp = Math.max(8, ...[...trace.bundle.ops().values()].map((o) => o.name.length));
  return [
    { title: '', width: 1 },
    { title: 'ID', width: Math.max(4, String(trace.lastEventId()).length), alignRight: true },
    { title: 'START', width: 12, alignRight: true },
    { title: 'DURATION', width: 9, alignRight: true },
    { title: 'PID', width: 7, alignRight: true },
    { title: 'TID', width: 7, alignRight: true },
    { title: 'OP', width: Math.min(24, longestOp), middle: true },
    { title: 'ARGS', width: 12, flexible: true },
    { title: 'RET', width: 4, alignRight: true, dropBelow: 100 },
  ];
}

/** Rows of the list on screen (the page size the keys move by). */
function pageSizeOf(height: number): number {
  return Math.max(1, height - DETAIL_LINES - 2);
}

/** The list the store describes now (scope, all-ops toggle, filter). */
function currentQuery(s: Session): EventListQuery {
  return eventListQuery(s.trace, s.currentScope(), s.store.get('events.allOps', false), s.store.get<ListFilter>(filterKey('events'), NO_FILTER), s.analysis?.stats);
}

function positionKey(q: EventListQuery): string {
  return `events.pos.${q.key}`;
}

/** Jumps the Events list to a time, an event id, its first or last event. */
function jump(s: Session, target: JumpTarget): string | null {
  const q = currentQuery(s);
  const { pos, note } = jumpEvents(s.trace, q, pageSizeOf(s.height), target);
  s.store.set(positionKey(q), pos);
  return note;
}

/**
 * Opens Events on a set of events (a finding's evidence): the narrowest list that holds them all
 * (their op if they share one; the finding's narrowing if they lie inside it), no filter, the
 * first one selected and all of them marked. Returns a note for the status line.
 */
export function openEventsAt(s: Session, ids: readonly number[], label: string, finding: Scope['finding']): string {
  const b = s.trace.bundle;
  const sorted = [...new Set(ids)].sort((x, y) => x - y);
  // Each a read by id; evidence lists are short, and only their first ones decide the list.
  const events = sorted.slice(0, 200).flatMap((id) => [...b.events({ afterId: id - 1, limit: 1 })].filter((e) => e.id === id));
  if (!events.length) return `the evidence names events not in this bundle (${sorted.slice(0, 3).join(', ')})`;
  const ops = new Set(events.map((e) => e.op_id));
  const inFinding = finding !== null && events.every((e) => e.pid === finding.pid && e.node_id === finding.node_id && e.ts_ns >= finding.from_ns && e.ts_ns <= finding.to_ns);
  const opId = ops.size === 1 ? events[0]!.op_id : null;
  s.setScope({ opId: opId ?? s.currentScope().opId, finding: inFinding ? finding : null });
  s.store.set('events.allOps', opId === null);
  s.store.set(filterKey('events'), NO_FILTER);
  s.store.set('events.marked', { ids: sorted, label } satisfies MarkedEvents);
  s.show('events');
  const note = jump(s, { kind: 'event', id: events[0]!.id });
  return note ?? `${label}: ${sorted.length} event${sorted.length === 1 ? '' : 's'} marked * — n/N next/previous`;
}

function EventsView() {
  const session = useSession();
  const { trace, width, height, scope, store } = session;
  const colour = useColour();
  const [allOps, setAllOps] = useKeptState('events.allOps', false);
  const [filter] = useKeptState<ListFilter>(filterKey('events'), NO_FILTER);
  const [marked] = useKeptState<MarkedEvents | null>('events.marked', null);
  const q = eventListQuery(trace, scope, allOps, filter, session.analysis?.stats);
  const [pos] = useKeptState<EventPosition>(positionKey(q), AT_START);
  const pageSize = pageSizeOf(height);
  const move = (m: EventMove) => {
    const now = currentQuery(session);
    store.set(positionKey(now), moveEvents(trace, now, store.get(positionKey(now), AT_START), pageSize, m));
  };
  const toMarked = (forward: boolean) => {
    const now = currentQuery(session);
    const ids = store.get<MarkedEvents | null>('events.marked', null)?.ids ?? [];
    const at = store.get(positionKey(now), AT_START).cursor;
    const next = forward ? ids.find((id) => id > at) : [...ids].reverse().find((id) => id < at);
    if (next === undefined) return store.set('app.note', ids.length ? `no marked event ${forward ? 'after' : 'before'} ${at}` : 'no events are marked: open a finding (1), Enter on it, Enter again');
    store.set('app.note', jump(session, { kind: 'event', id: next }) ?? '');
  };
  useViewKeys((input, key) => {
    if (key.downArrow || input === 'j') move('down');
    else if (key.upArrow || input === 'k') move('up');
    else if (key.pageDown || input === ' ') move('pageDown');
    else if (key.pageUp || input === 'b') move('pageUp');
    else if (key.home) move('first');
    else if (key.end || input === 'G') move('last');
    else if (input === 'n') toMarked(true);
    else if (input === 'N') toMarked(false);
    else if (input === 'a') setAllOps((v) => !v);
    else return false;
    return true;
  });
  let page;
  try {
    page = eventPage(trace, q, pos, pageSize);
  } catch (err) {
    return <Text color={colour('red')}>{fit(`Reading events failed: ${(err as Error).message}`, width)}</Text>;
  }
  const { rows, at, hasNext, hasPrevious } = page;
  const cols = columns(trace);
  const widths = columnWidths(cols, width);
  const marks = new Set(marked?.ids ?? []);
  // GPU-side records (kernels, copies) belong to no process: their device and stream are arguments.
  const onGpu = (e: EventRecord) => trace.bundle.ops().get(e.op_id)?.source === 'gpu';
  const lines = rows.map((e) => row(cols, widths, [marks.has(e.id) ? '*' : '', String(e.id), clock(e.ts_ns), formatDuration(e.dur_ns), onGpu(e) ? '-' : String(e.pid), onGpu(e) ? '-' : String(e.tid), trace.bundle.opName(e.op_id), eventArgs(trace, e), e.ret === null ? '' : String(e.ret)]));
  const where = !hasPrevious && !hasNext ? ' (all of them)' : !hasPrevious ? ' (first page)' : !hasNext ? ' (last page)' : '';
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(rows.length ? `Events of ${q.what}: ids ${rows[0]!.id}–${rows[rows.length - 1]!.id}${where}, ${clock(rows[0]!.ts_ns)} → ${clock(rows[rows.length - 1]!.ts_ns)}` : `No events of ${q.what}.`, width)}
      </Text>
      <Text underline wrap="truncate-end">
        {header(cols, widths)}
      </Text>
      <ScrollList lines={lines} cursor={rows.length ? at : -1} height={pageSize} />
      <EventDetail event={rows[at]} width={width} />
    </Box>
  );
}

function EventDetail({ event, width }: { readonly event: EventRecord | undefined; readonly width: number }) {
  const { trace } = useSession();
  const colour = useColour();
  const lines: string[] = [];
  if (event) {
    const onGpu = trace.bundle.ops().get(event.op_id)?.source === 'gpu';
    // GPU-side records carry no process: their device and stream are arguments.
    const where = onGpu ? `on node ${event.node_id}` : `on node ${event.node_id}, pid ${event.pid} tid ${event.tid}`;
    lines.push(`Event ${event.id}: ${trace.bundle.opName(event.op_id)} ${where}, started ${clock(event.ts_ns)}, took ${formatDuration(event.dur_ns)}${event.ret === null ? '' : `, returned ${event.ret}`}`);
    lines.push(`  ${eventArgs(trace, event) || 'no arguments'}`);
    lines.push(...kernelLines(trace, event), ...correlationLines(trace, event, onGpu));
    const frames = event.stack_id === null ? [] : trace.stack(event.stack_id);
    const room = Math.max(0, DETAIL_LINES - lines.length - 1);
    if (event.stack_id === null) {
      if (!onGpu && lines.length < DETAIL_LINES) lines.push('  no stack captured with this event');
    } else if (room > 0) lines.push(`  stack ${event.stack_id} (${frames.length} frames, leaf first):`, ...frames.slice(0, room).map((fr) => `    ${frameLine(fr)}`));
  }
  return <ScrollList lines={lines.map((l) => fit(l, width))} cursor={-1} height={DETAIL_LINES} colours={[colour('cyan')]} />;
}

/** A kernel's launch configuration (table gpu_kernels), when the event is a kernel that names one. */
function kernelLines(trace: TraceContext, e: EventRecord): string[] {
  if (e.op_id !== GPU_WORK_OPS.kernel || e.arg0 === null || e.arg0 < 0n || e.arg0 >= 2n ** 53n) return [];
  const k = trace.kernelConfig(Number(e.arg0));
  if (!k) return [];
  const dims = (d: readonly (number | null)[]) => (d.every((v) => v === null) ? 'not given' : d.map((v) => v ?? '?').join(','));
  return [`  grid ${dims(k.grid)}, block ${dims(k.block)}${k.registers === null ? '' : `, ${k.registers} registers per thread`}${k.shared_memory === null ? '' : `, ${formatBytes(k.shared_memory)} shared memory per block`}`];
}

/** The call that launched GPU work, or the GPU work a call launched (same correlation id on the node). */
function correlationLines(trace: TraceContext, e: EventRecord, onGpu: boolean): string[] {
  const c = trace.correlated(e);
  if (c.corrId === null) return [];
  const gpu = (x: EventRecord) => trace.bundle.ops().get(x.op_id)?.source === 'gpu';
  const related = c.events.filter((x) => gpu(x) !== onGpu);
  const rel = (x: EventRecord) => {
    const d = x.ts_ns - e.ts_ns;
    return d === 0 ? 'at the same time' : `${formatDuration(Math.abs(d))} ${d < 0 ? 'before' : 'after'} this started`;
  };
  if (onGpu) {
    const launch = related[0];
    if (!launch) return [`  launched by: no host call with correlation id ${c.corrId} within ${c.searched.toLocaleString('en-US')} events of this one`];
    return [`  launched by event ${launch.id} (correlation id ${c.corrId}): ${trace.bundle.opName(launch.op_id)}${argName(trace, launch)}, pid ${launch.pid} tid ${launch.tid}, ${rel(launch)}, took ${formatDuration(launch.dur_ns)}`];
  }
  if (!related.length) return [];
  const first = related[0]!;
  return [`  launched on the GPU (correlation id ${c.corrId}): event ${first.id}${related.length > 1 ? ` and ${related.length - 1} more` : ''}, ${trace.bundle.opName(first.op_id)}${argName(trace, first)}, ${rel(first)}, ran ${formatDuration(first.dur_ns)}`];
}

/** " <name>" when the event's first argument names what ran (a kernel, an interned call name). */
function argName(trace: TraceContext, e: EventRecord): string {
  const m = trace.argMeanings().get(e.op_id)?.[0];
  if (e.arg0 === null || (m?.unit !== 'kernel' && m?.unit !== 'name')) return '';
  return ` ${argValue(trace, e.arg0, m)}`;
}

export const eventsView: ViewPlugin = {
  id: 'events',
  title: 'Events',
  hints: '↑/↓ PgUp/PgDn · Home/End · a all ops · n next *',
  help: [
    ['↑/↓ j/k', 'move; past the end of a page goes on to the next one'],
    ['PgUp/PgDn b/space', 'previous or next page'],
    ['Home / End G', 'first or last event of the list'],
    ['a', "all ops in the scope's window (to see what ran around the selected op), or only the selected op"],
    ['n / N', "next or previous marked (*) event: a finding's evidence opened with Enter"],
  ],
  filters: 'op:NAME (or a bare word: part of an op name), pid:N, tid:N, >DURATION (e.g. >1ms); an op in the filter replaces the selected op',
  jump,
  Component: EventsView,
};
