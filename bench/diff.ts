// bench/diff: `ingero diff` of two ~1M-event bundles — wall time and peak RSS of the real CLI,
// in a fresh process — next to the sqlite3 CLI computing per-op count, total, p50, p99 and max
// (window functions) over both decompressed databases, in the same run.
//
//   npx tsx bench/diff.ts [--events N] [--keep]
//
// The bundles are the demo's healthy and sync-stall scenarios stretched to about N events each
// (default 1M), written to bench/out/ (ignored by git) and reused by later runs. Both are opened
// once first, so every row below reads already decompressed databases.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { openBundle } from '../format/index.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const eventsWanted = Number(process.argv[process.argv.indexOf('--events') + 1] ?? 0) || 1_000_000;
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
process.env.INGERO_CACHE_DIR ??= join(outDir, 'cache-diff');

const SIDES = ['healthy', 'sync-stall'] as const;

const paths: string[] = [];
const dbPaths: string[] = [];
const counts: number[] = [];
for (const scenario of SIDES) {
  const path = join(outDir, `diff-${scenario}-${eventsWanted}.ingero`);
  await ensureDemoBundle(path, scenario, eventsWanted);
  const b = openBundle(path);
  paths.push(path);
  dbPaths.push(b.databasePath);
  counts.push(b.eventCount());
  b.close();
}

/** Runs a command under /usr/bin/time: wall ms, peak RSS MB, stdout. */
function timed(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return { ms, maxRssMb: Number(r.stderr.trim().split('\n').pop()) / 1024, stdout: r.stdout };
}

function ingeroDiff(extra: readonly string[]) {
  return timed(process.execPath, [join(ROOT, 'bin', 'ingero.mjs'), 'diff', paths[0]!, paths[1]!, '--json', ...extra]);
}

const PER_OP = `
WITH r AS (
  SELECT op_id, dur_ns,
         row_number() OVER (PARTITION BY op_id ORDER BY dur_ns) AS rn,
         count(*) OVER (PARTITION BY op_id) AS n
  FROM events)
SELECT op_id, n AS count, sum(dur_ns) AS total_ns, max(dur_ns) AS max_ns,
       max(CASE WHEN rn = (n * 50 + 99) / 100 THEN dur_ns END) AS p50,
       max(CASE WHEN rn = (n * 99 + 99) / 100 THEN dur_ns END) AS p99
FROM r GROUP BY op_id;`;

const sqliteVersion = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
console.log(`bundles: ${counts.map((n, i) => `${SIDES[i]} ${n.toLocaleString('en-US')} events`).join(', ')}`);
const plain = ingeroDiff([]);
const byProcess = ingeroDiff(['--by-process']);
const again = ingeroDiff([]);
const sqlite = dbPaths.map((db) => timed('sqlite3', ['-readonly', db, PER_OP]));
const sqliteMs = sqlite[0]!.ms + sqlite[1]!.ms;
const report = JSON.parse(plain.stdout) as { summary: Record<string, number>; findings: { status: string; kind: string }[] };
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log('| what | wall s | peak RSS MB |\n|---|---:|---:|');
const rows = [
  ['ingero diff --json (CLI process: stats + explain on both sides, compare)', plain.ms, plain.maxRssMb],
  ['ingero diff --json --by-process', byProcess.ms, byProcess.maxRssMb],
  [`sqlite3 ${sqliteVersion} CLI: per-op count/total/p50/p99/max, both databases`, sqliteMs, Math.max(sqlite[0]!.maxRssMb, sqlite[1]!.maxRssMb)],
] as const;
for (const [what, ms, rss] of rows) console.log(`| ${what} | ${(ms / 1000).toFixed(2)} | ${rss.toFixed(0)} |`);
console.log(`diff / sqlite3 time: ${(plain.ms / sqliteMs).toFixed(2)}x; JSON byte-identical across two runs: ${plain.stdout === again.stdout}`);
console.log(`summary: ${JSON.stringify(report.summary)}; findings: ${report.findings.map((f) => `${f.status} ${f.kind}`).join(', ')}`);
if (!process.argv.includes('--keep')) rmSync(process.env.INGERO_CACHE_DIR, { recursive: true, force: true });
