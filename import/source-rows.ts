// Reading Ingero tables by column name. Generations add columns by ALTER TABLE (so positions
// differ between files), and some tables or columns are absent in older files: a missing column
// reads as its Ingero default. Integers come back as BigInt (epoch ns and hashes exceed 2^53).
import type Database from 'better-sqlite3';
import type { SourceSchema } from './detect-generation.ts';
import { clampText } from '../format/index.ts';

/** Column name → SQL literal used when the column is absent. */
export type ColumnDefaults = Readonly<Record<string, string>>;

/** The select list for these columns, with the default literal standing in for absent ones. */
export function columnList(schema: SourceSchema, table: string, columns: ColumnDefaults): string {
  return Object.entries(columns)
    .map(([name, fallback]) => (schema.has(table, name) ? `"${name}"` : `${fallback} AS "${name}"`))
    .join(', ');
}

function selectSql(schema: SourceSchema, table: string, columns: ColumnDefaults, tail: string): string {
  return `SELECT ${columnList(schema, table, columns)} FROM "${table}" ${tail}`;
}

/** Iterates a table's rows with exact integers; nothing when the table is absent. */
export function* readRows<T>(db: Database.Database, schema: SourceSchema, table: string, columns: ColumnDefaults, tail = ''): Generator<T> {
  if (!schema.has(table)) return;
  const stmt = db.prepare(selectSql(schema, table, columns, tail)).safeIntegers(true);
  yield* stmt.iterate() as IterableIterator<T>;
}

/** A BigInt as a JSON-safe value: a number when exact, else its decimal string. */
export function jsonInt(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** A row with BigInts made JSON-safe and strings bounded, for metadata. */
export function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? jsonInt(v) : typeof v === 'string' ? clampText(v, SHORT_TEXT_BYTES) : v;
  return out;
}

/** Bound for names, paths and host facts: the bundle's 4 KiB limit on such columns. */
export const SHORT_TEXT_BYTES = 4096;

export function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
}

export function big(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}
