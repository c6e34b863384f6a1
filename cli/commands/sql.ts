// ingero sql: one read-only statement over the bundle database.
import type { Command } from 'commander';
import { openBundle, type Bundle } from '../../format/index.ts';
import { toJson } from '../json.ts';
import { action, UsageError } from '../run-action.ts';
import { formatTable, printable } from '../table.ts';

export function register(program: Command): void {
  program
    .command('sql')
    .description('Run one read-only SQL statement over a bundle (tables and what their columns mean: `ingero sql B --schema`)')
    .argument('<bundle>', '.ingero file')
    .argument('[query]', 'a single SELECT / WITH / PRAGMA statement')
    .option('--schema', 'print every table with its columns, units and meanings instead of running a query')
    .option('--json', 'print rows as a JSON array of objects')
    .option('--csv', 'print rows as CSV with a header line')
    .action(
      action((path: string, query: string | undefined, opts: { schema?: boolean; json?: boolean; csv?: boolean }) => {
        if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
        if (opts.schema && query !== undefined) throw new UsageError('give either a query or --schema, not both');
        if (!opts.schema && query === undefined) throw new UsageError('missing the query; e.g. ingero sql B "SELECT count(*) FROM events", or ingero sql B --schema');
        const bundle = openBundle(path);
        try {
          if (query === undefined) {
            process.stdout.write(schemaText(bundle));
            return;
          }
          let stmt;
          try {
            stmt = bundle.db.prepare(query);
          } catch (err) {
            throw new UsageError(`SQL error: ${(err as Error).message}`);
          }
          if (!stmt.reader) throw new UsageError('the statement returns no rows; bundles are read-only, use SELECT');
          stmt.safeIntegers(true);
          const columns = stmt.columns().map((c) => c.name);
          const rows = stmt.raw(true).all() as unknown[][];
          if (opts.json) {
            process.stdout.write(toJson(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, cell(r[i])])))) + '\n');
          } else if (opts.csv) {
            process.stdout.write([columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
          } else {
            process.stdout.write(formatTable(columns, rows.map((r) => r.map(text)), rows.length ? rows[0]!.map((v) => typeof v === 'bigint' || typeof v === 'number') : []));
            process.stdout.write(`(${rows.length} row${rows.length === 1 ? '' : 's'})\n`);
          }
        } finally {
          bundle.close();
        }
      }),
    );
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
