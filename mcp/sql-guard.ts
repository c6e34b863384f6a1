// Which statements run_sql lets SQLite prepare at all.
//
// The protection that matters is the engine's: a separate process, its own connection opened
// read-only with query_only on, one statement per call (better-sqlite3's prepare refuses more),
// and after prepare sqlite3_stmt_readonly() and "returns rows" must both hold (see sql-worker.ts).
// One gap remains that only a check before prepare can close: SQLite applies many PRAGMA
// assignments while *compiling* the statement (measured: preparing `PRAGMA query_only=OFF`, or
// even `EXPLAIN PRAGMA query_only=ON`, flips the setting without running anything), and ATTACH
// would let a query read other SQLite files the server can see. So the statement kind is decided
// from its first keywords, read the way SQLite's tokenizer reads them (whitespace and both comment
// forms skipped, so a comment prefix cannot hide the keyword): only SELECT, WITH and VALUES, each
// optionally behind EXPLAIN or EXPLAIN QUERY PLAN, are prepared. A write that starts with WITH
// (`WITH x AS (...) DELETE ...`) passes this gate and is refused by sqlite3_stmt_readonly.
// Table-valued pragma functions (`SELECT * FROM pragma_table_info('events')`) stay available:
// SQLite only offers them for pragmas without side effects.

const ALLOWED_FIRST = new Set(['SELECT', 'WITH', 'VALUES']);

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

/** The keyword at position i (letters, digits, underscore), upper-cased, and where it ends. */
function keywordAt(sql: string, i: number): { word: string; end: number } {
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + 64));
  return { word: m ? m[0].toUpperCase() : sql.slice(i, i + 1), end: i + (m ? m[0].length : 1) };
}

/** null when the statement kind may be prepared; otherwise why not, phrased for the agent. */
export function refuseStatementKind(sql: string): string | null {
  let { word, end } = keywordAt(sql, skipSpace(sql, 0));
  if (word === 'EXPLAIN') {
    ({ word, end } = keywordAt(sql, skipSpace(sql, end)));
    if (word === 'QUERY') {
      const plan = keywordAt(sql, skipSpace(sql, end));
      if (plan.word !== 'PLAN') return 'EXPLAIN QUERY must be followed by PLAN';
      ({ word } = keywordAt(sql, skipSpace(sql, plan.end)));
    }
  }
  if (word === '') return 'the query is empty: pass one SELECT statement';
  if (ALLOWED_FIRST.has(word)) return null;
  const shown = JSON.stringify(word.slice(0, 24));
  if (word === 'PRAGMA') return `PRAGMA statements are not accepted (SQLite applies them while compiling); read settings with table-valued functions instead, e.g. SELECT * FROM pragma_table_info('events')`;
  return `only read-only queries are accepted (SELECT, WITH ... SELECT, VALUES, optionally behind EXPLAIN [QUERY PLAN]); this statement starts with ${shown} — the bundle is read-only`;
}
