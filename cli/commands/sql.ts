// ingero sql: one read-only statement over the bundle database.
import { printable } from '../../analyze/text-layout.ts';
import type { Command } from 'commander';
import { DEFAULT_STATEMENT_LIMITS, openBundle, StatementError, StatementRunner, type Bundle, type StatementResult } from '../../format/index.ts';
import { parseDurationMs } from '../duration.ts';
import { toJson } from '../json.ts';
import { action, intOption, UsageError, UserError } from '../run-action.ts';
import { formatTable } from '../table.ts';

export function register(program: Command): void {
  program
    .command('sql')
    .description('Run one read-only SQL statement over a bundle (tables and what their columns mean: `ingero sql B --schema`)')
    .argument('<bundle>', '.ingero file')
    .argument('[query]', 'a single SELECT / WITH / VALUES statement')
    .option('--schema', 'print every table with its columns, units and meanings instead of running a query')
    .option('--json', 'print rows as a JSON array of objects')
    .option('--csv', 'print rows as CSV with a header line')
    .option('--timeout <duration>', `stop the statement after this long (default ${DEFAULT_STATEMENT_LIMITS.timeoutMs / 1000}s; e.g. 500ms, 5m)`)
    .option('--max-rows <n>', `print at most this many rows (default ${DEFAULT_STATEMENT_LIMITS.maxRows})`)
    .action(
      action(async (path: string, query: string | undefined, opts: { schema?: boolean; json?: boolean; csv?: boolean; timeout?: string; maxRows?: string }) => {
        if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
        if (opts.schema && query !== undefined) throw new UsageError('give either a query or --schema, not both');
        if (!opts.schema && query === undefined) throw new UsageError('missing the query; e.g. ingero sql B "SELECT count(*) FROM events", or ingero sql B --schema');
        const bundle = openBundle(path);
        try {
          if (query === undefined) {
            process.stdout.write(schemaText(bundle));
            return;
          }
          const limits = {
            ...DEFAULT_STATEMENT_LIMITS,
            timeoutMs: opts.timeout === undefined ? DEFAULT_STATEMENT_LIMITS.timeoutMs : parseDurationMs('--timeout', opts.timeout),
            maxRows: intOption('--max-rows', opts.maxRows, DEFAULT_STATEMENT_LIMITS.maxRows),
          };
          if (limits.maxRows < 1) throw new UsageError('--max-rows must be at least 1');
          const { columns, rows, truncated } = await runQuery(bundle, query, limits);
          if (opts.json) {
            process.stdout.write(toJson(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, cell(r[i])])))) + '\n');
          } else if (opts.csv) {
            process.stdout.write([columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
          } else {
            process.stdout.write(formatTable(columns, rows.map((r) => r.map(text)), rows.length ? rows[0]!.map((v) => typeof v === 'bigint' || typeof v === 'number') : []));
            process.stdout.write(`(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
          }
          if (truncated === 'rows') process.stderr.write(`ingero: stopped after ${rows.length} rows — --max-rows raises the cap, LIMIT/OFFSET pages\n`);
          if (truncated === 'bytes') process.stderr.write(`ingero: stopped after ${rows.length} rows, ${DEFAULT_STATEMENT_LIMITS.maxBytes / 1024 ** 2} MiB of cells — select fewer columns or page with LIMIT/OFFSET\n`);
        } finally {
          bundle.close();
        }
      }),
    );
}

/** Runs the statement in its own process, so the time limit holds even inside one SQLite step. */
async function runQuery(bundle: Bundle, query: string, limits: typeof DEFAULT_STATEMENT_LIMITS): Promise<StatementResult> {
  const runner = new StatementRunner();
  try {
    return await runner.run(bundle.databasePath, query, limits);
  } catch (err) {
    if (!(err instanceof StatementError)) throw err;
    if (err.code === 'sql') throw new UsageError(`SQL error: ${err.message}`);
    if (err.code === 'refused') throw new UsageError(err.message);
    if (err.code === 'timeout') throw new UserError(`${err.message} — narrow it (events.id follows time: filter by id or ts_ns), or give more time with --timeout`);
    throw new UserError(err.message);
  } finally {
    runner.close();
  }
}

/** The bundle's own account of its tables (its DDL comments), one aligned block per table. */
function schemaText(bundle: Bundle): string {
  const blocks: string[] = [];
  for (const [table, doc] of bundle.schemaDocs()) {
    const columns = bundle.db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as { name: string; type: string }[];
    const rows = columns.map((c) => [c.name, c.type, doc.columns.get(c.name)?.unit ?? '', doc.columns.get(c.name)?.description ?? '']);
    blocks.push(`${printable(table)}: ${printable(doc.description || '(undocumented)')}\n${formatTable(['column', 'type', 'unit', 'meaning'], rows)}`);
  }
  return blocks.join('\n');
}

export function cell(v: unknown): unknown {
  return Buffer.isBuffer(v) ? v.toString('hex') : v;
}

export function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return String(v);
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = text(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
