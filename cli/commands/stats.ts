// ingero stats: per-op latency table (exact percentiles), optionally per process.
import type { Command } from 'commander';
import { canonicalJson, computeStats, type GpuDeviceActivity, type OpStats, type ProcessOpStats } from '../../analyze/index.ts';
import { openBundle } from '../../format/index.ts';
import { CLOCK_HELP, parsePids, parseTimeWindow } from '../duration.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { action, repeatable } from '../run-action.ts';
import { printable, wrapText } from '../../analyze/text-layout.ts';
import { withPhases } from '../progress-bar.ts';
import { formatTableToWidth, outputWidth } from '../table.ts';
import { fleetStatsCommand } from './stats-fleet.ts';
import { requireSelectedEvents } from '../selection.ts';

export function register(program: Command): void {
  program
    .command('stats')
    .description('Per-op statistics: count, total time and exact p50/p90/p95/p99/p99.9/max latency')
    .argument('[bundle]', '.ingero file')
    .option('--json', 'print ops[] and by_process[] as JSON')
    .option('--by-process', 'one row per (node, process, op) instead of per op')
    .option('--dir <dir>', 'fleet statistics: per op and node across the bundles (or Parquet exports) in DIR')
    .option('--from <time>', `only events starting at this time or later, ${CLOCK_HELP}; e.g. 13.3s, 1m`)
    .option('--to <time>', `only events starting before this time, ${CLOCK_HELP}`)
    .option('--pid <pids>', 'only these processes (repeatable or comma-separated)', repeatable)
    .action(
      action(async (path: string | undefined, opts: { json?: boolean; byProcess?: boolean; dir?: string; from?: string; to?: string; pid?: string[] }) => {
        if (opts.dir !== undefined || path === undefined) return fleetStatsCommand(path, opts);
        const selection = { ...parseTimeWindow(opts.from, opts.to), pids: parsePids(opts.pid) };
        const bundle = withPhases((step) => (step(0, 'opening the bundle'), openBundle(path)));
        try {
          requireSelectedEvents(bundle, selection, opts);
          const report = withPhases((step) => (step(0, 'computing statistics'), computeStats(bundle, selection)));
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
          const gpus = report.gpus.length > 0 ? gpuSection(report.gpus, width) : '';
          process.stdout.write(formatTableToWidth(headers, body, right, width, headers.indexOf('SOURCE') + 1) + gpus + wrapText(notes.join('\n'), width) + '\n');
        } finally {
          bundle.close();
        }
      }),
    );
}

/** Kernel names listed per GPU in the text output (all of them are in --json). */
const TOP_KERNELS = 5;
const KERNEL_NAME_CHARS = 40;

function gpuSection(gpus: readonly GpuDeviceActivity[], width: number): string {
  const out: string[] = ['', 'GPU activity (busy = union of kernel, memcpy and memset time over all streams)'];
  const headers = ['NODE', 'GPU', 'BUSY', 'SPAN', 'BUSY%', 'KERNELS', 'MEMCPY', 'MEMSET', 'STREAMS'];
  const rows = gpus.map((g) => [g.node, g.device, formatDuration(g.busy_ns), formatDuration(g.span_ns), `${(g.busy_share * 100).toFixed(1)}%`, g.kernel.count, g.memcpy.count, g.memset.count, g.streams.length]);
  out.push(formatTableToWidth(headers, rows, headers.map((h) => h !== 'NODE'), width, 2).trimEnd());
  for (const g of gpus) {
    if (g.kernels.length === 0) continue;
    out.push('', `Top kernels on ${g.node} GPU ${g.device} (of ${g.kernels.length} names)`);
    const short = (name: string) => (name.length > KERNEL_NAME_CHARS ? `${name.slice(0, KERNEL_NAME_CHARS - 1)}…` : name);
    const krows = g.kernels.slice(0, TOP_KERNELS).map((k) => [short(printable(k.name)), k.count, formatDuration(k.total_ns), formatDuration(k.p50_ns), formatDuration(k.p99_ns)]);
    out.push(formatTableToWidth(['KERNEL', 'COUNT', 'TOTAL', 'P50', 'P99'], krows, [false, true, true, true, true], width, 1).trimEnd());
  }
  return out.join('\n') + '\n';
}
