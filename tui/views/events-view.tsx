// Events: the raw events of the scope (selected op, or an open finding's process and window),
// one page at a time straight from bundle.events(): nothing beyond the page is ever loaded.
import { Box, Text, useInput } from 'ink';
import type { EventRecord } from '../../format/index.ts';
import { formatBytes, formatDuration } from '../../cli/format-units.ts';
import { ScrollList } from '../scroll-list.tsx';
import { useDeferred, useKeptState, useSession } from '../session.ts';
import { frameLine } from '../stack-lines.ts';
import { columnWidths, fit, header, row, type Column } from '../text.ts';
import type { ArgMeaning, Scope, TraceContext } from '../trace-context.ts';
import type { ViewPlugin } from './view-plugin.ts';

/** Page starts (the event id each page comes after); the first page starts after id 0. */
const FIRST_PAGE: readonly number[] = [0];
const DETAIL_LINES = 6;

/** Seconds on the bundle clock to the microsecond: enough to order and find events. */
function clock(ns: number): string {
  return `${(ns / 1e9).toFixed(6)} s`;
}

function argValue(v: bigint, m: ArgMeaning | undefined): string {
  if (m?.unit === 'pointer') return `0x${BigInt.asUintN(64, v).toString(16)}`;
  if (m?.unit === 'bytes' && v >= 0n && v < 2n ** 53n) return formatBytes(Number(v));
  if (m?.unit === 'packed' && (m.name === 'grid' || m.name === 'block')) {
    const u = BigInt.asUintN(64, v);
    return `${u & 0xffffffffn}×${(u >> 32n) & 0xffffn}×${(u >> 48n) & 0xffffn}`;
  }
  return v.toString();
}

/** name=value for each argument the event has, named and shown in its unit (table op_args). */
function eventArgs(trace: TraceContext, e: EventRecord): string {
  const meanings = trace.argMeanings().get(e.op_id) ?? [];
  return [e.arg0, e.arg1, e.arg2, e.arg3]
    .map((v, i) => (v === null ? '' : `${meanings[i]?.name ?? `arg${i}`}=${argValue(v, meanings[i])}`))
    .filter(Boolean)
    .join(' ');
}

const COLUMNS: readonly Column[] = [
  { title: 'ID', width: 9, alignRight: true },
  { title: 'START', width: 13, alignRight: true },
  { title: 'DURATION', width: 10, alignRight: true },
  { title: 'PID', width: 7, alignRight: true },
  { title: 'TID', width: 7, alignRight: true },
  { title: 'OP', width: 20 },
  { title: 'ARGS', width: 20, flexible: true },
  { title: 'RET', width: 4, alignRight: true },
];

function eventScope(scope: Scope, allOps: boolean): Scope {
  return allOps ? { opId: null, finding: scope.finding } : scope;
}

function EventsView() {
  const { trace, width, height, scope, keysActive } = useSession();
  const [allOps, setAllOps] = useKeptState('events.allOps', false);
  const shown = eventScope(scope, allOps);
  const scopeKey = `${shown.opId}:${shown.finding?.id ?? ''}`;
  const [starts, setStarts] = useKeptState(`events.starts.${scopeKey}`, FIRST_PAGE);
  const [cursor, setCursor] = useKeptState(`events.cursor.${scopeKey}`, 0);
  const pageSize = Math.max(1, height - DETAIL_LINES - 2);
  const afterId = starts[starts.length - 1]!;
  // One more than a page, to know whether a next page exists without counting the scope.
  const page = useDeferred(`events:${scopeKey}:${afterId}:${pageSize}`, () => trace.eventPage(shown, afterId, pageSize + 1));
  const rows = page.value?.slice(0, pageSize) ?? [];
  const hasNext = (page.value?.length ?? 0) > pageSize;
  const at = Math.min(cursor, Math.max(0, rows.length - 1));
  const nextPage = (cursorThere: number) => {
    if (!hasNext) return;
    setStarts([...starts, rows[rows.length - 1]!.id]);
    setCursor(cursorThere);
  };
  const previousPage = (cursorThere: number) => {
    if (starts.length < 2) return;
    setStarts(starts.slice(0, -1));
    setCursor(cursorThere);
  };
  useInput(
    (input, key) => {
      if (!page.value) return;
      if (key.downArrow || input === 'j') at + 1 < rows.length ? setCursor(at + 1) : nextPage(0);
      else if (key.upArrow || input === 'k') at > 0 ? setCursor(at - 1) : previousPage(pageSize - 1);
      else if (key.pageDown || input === ' ') nextPage(at);
      else if (key.pageUp || input === 'b') previousPage(at);
      else if (key.home || input === 'g') (setStarts(FIRST_PAGE), setCursor(0));
      else if (input === 'a') setAllOps((v) => !v);
    },
    { isActive: keysActive },
  );
  const f = shown.finding;
  const what = `${shown.opId === null ? 'all ops' : trace.bundle.opName(shown.opId)}${f ? `, pid ${f.pid}, ${formatDuration(f.from_ns)} → ${formatDuration(f.to_ns)}` : ''}`;
  if (page.error) return <Text color="red">{fit(`Reading events failed: ${page.error}`, width)}</Text>;
  if (!page.value) return <Text>{fit(`Reading events of ${what}…`, width)}</Text>;
  const widths = columnWidths(COLUMNS, width);
  const lines = rows.map((e) => row(COLUMNS, widths, [String(e.id), clock(e.ts_ns), formatDuration(e.dur_ns), String(e.pid), String(e.tid), trace.bundle.opName(e.op_id), eventArgs(trace, e), e.ret === null ? '' : String(e.ret)]));
  const selected = rows[at];
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(rows.length ? `Events of ${what}: page ${starts.length}, ids ${rows[0]!.id}–${rows[rows.length - 1]!.id}${hasNext ? '' : ' (last page)'} of ${trace.bundle.eventCount().toLocaleString('en-US')} in the bundle` : `No events of ${what}.`, width)}
      </Text>
      <Text underline wrap="truncate-end">
        {header(COLUMNS, widths)}
      </Text>
      <ScrollList lines={lines} cursor={rows.length ? at : -1} height={pageSize} />
      <EventDetail event={selected} width={width} />
    </Box>
  );
}

function EventDetail({ event, width }: { readonly event: EventRecord | undefined; readonly width: number }) {
  const { trace } = useSession();
  const lines: string[] = [];
  if (event) {
    lines.push(`Event ${event.id}: ${trace.bundle.opName(event.op_id)} on node ${event.node_id}, pid ${event.pid} tid ${event.tid}, started ${clock(event.ts_ns)}, took ${formatDuration(event.dur_ns)}${event.ret === null ? '' : `, returned ${event.ret}`}`);
    lines.push(`  ${eventArgs(trace, event) || 'no arguments'}`);
    const frames = event.stack_id === null ? [] : trace.bundle.stack(event.stack_id);
    if (event.stack_id === null) lines.push('  no stack captured with this event');
    else lines.push(`  stack ${event.stack_id} (${frames.length} frames, leaf first):`, ...frames.slice(0, DETAIL_LINES - 3).map((fr) => `    ${frameLine(fr)}`));
  }
  return <ScrollList lines={lines.map((l) => fit(l, width))} cursor={-1} height={DETAIL_LINES} colours={['cyan']} />;
}

export const eventsView: ViewPlugin = {
  id: 'events',
  title: 'Events',
  hints: '↑/↓ move · PgUp/PgDn page · a all ops',
  help: [
    ['↑/↓ j/k', 'move; past the end of a page goes on to the next one'],
    ['PgUp/PgDn b/space', 'previous or next page'],
    ['Home g', 'first page'],
    ['a', "all ops in the scope's window (to see what ran around the selected op), or only the selected op"],
  ],
  Component: EventsView,
};
