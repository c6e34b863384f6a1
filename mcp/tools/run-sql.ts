// run_sql: one read-only SQL statement over the bundle database, run in a separate process on its
// own read-only connection (see sql-worker.ts and sql-guard.ts for the layers), with row, byte
// and time caps.
import { z } from 'zod';
import { bundleArg, servedBundle, ToolInputError, type ToolDef } from '../tool-kit.ts';

const input = {
  ...bundleArg,
  query: z.string().min(1).max(100_000).describe('One SELECT.'),
  max_rows: z.number().int().min(1).max(10_000).optional().describe('Default 1000.'),
  max_bytes: z.number().int().min(1024).max(1024 * 1024).optional().describe('Default 256 KiB.'),
};

const output = {
  bundle: z.string(),
  columns: z.array(z.string()).describe('Column names, in order.'),
  rows: z.array(z.array(z.unknown())).describe('Rows as arrays (duplicate column names survive). Integers beyond 2^53 as decimal strings, blobs as x\'hex\', strings capped at 1024 bytes.'),
  row_count: z.number(),
  truncated: z.boolean(),
  note: z.string().describe('Why rows stopped early and what to do, or "".'),
  elapsed_ms: z.number(),
};

const CELL_BYTES = 1024;

export const runSql: ToolDef<typeof input, typeof output> = {
  name: 'run_sql',
  title: 'Run SQL',
  description:
    'One read-only SQLite query; time-limited. events.id follows time (filter by id/ts_ns first; no other index); aggregate in SQL.',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const maxRows = args.max_rows ?? ctx.limits.sqlRows;
    const maxBytes = Math.min(args.max_bytes ?? ctx.limits.sqlBytes, ctx.limits.sqlMaxBytes);
    const r = await ctx.sql.run(served.bundle.databasePath, args.query, { maxRows, maxBytes, maxCellBytes: CELL_BYTES, timeoutMs: ctx.limits.sqlTimeoutMs });
    if (!r.ok) {
      switch (r.code) {
        case 'refused':
          throw new ToolInputError(`refused: ${r.error}`);
        case 'timeout':
          throw new ToolInputError(`${r.error}. Narrow it: restrict events to an id or ts_ns range (events.id follows time), aggregate instead of joining large tables, add LIMIT, and make recursive CTEs terminate`);
        case 'crashed':
          throw new ToolInputError(`${r.error}. Reduce what the query builds in memory (huge group_concat, randomblob, large sorts)`);
        default: {
          const hint = /ambiguous column/.test(r.error) ? ' — qualify the column with its table alias' : /no such (table|column)/.test(r.error) ? ' — describe_schema lists the tables and columns' : '';
          throw new ToolInputError(`SQL error: ${r.error}${hint}`);
        }
      }
    }
    const note =
      r.truncated === 'rows'
        ? `truncated at ${maxRows} rows: add LIMIT/OFFSET, aggregate, or raise max_rows (at most 10000)`
        : r.truncated === 'bytes'
          ? `truncated at ${maxBytes} bytes after ${r.rows.length} rows: select fewer columns, aggregate, page with LIMIT/OFFSET, or raise max_bytes (at most 1048576)`
          : '';
    return { bundle: served.name, columns: r.columns, rows: r.rows, row_count: r.rows.length, truncated: r.truncated !== null, note, elapsed_ms: Math.round(r.elapsedMs * 10) / 10 };
  },
};
