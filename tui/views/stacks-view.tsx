// Stacks: the captured call stacks of the scope, hottest (most total time) first, and the
// symbolized frames of the one under the cursor.
import { Box, Text } from 'ink';
import { formatDuration } from '../../analyze/format-units.ts';
import { ScrollList, windowStart } from '../scroll-list.tsx';
import { NO_FILTER, matchesFilter, type ListFilter } from '../list-filter.ts';
import { filterKey, useColour, useDeferred, useKeptState, useSession } from '../session.ts';
import { frameLine } from '../stack-lines.ts';
import { columnWidths, fit, header, row, type Column } from '../text.ts';
import { LIST_KEYS_HELP, useListCursor } from '../use-list-cursor.ts';
import type { ViewPlugin } from './view-plugin.ts';

const COLUMNS: readonly Column[] = [
  { title: 'SHARE', width: 6, alignRight: true },
  { title: 'CALLS', width: 8, alignRight: true },
  { title: 'TOTAL', width: 10, alignRight: true },
  { title: 'MAX', width: 10, alignRight: true },
  { title: 'OP', width: 18, middle: true },
  { title: 'LEAF FRAME', width: 20, flexible: true },
];

function StacksView() {
  const { trace, width, height, scope } = useSession();
  const scopeKey = `${scope.opId}:${scope.finding?.id ?? ''}`;
  const colour = useColour();
  const uses = useDeferred(`stacks:${scopeKey}`, () => trace.stackUses(scope));
  const [filter] = useKeptState<ListFilter>(filterKey('stacks'), NO_FILTER);
  const leaf = (id: number) => {
    const frames = trace.stack(id);
    return frames[0] ? frameLine(frames[0]) : '(empty stack)';
  };
  // Words match the op and the leaf frame: reading each stack's leaf only when a filter asks.
  const list = (uses.value ?? []).filter((u) => !filter.text || matchesFilter(filter, { op: trace.bundle.opName(u.opId), text: `${trace.bundle.opName(u.opId)} ${filter.words.length ? leaf(u.stackId) : ''}` }));
  const listHeight = Math.max(3, Math.min(list.length, Math.floor((height - 4) / 3)));
  const [cursor] = useListCursor(`stacks.cursor.${scopeKey}`, list.length, listHeight);
  const f = scope.finding;
  const what = `${scope.opId === null ? 'all ops' : trace.bundle.opName(scope.opId)}${f ? `, pid ${f.pid}, ${formatDuration(f.from_ns)} → ${formatDuration(f.to_ns)}` : ''}`;
  if (uses.error) return <Text color={colour('red')}>{fit(`Reading stacks failed: ${uses.error}`, width)}</Text>;
  if (!uses.value) return <Text>{fit(`Ranking the stacks of ${what}…`, width)}</Text>;
  if (!list.length) return <Text>{fit(filter.text ? `No stacks of ${what} match /${filter.text}.` : `No stacks were captured with the events of ${what}.`, width)}</Text>;
  const total = list.reduce((s, u) => s + u.totalNs, 0);
  const widths = columnWidths(COLUMNS, width);
  const first = windowStart(cursor, list.length, listHeight);
  // Only the visible rows read their leaf frame: a scope may have thousands of stacks.
  const lines = list.map((u, i) =>
    i < first || i >= first + listHeight ? '' : row(COLUMNS, widths, [`${total ? ((100 * u.totalNs) / total).toFixed(1) : '0.0'}%`, u.count.toLocaleString('en-US'), formatDuration(u.totalNs), formatDuration(u.maxNs), trace.bundle.opName(u.opId), leaf(u.stackId)]),
  );
  const selected = list[cursor]!;
  const frames = trace.stack(selected.stackId);
  const frameHeight = height - listHeight - 3;
  const frameLines = frames.map((fr) => fit(`${String(fr.depth).padStart(3)}  ${frameLine(fr)}`, width));
  if (frameLines.length > frameHeight) frameLines.splice(frameHeight - 1, frameLines.length, fit(`     … ${frames.length - frameHeight + 1} outer frames not shown`, width));
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(`${list.length} stack${list.length === 1 ? '' : 's'} of ${what}${filter.text ? ` matching /${filter.text}` : ''}, hottest first (share of the time spent in calls with stacks)`, width)}
      </Text>
      <Text underline wrap="truncate-end">
        {header(COLUMNS, widths)}
      </Text>
      <ScrollList lines={lines} cursor={cursor} height={listHeight} />
      <Text bold wrap="truncate-end">
        {fit(`Stack ${selected.stackId}: ${frames.length} frames, leaf first`, width)}
      </Text>
      <ScrollList lines={frameLines} cursor={-1} height={frameHeight} />
    </Box>
  );
}

export const stacksView: ViewPlugin = {
  id: 'stacks',
  title: 'Stacks',
  hints: '↑/↓ select a stack',
  help: [...LIST_KEYS_HELP, ['(the selected stack)', 'its frames show below, leaf first']],
  filters: 'op:NAME and words of the op and leaf frame',
  Component: StacksView,
};
