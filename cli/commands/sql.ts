// ingero sql: one read-only statement over the bundle database.
import type { Command } from 'commander';
import { openBundle } from '../../format/index.ts';
import { toJson } from '../json.ts';
import { action, UsageError } from '../run-action.ts';
import { formatTable } from '../table.ts';

export function register(program: Command): void {
  program
    .command('sql')
    .description('Run one read-only SQL statement over a bundle (tables: see `ingero sql B "SELECT * FROM schema_doc"`)')
    .argument('<bundle>', '.ingero file')
    .argument('<query>', 'a single SELECT / WITH / PRAGMA statement')
    .option('--json', 'print rows as a JSON array of objects')
    .option('--csv', 'print rows as CSV with a header line')
    .action(
      action((path: string, query: string, opts: { json?: boolean; csv?: boolean }) => {
        if (opts.json && opts.csv) throw new UsageError('choose one of --json and --csv');
        const bundle = openBundle(path);
        try {
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

function cell(v: unknown): unknown {
  return Buffer.isBuffer(v) ? v.toString('hex') : v;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return String(v);
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = text(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
