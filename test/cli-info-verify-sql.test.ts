// ingero info / verify / sql as a user runs them: real processes, exit codes, one-line errors
// without stack traces, and the --json / --csv outputs parsed back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { assertOneLineError, runCli } from './cli-fixtures.ts';

const root = join(import.meta.dirname, '..');
const vectors = join(root, 'spec', 'vectors');
const cache = mkdtempSync(join(tmpdir(), 'ingero-cli-test-'));
after(() => rmSync(cache, { recursive: true, force: true }));

const ingero = (...args: string[]) => runCli(args, { cacheDir: cache });


describe('ingero info', () => {
  test('summarises from the manifest; --json carries the manifest', () => {
    const text = ingero('info', join(vectors, 'multi-node-sampled.ingero'));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^events\s+120$/m);
    assert.match(text.stdout, /^nodes\s+node-a, node-b$/m);
    assert.match(text.stdout, /^dropped\s+12 events lost during capture$/m);
    assert.match(text.stdout, /^sampled\s+yes/m);
    const json = ingero('info', '--json', join(vectors, 'multi-node-sampled.ingero'));
    assert.equal(json.code, 0);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.container_version, '1.0');
    assert.equal(parsed.manifest.counts.events, 120);
    assert.equal(parsed.manifest.created_unix_ns, '1767225600000000000');
  });

  test('refuses a newer container with the version it needs', () => {
    const r = ingero('info', join(vectors, 'newer-container-major.ingero'));
    assert.equal(r.code, 1);
    assertOneLineError(r, /needs a reader for version 2\.x.*upgrade ingero/);
    assert.equal(r.stdout, '');
  });

  test('a missing file is one line, exit 1', () => {
    const r = ingero('info', join(vectors, 'nope.ingero'));
    assert.equal(r.code, 1);
    assertOneLineError(r, /no such file — check the path/);
  });
});

describe('ingero verify', () => {
  test('ok bundles exit 0 with one line each', () => {
    const r = ingero('verify', join(vectors, 'cuda-basic.ingero'), join(vectors, 'stacks.ingero'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 2);
    assert.match(r.stdout, /cuda-basic\.ingero: ok \(200 events, sha256 [0-9a-f]{16}…\)/);
  });

  test('each broken bundle gets one line led by its spec code and exit 3; --json lists code and message', () => {
    const expected = JSON.parse(readFileSync(join(vectors, 'expected.json'), 'utf8')) as Record<string, { error: string; message: string }>;
    const names = ['truncated.ingero', 'flipped-data.ingero', 'trigger.ingero', 'lying-sha256.ingero', 'oversized-frame.ingero', 'newer-schema.ingero'];
    const broken = names.map((f) => join(vectors, f));
    const r = ingero('verify', join(vectors, 'cuda-basic.ingero'), ...broken);
    assert.equal(r.code, 3);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, broken.length);
    names.forEach((name, i) => {
      const m = /^ingero: ([A-Z_]+): (.*)$/.exec(lines[i]!);
      assert.ok(m, lines[i]);
      assert.match(m[1]!, new RegExp(`^(${expected[name]!.error})$`), lines[i]);
      assert.ok(m[2]!.startsWith(`${broken[i]}: `), lines[i]);
      assert.match(m[2]!, new RegExp(expected[name]!.message));
    });
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const json = ingero('verify', '--json', ...broken);
    assert.equal(json.code, 3);
    const reports = JSON.parse(json.stdout) as { path: string; ok: boolean; problems: { code: string; message: string }[] }[];
    assert.deepEqual(reports.map((x) => x.ok), names.map(() => false));
    names.forEach((name, i) => assert.match(reports[i]!.problems[0]!.code, new RegExp(`^(${expected[name]!.error})$`)));
    assert.match(reports[2]!.problems[0]!.message, /contains a trigger/);
  });

  test('full-verification mismatches of bundles that open are printed with their codes', () => {
    const r = ingero('verify', join(vectors, 'resigned-manifest.ingero'), join(vectors, 'events-out-of-order.ingero'));
    assert.equal(r.code, 3);
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 2, r.stderr);
    assert.ok(lines.some((l) => /^ingero: CORRUPT: .*resigned-manifest\.ingero: manifest counts\.events says 5, the database says 200/.test(l)), r.stderr);
    assert.ok(lines.some((l) => /^ingero: SCHEMA: .*events-out-of-order\.ingero: 1 events are out of start-time order/.test(l)), r.stderr);
    const reports = JSON.parse(ingero('verify', '--json', join(vectors, 'events-out-of-order.ingero')).stdout) as { problems: { code: string; message: string }[] }[];
    assert.deepEqual(reports[0]!.problems.map((p) => p.code), ['SCHEMA']);
  });
});

describe('ingero sql', () => {
  const bundle = join(vectors, 'cuda-basic.ingero');
  const query = "SELECT o.name AS op, count(*) AS n, max(e.arg0) AS max_arg0 FROM events e JOIN ops o ON o.id = e.op_id GROUP BY o.name ORDER BY o.name";

  test('aligned table output with a row count', () => {
    const r = ingero('sql', bundle, query);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^op\s+n\s+max_arg0$/);
    assert.match(lines[1]!, /^-+\s+-+\s+-+$/);
    assert.equal(lines.at(-1), '(3 rows)');
    // Numbers are right-aligned: every line of the table ends at the same column.
    assert.equal(new Set(lines.slice(0, -1).map((l) => l.length)).size, 1, r.stdout);
    assert.match(lines[2]!, /^cudaLaunchKernel\s+120\s+139641712607424$/);
  });

  test('--json keeps 64-bit integers exact; --csv has a header', () => {
    const json = ingero('sql', '--json', bundle, query);
    assert.equal(json.code, 0, json.stderr);
    assert.match(json.stdout, /"max_arg0": 139641712607424\b/);
    const rows = JSON.parse(json.stdout) as { op: string; n: number }[];
    assert.deepEqual(rows.map((r) => r.op), ['cudaLaunchKernel', 'cudaMemcpyAsync', 'sched_switch']);
    assert.equal(rows.reduce((s, r) => s + r.n, 0), 200);
    const csv = ingero('sql', '--csv', bundle, query);
    assert.equal(csv.code, 0);
    const lines = csv.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'op,n,max_arg0');
    assert.equal(lines.length, 4);
    assert.equal(lines[1]!.split(',')[0], 'cudaLaunchKernel');
  });

  test('--schema prints every table with its columns, units and meanings from the bundle\'s DDL', () => {
    const r = ingero('sql', bundle, '--schema');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^events: One row per traced call or kernel event\./);
    assert.match(r.stdout, /\nts_ns +INTEGER +ns +Start of the event, in ns since the bundle time origin/);
    assert.match(r.stdout, /\nprocesses: Process incarnations, keyed by \(node_id, pid, start_ns\)/);
    const neither = ingero('sql', bundle);
    assert.equal(neither.code, 2);
    assertOneLineError(neither, /missing the query.*--schema/);
    const both = ingero('sql', bundle, 'SELECT 1', '--schema');
    assert.equal(both.code, 2);
    assertOneLineError(both, /either a query or --schema/);
  });

  test('writes are refused, SQL errors are usage errors (exit 2), hostile bundles exit 1', () => {
    const write = ingero('sql', bundle, 'DELETE FROM events');
    assert.equal(write.code, 2);
    assertOneLineError(write, /only read-only queries are accepted.*starts with "DELETE"/);
    const typo = ingero('sql', bundle, 'SELECT 1 FRM events');
    assert.equal(typo.code, 2);
    assertOneLineError(typo, /SQL error/);
    const both = ingero('sql', '--json', '--csv', bundle, 'SELECT 1');
    assert.equal(both.code, 2);
    const hostile = ingero('sql', join(vectors, 'view.ingero'), 'SELECT * FROM events_v');
    assert.equal(hostile.code, 1);
    assertOneLineError(hostile, /contains a view/);
  });

  test('--timeout stops a statement stuck inside one SQLite step; --max-rows caps the rows and says so', () => {
    const endless = ingero('sql', '--timeout', '300ms', bundle, 'WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r');
    assert.equal(endless.code, 1);
    assertOneLineError(endless, /ran past the 300 ms time limit.*--timeout/);
    const capped = ingero('sql', '--csv', '--max-rows', '5', bundle, 'SELECT id FROM events ORDER BY id');
    assert.equal(capped.code, 0, capped.stderr);
    assert.deepEqual(capped.stdout.trimEnd().split('\n'), ['id', '1', '2', '3', '4', '5']);
    assert.match(capped.stderr, /^ingero: stopped after 5 rows — --max-rows raises the cap/);
    const bad = ingero('sql', '--timeout', 'soon', bundle, 'SELECT 1');
    assert.equal(bad.code, 2);
    assertOneLineError(bad, /--timeout takes a duration/);
  });

  test('a cell above the cell limit is refused by name before it is fetched', () => {
    const r = ingero('sql', bundle, 'SELECT 1 AS small, zeroblob(400000000) AS huge');
    assert.equal(r.code, 2);
    assertOneLineError(r, /row 1, column "huge" holds 381\.5 MiB, above the 16\.0 MiB limit for one cell — select part of it/);
  });
});
