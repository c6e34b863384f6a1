// `ingero import` driven as a user would: success prints a summary and nothing on stderr when
// piped (no progress bar); every bad input gives one line on stderr, exit 1, and leaves no
// output or staging file behind.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './cli-fixtures.ts';
import { progressBar } from '../cli/progress-bar.ts';
import { createV010, insertEvents } from './ingero-db-builder.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-import-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const T0 = 1_775_000_000_000_000_000n;

const ingero = (...args: string[]) => runCli(args, { cacheDir: join(work, 'cache') });

/** A small valid v0.10 database. */
function validDb(name: string): string {
  const path = join(work, name);
  const db = createV010(path);
  insertEvents(db, [
    { id: 'n:1', ts: T0, pid: 7, tid: 7, source: 1, op: 1, dur: 100n, arg0: 4096n, node: 'n' },
    { id: 'n:2', ts: T0 + 1000n, pid: 7, tid: 7, source: 1, op: 6, dur: 50n, node: 'n' },
  ]);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}

/** The output folder holds nothing but what was there before. */
function assertNothingWritten(out: string) {
  assert.equal(existsSync(out), false, `${out} must not exist`);
  assert.equal(existsSync(`${out}.staging`), false, 'no staging file left');
  assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('out-')), []);
}

function assertOneLineFailure(r: ReturnType<typeof ingero>, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^ingero: /);
  assert.match(lines[0]!, pattern);
}

test('success: a summary on stdout, nothing on stderr when piped, and the bundle verifies', () => {
  const src = validDb('ok.db');
  const out = join(work, 'ok.ingero');
  const r = ingero('import', src, '-o', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
  assert.match(r.stdout, /ok\.ingero: 2 events from Ingero v0\.10\+ \(1 node: n\)/);
  assert.equal(ingero('verify', out).code, 0);
  const json = ingero('import', src, '-o', join(work, 'ok2.ingero'), '--json');
  assert.equal(JSON.parse(json.stdout).events, 2);
});

test('missing source', () => {
  const out = join(work, 'out-missing.ingero');
  assertOneLineFailure(ingero('import', join(work, 'nope.db'), '-o', out), /nope\.db: no such file/);
  assertNothingWritten(out);
});

test('not an SQLite file', () => {
  const src = join(work, 'notes.db');
  writeFileSync(src, 'these are my notes, not a database\n'.repeat(10));
  const out = join(work, 'out-notsqlite.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /not an SQLite database/);
  assertNothingWritten(out);
});

test('corrupt database: pages overwritten', () => {
  const src = validDb('corrupt.db');
  const fd = openSync(src, 'r+');
  const size = statSync(src).size;
  for (let pos = 4096; pos < size; pos += 4096) writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, pos);
  closeSync(fd);
  const out = join(work, 'out-corrupt.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /damaged|cannot read/);
  assertNothingWritten(out);
});

test('corrupt database: truncated', () => {
  const src = validDb('truncated.db');
  const whole = readFileSync(src);
  writeFileSync(src, whole.subarray(0, whole.length / 2));
  const out = join(work, 'out-truncated.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /damaged/);
  assertNothingWritten(out);
});

test('unknown schema: an SQLite database that is not Ingero', () => {
  const src = join(work, 'other.db');
  const db = new Database(src);
  db.exec('CREATE TABLE invoices (id INTEGER, amount REAL)');
  db.close();
  const out = join(work, 'out-other.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /not an Ingero database: no events table \(found tables: invoices\)/);
  assertNothingWritten(out);
});

test('unknown schema: events lacks required columns', () => {
  const src = join(work, 'old.db');
  const db = new Database(src);
  db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, timestamp INTEGER, pid INTEGER); CREATE TABLE schema_info (key TEXT PRIMARY KEY, value TEXT); INSERT INTO schema_info VALUES ('version', '0.7')");
  db.close();
  const out = join(work, 'out-old.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /unknown Ingero schema: events lacks tid, source, op, duration, arg0, arg1 \(schema_info\.version "0\.7", user_version 0\)/);
  assertNothingWritten(out);
});

test('unknown schema: a user_version newer than any Ingero', () => {
  const src = validDb('future.db');
  const db = new Database(src);
  db.pragma('user_version = 11');
  db.close();
  const out = join(work, 'out-future.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /user_version 11 is newer than any known/);
  assertNothingWritten(out);
});

test('output path not writable: its folder is a file, or does not exist', () => {
  const src = validDb('fine.db');
  const blocker = join(work, 'out-blocker');
  writeFileSync(blocker, 'a file, not a folder');
  assertOneLineFailure(ingero('import', src, '-o', join(blocker, 'x.ingero')), /out-blocker is not an existing folder/);
  assert.equal(existsSync(join(work, 'nofolder')), false);
  assertOneLineFailure(ingero('import', src, '-o', join(work, 'nofolder', 'x.ingero')), /is not an existing folder/);
  assertOneLineFailure(ingero('import', src, '-o', '/proc/ingero-import-test.ingero'), /cannot write the bundle there/);
  rmSync(blocker);
});

test('a failure halfway (a timestamp from another clock) removes the partial bundle', () => {
  const src = join(work, 'mixed-clocks.db');
  const db = createV010(src);
  insertEvents(db, [
    { id: 'n:1', ts: 5n, pid: 7, tid: 7, source: 1, op: 1, dur: 100n, node: 'n' },
    { id: 'n:2', ts: T0, pid: 7, tid: 7, source: 1, op: 6, dur: 50n, node: 'n' },
  ]);
  db.close();
  const out = join(work, 'out-mixed.ingero');
  assertOneLineFailure(ingero('import', src, '-o', out), /timestamps span more than 104 days/);
  assertNothingWritten(out);
});

test('wrong usage: no -o', () => {
  const r = ingero('import', validDb('usage.db'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /required option '-o, --output <bundle>'/);
});

test('the progress bar draws on a terminal and stays silent otherwise', () => {
  const written: string[] = [];
  const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const bar = progressBar(tty);
  bar.update(50, 100, '50 / 100 events');
  bar.update(100, 100, 'sealing');
  bar.clear();
  // After the percentage, the time elapsed since the bar was made.
  assert.match(written[0]!, /^\r\[#{15}\.{15}\] {2}50% \d+\.\d s 50 \/ 100 events\x1b\[K$/);
  assert.match(written[1]!, /^\r\[#{30}\] 100% \d+\.\d s sealing\x1b\[K$/, 'the last update always draws');
  assert.equal(written[2], '\r\x1b[K');
  const piped: string[] = [];
  const quiet = progressBar({ isTTY: false, write: (s: string) => piped.push(s) } as unknown as NodeJS.WriteStream);
  quiet.update(1, 2, 'x');
  quiet.clear();
  assert.deepEqual(piped, []);
});
