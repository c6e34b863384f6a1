// ingero stats: per-op latency table (exact percentiles), optionally per process.
import type { Command } from 'commander';
import { canonicalJson, computeStats, type OpStats, type ProcessOpStats } from '../../analyze/index.ts';
import { openBundle } from '../../format/index.ts';
import { formatDuration } from '../format-units.ts';
import { action } from '../run-action.ts';
import { wrapText } from '../../analyze/text-layout.ts';
import { withPhases } from '../progress-bar.ts';
import { formatTableToWidth, outputWidth } from '../table.ts';

export function register(program: Command): void {
  program
    .command('stats')
    .description('Per-op statistics: count, total time and exact p50/p90/p95/p99/p99.9/max latency')
    .argument('<bundle>', '.ingero file')
    .option('--json', 'print ops[] and by_process[] as JSON')
    .option('--by-process', 'one row per (node, process, op) instead of per op')
    .action(
      action((path: string, opts: { json?: boolean; byProcess?: boolean }) => {
        const bundle = withPhases((step) => (step(0, 'opening the bundle'), openBundle(path)));
        try {
          const report = withPhases((step) => (step(0, 'computing statistics'), computeStats(bundle)));
          if (opts.json) {
            process.stdout.write(canonicalJson(report) + '\n');
            return;
          }
          const rows: (OpStats | ProcessOpStats)[] = opts.byProcess ? [...report.by_process] : [...report.ops];
          const headers = [...(opts.byProcess ? ['NODE', 'PID', 'PROCESS'] : []), 'OP', 'SOURCE', 'COUNT', 'TOTAL', 'P50', 'P90', 'P95', 'P99', 'P99.9', 'MAX'];
          const body = rows.map((s) => [
            ...('pid' in s ? [s.node, s.pid, s.process] : []),
            s.op,
            s.source,
            s.count,
            formatDuration(s.total_ns),
            ...[s.p50_ns, s.p90_ns, s.p95_ns, s.p99_ns, s.p999_ns, s.max_ns].map(formatDuration),
          ]);
          const right = headers.map((h) => !['NODE', 'PROCESS', 'OP', 'SOURCE'].includes(h));
          // On a terminal narrower than the table, one block per op (titled by its identity columns).
          const width = outputWidth();
          const notes = [`${report.events.toLocaleString('en-US')} event${report.events === 1 ? '' : 's'} over ${formatDuration(report.span_ns)}; durations are entry-to-return for API calls and off-CPU time for sched_switch.`];
          const q = report.data_quality;
          if (q.sampled) notes.push('Note: parts of this bundle are a sample (table sampling): counts and percentiles describe the stored events only.');
          if (q.dropped_events > 0) notes.push(`Note: ${q.dropped_events.toLocaleString('en-US')} events were dropped during capture.`);
          process.stdout.write(formatTableToWidth(headers, body, right, width, headers.indexOf('SOURCE') + 1) + wrapText(notes.join('\n'), width) + '\n');
        } finally {
          bundle.close();
        }
      }),
    );
}
