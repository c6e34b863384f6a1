// Ops: the per-op statistics table of analyze/, sortable, optionally per process. The row under
// the cursor is the op the Timeline, Events and Stacks views show.
import { Box, Text } from 'ink';
import { useEffect, useRef } from 'react';
import type { OpStats, ProcessOpStats } from '../../analyze/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { ScrollList } from '../scroll-list.tsx';
import { NO_FILTER, matchesFilter, type ListFilter } from '../list-filter.ts';
import { filterKey, useColour, useKeptState, useSession, useViewKeys } from '../session.ts';
import { columnWidths, fit, header, row, type Column } from '../text.ts';
import { LIST_KEYS_HELP, useListCursor } from '../use-list-cursor.ts';
import type { ViewPlugin } from './view-plugin.ts';

/** Sort keys in the order `s` cycles through them; numbers sort largest first. */
const SORT_KEYS = ['total', 'count', 'p50', 'p95', 'p99', 'max', 'op'] as const;
type SortKey = (typeof SORT_KEYS)[number];

const SORT_VALUE: Record<Exclude<SortKey, 'op'>, (s: OpStats) => number> = {
  total: (s) => s.total_ns,
  count: (s) => s.count,
  p50: (s) => s.p50_ns,
  p95: (s) => s.p95_ns,
  p99: (s) => s.p99_ns,
  max: (s) => s.max_ns,
};

export function sortOps<T extends OpStats>(rows: readonly T[], key: SortKey, reverse: boolean): T[] {
  const by = (a: T, b: T) => (key === 'op' ? (a.op < b.op ? -1 : a.op > b.op ? 1 : 0) : SORT_VALUE[key](b) - SORT_VALUE[key](a)) || a.op_id - b.op_id || ('pid' in a ? (a as unknown as ProcessOpStats).pid - (b as unknown as ProcessOpStats).pid : 0);
  const sorted = [...rows].sort(by);
  return reverse ? sorted.reverse() : sorted;
}

const NUMBER_COLUMNS: readonly Column[] = [
  { title: 'COUNT', width: 9, alignRight: true },
  { title: 'TOTAL', width: 10, alignRight: true },
  { title: 'P50', width: 9, alignRight: true },
  { title: 'P95', width: 9, alignRight: true, dropBelow: 100 },
  { title: 'P99', width: 9, alignRight: true },
  { title: 'MAX', width: 9, alignRight: true },
];

function OpsView() {
  const { trace, width, height, scope, setScope, show, analysis, analysisError } = useSession();
  const colour = useColour();
  const stats = { value: analysis?.stats, error: analysisError };
  const [filter] = useKeptState<ListFilter>(filterKey('ops'), NO_FILTER);
  const keep = (r: OpStats | ProcessOpStats) => matchesFilter(filter, { op: r.op, pid: 'pid' in r ? r.pid : undefined, text: 'pid' in r ? `${r.op} ${r.source} ${r.process}` : `${r.op} ${r.source}` });
  const [sortKey, setSortKey] = useKeptState<SortKey>('ops.sort', 'total');
  const [reverse, setReverse] = useKeptState('ops.reverse', false);
  const [perProcess, setPerProcess] = useKeptState('ops.perProcess', false);
  const rows: (OpStats | ProcessOpStats)[] = stats.value ? sortOps<OpStats | ProcessOpStats>((perProcess ? stats.value.by_process : stats.value.ops).filter(keep), sortKey, reverse) : [];
  const listHeight = height - 3;
  const [cursor, setCursor] = useListCursor('ops.cursor', rows.length, listHeight);
  const selected = rows[cursor];
  // The cursor shows the session's op: it follows the scope when something else sets it (a
  // finding, the default op), and moving it re-targets the scope (dropping a finding's
  // narrowing) — so merely looking at this table changes nothing.
  const seen = useRef<number | null>(null);
  useEffect(() => {
    if (!rows.length) return;
    if (seen.current !== null && cursor !== seen.current) {
      seen.current = cursor;
      if (selected && selected.op_id !== scope.opId) setScope({ opId: selected.op_id, finding: null });
      return;
    }
    const at = selected?.op_id === scope.opId ? cursor : rows.findIndex((r) => r.op_id === scope.opId);
    seen.current = at >= 0 ? at : cursor;
    if (at >= 0 && at !== cursor) setCursor(at);
  }, [cursor, rows.length, scope.opId]);
  // Re-sorting or regrouping keeps the cursor on the op it was on, so the scope stays put.
  const regroup = (nextKey: SortKey, nextReverse: boolean, nextPerProcess: boolean) => {
    if (!stats.value) return;
    const next = sortOps<OpStats | ProcessOpStats>((nextPerProcess ? stats.value.by_process : stats.value.ops).filter(keep), nextKey, nextReverse);
    const at = Math.max(0, next.findIndex((r) => r.op_id === selected?.op_id));
    seen.current = at;
    setSortKey(nextKey);
    setReverse(nextReverse);
    setPerProcess(nextPerProcess);
    setCursor(at);
  };
  useViewKeys((input, key) => {
    if (input === 's') regroup(SORT_KEYS[(SORT_KEYS.indexOf(sortKey) + 1) % SORT_KEYS.length]!, reverse, perProcess);
    else if (input === 'r') regroup(sortKey, !reverse, perProcess);
    else if (input === 'p') regroup(sortKey, reverse, !perProcess);
    else if (key.return && selected) show('timeline');
  });
  if (stats.error) return <Text color={colour('red')}>{fit(`Statistics failed: ${stats.error}`, width)}</Text>;
  if (!stats.value) return <Text>{fit(`Computing per-op statistics over ${trace.statedEventCount().toLocaleString('en-US')} events…`, width)}</Text>;
  // The same pid on two nodes is two processes: name the node whenever the bundle has several.
  const nodeColumn = perProcess && new Set(stats.value.by_process.map((r) => r.node_id)).size > 1;
  const columns: Column[] = [
    ...(nodeColumn ? [{ title: 'NODE', width: 10 }] : []),
    ...(perProcess ? [{ title: 'PID', width: 8, alignRight: true }, { title: 'PROCESS', width: 15 }] : []),
    { title: 'OP', width: 22, flexible: true, middle: true },
    { title: 'SOURCE', width: 7, dropBelow: 100 },
    ...NUMBER_COLUMNS,
  ];
  const widths = columnWidths(columns, width);
  const lines = rows.map((s) =>
    row(columns, widths, [
      ...('pid' in s ? [...(nodeColumn ? [s.node] : []), String(s.pid), s.process] : []),
      s.op,
      s.source,
      s.count.toLocaleString('en-US'),
      ...[s.total_ns, s.p50_ns, s.p95_ns, s.p99_ns, s.max_ns].map(formatDuration),
    ]),
  );
  const q = stats.value.data_quality;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(`${perProcess ? 'Per process and op' : 'Per op'}, sorted by ${sortKey}${reverse ? ' (reversed)' : ''}${filter.text ? ` — ${rows.length} rows match /${filter.text}` : ''} — ${stats.value.events.toLocaleString('en-US')} events over ${formatDuration(stats.value.span_ns)}`, width)}
      </Text>
      <Text underline wrap="truncate-end">
        {header(columns, widths)}
      </Text>
      <ScrollList lines={lines} cursor={cursor} height={listHeight} />
      <Text dimColor wrap="truncate-end">
        {fit(q.sampled ? 'Parts of this bundle are a sample: counts and percentiles describe the stored events only (see Info).' : 'Durations: entry to return for API calls, off-CPU time for sched_switch.', width)}
      </Text>
    </Box>
  );
}

export const opsView: ViewPlugin = {
  id: 'ops',
  title: 'Ops',
  hints: 's sort · r reverse · p per process · Enter timeline',
  help: [
    ...LIST_KEYS_HELP,
    ['(the selected op)', 'the Timeline, Events and Stacks views follow it'],
    ['s', `sort by the next column (${SORT_KEYS.join(', ')})`],
    ['r', 'reverse the order'],
    ['p', 'one row per process and op, or per op'],
    ['Enter', 'timeline of the selected op'],
  ],
  filters: 'op:NAME, pid:N (per process) and words of the op, source and process name',
  Component: OpsView,
};
