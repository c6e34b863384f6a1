// ingero query: one read-only SQL statement with embedded DuckDB over bundles, directories of
// bundles and Parquet exports alike (analyze/fleet/): views events, ops, sources, processes,
// threads, nodes, stack_frames, annotations, findings and bundles, each with a bundle column.
//
//   ingero query PATH... "SQL" [--json|--csv] [--time-limit 60s] [--findings]
import { printable } from '../../analyze/text-layout.ts';
import type { Command } from 'commander';
import { DEFAULT_QUERY_TIME_LIMIT_MS, FLEET_TABLES, FleetDataset } from '../../analyze/fleet/index.ts';
import { parseDurationMs } from '../duration.ts';
import { toJson } from '../json.ts';
import { action, UsageError } from '../run-action.ts';
import { formatTable } from '../table.ts';
import { cell, csvCell, text } from './sql.ts';

export function register(program: Command): void {
  program
    .command('query')
    .description(`SQL over many bundles and Parquet exports with embedded DuckDB; views: ${FLEET_TABLES.join(', ')} (layout: spec/parquet-layout.md)`)
    .argument('<paths-and-sql...>', 'bundles, directories of bundles or Parquet exports, then one SELECT statement')
    .option('--json', 'print rows as a JSON array of objects')
    .option('--csv', 'print rows as CSV with a header line')
    .option('--time-limit <duration>', `stop the query after this long, e.g. 30s, 5m (default ${DEFAULT_QUERY_TIME_LIMIT_MS / 1000}s)`)
    .option('--findings', 'run the analyzer on each bundle so that the findings view holds its findings (exports carry theirs already)')
    .action(
      action(async (args: string[], opts: { json?: boolean; csv?: boolean; timeLimit?: string; findings?: boolean }) => {
        if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
        if (args.length < 2) throw new UsageError('give one or more bundles, directories or Parquet exports, then the SQL; e.g. ingero query runs/ "SELECT node, count(*) FROM events GROUP BY node"');
        const sql = args[args.length - 1]!;
        const timeLimitMs = opts.timeLimit === undefined ? DEFAULT_QUERY_TIME_LIMIT_MS : parseDurationMs('--time-limit', opts.timeLimit);
        const fleet = await FleetDataset.open(args.slice(0, -1), { analysis: opts.findings });
        try {
          for (const note of fleet.notes) process.stderr.write(`ingero: note: ${printable(note)}\n`);
          const { columns, rows } = await fleet.query(sql, timeLimitMs);
          if (opts.json) {
            process.stdout.write(toJson(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, jsonValue(r[i])])))) + '\n');
          } else if (opts.csv) {
            process.stdout.write([columns, ...rows.map((r) => r.map(flat))].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
          } else {
            const body = rows.map((r) => r.map((v) => text(flat(v))));
            process.stdout.write(formatTable(columns, body, rows.length ? rows[0]!.map((v) => typeof v === 'bigint' || typeof v === 'number') : []));
            process.stdout.write(`(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
          }
        } finally {
          fleet.close();
        }
      }),
    );
}

/** DuckDB's JS values as JSON wants them: blobs as hex, nested values kept. */
function jsonValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return cell(Buffer.from(v));
  if (Array.isArray(v)) return v.map(jsonValue);
  return v;
}

/** A value for one table or CSV cell: blobs as Buffers (shown as hex), lists and structs as JSON. */
function flat(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') return toJson(v, 0);
  return v;
}
