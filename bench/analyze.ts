// bench/analyze: `explain` (and `stats`) on a 10M-event bundle — wall time, CPU time and peak RSS, each in
// a fresh child process — next to the sqlite3 CLI computing the same aggregates (per op and per
// process: count, sum, min, max and exact p50/p90/p95/p99/p99.9 with window functions) over the
// same decompressed database, in the same run.
//
//   npx tsx bench/analyze.ts [--events N] [--keep]
//
// The bundle is the demo's cpu-contention scenario stretched to N events (default 10M), written
// to bench/out/ (ignored by git) and reused by later runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { computeStats, explain } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;

if (process.argv[2] === '--child') {
  // Child: one measured command, report wall time and peak RSS as JSON on stdout.
  const [, , , what, path] = process.argv;
  const t0 = performance.now();
  const b = openBundle(path!);
  let findings = 0;
  if (what === 'explain') findings = explain(b).findings.length;
  else computeStats(b);
  b.close();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, findings }) + '\n');
  process.exit(0);
}

const eventsWanted = Number(process.argv[process.argv.indexOf('--events') + 1] ?? 0) || 10_000_000;
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const bundlePath = join(outDir, `analyze-${eventsWanted}.ingero`);
process.env.INGERO_CACHE_DIR ??= join(outDir, 'cache');

await ensureDemoBundle(bundlePath, 'cpu-contention', eventsWanted);
const opened = openBundle(bundlePath);
const dbPath = opened.databasePath;
const events = opened.eventCount();
opened.close();

function child(what: 'explain' | 'stats') {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'analyze.ts'), '--child', what, bundlePath], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${what} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; cpuMs: number; maxRssMb: number; findings: number };
}

const percentiles = (partition: string) => `
WITH r AS (
  SELECT ${partition}, dur_ns,
         row_number() OVER (PARTITION BY ${partition} ORDER BY dur_ns) AS rn,
         count(*) OVER (PARTITION BY ${partition}) AS n
  FROM events)
SELECT ${partition}, n AS count, sum(dur_ns) AS total_ns, min(dur_ns) AS min_ns, max(dur_ns) AS max_ns,
       max(CASE WHEN rn = (n * 50 + 99) / 100 THEN dur_ns END) AS p50,
       max(CASE WHEN rn = (n * 90 + 99) / 100 THEN dur_ns END) AS p90,
       max(CASE WHEN rn = (n * 95 + 99) / 100 THEN dur_ns END) AS p95,
       max(CASE WHEN rn = (n * 99 + 99) / 100 THEN dur_ns END) AS p99,
       max(CASE WHEN rn = (n * 999 + 999) / 1000 THEN dur_ns END) AS p999
FROM r GROUP BY ${partition};`;

function sqlite(sql: string) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sqlite3', '-readonly', dbPath, sql], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, maxRssMb: rssKb! / 1024, rows: r.stdout.trim().split('\n').length };
}

const sqliteVersion = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
console.log(`bundle: ${events.toLocaleString('en-US')} events; database ${dbPath}`);
const explainRun = child('explain');
const statsRun = child('stats');
const perOp = sqlite(percentiles('op_id'));
const perProcess = sqlite(percentiles('node_id, pid, op_id'));
const sqliteMs = perOp.ms + perProcess.ms;
const sqliteCpuMs = perOp.cpuMs + perProcess.cpuMs;
const rows = [
  ['ingero explain (one pass into the event index, stats + every detector)', explainRun.ms, explainRun.cpuMs, explainRun.maxRssMb],
  ['ingero stats (per op + per process)', statsRun.ms, statsRun.cpuMs, statsRun.maxRssMb],
  [`sqlite3 ${sqliteVersion} CLI: per-op aggregates + percentiles`, perOp.ms, perOp.cpuMs, perOp.maxRssMb],
  [`sqlite3 ${sqliteVersion} CLI: per-process aggregates + percentiles`, perProcess.ms, perProcess.cpuMs, perProcess.maxRssMb],
  ['sqlite3 CLI: both (the same aggregates as stats)', sqliteMs, sqliteCpuMs, Math.max(perOp.maxRssMb, perProcess.maxRssMb)],
] as const;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
// CPU time (user + system) moves far less than wall time when other jobs hold the cores.
console.log('| what | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|');
for (const [what, ms, cpuMs, rss] of rows) console.log(`| ${what} | ${(ms / 1000).toFixed(2)} | ${(cpuMs / 1000).toFixed(2)} | ${rss.toFixed(0)} |`);
console.log(`explain / sqlite3 time: ${(explainRun.ms / sqliteMs).toFixed(2)}x wall, ${(explainRun.cpuMs / sqliteCpuMs).toFixed(2)}x CPU (goal ≤ 2x); explain ${(explainRun.ms / 1000).toFixed(1)} s (goal at 10M: ≤ 8 s), peak RSS ${explainRun.maxRssMb.toFixed(0)} MB (goal ≤ 300 MB); findings: ${explainRun.findings}`);
console.log(`load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(', ')}`);
if (!process.argv.includes('--keep')) rmSync(join(outDir, 'cache'), { recursive: true, force: true });
