// bench/stalls: findStalls and threadActivity (analyze/thread-activity.ts, behind the MCP tools
// find_stalls and thread_activity) with default arguments on demo bundles of about 1M and 10M
// events — wall and CPU time and peak RSS, each in a fresh child process with a cold facts cache — next
// to the sqlite3 CLI selecting the same rows (every GPU call and sched_switch, the columns the
// analysis reads) from the same decompressed database, in the same run.
//
//   npx tsx bench/stalls.ts [--events N[,N...]]
//
// The bundles are the demo's cpu-contention scenario stretched to N events (default 1M and 10M),
// written to bench/out/ (ignored by git) and reused by later runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { GPU_LAYERS } from '../analyze/context.ts';
import { findStalls, threadActivity } from '../analyze/thread-activity.ts';
import { openBundle } from '../format/index.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const outDir = join(ROOT, 'bench', 'out');
process.env.INGERO_CACHE_DIR ??= join(outDir, 'cache-stalls');

if (process.argv[2] === '--child') {
  // Child: one measured call on an opened bundle; wall time of the call, peak RSS of the process.
  const [, , , what, path] = process.argv;
  const b = openBundle(path!);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const size = what === 'findStalls' ? findStalls(b).stalls.length : threadActivity(b).threads.length;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  b.close();
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, size }) + '\n');
  process.exit(0);
}

const arg = process.argv[process.argv.indexOf('--events') + 1];
const sizes = process.argv.includes('--events') && arg ? arg.split(',').map(Number) : [1_000_000, 10_000_000];
mkdirSync(outDir, { recursive: true });

function child(what: 'findStalls' | 'threadActivity', path: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'stalls.ts'), '--child', what, path], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${what} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; cpuMs: number; maxRssMb: number; size: number };
}

function sqlite(dbPath: string, sql: string) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sqlite3', '-readonly', '-cmd', '.output /dev/null', dbPath, sql], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  const [rssKb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpuMs: (user! + sys!) * 1000, maxRssMb: rssKb! / 1024 };
}

const sqliteVersion = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`);
// On a shared machine wall time mostly measures the others' load: CPU time is printed beside it.
console.log('| events | what | wall s | CPU s | peak RSS MB |\n|---:|---|---:|---:|---:|');
for (const wanted of sizes) {
  const path = join(outDir, `stalls-${wanted}.ingero`);
  await ensureDemoBundle(path, 'cpu-contention', wanted);
  const b = openBundle(path);
  const events = b.eventCount().toLocaleString('en-US');
  const ops = [...b.ops().values()].filter((o) => GPU_LAYERS.has(o.layer) || o.name === 'sched_switch').map((o) => o.id);
  const dbPath = b.databasePath;
  b.close();
  const rows: [string, { ms: number; cpuMs: number; maxRssMb: number }][] = [
    ['findStalls (default: top 10 stalls)', child('findStalls', path)],
    ['threadActivity (default: whole range, one window)', child('threadActivity', path)],
    [`sqlite3 ${sqliteVersion} CLI: the same rows and columns, to /dev/null`, sqlite(dbPath, `SELECT id, ts_ns, dur_ns, node_id, tid, pid, arg0, arg1, arg2, arg3 FROM events WHERE op_id IN (${ops.join(',')}) ORDER BY id`)],
  ];
  for (const [what, r] of rows) console.log(`| ${events} | ${what} | ${(r.ms / 1000).toFixed(2)} | ${(r.cpuMs / 1000).toFixed(2)} | ${r.maxRssMb.toFixed(0)} |`);
}
console.log(`load average ${loadavg()[0]!.toFixed(1)} at end`);
