// format/sql-statement.ts: the one way a user's statement runs (CLI sql, TUI console, MCP run_sql).
// Real SQLite databases; the runner's child processes are real and really killed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_STATEMENT_LIMITS, openReadOnlyDatabase, runStatement, StatementError, StatementRunner, type StatementLimits } from '../format/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ingero-sql-statement-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, 'db.sqlite');
{
  const w = new Database(path);
  w.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, big TEXT);
    WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000) INSERT INTO t SELECT i, 'n' || i, NULL FROM s;
    UPDATE t SET big = hex(zeroblob(600000)) WHERE id = 7;`);
  w.close();
}
const db = openReadOnlyDatabase(path);
after(() => db.close());
const limits: StatementLimits = { ...DEFAULT_STATEMENT_LIMITS, maxCellBytes: 1024 * 1024 };

function refusal(sql: string, l: StatementLimits = limits): StatementError {
  try {
    runStatement(db, sql, l);
  } catch (err) {
    assert.ok(err instanceof StatementError, String(err));
    return err;
  }
  assert.fail(`${sql} ran`);
}

describe('runStatement', () => {
  it('returns columns and rows in the statement\'s order, duplicate names, 64-bit integers exact', () => {
    const r = runStatement(db, 'SELECT id, id, name, 9007199254740993 AS wide FROM t WHERE id <= 3 ORDER BY id DESC; -- trailing', limits);
    assert.deepEqual(r.columns, ['id', 'id', 'name', 'wide']);
    assert.deepEqual(r.rows, [[3n, 3n, 'n3', 9007199254740993n], [2n, 2n, 'n2', 9007199254740993n], [1n, 1n, 'n1', 9007199254740993n]]);
    assert.equal(r.truncated, null);
    assert.deepEqual(runStatement(db, "WITH x(a) AS (VALUES (1), (2)) SELECT a, ';' || '--' FROM x -- no newline", limits).rows, [[1n, ';--'], [2n, ';--']]);
    assert.deepEqual(runStatement(db, 'VALUES (1, x\'00ff\')', limits).rows, [[1n, Buffer.from([0, 255])]]);
    assert.ok(runStatement(db, 'EXPLAIN QUERY PLAN SELECT * FROM t WHERE id = 1', limits).rows.length > 0);
  });

  it('refuses writes, statements without rows, PRAGMA, ATTACH and the path-revealing pragma_database_list', () => {
    assert.match(refusal('DELETE FROM t').message, /starts with "DELETE"/);
    assert.match(refusal('WITH x AS (SELECT 1) DELETE FROM t').message, /would modify the database/);
    assert.match(refusal('PRAGMA query_only = OFF').message, /PRAGMA statements are not accepted/);
    assert.match(refusal("ATTACH 'x' AS y").message, /starts with "ATTACH"/);
    for (const q of ['SELECT file FROM pragma_database_list', 'SELECT * FROM "PRAGMA_DATABASE_LIST"', 'SELECT * FROM main.[pragma_database_list]']) {
      assert.match(refusal(q).message, /pragma_database_list is not available: it shows local file paths/, q);
    }
    assert.equal(refusal('SELECT nope FROM t').code, 'sql');
    // A string that merely mentions the name is data, not a reference.
    assert.deepEqual(runStatement(db, "SELECT 'pragma_database_list'", limits).rows, [['pragma_database_list']]);
  });

  it('refuses an oversized cell before fetching it, naming row, column and size; computes each cell once', () => {
    const big = refusal('SELECT id, big FROM t ORDER BY id');
    assert.equal(big.code, 'refused');
    assert.match(big.message, /^row 7, column "big" holds 1\.1 MiB, above the 1\.0 MiB limit for one cell — select part of it/);
    const bomb = refusal("SELECT 'a' AS a, zeroblob(300000000) AS z");
    assert.match(bomb.message, /column "z" holds 286\.1 MiB/);
    let calls = 0;
    db.function('count_calls', (x: unknown) => {
      calls++;
      return x;
    });
    runStatement(db, 'SELECT count_calls(id) FROM t WHERE id <= 10', limits);
    assert.equal(calls, 10);
    assert.equal(runStatement(db, 'SELECT length(big) FROM t WHERE id = 7', limits).rows[0]![0], 1200000n);
  });

  it('caps rows and bytes, and says which cap stopped them', () => {
    const rows = runStatement(db, 'SELECT id FROM t', { ...limits, maxRows: 10 });
    assert.equal(rows.rows.length, 10);
    assert.equal(rows.truncated, 'rows');
    const bytes = runStatement(db, 'SELECT name FROM t', { ...limits, maxBytes: 100 });
    assert.equal(bytes.truncated, 'bytes');
    assert.ok(bytes.rows.length > 0 && bytes.rows.length < 20, String(bytes.rows.length));
  });

  it('checks the deadline between rows', () => {
    const slow = 'WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r';
    const err = refusal(slow, { ...limits, maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, timeoutMs: 200 });
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /ran past the 200 ms time limit/);
  });
});

describe('StatementRunner', () => {
  it('kills a statement stuck in one SQLite step at the time limit and serves the next one from a fresh process', async () => {
    const runner = new StatementRunner();
    after(() => runner.close());
    const endless = 'WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r';
    const started = performance.now();
    await assert.rejects(runner.run(path, endless, { ...limits, timeoutMs: 500 }), (err: unknown) => err instanceof StatementError && err.code === 'timeout');
    assert.ok(performance.now() - started < 5000);
    const r = await runner.run(path, "SELECT count(*), x'01' FROM t", limits);
    assert.deepEqual(r.rows, [[1000n, Buffer.from([1])]]);
    await assert.rejects(runner.run(path, 'SELECT zeroblob(400000000)', limits), /holds 381\.5 MiB/);
    await assert.rejects(runner.run(path, 'SELECT length(randomblob(900000000))', limits), (err: unknown) => err instanceof StatementError && err.code === 'sql');
  });
});
