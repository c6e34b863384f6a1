// The two pure guards of the MCP server: traced-string sanitizing and the run_sql statement-kind
// gate (read the way SQLite's tokenizer reads, comments included).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capUtf8, cleanString, sanitizeValue } from '../mcp/sanitize.ts';
import { refuseStatement } from '../format/index.ts';

describe('traced-string sanitizing', () => {
  it('removes controls, bidi, zero-width, tag and BOM characters and keeps newlines', () => {
    assert.equal(cleanString('a\u0000b\u0007c\u001b[31md\re\u0085f\u202Eg\u2066h\u2069i\u200Bj\uFEFFk\u{E0041}l\nm'), 'abc[31mdefghijkl\nm');
    assert.equal(cleanString('x\uD800y'), 'x\uFFFDy');
  });

  it('caps UTF-8 without splitting characters and says how long the value was', () => {
    const s = capUtf8('é'.repeat(1000), 100);
    assert.ok(Buffer.byteLength(s) <= 100);
    assert.match(s, /^é+…\[truncated, 2000 bytes in all\]$/);
    assert.equal(capUtf8('short', 100), 'short');
  });

  it('keeps big integers exact and cleans keys as well as values', () => {
    assert.deepEqual(sanitizeValue({ big: 2n ** 60n, small: 7n, ['k\u202E']: [undefined, 1.5] }), { big: '1152921504606846976', small: 7, k: [null, 1.5] });
  });
});

describe('statement-kind gate (format/sql-statement.ts)', () => {
  it('lets queries through', () => {
    for (const q of ['SELECT 1', '  select 1', 'WITH x AS (SELECT 1) SELECT * FROM x', 'VALUES (1)', 'EXPLAIN QUERY PLAN SELECT 1', 'EXPLAIN SELECT 1', '/* c */ -- d\n SELECT 1', 'Select\t1']) {
      assert.equal(refuseStatement(q), null, q);
    }
  });

  it('refuses everything else, however it is disguised', () => {
    for (const q of ['PRAGMA query_only=OFF', 'pragma writable_schema=1', 'EXPLAIN PRAGMA query_only=OFF', 'EXPLAIN QUERY PRAGMA x', "ATTACH 'x' AS y", 'DETACH y', '/* SELECT */ DELETE FROM events', '-- SELECT\nDROP TABLE t', '/* unterminated SELECT', '', '   ', 'BEGIN', 'VACUUM', 'REINDEX', 'ANALYZE', 'CREATE TABLE t(x)', ';SELECT 1']) {
      assert.notEqual(refuseStatement(q), null, JSON.stringify(q));
    }
    assert.match(refuseStatement('PRAGMA table_info(events)')!, /pragma_table_info/);
  });
});
