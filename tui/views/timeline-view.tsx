// Timeline: one op's rate or latency per window over the whole bundle (analyze/'s timeline), as
// a column chart with a cursor; an open finding's window is drawn in its severity colour.
import { Box, Text } from 'ink';
import type { Timeline, TimelinePoint } from '../../analyze/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { barChart } from '../bar-chart.ts';
import type { JumpTarget } from '../jump-target.ts';
import { startTimeline } from '../background-analysis.ts';
import { useBackground, useColour, useKeptState, useSession, useViewKeys, type Session } from '../session.ts';
import { SEVERITY_COLOUR } from '../severity.ts';
import { fit } from '../text.ts';
import { jumpToWindow } from '../window-jump.ts';
import type { ViewPlugin } from './view-plugin.ts';

const METRICS = ['rate', 'p50', 'p99', 'max', 'busy'] as const;
type Metric = (typeof METRICS)[number];

const METRIC_TITLE: Record<Metric, string> = {
  rate: 'calls per second',
  p50: 'median latency',
  p99: 'p99 latency',
  max: 'worst latency',
  busy: 'time spent in the op',
};

function metricValue(p: TimelinePoint | undefined, m: Metric): number {
  if (!p) return 0;
  return m === 'rate' ? p.rate_per_s : m === 'p50' ? p.p50_ns : m === 'p99' ? p.p99_ns : m === 'max' ? p.max_ns : p.total_ns;
}

function showValue(v: number, m: Metric): string {
  return m === 'rate' ? `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })}/s` : formatDuration(v);
}

/** One slot per window, from the series' sparse points (windows without events are empty). */
function windowSlots(t: Timeline, windows: number): (TimelinePoint | undefined)[] {
  const slots: (TimelinePoint | undefined)[] = new Array(windows).fill(undefined);
  for (const p of t.series[0]?.points ?? []) {
    const i = Math.floor((p.t_ns - t.from_ns) / t.window_ns);
    if (i >= 0 && i < windows) slots[i] = p;
  }
  return slots;
}

const AXIS = 10;

/** The chart's top label, short enough for the axis: cutting "8,899,964.4/s" to its last
 *  cells would show a rate a thousand times too low. */
export function axisLabel(v: number, m: Metric): string {
  const full = showValue(v, m);
  if (full.length <= AXIS - 1) return full;
  return m === 'rate' ? `${v.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 1 })}/s` : `${(v / 60e9).toFixed(v < 600e9 ? 1 : 0)} min`;
}

/** Windows across the chart at this terminal width. */
function windowCount(width: number): number {
  return Math.max(8, width - AXIS - 1);
}

/**
 * The op the chart shows: the selected one, else (once the analysis is done) the top finding's
 * op or the busiest op. Only a default to look at: it does not select anything in other views.
 */
function chartOp(s: Pick<Session, 'trace' | 'analysis'>, opId: number | null): { opId: number | null; suggested: boolean } {
  if (opId !== null || !s.analysis) return { opId, suggested: false };
  const top = s.analysis.report.findings.find((f) => f.op);
  const busiest = [...s.analysis.stats.ops].sort((x, y) => y.total_ns - x.total_ns)[0];
  return { opId: (top && s.trace.bundle.opIdsByName(top.op)[0]) ?? busiest?.op_id ?? null, suggested: true };
}

/** Moves the cursor to the window holding a time (or an event's start). The span is the one the
 *  manifest states: the bundle's own end is a scan of every event. */
function jump(s: Session, target: JumpTarget): string | null {
  const { start_ns: fromNs, end_ns: toNs } = s.trace.bundle.manifest.time;
  return jumpToWindow(s, target, { fromNs, toNs, count: windowCount(s.width), cursorKey: 'timeline.cursor' });
}

function TimelineView() {
  const session = useSession();
  const { trace, width, height, scope } = session;
  const colour = useColour();
  const [metric, setMetric] = useKeptState<Metric>('timeline.metric', 'rate');
  const [cursorAt, setCursorAt] = useKeptState<number | null>('timeline.cursor', null);
  const windows = windowCount(width);
  const { opId, suggested } = chartOp(session, scope.opId);
  // Seconds of work on millions of events: in the background, so keys are answered meanwhile.
  const data = useBackground('timeline', opId === null ? null : `timeline:${opId}:${windows}`, () => startTimeline(trace, opId!, windows, session.childProcessMinEvents));
  const slots = data.value ? windowSlots(data.value, windows) : [];
  const values = slots.map((p) => metricValue(p, metric));
  const peak = values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
  const cursor = Math.max(0, Math.min(windows - 1, cursorAt ?? peak));
  const clamp = (i: number) => Math.max(0, Math.min(windows - 1, i));
  useViewKeys((input, k) => {
    if (input === 'm') setMetric((m) => METRICS[(METRICS.indexOf(m) + 1) % METRICS.length]!);
    else if (k.leftArrow || input === 'h') setCursorAt((c) => clamp((c ?? peak) - 1));
    else if (k.rightArrow || input === 'l') setCursorAt((c) => clamp((c ?? peak) + 1));
    else if (k.home) setCursorAt(0);
    else if (k.end || input === 'G') setCursorAt(windows - 1);
    else if (input === 'p') setCursorAt(null);
  });
  if (opId === null) return <Text>{fit(session.analysis ? 'No op selected: pick one in Ops (2) or open a finding (1).' : 'No op selected: pick one in Ops (2), or wait for the analysis to suggest one.', width)}</Text>;
  const op = trace.bundle.opName(opId);
  if (data.error) return <Text color={colour('red')}>{fit(`Timeline failed: ${data.error}`, width)}</Text>;
  if (!data.value) return <Text>{fit(`Computing the timeline of ${op}…`, width)}</Text>;
  const t = data.value;
  const chartHeight = Math.max(3, height - 5);
  const max = Math.max(0, ...values);
  const chart = barChart(values, chartHeight, max);
  const f = scope.finding;
  const inWindow = (i: number) => f !== null && t.from_ns + (i + 1) * t.window_ns > f.from_ns && t.from_ns + i * t.window_ns <= f.to_ns;
  const marked = values.map((_, i) => inWindow(i));
  const firstMarked = marked.indexOf(true);
  const lastMarked = marked.lastIndexOf(true);
  const at = slots[cursor];
  const atStart = t.from_ns + cursor * t.window_ns;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(`${op}: ${METRIC_TITLE[metric]} per ${formatDuration(t.window_ns)} window, all processes${suggested ? " (the top finding's op: pick another in Ops)" : ''}${f ? ` — finding window ${formatDuration(f.from_ns)} → ${formatDuration(f.to_ns)} marked ═ below` : ''}`, width)}
      </Text>
      {chart.map((line, r) => (
        <Text key={r} wrap="truncate-end">
          <Text dimColor>{(r === 0 ? axisLabel(max, metric) : r === chartHeight - 1 ? '0' : '').padStart(AXIS - 1).slice(-(AXIS - 1))} </Text>
          {firstMarked < 0 ? (
            <Text color={colour('green')}>{line}</Text>
          ) : (
            <>
              <Text color={colour('green')}>{line.slice(0, firstMarked)}</Text>
              <Text color={colour(SEVERITY_COLOUR[f!.severity])}>{line.slice(firstMarked, lastMarked + 1)}</Text>
              <Text color={colour('green')}>{line.slice(lastMarked + 1)}</Text>
            </>
          )}
        </Text>
      ))}
      <Text wrap="truncate-end">{' '.repeat(AXIS) + marked.map((m, i) => (i === cursor ? '^' : m ? '═' : ' ')).join('').trimEnd()}</Text>
      <Text dimColor wrap="truncate-end">
        {fit(`${' '.repeat(AXIS)}${formatDuration(t.from_ns)}`.padEnd(width - formatDuration(t.to_ns).length) + formatDuration(t.to_ns), width)}
      </Text>
      <Text wrap="truncate-end">
        {fit(
          at
            ? `${formatDuration(atStart)} +${formatDuration(t.window_ns)}: ${at.count.toLocaleString('en-US')} calls (${showValue(at.rate_per_s, 'rate')}), p50 ${formatDuration(at.p50_ns)}, p99 ${formatDuration(at.p99_ns)}, max ${formatDuration(at.max_ns)}, busy ${formatDuration(at.total_ns)}`
            : `${formatDuration(atStart)} +${formatDuration(t.window_ns)}: no ${op} calls`,
          width,
        )}
      </Text>
    </Box>
  );
}

export const timelineView: ViewPlugin = {
  id: 'timeline',
  title: 'Timeline',
  hints: 'm metric · ←/→ window · p peak',
  help: [
    ['m', `next metric (${METRICS.join(', ')})`],
    ['←/→ h/l', 'move the cursor one window; the line below the chart shows its numbers'],
    ['Home / End G', 'first or last window'],
    ['p', 'back to the peak window'],
    ['g or :', 'cursor to the window of a time or an event (first, last)'],
  ],
  jump,
  Component: TimelineView,
};
