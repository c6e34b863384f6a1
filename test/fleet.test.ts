// Fleet scale: Parquet export, `ingero query` (DuckDB) and `stats --dir` over 100 generated
// bundles from 10 nodes. Every number is checked against something that does not share the
// code under test: per-bundle `computeStats` (JS, exact), durations read straight from each
// bundle's SQLite, and the Parquet files read back by hyparquet, an independent pure-JS reader.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { decompress } from 'zstd-napi';
import { computeStats, explain, scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { summarize } from '../analyze/stats.ts';
import { exportParquet, FLEET_TABLES, FleetDataset } from '../analyze/fleet/index.ts';
import { openBundle } from '../format/index.ts';
import { assertOneLineError, runCli } from './cli-fixtures.ts';
import { EVENTS, HOSTILE, PID, writeHostileBundle } from './mcp-fixtures.ts';

const BUNDLES = 100;
const NODES = 10;
const SCENARIOS = ['sync-stall', 'healthy', 'cpu-contention'];

let work: string;
let fleetDir: string;
let cacheDir: string;
const paths: string[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ingero-fleet-test-'));
  fleetDir = join(work, 'fleet');
  cacheDir = join(work, 'cache');
  mkdirSync(fleetDir);
  for (let i = 0; i < BUNDLES; i++) {
    const path = join(fleetDir, `run-${String(i).padStart(3, '0')}.ingero`);
    await writeDemoBundle(path, scenarioByName(SCENARIOS[i % SCENARIOS.length]!)!, { seed: i + 1, scale: 0.05, nodeName: `gpu-node-${String(i % NODES).padStart(2, '0')}`, compressionLevel: 1 });
    paths.push(path);
  }
  process.env.INGERO_CACHE_DIR = cacheDir;
});

after(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args, { cacheDir });
const PER_BUNDLE_SQL = 'SELECT bundle, op, count(*) AS count, sum(dur_ns) AS total_ns, min(dur_ns) AS min_ns, max(dur_ns) AS max_ns, quantile_disc(dur_ns, [0.5, 0.9, 0.95, 0.99, 0.999]) AS q FROM events GROUP BY bundle, op ORDER BY bundle, op';
/** What the query over the bundles printed, for the export to match. */
let perBundleJson = '';

describe('ingero query over a fleet of generated bundles', () => {
  test('counts, sums and exact percentiles per bundle and op equal each bundle\'s stats', () => {
    const r = cli(['query', fleetDir, PER_BUNDLE_SQL, '--json']);
    perBundleJson = r.stdout;
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { bundle: string; op: string; count: number; total_ns: number; min_ns: number; max_ns: number; q: number[] }[];
    const byKey = new Map(rows.map((row) => [`${row.bundle}/${row.op}`, row]));
    let compared = 0;
    for (const path of paths) {
      const bundle = openBundle(path);
      try {
        const digest = bundle.manifest.database.sha256;
        for (const s of computeStats(bundle).ops) {
          const got = byKey.get(`${digest}/${s.op}`);
          assert.ok(got, `${path} ${s.op} missing from the query`);
          assert.deepEqual([got.count, got.total_ns, got.min_ns, got.max_ns, ...got.q], [s.count, s.total_ns, s.min_ns, s.max_ns, s.p50_ns, s.p90_ns, s.p95_ns, s.p99_ns, s.p999_ns], `${path} ${s.op}`);
          compared++;
        }
      } finally {
        bundle.close();
      }
    }
    assert.equal(compared, rows.length, 'no op rows beyond the bundles\' own');
    assert.ok(compared > BUNDLES * 5);
  });

  test('stats --dir: per node and op across bundles, percentiles exact over the durations each bundle holds', () => {
    const r = cli(['stats', '--dir', fleetDir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { bundles: number; nodes: number; events: number; rows: Record<string, number | string>[] };
    // Expected numbers straight from SQLite: every duration of a (node, op), sorted in JS.
    const durations = new Map<string, number[]>();
    const bundlesOf = new Map<string, Set<string>>();
    let events = 0;
    for (const path of paths) {
      const bundle = openBundle(path);
      try {
        events += bundle.eventCount();
        const node = bundle.manifest.nodes[0]!;
        for (const e of bundle.db.prepare('SELECT o.name AS op, e.dur_ns AS dur FROM events e JOIN ops o ON o.id = e.op_id').iterate() as IterableIterator<{ op: string; dur: number }>) {
          const key = `${node}/${e.op}`;
          let list = durations.get(key);
          if (!list) durations.set(key, (list = []));
          list.push(e.dur);
          let set = bundlesOf.get(key);
          if (!set) bundlesOf.set(key, (set = new Set()));
          set.add(path);
        }
      } finally {
        bundle.close();
      }
    }
    assert.equal(report.bundles, BUNDLES);
    assert.equal(report.nodes, NODES);
    assert.equal(report.events, events);
    assert.equal(report.rows.length, durations.size);
    for (const row of report.rows) {
      const key = `${row.node}/${row.op}`;
      const expected = summarize(Float64Array.from(durations.get(key)!).sort());
      const { mean_ns: _mean, ...exact } = expected;
      const got = Object.fromEntries(Object.keys(exact).map((k) => [k, row[k]]));
      assert.deepEqual(got, exact, key);
      assert.equal(row.bundles, bundlesOf.get(key)!.size, key);
    }
  });

  test('a Parquet export answers like the bundles it came from', () => {
    const out = join(work, 'export-all');
    const e = cli(['export', '--format', 'parquet', '--no-findings', '-o', out, fleetDir]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, new RegExp(`wrote .*: ${BUNDLES} bundles, [\\d,]+ events in [\\d,]+ Parquet files`));
    assert.equal(readdirSync(join(out, 'events')).length, BUNDLES);
    const fromExport = cli(['query', out, PER_BUNDLE_SQL, '--json']);
    assert.equal(fromExport.code, 0, fromExport.stderr);
    assert.ok(perBundleJson.length > 0);
    assert.equal(fromExport.stdout, perBundleJson);
    // The same bundle given twice (directory and file, export and bundle) counts once.
    const twice = cli(['query', out, paths[0]!, 'SELECT count(*) AS bundles FROM bundles', '--json']);
    assert.equal(twice.code, 0, twice.stderr);
    assert.deepEqual(JSON.parse(twice.stdout), [{ bundles: BUNDLES }]);
    assert.match(twice.stderr, /same recording as one given before/);
  });
});

describe('the Parquet cache of bundles queried directly', () => {
  const SQL = 'SELECT node, op, count(*) AS n, sum(dur_ns) AS total, quantile_disc(dur_ns, 0.99) AS p99 FROM events GROUP BY node, op ORDER BY node, op';
  const entryOf = (path: string) => {
    const b = openBundle(path);
    const digest = b.manifest.database.sha256;
    b.close();
    return { digest, dir: join(cacheDir, 'parquet-v1', digest) };
  };
  /** Each data file of an entry with its inode and modification time: a rebuild changes them. */
  const files = (dir: string) =>
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name !== 'entry.json')
      .map((e) => join(e.parentPath, e.name))
      .sort()
      .map((f) => ({ f, id: `${statSync(f).ino}/${statSync(f).mtimeMs}` }));

  test('the second query reads the cached conversion and answers the same; a tampered entry is rebuilt, not read', () => {
    const target = paths[7]!;
    const other = paths[8]!;
    const first = cli(['query', target, SQL, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const { digest, dir } = entryOf(target);
    const record = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as { digest: string; files: Record<string, string> };
    assert.equal(record.digest, digest);
    const built = files(dir);
    assert.deepEqual(Object.keys(record.files).sort(), built.map(({ f }) => f.slice(dir.length + 1)), 'entry.json lists every file');

    const second = cli(['query', target, SQL, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.deepEqual(files(dir), built, 'no file rewritten: the cache was read');

    // Replace the events with another bundle's (valid Parquet, other numbers): the hashes in
    // entry.json no longer match, so the entry is rebuilt from the bundle.
    const otherAnswer = cli(['query', other, SQL, '--json']);
    assert.equal(otherAnswer.code, 0, otherAnswer.stderr);
    assert.notEqual(otherAnswer.stdout, first.stdout, 'the substitute would change the answer if read');
    const events = join(dir, 'events', `bundle=${digest}`, 'part-0.parquet');
    const substitute = join(entryOf(other).dir, 'events', `bundle=${entryOf(other).digest}`, 'part-0.parquet');
    writeFileSync(events, readFileSync(substitute));
    const third = cli(['query', target, SQL, '--json']);
    assert.equal(third.code, 0, third.stderr);
    assert.equal(third.stdout, first.stdout);
    assert.notDeepEqual(readFileSync(events), readFileSync(substitute), 'the tampered file was replaced');
    const rebuilt = JSON.parse(readFileSync(join(dir, 'entry.json'), 'utf8')) as { files: Record<string, string> };
    assert.deepEqual(rebuilt.files, record.files, 'the rebuild writes the same bytes');
  });

  test('--findings adds the analyzer\'s findings for the run; the cached entry holds only the recording', () => {
    const r = cli(['query', paths[0]!, "SELECT count(*) AS n FROM findings WHERE origin = 'ingero explain'", '--json', '--findings']);
    assert.equal(r.code, 0, r.stderr);
    const bundle = openBundle(paths[0]!);
    const expected = explain(bundle).findings.length;
    bundle.close();
    assert.ok(expected > 0);
    assert.deepEqual(JSON.parse(r.stdout), [{ n: expected }]);
    const plain = cli(['query', paths[0]!, "SELECT count(*) AS n FROM findings WHERE origin = 'ingero explain'", '--json']);
    assert.deepEqual(JSON.parse(plain.stdout), [{ n: 0 }]);
  });
});

describe('Parquet read back by an independent reader', () => {
  const compressors = { ZSTD: (input: Uint8Array) => new Uint8Array(decompress(input)) };
  const read = async (file: string) => parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
  const partFiles = (root: string, table: string, digest: string) => {
    const dir = join(root, table, `bundle=${digest}`);
    return readdirSync(dir).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0])).map((n) => join(dir, n));
  };

  test('events, ops, nodes, processes, threads and bundles equal the bundles row for row (parts of 700 events, zstd)', async () => {
    const out = join(work, 'export-parts');
    const picked = paths.slice(0, 4);
    const summary = await exportParquet(picked, out, { rowsPerPart: 700, analysis: false });
    assert.equal(summary.bundles, 4);
    for (const path of picked) {
      const bundle = openBundle(path);
      try {
        const digest = bundle.manifest.database.sha256;
        const origin = BigInt(bundle.manifest.time.origin_unix_ns);
        const files = partFiles(out, 'events', digest);
        assert.equal(files.length, Math.ceil(bundle.eventCount() / 700), 'one part per 700 events');
        const got: Record<string, unknown>[] = [];
        for (const f of files) {
          const meta = await parquetMetadataAsync(await asyncBufferFromFile(f));
          assert.ok(meta.row_groups.every((g) => Number(g.num_rows) <= 700));
          assert.ok(meta.row_groups[0]!.columns.every((c) => c.meta_data?.codec === 'ZSTD'), 'zstd');
          got.push(...(await read(f)));
        }
        const stmt = bundle.db.prepare(`SELECT e.id, e.ts_ns, e.dur_ns, e.node_id, n.name AS node, e.pid, e.tid, e.op_id, o.name AS op, s.name AS source, e.arg0, e.arg1, e.arg2, e.arg3, e.ret, e.stack_id
          FROM events e JOIN nodes n ON n.id = e.node_id JOIN ops o ON o.id = e.op_id JOIN sources s ON s.id = o.source_id ORDER BY e.id`).safeIntegers(true);
        const want = (stmt.all() as Record<string, unknown>[]).map((r): Record<string, unknown> => ({ ...r, ts_unix_ns: origin + (r.ts_ns as bigint) }));
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) {
          const w = want[i]!;
          const g = Object.fromEntries(Object.keys(w).map((k) => [k, got[i]![k] ?? null]));
          assert.deepEqual(g, w, `${path} event ${String(w.id)}`);
        }
        const rows = async (table: string) => (await Promise.all(partFiles(out, table, digest).map(read))).flat();
        const sqlRows = (sql: string) => bundle.db.prepare(sql).safeIntegers(true).all() as Record<string, unknown>[];
        const same = (a: Record<string, unknown>[], b: Record<string, unknown>[], what: string) =>
          assert.deepEqual(a.map((r) => Object.fromEntries(Object.keys(b[0] ?? {}).map((k) => [k, r[k] ?? null]))), b, what);
        same(await rows('ops'), sqlRows('SELECT id, source_id, name, description FROM ops ORDER BY id'), 'ops');
        same(await rows('nodes'), sqlRows('SELECT id, name, clock_offset_ns FROM nodes ORDER BY id'), 'nodes');
        same(await rows('processes'), sqlRows('SELECT id, node_id, pid, ppid, start_ns, end_ns, exit_code, comm, cmdline, cgroup FROM processes ORDER BY id'), 'processes');
        same(await rows('threads'), sqlRows('SELECT node_id, tid, pid, first_ns, comm FROM threads ORDER BY node_id, tid, first_ns'), 'threads');
        same(await rows('stack_frames'), sqlRows('SELECT stack_id, depth FROM stack_frames ORDER BY stack_id, depth'), 'stack_frames');
        const [b] = await rows('bundles');
        assert.equal(b!.origin_unix_ns, origin);
        assert.equal(b!.events, BigInt(bundle.eventCount()));
        assert.equal(b!.hostname, bundle.manifest.nodes[0]);
        assert.equal(b!.producer, 'ingero');
      } finally {
        bundle.close();
      }
    }
  });

  test('a hostile bundle: unknown ops named op_<source>_<index>, traced strings and 64-bit pointers kept exactly', async () => {
    // In its own folder: work itself must stay a folder of no bundles (the refusals below).
    mkdirSync(join(work, 'hostile'));
    const path = join(work, 'hostile', 'hostile.ingero');
    await writeHostileBundle(path);
    const out = join(work, 'export-hostile');
    await exportParquet([path], out, { analysis: false });
    const bundle = openBundle(path);
    try {
      const digest = bundle.manifest.database.sha256;
      // The reference, in SQLite's own SQL (integer division truncates there, as in the layout).
      const want = bundle.db
        .prepare(`SELECT e.id, e.arg0, coalesce(n.name, CAST(e.node_id AS TEXT)) AS node, coalesce(o.name, 'op_' || (e.op_id / 256) || '_' || (e.op_id % 256)) AS op,
            CASE WHEN o.id IS NULL THEN 'source_' || (e.op_id / 256) ELSE coalesce(s.name, 'source_' || o.source_id) END AS source
          FROM events e LEFT JOIN nodes n ON n.id = e.node_id LEFT JOIN ops o ON o.id = e.op_id LEFT JOIN sources s ON s.id = o.source_id ORDER BY e.id`)
        .safeIntegers(true)
        .all() as Record<string, unknown>[];
      const got = (await Promise.all(partFiles(out, 'events', digest).map(read))).flat();
      assert.equal(got.length, EVENTS);
      assert.deepEqual(got.map((r) => ({ id: r.id, arg0: r.arg0 ?? null, node: r.node, op: r.op, source: r.source })), want);
      assert.ok(want.some((r) => /^op_200_/.test(String(r.op))), 'the bundle has ops no table names');
      assert.ok(want.some((r) => r.arg0 === 0x7f0000001000n), 'and 64-bit pointers');
      const [proc] = (await Promise.all(partFiles(out, 'processes', digest).map(read))).flat().filter((r) => r.pid === BigInt(PID));
      assert.deepEqual([proc!.comm, proc!.cmdline], [HOSTILE.comm, HOSTILE.cmdline]);
    } finally {
      bundle.close();
    }
  });
});

describe('spec/parquet-layout.md', () => {
  const spec = readFileSync(join(import.meta.dirname, '..', 'spec', 'parquet-layout.md'), 'utf8');

  test('documents every table and column of an export, with its type, in order', async () => {
    const out = join(work, 'export-spec');
    await exportParquet(paths.slice(0, 3), out, { analysis: false });
    const fleet = await FleetDataset.open([out]);
    try {
      const PARQUET_TYPE: Record<string, string> = { BIGINT: 'INT64', VARCHAR: 'STRING', BOOLEAN: 'BOOLEAN' };
      for (const table of FLEET_TABLES) {
        const section = spec.split(`\n### ${table}\n`)[1]?.split('\n#')[0];
        assert.ok(section, `spec has a section for ${table}`);
        const documented = [...section.matchAll(/^\| (\w+) \| (\w+) \|/gm)].map((m) => `${m[1]} ${m[2]}`).filter((c) => c !== 'column type');
        const actual = (await fleet.query(`SELECT column_name, column_type FROM (DESCRIBE ${table}) WHERE column_name <> 'bundle'`)).rows.map((r) => `${r[0]} ${PARQUET_TYPE[String(r[1])] ?? r[1]}`);
        assert.deepEqual(documented, actual, table);
      }
      // The portable rank form of the reference query gives quantile_disc's exact values.
      const blocks = [...spec.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().replace(/;$/, ''));
      const [reference, portable] = blocks.filter((b) => /p99_ns/.test(b) && /GROUP BY node, op ORDER BY node, op/.test(b));
      const a = await fleet.query(`SELECT node, op, p50_ns, p99_ns FROM (${reference!})`);
      const b = await fleet.query(`SELECT node, op, p50_ns, p99_ns FROM (${portable!})`);
      assert.ok(a.rows.length > 5);
      assert.deepEqual(b.rows, a.rows);
    } finally {
      fleet.close();
    }
  });
});

describe('refusals: one line, non-zero exit, nothing half-written', () => {
  test('bad path, bad SQL, writes, file access and the time limit', () => {
    assertOneLineError(cli(['query', join(work, 'nope'), 'SELECT 1']), /nope: no such file or directory/);
    assertOneLineError(cli(['query', paths[0]!, 'SELECT nope FROM events']), /SQL error: .*nope/);
    // Outside the inputs no file can be reached at all; inside them, nothing but SELECT runs.
    assertOneLineError(cli(['query', paths[0]!, `COPY events TO '${join(work, 'x.csv')}'`]), /disabled by configuration/);
    assert.equal(existsSync(join(work, 'x.csv')), false);
    const out = join(work, 'export-readonly');
    assert.equal(cli(['export', '--format', 'parquet', '--no-findings', '-o', out, paths[0]!]).code, 0);
    assertOneLineError(cli(['query', out, `COPY events TO '${join(out, 'x.csv')}'`]), /only SELECT statements/);
    assert.equal(existsSync(join(out, 'x.csv')), false);
    assertOneLineError(cli(['query', paths[0]!, "SELECT * FROM read_text('/etc/hostname')"]), /disabled by configuration/);
    assertOneLineError(cli(['query', paths[0]!, 'SELECT 1; SELECT 2']), /exactly one SQL statement/);
    assertOneLineError(cli(['query', paths[0]!, "SET enable_external_access = true"]), /only SELECT/);
    const slow = cli(['query', paths[0]!, 'SELECT count(*) FROM events a, events b, events c, events d', '--time-limit', '300ms']);
    assertOneLineError(slow, /time limit of 0\.3 s.*--time-limit/);
    assertOneLineError(cli(['query', work, 'SELECT 1']), /holds no \.ingero bundles and is not a Parquet export/);
  });

  test('a damaged bundle among the inputs leaves no export and no temporary directory', () => {
    const bad = join(work, 'bad.ingero');
    writeFileSync(bad, 'not a bundle at all, just text');
    const out = join(work, 'export-bad');
    const r = cli(['export', '--format', 'parquet', '-o', out, paths[0]!, bad]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /bad\.ingero/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(work).filter((n) => n.includes('export-bad')), [], 'no temporary directory left');
    rmSync(bad);
  });

  test('an existing output needs --force; JSON-trace filters are refused for Parquet', () => {
    const out = join(work, 'export-force');
    assert.equal(cli(['export', '--format', 'parquet', '--no-findings', '-o', out, paths[1]!]).code, 0);
    assertOneLineError(cli(['export', '--format', 'parquet', '-o', out, paths[1]!]), /exists — pass --force/);
    const again = cli(['export', '--format', 'parquet', '--no-findings', '--force', '--json', '-o', out, paths[2]!]);
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as { bundles: number; events: number; files: number };
    const b = openBundle(paths[2]!);
    assert.deepEqual([summary.bundles, summary.events, summary.files], [1, b.eventCount(), 10]);
    b.close();
    assert.equal(readdirSync(join(out, 'events')).length, 1, 'the old export was replaced, not added to');
    assertOneLineError(cli(['export', '--format', 'parquet', '--pid', '1', '-o', join(work, 'x'), paths[1]!]), /--pid applies to the JSON trace only/);
    assertOneLineError(cli(['export', paths[1]!, paths[2]!, '-o', join(work, 'x.json')]), /JSON trace holds one bundle/);
  });

  test('the analyzer\'s findings land in the findings view of an export', async () => {
    const out = join(work, 'export-findings');
    await exportParquet([paths[0]!], out, {});
    const bundle = openBundle(paths[0]!);
    const expected = explain(bundle).findings.map((f) => `${f.severity} ${f.kind} ${f.op}`).sort();
    bundle.close();
    assert.ok(expected.length > 0, 'the demo scenario has findings');
    const fleet = await FleetDataset.open([out]);
    try {
      const r = await fleet.query("SELECT severity || ' ' || kind || ' ' || op FROM findings WHERE origin = 'ingero explain' ORDER BY 1");
      assert.deepEqual(r.rows.map((row) => row[0]), expected);
    } finally {
      fleet.close();
    }
  });
});
