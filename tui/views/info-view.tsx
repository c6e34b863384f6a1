// Info: what the bundle is (manifest, recording host), how far to trust it (capture loss,
// sampling, the analyzer's limitations) and what other tools stored in it.
import { Box } from 'ink';
import type { ExplainReport } from '../../analyze/index.ts';
import { formatBytes, formatDuration, formatUnixNs } from '../../analyze/format-units.ts';
import { ScrollList } from '../scroll-list.tsx';
import { useKeptState, useSession, useViewKeys } from '../session.ts';
import { fit, wrap } from '../text.ts';
import type { TraceContext } from '../trace-context.ts';
import type { ViewPlugin } from './view-plugin.ts';

/** Lines shown per metadata entry: some importers store whole JSON documents there. */
const METADATA_LINES = 3;

/** The Info view's text, wrapped to `width`; the report adds quality notes once it is ready. */
function infoLines(trace: TraceContext, report: ExplainReport | undefined, width: number): string[] {
  const b = trace.bundle;
  const m = b.manifest;
  const out: string[] = [];
  const para = (s: string) => out.push(...wrap(s, width, '    '));
  const section = (title: string) => out.push('', title);
  out.push('Bundle');
  para(`  file: ${b.path}`);
  para(`  recorded by ${m.producer.name} ${m.producer.version} (${m.producer.command}), sealed ${formatUnixNs(BigInt(m.created_unix_ns))}`);
  para(`  ${m.counts.events.toLocaleString('en-US')} events, ${m.counts.processes} processes, ${m.counts.stacks} stacks on ${m.nodes.length} node${m.nodes.length === 1 ? '' : 's'}: ${m.nodes.join(', ')}`);
  para(`  clock origin ${formatUnixNs(BigInt(m.time.origin_unix_ns))}; events from ${formatDuration(m.time.start_ns)} to ${formatDuration(m.time.end_ns)}`);
  para(`  events by source: ${Object.entries(m.counts.by_source).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ') || 'none'}`);
  para(`  schema ${m.schema_version}; database ${formatBytes(m.database.bytes)} sha256 ${m.database.sha256}; zstd level ${m.compression.level} in ${m.compression.frames} frame${m.compression.frames === 1 ? '' : 's'}`);
  section('Data quality');
  para(`  ${m.capture.dropped ? `${m.capture.dropped.toLocaleString('en-US')} events were dropped during capture` : 'no events were dropped during capture'}; ${m.capture.sampled ? 'parts of the events table are a sample' : 'the events table is complete (not sampled)'}`);
  if (report) {
    for (const l of report.data_quality.losses) if (l.dropped > 0 || l.note) para(`  - ${l.probe}${l.source ? ` (${l.source})` : ''}: ${l.emitted.toLocaleString('en-US')} emitted, ${l.dropped.toLocaleString('en-US')} dropped${l.note ? ` — ${l.note}` : ''}`);
    for (const s of report.data_quality.sampled_periods) para(`  - ${s.op ?? s.source ?? 'all events'} sampled from ${formatDuration(s.from_ns)}${s.to_ns === null ? '' : ` to ${formatDuration(s.to_ns)}`} (${s.policy})${s.note ? `: ${s.note}` : ''}`);
    if (report.limitations.length) {
      section('What this bundle cannot show');
      for (const l of report.limitations) para(`  - ${l}`);
    }
    if (report.imported_findings.length) {
      section(`Findings stored by another tool (${report.imported_findings.length}; not produced or checked by this analysis)`);
      for (const f of report.imported_findings) para(`  [${f.severity}] ${f.summary}${f.occurrences > 1 ? ` (×${f.occurrences})` : ''} — ${f.origin}`);
    }
  } else {
    out.push('  (capture loss details, sampling and limitations appear once the analysis finishes)');
  }
  section('Metadata');
  for (const [key, value] of Object.entries(b.metadata())) {
    const lines = wrap(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`, width, '    ');
    out.push(...lines.slice(0, METADATA_LINES));
    if (lines.length > METADATA_LINES) out.push(`    … (${lines.length - METADATA_LINES} more lines: ingero sql ${JSON.stringify(`SELECT value FROM metadata WHERE key = '${key}'`)})`);
  }
  return out.map((l) => fit(l, width));
}

function InfoView() {
  const { trace, width, height, analysis } = useSession();
  const lines = infoLines(trace, analysis?.report, width);
  const [top, setTop] = useKeptState('info.top', 0);
  const maxTop = Math.max(0, lines.length - height);
  useViewKeys((input, key) => {
    if (key.upArrow || input === 'k') setTop((t) => Math.max(0, Math.min(maxTop, t) - 1));
    else if (key.downArrow || input === 'j') setTop((t) => Math.min(maxTop, t + 1));
    else if (key.pageUp || input === 'b') setTop((t) => Math.max(0, Math.min(maxTop, t) - (height - 1)));
    else if (key.pageDown || input === ' ') setTop((t) => Math.min(maxTop, t + (height - 1)));
    else if (key.home) setTop(0);
    else if (key.end || input === 'G') setTop(maxTop);
  });
  return (
    <Box flexDirection="column">
      <ScrollList lines={lines} cursor={-1} top={Math.min(top, maxTop)} height={height} />
    </Box>
  );
}

export const infoView: ViewPlugin = {
  id: 'info',
  title: 'Info',
  hints: '↑/↓ scroll',
  help: [
    ['↑/↓ PgUp/PgDn', 'scroll'],
    ['Home / End G', 'top or bottom'],
  ],
  Component: InfoView,
};
