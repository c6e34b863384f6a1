// Fleet statistics: per op and node across every bundle of a fleet, the same numbers as
// `ingero stats` gives per bundle (count, total, exact nearest-rank percentiles: DuckDB's
// quantile_disc is sorted[ceil(p·n) − 1], as analyze/stats.ts). One SQL statement over the
// events view, so it runs as fast as DuckDB scans the Parquet columns it needs.
import type { DurationSummary } from '../types.ts';
import type { FleetDataset } from './dataset.ts';
import { DEFAULT_QUERY_TIME_LIMIT_MS } from './engine.ts';

/** One (node, op) across the fleet; the summary is over every stored event of that op on that node. */
export interface FleetOpStats extends DurationSummary {
  readonly node: string;
  readonly op: string;
  readonly source: string;
  /** Bundles with events of this op on this node. */
  readonly bundles: number;
}

export interface FleetStatsReport {
  readonly bundles: number;
  readonly nodes: number;
  readonly events: number;
  /** Bundles whose events are partly a sample or lost events: their counts describe stored events only. */
  readonly sampled_bundles: number;
  readonly dropped_events: number;
  /** Per (node, op), by node then op. */
  readonly rows: readonly FleetOpStats[];
}

export interface FleetStatsOptions {
  /** Only these ops (names); default all. */
  readonly ops?: readonly string[];
  readonly timeLimitMs?: number;
}

/** The fleet statistics SQL (also what spec/parquet-layout.md shows as the reference query). */
export function fleetStatsSql(ops?: readonly string[]): string {
  const where = ops && ops.length ? `WHERE op IN (${ops.map((o) => `'${o.replace(/'/g, "''")}'`).join(', ')})` : '';
  return `SELECT node, op, source, count(DISTINCT bundle) AS bundles, count(*) AS count, sum(dur_ns) AS total_ns,
      round(avg(dur_ns)) AS mean_ns, min(dur_ns) AS min_ns,
      quantile_disc(dur_ns, [0.5, 0.9, 0.95, 0.99, 0.999]) AS q, max(dur_ns) AS max_ns
    FROM events ${where} GROUP BY node, op, source ORDER BY node, op, source`;
}

export async function fleetStats(fleet: FleetDataset, options: FleetStatsOptions = {}): Promise<FleetStatsReport> {
  const limit = options.timeLimitMs ?? DEFAULT_QUERY_TIME_LIMIT_MS;
  const r = await fleet.query(fleetStatsSql(options.ops), limit);
  const idx = (name: string) => r.columns.indexOf(name);
  const rows = r.rows.map((row) => {
    const q = (row[idx('q')] as unknown[]).map(Number);
    const n = (name: string) => Number(row[idx(name)] ?? 0);
    return {
      node: String(row[idx('node')]),
      op: String(row[idx('op')]),
      source: String(row[idx('source')]),
      bundles: n('bundles'),
      count: n('count'),
      total_ns: n('total_ns'),
      mean_ns: n('mean_ns'),
      min_ns: n('min_ns'),
      p50_ns: q[0]!,
      p90_ns: q[1]!,
      p95_ns: q[2]!,
      p99_ns: q[3]!,
      p999_ns: q[4]!,
      max_ns: n('max_ns'),
    } satisfies FleetOpStats;
  });
  const totals = await fleet.query('SELECT count(*) AS bundles, sum(events) AS events, count(*) FILTER (WHERE sampled OR dropped_events > 0) AS sampled, sum(dropped_events) AS dropped FROM bundles', limit);
  const nodes = await fleet.query('SELECT count(DISTINCT name) FROM nodes', limit);
  const t = totals.rows[0]!.map(Number);
  return { bundles: t[0]!, events: t[1]!, sampled_bundles: t[2]!, dropped_events: t[3]!, nodes: Number(nodes.rows[0]![0]), rows };
}
