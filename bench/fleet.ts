// bench/fleet: fleet scale with the real CLI in fresh processes (wall time and peak RSS from
// /usr/bin/time), every figure next to its baseline measured in the same run:
// - `ingero export --format parquet` of a directory of N bundles of E events, of one of those
//   bundles alone and of one bundle of BIG events (peak RSS should not grow with the bundle:
//   events travel in parts of 1,048,576);
// - fleet-wide per-op p50/p99 by node: `ingero query` on the export and on the bundles (first
//   run converting them into the Parquet cache, second run reading it), and `ingero stats
//   --dir`, against a loop of the sqlite3 CLI over the same (decompressed) bundle databases
//   that dumps (node, op, dur_ns) and merges the durations in JS (the answers are checked equal);
// - one bundle of BIG events: `ingero stats` (our analyzer) against DuckDB over its Parquet
//   export, in a fresh process and in-process (the engine alone), and on the bundle itself.
//
//   npx tsx bench/fleet.ts [--bundles 20] [--events 200000] [--big 2000000] [--data DIR] [--keep]
//
// Bundles are generated once into --data (default bench/out) and reused, so a large fleet can
// live outside the checkout; the caches go beside them and are removed unless --keep.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetDataset } from '../analyze/fleet/index.ts';
import { percentile } from '../analyze/percentile.ts';
import { openBundle } from '../format/index.ts';
import { ensureDemoBundle, type BenchScenario } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    bundles: { type: 'string', default: '20' },
    events: { type: 'string', default: '200000' },
    big: { type: 'string', default: '2000000' },
    data: { type: 'string', default: join(ROOT, 'bench', 'out') },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.bundles);
const E = Number(args.events);
const BIG = Number(args.big);
const NODES = 10;
const SCENARIOS: BenchScenario[] = ['sync-stall', 'healthy', 'cpu-contention'];
const outDir = args.data!;
const fleetDir = join(outDir, `fleet-${N}x${E}`);
const bigPath = join(outDir, `fleet-big-${BIG}.ingero`);
const cacheDir = join(outDir, 'cache-fleet');
process.env.INGERO_CACHE_DIR = cacheDir;
mkdirSync(fleetDir, { recursive: true });

const paths: string[] = [];
for (let i = 0; i < N; i++) {
  const path = join(fleetDir, `run-${String(i).padStart(3, '0')}.ingero`);
  await ensureDemoBundle(path, SCENARIOS[i % SCENARIOS.length]!, E, { seed: i + 1, nodeName: `gpu-node-${String(i % NODES).padStart(2, '0')}` });
  paths.push(path);
}
await ensureDemoBundle(bigPath, 'sync-stall', BIG);
// Decompress every bundle into the cache once, so that no measurement below pays for it and
// the sqlite3 loop reads the same databases.
let fleetEvents = 0;
const dbPaths = paths.map((p) => {
  const b = openBundle(p);
  fleetEvents += b.eventCount();
  b.close();
  return b.databasePath;
});
const big = openBundle(bigPath);
const bigEvents = big.eventCount();
big.close();

const scratch = mkdtempSync(join(tmpdir(), 'ingero-bench-fleet-'));
const cli = join(ROOT, 'bin', 'ingero.mjs');

/** Runs a command under /usr/bin/time: wall ms, peak RSS and its stdout. */
function measure(command: string[]) {
  const t0 = performance.now();
  const shell = `/usr/bin/time -f %M ${command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`;
  const r = spawnSync('sh', ['-c', shell], { encoding: 'utf8', maxBuffer: 256 << 20, env: process.env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`);
  return { ms, maxRssMb: Number(r.stderr.trim().split('\n').pop()) / 1024, stdout: r.stdout };
}
const ingero = (...a: string[]) => measure([process.execPath, cli, ...a]);

const PER_NODE_SQL = 'SELECT node, op, count(*) AS n, quantile_disc(dur_ns, 0.5) AS p50, quantile_disc(dur_ns, 0.99) AS p99 FROM events GROUP BY node, op ORDER BY node, op';
const PER_OP_SQL = 'SELECT op, count(*) AS n, sum(dur_ns) AS total, quantile_disc(dur_ns, [0.5, 0.9, 0.95, 0.99, 0.999]) AS q, max(dur_ns) AS max FROM events GROUP BY op ORDER BY op';
const key = (r: { node: string; op: string; n: number; p50: number; p99: number }) => `${r.node}|${r.op}|${r.n}|${r.p50}|${r.p99}`;

console.log(`fleet: ${N} bundles × ~${E.toLocaleString('en-US')} events = ${fleetEvents.toLocaleString('en-US')} events from ${NODES} nodes; one bundle of ${bigEvents.toLocaleString('en-US')} events; load average ${loadavg()[0]!.toFixed(1)}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

// What every fresh `ingero` process pays before any work (Node, tsx, DuckDB and SQLite loading).
const startup = ingero('--version');
console.log(`ingero process start-up (ingero --version): ${(startup.ms / 1000).toFixed(2)} s, included in every ingero figure below`);
const fleetExport = join(scratch, 'fleet-parquet');
const oneExport = join(scratch, 'one-parquet');
const bigExport = join(scratch, 'big-parquet');
const exportFleet = ingero('export', '--format', 'parquet', '--no-findings', '-o', fleetExport, fleetDir);
const exportOne = ingero('export', '--format', 'parquet', '--no-findings', '-o', oneExport, paths[0]!);
const exportBig = ingero('export', '--format', 'parquet', '--no-findings', '-o', bigExport, bigPath);
const bytesOf = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
const oneEvents = (() => {
  const b = openBundle(paths[0]!);
  const n = b.eventCount();
  b.close();
  return n;
})();
console.log(`\n| export --format parquet --no-findings (load ${loadavg()[0]!.toFixed(1)}) | events | wall s | events/s | Parquet MB | bundles MB | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const [what, m, n, dir, src] of [
  [`${N} bundles`, exportFleet, fleetEvents, fleetExport, fleetDir],
  ['one of them', exportOne, oneEvents, oneExport, paths[0]!],
  ['one big bundle', exportBig, bigEvents, bigExport, bigPath],
] as const) {
  console.log(`| ${what} | ${n.toLocaleString('en-US')} | ${(m.ms / 1000).toFixed(1)} | ${Math.round(n / (m.ms / 1000)).toLocaleString('en-US')} | ${(bytesOf(dir) / 1e6).toFixed(1)} | ${(bytesOf(src) / 1e6).toFixed(1)} | ${m.maxRssMb.toFixed(0)} |`);
}

// Fleet-wide p50/p99 per node and op: DuckDB on the export, on the bundles with an empty Parquet
// cache (each converted) and with the cache filled, stats --dir, and the sqlite3 loop.
const parquetCache = join(cacheDir, 'parquet-v1');
rmSync(parquetCache, { recursive: true, force: true });
const onExport = ingero('query', fleetExport, PER_NODE_SQL, '--json');
const onBundlesCold = ingero('query', fleetDir, PER_NODE_SQL, '--json');
const onBundlesWarm = ingero('query', fleetDir, PER_NODE_SQL, '--json');
const statsDir = ingero('stats', '--dir', fleetDir, '--json');
const t0 = performance.now();
let sqliteRss = 0;
let dumpMs = 0;
// Durations per (node, op) in growable typed arrays: the fleet's 100M durations fit, lines of text would not.
const groups = new Map<string, { d: Float64Array; n: number }>();
for (const db of dbPaths) {
  const t = performance.now();
  const m = measure(['sqlite3', '-readonly', '-csv', db, 'SELECT n.name, o.name, e.dur_ns FROM events e JOIN nodes n ON n.id = e.node_id JOIN ops o ON o.id = e.op_id']);
  dumpMs += performance.now() - t;
  sqliteRss = Math.max(sqliteRss, m.maxRssMb);
  for (const line of m.stdout.split('\n')) {
    if (!line) continue;
    const at = line.lastIndexOf(',');
    const g = line.slice(0, at);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = { d: new Float64Array(1024), n: 0 }));
    if (list.n === list.d.length) {
      const bigger = new Float64Array(list.d.length * 2);
      bigger.set(list.d);
      list.d = bigger;
    }
    list.d[list.n++] = Number(line.slice(at + 1));
  }
}
const sqliteRows = [...groups].map(([g, { d, n }]) => {
  const [node, op] = g.split(',');
  const s = d.subarray(0, n).sort();
  return { node: node!, op: op!, n, p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
});
const sqliteMs = performance.now() - t0;
const expected = sqliteRows.map(key).sort();
const same = (rows: { node: string; op: string; n: number; p50: number; p99: number }[]) => JSON.stringify(rows.map(key).sort()) === JSON.stringify(expected);
const statsRows = (JSON.parse(statsDir.stdout) as { rows: { node: string; op: string; count: number; p50_ns: number; p99_ns: number }[] }).rows.map((r) => ({ node: r.node, op: r.op, n: r.count, p50: r.p50_ns, p99: r.p99_ns }));
console.log(`\n| fleet-wide p50/p99 per node × op (${expected.length} rows, ${fleetEvents.toLocaleString('en-US')} events; load ${loadavg()[0]!.toFixed(1)}) | wall s | peak RSS MB | same answer as sqlite3 |\n|---|---:|---:|---|`);
console.log(`| ingero query on the Parquet export | ${(onExport.ms / 1000).toFixed(2)} | ${onExport.maxRssMb.toFixed(0)} | ${same(JSON.parse(onExport.stdout))} |`);
console.log(`| ingero query on the ${N} bundles, Parquet cache empty (converts each into it) | ${(onBundlesCold.ms / 1000).toFixed(2)} | ${onBundlesCold.maxRssMb.toFixed(0)} | ${same(JSON.parse(onBundlesCold.stdout))} |`);
console.log(`| ingero query on the ${N} bundles again (reads the cache, hashes its files) | ${(onBundlesWarm.ms / 1000).toFixed(2)} | ${onBundlesWarm.maxRssMb.toFixed(0)} | ${same(JSON.parse(onBundlesWarm.stdout))} |`);
console.log(`| ingero stats --dir on the bundles (cache filled) | ${(statsDir.ms / 1000).toFixed(2)} | ${statsDir.maxRssMb.toFixed(0)} | ${same(statsRows)} |`);
console.log(`| baseline: sqlite3 CLI loop over the ${N} databases (dump ${(dumpMs / 1000).toFixed(2)} s) + merge and sort in JS | ${(sqliteMs / 1000).toFixed(2)} | ${sqliteRss.toFixed(0)} (sqlite3) | — |`);
console.log(`Parquet cache after these runs: ${(bytesOf(parquetCache) / 1e6).toFixed(1)} MB`);

// One bundle: our analyzer against a columnar engine.
const ourStats = ingero('stats', bigPath, '--json');
const duckOnExport = ingero('query', bigExport, PER_OP_SQL, '--json');
const duckOnBundleCold = ingero('query', bigPath, PER_OP_SQL, '--json');
const duckOnBundleWarm = ingero('query', bigPath, PER_OP_SQL, '--json');
const fleet = await FleetDataset.open([bigExport]);
const t1 = performance.now();
await fleet.query(PER_OP_SQL);
const engineMs = performance.now() - t1;
fleet.close();
const ours = (JSON.parse(ourStats.stdout) as { ops: { op: string; count: number; p99_ns: number }[] }).ops.map((o) => `${o.op}|${o.count}|${o.p99_ns}`).sort();
const duck = (JSON.parse(duckOnExport.stdout) as { op: string; n: number; q: number[] }[]).map((o) => `${o.op}|${o.n}|${o.q[3]}`).sort();
console.log(`\n| one bundle, ${bigEvents.toLocaleString('en-US')} events: exact per-op count, total, p50..p99.9, max (load ${loadavg()[0]!.toFixed(1)}) | wall s | peak RSS MB |\n|---|---:|---:|`);
console.log(`| ingero stats (our analyzer, SQLite scan + typed-array sorts) | ${(ourStats.ms / 1000).toFixed(2)} | ${ourStats.maxRssMb.toFixed(0)} |`);
console.log(`| ingero query on its Parquet export (DuckDB), fresh process | ${(duckOnExport.ms / 1000).toFixed(2)} | ${duckOnExport.maxRssMb.toFixed(0)} |`);
console.log(`| DuckDB query alone, in-process on the export | ${(engineMs / 1000).toFixed(2)} | — |`);
console.log(`| ingero query on the bundle, cache empty (convert, then DuckDB) | ${(duckOnBundleCold.ms / 1000).toFixed(2)} | ${duckOnBundleCold.maxRssMb.toFixed(0)} |`);
console.log(`| ingero query on the bundle again (cached conversion) | ${(duckOnBundleWarm.ms / 1000).toFixed(2)} | ${duckOnBundleWarm.maxRssMb.toFixed(0)} |`);
console.log(`same per-op counts and p99 from both: ${JSON.stringify(ours) === JSON.stringify(duck)}; same answer cold and warm: ${duckOnBundleCold.stdout === duckOnBundleWarm.stdout && onBundlesCold.stdout === onBundlesWarm.stdout}`);
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

rmSync(scratch, { recursive: true, force: true });
if (!args.keep) rmSync(cacheDir, { recursive: true, force: true });
