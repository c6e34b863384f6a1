// Reads back the documentation a bundle carries in its DDL comments (see tableDDL): one comment on
// the CREATE TABLE line for the table, one per column line, `[unit] meaning`. The text comes from
// the bundle, so it is data like any traced string: it is capped here and never trusted as more.
import type Database from 'better-sqlite3';

export interface ColumnDoc {
  /** Unit of the values, '' when none. */
  readonly unit: string;
  readonly description: string;
}

export interface TableDoc {
  /** The table's meaning, '' when its DDL carries none (a table some producer added). */
  readonly description: string;
  /** Keyed by column name; columns without a comment are absent. */
  readonly columns: ReadonlyMap<string, ColumnDoc>;
}

/** Longest description kept; ours are under 300 bytes, a hostile bundle's need not be. */
const MAX_DOC_CHARS = 1000;

/** Parses one CREATE TABLE statement as tableDDL writes it. */
export function parseTableDoc(sql: string): TableDoc {
  const lines = sql.split('\n');
  const columns = new Map<string, ColumnDoc>();
  for (const line of lines.slice(1)) {
    const at = line.indexOf(' -- ');
    if (at < 0) continue;
    const name = /^\s*"?([^\s",]+)/.exec(line.slice(0, at))?.[1];
    if (name === undefined || columns.has(name)) continue;
    const comment = line.slice(at + 4).trim();
    const unit = /^\[([^\]]{0,40})\]\s*/.exec(comment);
    columns.set(name, { unit: unit?.[1] ?? '', description: (unit ? comment.slice(unit[0].length) : comment).slice(0, MAX_DOC_CHARS) });
  }
  const head = lines[0] ?? '';
  const at = head.indexOf(' -- ');
  return { description: at < 0 ? '' : head.slice(at + 4).trim().slice(0, MAX_DOC_CHARS), columns };
}

/** Documentation of every table in the database, keyed by table name. */
export function readSchemaDocs(db: Database.Database): Map<string, TableDoc> {
  const rows = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY rowid").all() as { name: string; sql: string }[];
  return new Map(rows.map((r) => [r.name, parseTableDoc(r.sql)]));
}
