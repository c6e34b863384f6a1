// run_sql: one read-only SQL statement over the bundle database, run in a separate process on its
// own read-only connection (see format/sql-statement.ts for the layers), with row, byte, cell
// and time caps.
import { z } from 'zod';
import { StatementError } from '../../format/index.ts';
import { capUtf8 } from '../sanitize.ts';
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
/** What the query process may fetch before the JSON byte cap applies: bounds its memory. */
const FETCH_BYTES = 16 * 1024 * 1024;

function cell(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'string') return capUtf8(v, CELL_BYTES);
  if (Buffer.isBuffer(v)) return capUtf8(`x'${v.toString('hex')}'`, CELL_BYTES);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

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
    let r;
    try {
      // A cell larger than the whole reply could not be shown: it is refused before it is fetched.
      r = await ctx.sql.run(served.bundle.databasePath, args.query, { maxRows, maxBytes: FETCH_BYTES, maxCellBytes: maxBytes, timeoutMs: ctx.limits.sqlTimeoutMs });
    } catch (err) {
      if (!(err instanceof StatementError)) throw err;
      switch (err.code) {
        case 'refused':
          throw new ToolInputError(`refused: ${err.message}`);
        case 'timeout':
          throw new ToolInputError(`${err.message}. Narrow it: restrict events to an id or ts_ns range (events.id follows time), aggregate instead of joining large tables, add LIMIT, and make recursive CTEs terminate`);
        case 'crashed':
          throw new ToolInputError(`${err.message}. Reduce what the query builds in memory (huge group_concat, randomblob, large sorts)`);
        default: {
          const hint = /ambiguous column/.test(err.message) ? ' — qualify the column with its table alias' : /no such (table|column)/.test(err.message) ? ' — describe_schema lists the tables and columns' : '';
          throw new ToolInputError(`SQL error: ${err.message}${hint}`);
        }
      }
    }
    const rows: unknown[][] = [];
    let bytes = 2 + JSON.stringify(r.columns).length;
    let truncated = r.truncated;
    for (const raw of r.rows) {
      const row = raw.map(cell);
      const size = JSON.stringify(row).length + 1;
      if (bytes + size > maxBytes) {
        truncated = 'bytes';
        break;
      }
      bytes += size;
      rows.push(row);
    }
    const note =
      truncated === 'rows'
        ? `truncated at ${maxRows} rows: add LIMIT/OFFSET, aggregate, or raise max_rows (at most 10000)`
        : truncated === 'bytes'
          ? `truncated at ${maxBytes} bytes after ${rows.length} rows: select fewer columns, aggregate, page with LIMIT/OFFSET, or raise max_bytes (at most 1048576)`
          : '';
    return { bundle: served.name, columns: r.columns, rows, row_count: rows.length, truncated: truncated !== null, note, elapsed_ms: Math.round(r.elapsedMs * 10) / 10 };
  },
};
