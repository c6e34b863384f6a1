// ingero export --format parquet: bundles into a Parquet export directory for DuckDB, Spark,
// Trino or ClickHouse (layout: spec/parquet-layout.md; the work is analyze/fleet/).
import { exportParquet } from '../../analyze/fleet/index.ts';
import { formatBytes } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { withProgress } from '../progress-bar.ts';
import { UsageError } from '../run-action.ts';
import { printable } from '../../analyze/text-layout.ts';

export interface ParquetFlags {
  readonly output: string;
  readonly force?: boolean;
  readonly findings: boolean;
  /** Print the summary as JSON on stdout. */
  readonly json?: boolean;
  /** Trace-only filters, refused here: an export for analytical engines keeps every event. */
  readonly from?: string;
  readonly to?: string;
  readonly pid?: string[];
  readonly node?: string;
}

export async function exportParquetCommand(paths: readonly string[], flags: ParquetFlags): Promise<void> {
  const filter = (['from', 'to', 'pid', 'node'] as const).find((f) => flags[f] !== undefined);
  if (filter) throw new UsageError(`--${filter} applies to the JSON trace only; a Parquet export keeps every event (filter in SQL: ingero query DIR "SELECT … WHERE …")`);
  if (flags.output === '-') throw new UsageError('a Parquet export is a directory; give one with -o DIR');
  const t0 = performance.now();
  const s = await withProgress((bar, signal) =>
    exportParquet(paths, flags.output, {
      force: flags.force,
      analysis: flags.findings,
      signal,
      onProgress: (p) => bar.update(p.events, p.bundleEvents, `bundle ${p.index + 1}/${p.total}: ${p.events.toLocaleString('en-US')} events`),
    }),
  );
  for (const note of s.notes) process.stderr.write(`ingero: note: ${printable(note)}\n`);
  const seconds = (performance.now() - t0) / 1000;
  if (flags.json) {
    process.stdout.write(toJson({ output: flags.output, format: 'parquet', bundles: s.bundles, events: s.events, files: s.files, bytes: s.bytes, seconds: Number(seconds.toFixed(3)), notes: s.notes }) + '\n');
    return;
  }
  process.stderr.write(
    `wrote ${printable(flags.output)}: ${s.bundles.toLocaleString('en-US')} bundle${s.bundles === 1 ? '' : 's'}, ${s.events.toLocaleString('en-US')} events in ${s.files.toLocaleString('en-US')} Parquet files, ${formatBytes(s.bytes)} in ${seconds.toFixed(1)} s — query it with ingero query ${printable(flags.output)} "SQL", or DuckDB/Spark/Trino (spec/parquet-layout.md)\n`,
  );
}
