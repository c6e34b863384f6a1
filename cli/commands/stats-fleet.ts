// ingero stats --dir DIR: per op and node across every bundle of a fleet (analyze/fleet/).
import { printable } from '../../analyze/text-layout.ts';
import { fleetStats, FleetDataset } from '../../analyze/fleet/index.ts';
import { canonicalJson } from '../../analyze/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import { UsageError } from '../run-action.ts';
import { formatTable } from '../table.ts';

export async function fleetStatsCommand(path: string | undefined, opts: { json?: boolean; byProcess?: boolean; dir?: string }): Promise<void> {
  if (opts.dir === undefined) throw new UsageError('missing the bundle; e.g. ingero stats B.ingero, or ingero stats --dir DIR for a fleet');
  if (path !== undefined) throw new UsageError('give either a bundle or --dir DIR, not both');
  if (opts.byProcess) throw new UsageError('--by-process applies to one bundle; across a fleet, rows are per node and op (per process: ingero query DIR "SQL")');
  const fleet = await FleetDataset.open([opts.dir]);
  try {
    for (const note of fleet.notes) process.stderr.write(`ingero: note: ${printable(note)}\n`);
    const report = await fleetStats(fleet);
    if (opts.json) {
      process.stdout.write(canonicalJson(report) + '\n');
      return;
    }
    const headers = ['NODE', 'OP', 'SOURCE', 'BUNDLES', 'COUNT', 'TOTAL', 'P50', 'P90', 'P95', 'P99', 'P99.9', 'MAX'];
    const body = report.rows.map((s) => [s.node, s.op, s.source, s.bundles, s.count, ...[s.total_ns, s.p50_ns, s.p90_ns, s.p95_ns, s.p99_ns, s.p999_ns, s.max_ns].map(formatDuration)]);
    process.stdout.write(formatTable(headers, body, headers.map((h) => !['NODE', 'OP', 'SOURCE'].includes(h))));
    process.stdout.write(`${report.events.toLocaleString('en-US')} events in ${report.bundles.toLocaleString('en-US')} bundles from ${report.nodes.toLocaleString('en-US')} nodes; percentiles are exact over all of a node's events of the op.\n`);
    if (report.sampled_bundles > 0) process.stdout.write(`Note: ${report.sampled_bundles} bundle(s) are partly a sample or dropped ${report.dropped_events.toLocaleString('en-US')} events: counts and percentiles describe the stored events only.\n`);
  } finally {
    fleet.close();
  }
}
