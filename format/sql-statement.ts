// The one way to run a user's single read-only SQL statement over a bundle database: the CLI's
// `sql`, the TUI's SQL console and MCP's run_sql all come through here.
//
// Layers, outermost first:
//  1. The statement kind is decided before SQLite sees the text (refuseStatement): only SELECT,
//     WITH and VALUES, each optionally behind EXPLAIN [QUERY PLAN]. SQLite applies many PRAGMA
//     assignments while *compiling* a statement (measured: preparing `PRAGMA query_only=OFF`, or
//     even `EXPLAIN PRAGMA query_only=ON`, flips the setting without running anything), and
//     ATTACH would let a query read other SQLite files, so no check after prepare can close that
//     gap. The keywords are read the way SQLite's tokenizer reads them (whitespace, both comment
//     forms and identifier quoting skipped), so a comment prefix cannot hide the keyword. A write
//     that starts with WITH (`WITH x AS (...) DELETE ...`) passes this gate and is refused by 3.
//     pragma_database_list is refused by name: it shows the local cache path of the database.
//  2. prepare on the caller's read-only, query_only connection (better-sqlite3 refuses several
//     statements in one string).
//  3. sqlite3_stmt_readonly() and "returns rows" must both hold.
//  4. Oversized cells are refused before they are fetched: the statement runs wrapped in an
//     outer SELECT that replaces any cell longer than maxCellBytes by NULL and names the first
//     such column, so a `zeroblob(4e8)` never becomes a JavaScript copy. The wrapped statement is
//     a co-routine (OFFSET stops SQLite flattening it), so every user expression is computed once.
//  5. Rows stop at maxRows and at maxBytes (their size as text), and the deadline is checked
//     between rows. A single step that never returns (a recursive CTE counted in one row) can
//     only be stopped by killing its process: StatementRunner (sql-statement-runner.ts) does that.
import type Database from 'better-sqlite3';

export interface StatementLimits {
  /** Rows returned at most; more are not fetched and `truncated` says 'rows'. */
  readonly maxRows: number;
  /** Size of the rows as text at most (strings in UTF-8 bytes, blobs as hex); then 'bytes'. */
  readonly maxBytes: number;
  /** A cell longer than this (UTF-8 bytes of text, bytes of a blob) refuses the statement unfetched. */
  readonly maxCellBytes: number;
  /** Wall-clock limit for the whole statement, in ms. */
  readonly timeoutMs: number;
}

/** Defaults for a person at a terminal; agents get tighter ones from their server. */
export const DEFAULT_STATEMENT_LIMITS: StatementLimits = {
  maxRows: 100_000,
  maxBytes: 256 * 1024 * 1024,
  maxCellBytes: 16 * 1024 * 1024,
  timeoutMs: 30_000,
};

export interface StatementResult {
  readonly columns: string[];
  /** Cells as SQLite gives them with safe integers: bigint, number (real), string, Buffer, null. */
  readonly rows: unknown[][];
  /** Why rows stopped early: the row cap, the byte cap, or null when all rows came back. */
  readonly truncated: 'rows' | 'bytes' | null;
  readonly elapsedMs: number;
}

/**
 * Why a statement did not run to the end: 'refused' (its kind, a write, no rows, an oversized
 * cell), 'sql' (SQLite rejected or failed it), 'damaged' (SQLite found the database damaged), 'timeout', or 'crashed' (its process died, see
 * StatementRunner). The message is one line phrased for whoever typed the statement.
 */
export type StatementErrorCode = 'refused' | 'sql' | 'damaged' | 'timeout' | 'crashed';

export class StatementError extends Error {
  readonly code: StatementErrorCode;
  constructor(code: StatementErrorCode, message: string) {
    super(message);
    this.name = 'StatementError';
    this.code = code;
  }
}

interface Token {
  /** Keywords and identifiers upper-cased with their quotes removed; other tokens as written. */
  readonly text: string;
  readonly kind: 'word' | 'string' | 'punct';
  readonly start: number;
}

/** Skips whitespace and comments from position i; returns the next token's start. */
function skipSpace(sql: string, i: number): number {
  for (;;) {
    while (i < sql.length && /[ \t\n\f\r]/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      return i;
    }
  }
}

const CLOSING_QUOTE: Record<string, string> = { "'": "'", '"': '"', '`': '`', '[': ']' };

/** SQLite's tokens, enough of them to find keywords, identifiers and the statement's end. */
function* tokens(sql: string): Generator<Token> {
  let i = skipSpace(sql, 0);
  while (i < sql.length) {
    const ch = sql[i]!;
    const close = CLOSING_QUOTE[ch];
    let end: number;
    let token: Token;
    if (close) {
      // A doubled closing quote inside is an escaped quote (not for [...]).
      end = i + 1;
      for (;;) {
        const at = sql.indexOf(close, end);
        if (at < 0) {
          end = sql.length;
          break;
        }
        end = at + 1;
        if (close === ']' || sql[end] !== close) break;
        end++;
      }
      const inner = sql.slice(i + 1, end - 1);
      token = ch === "'" ? { text: inner, kind: 'string', start: i } : { text: inner.toUpperCase(), kind: 'word', start: i };
    } else {
      const m = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(sql.slice(i, i + 256));
      end = i + (m ? m[0].length : 1);
      token = m ? { text: m[0].toUpperCase(), kind: 'word', start: i } : { text: ch, kind: 'punct', start: i };
    }
    yield token;
    i = skipSpace(sql, end);
  }
}

const ALLOWED_FIRST = new Set(['SELECT', 'WITH', 'VALUES']);

/** Table-valued pragmas a statement may not name: they show local file paths. */
const PATH_PRAGMAS = new Set(['PRAGMA_DATABASE_LIST']);

/** null when the statement may be prepared; otherwise why not, phrased for whoever wrote it. */
export function refuseStatement(sql: string): string | null {
  const all = [...tokens(sql)];
  const words = all.map((t) => (t.kind === 'word' ? t.text : ''));
  let at = 0;
  if (words[at] === 'EXPLAIN') {
    at++;
    if (words[at] === 'QUERY') {
      if (words[at + 1] !== 'PLAN') return 'EXPLAIN QUERY must be followed by PLAN';
      at += 2;
    }
  }
  const first = all[at];
  if (!first) return 'the query is empty: pass one SELECT statement';
  if (first.kind !== 'word' || !ALLOWED_FIRST.has(first.text)) {
    if (first.text === 'PRAGMA') return `PRAGMA statements are not accepted (SQLite applies them while compiling); read settings with table-valued functions instead, e.g. SELECT * FROM pragma_table_info('events')`;
    const shown = JSON.stringify(first.text.slice(0, 24));
    return `only read-only queries are accepted (SELECT, WITH ... SELECT, VALUES, optionally behind EXPLAIN [QUERY PLAN]); this statement starts with ${shown} — the bundle is read-only`;
  }
  const pathPragma = all.find((t) => t.kind === 'word' && PATH_PRAGMAS.has(t.text));
  if (pathPragma) return `${pathPragma.text.toLowerCase()} is not available: it shows local file paths — the bundle's tables are listed by SELECT name FROM sqlite_schema`;
  return null;
}

/** The statement without its terminating semicolon and anything after it (comments). */
function withoutTerminator(sql: string): string {
  for (const t of tokens(sql)) if (t.kind === 'punct' && t.text === ';') return sql.slice(0, t.start);
  return sql;
}

/**
 * The statement wrapped so that no cell over maxCellBytes is fetched: each column becomes NULL
 * when oversized, and a last column holds the index of the first oversized one (NULL when none)
 * with its size. The innermost SELECT has an OFFSET so SQLite runs it as a co-routine instead of
 * flattening it (each user expression computed once); the lengths are taken once per cell (each
 * extra reference to a 400 MB zeroblob costs seconds). The newline before ')' ends a trailing
 * line comment of the user's text.
 */
function cellCheckedSql(sql: string, columnCount: number, maxCellBytes: number): string {
  const index = Array.from({ length: columnCount }, (_, i) => i);
  const cells = index.map((i) => `CASE WHEN l${i} > ${maxCellBytes} THEN NULL ELSE c${i} END`);
  const firstOver = `CASE ${index.map((i) => `WHEN l${i} > ${maxCellBytes} THEN json_array(${i}, l${i})`).join(' ')} END`;
  const lengths = index.map((i) => `c${i}, octet_length(c${i}) AS l${i}`);
  return (
    `WITH ingero_statement(${index.map((i) => `c${i}`).join(', ')}) AS (\n${withoutTerminator(sql)}\n) ` +
    `SELECT ${cells.join(', ')}, ${firstOver} FROM (SELECT ${lengths.join(', ')} FROM (SELECT * FROM ingero_statement LIMIT -1 OFFSET 0))`
  );
}

/** Size of a cell as text: what it costs to print or send. */
function cellBytes(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8') + 2;
  if (Buffer.isBuffer(v)) return 2 * v.length + 3;
  return v === null ? 4 : String(v).length;
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`;
}

/**
 * Runs one statement under the limits on an open read-only connection, synchronously. Throws
 * StatementError; every other error is a bug. The deadline is only checked between rows (see
 * the header); run it through StatementRunner where one endless step must be stoppable.
 */
export function runStatement(db: Database.Database, sql: string, limits: StatementLimits): StatementResult {
  const started = performance.now();
  const refusal = refuseStatement(sql);
  if (refusal) throw new StatementError('refused', refusal);
  let stmt: Database.Statement;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    throw new StatementError('sql', (err as Error).message);
  }
  if (!stmt.readonly) throw new StatementError('refused', 'the statement would modify the database; the bundle is read-only — use SELECT');
  if (!stmt.reader) throw new StatementError('refused', 'the statement returns no rows; only queries that return rows are accepted — use SELECT');
  const columns = stmt.columns().map((c) => c.name);
  // EXPLAIN's cells describe the statement itself (bounded by its length); it cannot be wrapped.
  const explain = [...tokens(sql)][0]?.text === 'EXPLAIN';
  let checked = stmt;
  try {
    if (!explain) checked = db.prepare(cellCheckedSql(sql, columns.length, limits.maxCellBytes));
  } catch (err) {
    throw new StatementError('sql', `${(err as Error).message} (while wrapping the statement to check its cell sizes; write it as one plain SELECT)`);
  }
  const rows: unknown[][] = [];
  let bytes = 0;
  let truncated: 'rows' | 'bytes' | null = null;
  try {
    checked.safeIntegers(true).raw(true);
    for (const raw of checked.iterate() as IterableIterator<unknown[]>) {
      if (performance.now() - started > limits.timeoutMs) throw timeoutError(limits.timeoutMs);
      if (rows.length === limits.maxRows) {
        truncated = 'rows';
        break;
      }
      const row = explain ? raw : raw.slice(0, columns.length);
      if (!explain && raw[columns.length] !== null) {
        const [index, size] = JSON.parse(raw[columns.length] as string) as [number, number];
        throw new StatementError(
          'refused',
          `row ${rows.length + 1}, column ${JSON.stringify(columns[index])} holds ${sizeText(size)}, above the ${sizeText(limits.maxCellBytes)} limit for one cell — select part of it (substr(x, 1, 1000), length(x)) instead`,
        );
      }
      const size = row.reduce((sum: number, v) => sum + cellBytes(v) + 1, 2);
      if (bytes + size > limits.maxBytes) {
        truncated = 'bytes';
        break;
      }
      bytes += size;
      rows.push(row);
    }
  } catch (err) {
    if (err instanceof StatementError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') throw new StatementError('damaged', `the database inside the bundle is damaged (${(err as Error).message}) — ingero verify lists its problems; get a fresh copy of the bundle`);
    throw new StatementError('sql', (err as Error).message);
  }
  if (performance.now() - started > limits.timeoutMs) throw timeoutError(limits.timeoutMs);
  return { columns, rows, truncated, elapsedMs: performance.now() - started };
}

export function timeoutError(timeoutMs: number): StatementError {
  return new StatementError('timeout', `the query ran past the ${timeoutMs} ms time limit and was stopped`);
}
