// Findings: the analyzer's ranked findings. Enter opens one (evidence, root cause, fixes) and
// narrows every other view to its op, process and window.
import { Box, Text } from 'ink';
import type { ExplainReport, Finding } from '../../analyze/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { ScrollList } from '../scroll-list.tsx';
import { NO_FILTER, matchesFilter, type ListFilter } from '../list-filter.ts';
import { filterKey, useColour, useKeptState, useSession, useViewKeys } from '../session.ts';
import { SEVERITY_COLOUR } from '../severity.ts';
import { fit, wrap } from '../text.ts';
import type { Scope, TraceContext } from '../trace-context.ts';
import { LIST_KEYS_HELP, useListCursor } from '../use-list-cursor.ts';
import { openEventsAt } from './events-view.tsx';
import type { ViewPlugin } from './view-plugin.ts';

function who(f: Finding): string {
  return f.pid ? `${f.process || 'unnamed process'} (pid ${f.pid})` : f.node;
}

/** The one-line entry of a finding in the list. */
function findingLine(n: number, f: Finding, width: number): string {
  return fit(`${String(n).padStart(2)}. ${f.severity.padEnd(6)} ${f.kind.padEnd(22)} ${who(f)}${f.op ? ` · ${f.op}` : ''} — ${f.summary}`, width);
}

/** Everything about one finding, wrapped to the width. */
function findingDetail(f: Finding, width: number): string[] {
  const out: string[] = [];
  const para = (s: string, indent = '') => out.push(...wrap(s, width, indent));
  para(`[${f.severity}] ${f.kind} — ${who(f)}${f.op ? `, ${f.op}` : ''}`);
  para(f.summary, '  ');
  para(`When: ${formatDuration(f.from_ns)} → ${formatDuration(f.to_ns)} (bundle clock)${f.op && f.count ? ` · ${f.op}: ${f.count} calls, p50 ${formatDuration(f.p50_ns)}, p99 ${formatDuration(f.p99_ns)}` : ''} · impact ${formatDuration(f.impact_ns)}`, '  ');
  out.push('', 'Evidence');
  for (const e of f.evidence) para(`  [${e.layer}] ${e.detail}${e.event_ids?.length ? ` (events ${e.event_ids.slice(0, 5).join(', ')}${e.event_ids.length > 5 ? ', …' : ''})` : ''}`, '         ');
  out.push('', 'Root cause');
  para(`  ${f.root_cause}`, '  ');
  out.push('', 'Fix');
  for (const r of f.recommendations) para(`  - ${r}`, '    ');
  if (f.caveats.length) {
    out.push('', 'Notes');
    for (const c of f.caveats) para(`  - ${c}`, '    ');
  }
  return out;
}

/** The scope a finding narrows the views to: its op (if it has one), process and window. */
function findingScope(trace: TraceContext, f: Finding, fallbackOpId: number | null = null): Scope {
  return { opId: f.op ? (trace.bundle.opIdsByName(f.op)[0] ?? fallbackOpId) : fallbackOpId, finding: f };
}

/** The findings the `/` filter leaves (op, pid and words of the list line and summary). */
function shownFindings(report: ExplainReport, filter: ListFilter): Finding[] {
  return report.findings.filter((f) => matchesFilter(filter, { op: f.op ?? '', pid: f.pid, text: `${f.severity} ${f.kind} ${who(f)} ${f.op ?? ''} ${f.summary}` }));
}

function FindingList({ report }: { readonly report: ExplainReport }) {
  const { trace, width, height, setScope, currentScope } = useSession();
  const colour = useColour();
  const [filter] = useKeptState<ListFilter>(filterKey('findings'), NO_FILTER);
  const findings = shownFindings(report, filter);
  const listHeight = height - 2;
  const [, , getCursor] = useListCursor('findings.cursor', findings.length, listHeight);
  const [cursor] = useKeptState('findings.cursor', 0);
  const [, setOpen] = useKeptState('findings.open', false);
  useViewKeys((_input, key) => {
    const f = findings[getCursor()];
    if (!key.return || !f) return false;
    setScope(findingScope(trace, f, currentScope().opId));
    setOpen(true);
    return true;
  });
  const high = findings.filter((f) => f.severity === 'HIGH').length;
  const medium = findings.filter((f) => f.severity === 'MEDIUM').length;
  const imported = report.imported_findings.length;
  const heading = filter.text
    ? `${findings.length} of ${report.findings.length} findings match /${filter.text} — / to change, / then Enter on nothing to clear`
    : findings.length
    ? `${findings.length} finding${findings.length === 1 ? '' : 's'}: ${high} HIGH, ${medium} MEDIUM, ${findings.length - high - medium} LOW — ↑/↓ select, Enter for evidence, root cause and fix`
    : 'No problems found: nothing in this bundle crosses a detection threshold.';
  const lines = findings.map((f) => findingLine(report.findings.indexOf(f) + 1, f, width));
  const colours = findings.map((f) => colour(SEVERITY_COLOUR[f.severity]));
  if (!findings.length && !filter.text) {
    lines.push('', ...report.limitations.flatMap((l) => wrap(`- ${l}`, width, '  ')));
  }
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(heading, width)}
      </Text>
      <ScrollList lines={lines} cursor={findings.length ? Math.min(cursor, findings.length - 1) : -1} height={listHeight} colours={colours} />
      <Text dimColor wrap="truncate-end">
        {fit(imported ? `${imported} more stored in the bundle by another tool (not checked by this analysis): see Info (6)` : ' ', width)}
      </Text>
    </Box>
  );
}

/** Every event the finding's evidence names, in id order. */
function evidenceIds(f: Finding): number[] {
  return [...new Set(f.evidence.flatMap((e) => e.event_ids ?? []))].sort((a, b) => a - b);
}

function FindingDetail({ finding }: { readonly finding: Finding }) {
  const session = useSession();
  const { width, height, store } = session;
  const colour = useColour();
  const [, setOpen] = useKeptState('findings.open', true);
  const lines = findingDetail(finding, width);
  const [top, setTop] = useKeptState('findings.detailTop', 0);
  const maxTop = Math.max(0, lines.length - (height - 1));
  const ids = evidenceIds(finding);
  useViewKeys((input, key) => {
    if (key.escape || key.backspace || key.leftArrow) setOpen(false);
    else if (key.return) store.set('app.note', ids.length ? openEventsAt(session, ids, `evidence of ${finding.kind}`, finding) : "this finding's evidence names no events: Events (4) shows its op, process and window");
    else if (key.upArrow || input === 'k') setTop((t) => Math.max(0, Math.min(maxTop, t) - 1));
    else if (key.downArrow || input === 'j') setTop((t) => Math.min(maxTop, t + 1));
    else if (key.pageUp || input === 'b') setTop((t) => Math.max(0, Math.min(maxTop, t) - (height - 2)));
    else if (key.pageDown || input === ' ') setTop((t) => Math.min(maxTop, t + (height - 2)));
    else return false;
    return true;
  });
  return (
    <Box flexDirection="column">
      <ScrollList lines={lines} cursor={-1} top={Math.min(top, maxTop)} height={height - 1} colours={[colour(SEVERITY_COLOUR[finding.severity])]} />
      <Text dimColor wrap="truncate-end">
        {fit(`Esc back · ${ids.length ? `Enter opens the ${ids.length} evidence event${ids.length === 1 ? '' : 's'} in Events` : 'views 3–5 are narrowed to this finding (x clears)'}${lines.length > height - 1 ? ' · ↑/↓ scroll' : ''}`, width)}
      </Text>
    </Box>
  );
}

function FindingsView() {
  const { trace, width, analysis, analysisError } = useSession();
  const colour = useColour();
  const [open] = useKeptState('findings.open', false);
  const [cursor] = useKeptState('findings.cursor', 0);
  const [filter] = useKeptState<ListFilter>(filterKey('findings'), NO_FILTER);
  if (analysisError) return <Text color={colour('red')}>{fit(`Analysis failed: ${analysisError}`, width)}</Text>;
  if (!analysis) return <Text>{fit(`Analysing ${trace.statedEventCount().toLocaleString('en-US')} events… (other views work meanwhile: 4 Events, 6 Info, 7 SQL)`, width)}</Text>;
  const finding = shownFindings(analysis.report, filter)[cursor];
  return open && finding ? <FindingDetail finding={finding} /> : <FindingList report={analysis.report} />;
}

export const findingsView: ViewPlugin = {
  id: 'findings',
  title: 'Findings',
  hints: '↑/↓ select · Enter open · Esc back',
  help: [
    ...LIST_KEYS_HELP,
    ['↑/↓ j/k (open finding)', 'scroll its text; PgUp/PgDn a page'],
    ['Enter', 'open it: evidence, root cause, fix; narrow the other views to it'],
    ['Enter (open finding)', 'its evidence events in Events, the first one selected, all marked * (n/N)'],
    ['Esc', 'back to the list'],
  ],
  filters: 'op:NAME, pid:N and words of the kind, process and summary',
  Component: FindingsView,
};
