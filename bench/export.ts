// bench/export: `ingero export` (Chrome JSON trace for Perfetto) on a generated bundle —
// events/s, output bytes/event and peak RSS of the real CLI in a fresh process — next to the
// sqlite3 CLI dumping the same events as JSON (`sqlite3 -json`, no decoding, no tracks) from the
// same decompressed database, in the same run.
//
//   npx tsx bench/export.ts [--events N] [--keep]
//
// The bundle is the demo's cpu-contention scenario stretched to about N events (default 1M):
// launches, copies, syncs, mallocs, sched_switch of the trainer, its DataLoader workers and a
// neighbour, host samples. It is written to bench/out/ (ignored by git) and reused by later runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBundle } from '../format/index.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false } } });
const eventsWanted = Number(args.events);
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const bundlePath = join(outDir, `export-${eventsWanted}.ingero`);
const cacheDir = join(outDir, 'cache-export');
process.env.INGERO_CACHE_DIR = cacheDir;

await ensureDemoBundle(bundlePath, 'cpu-contention', eventsWanted);
const opened = openBundle(bundlePath);
const dbPath = opened.databasePath;
const events = opened.eventCount();
opened.close();

const scratch = mkdtempSync(join(tmpdir(), 'ingero-bench-export-'));

/** Runs a command under /usr/bin/time, its stdout to a file; wall time, peak RSS and output size. */
function measure(command: string[], outFile: string, stdoutToFile: boolean) {
  const t0 = performance.now();
  const shell = `/usr/bin/time -f %M ${command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}${stdoutToFile ? ` > '${outFile}'` : ''}`;
  const r = spawnSync('sh', ['-c', shell], { encoding: 'utf8', maxBuffer: 16 << 20, env: process.env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${command.join(' ')} failed: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split('\n').pop());
  const bytes = statSync(outFile).size;
  rmSync(outFile, { force: true });
  return { ms, maxRssMb: rssKb / 1024, bytes, stderr: r.stderr };
}

const cli = join(ROOT, 'bin', 'ingero.mjs');
const trace = join(scratch, 'trace.json');
const sqliteVersion = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
console.log(`bundle: ${events.toLocaleString('en-US')} events; database ${dbPath}; load average ${loadavg()[0]!.toFixed(1)}`);
const rows = [
  ['ingero export --no-findings', measure([process.execPath, cli, 'export', bundlePath, '-o', trace, '--no-findings'], trace, false)],
  ['ingero export (with the analyzer\'s findings)', measure([process.execPath, cli, 'export', bundlePath, '-o', trace], trace, false)],
  [`sqlite3 ${sqliteVersion} CLI: -json of the events table`, measure(['sqlite3', '-readonly', '-json', dbPath, 'SELECT id, ts_ns, dur_ns, node_id, pid, tid, op_id, arg0, arg1, arg2, arg3, ret, stack_id FROM events ORDER BY id'], trace, true)],
] as const;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log('| what | wall s | events/s | output MB | bytes/event | peak RSS MB |\n|---|---:|---:|---:|---:|---:|');
for (const [what, m] of rows) {
  console.log(`| ${what} | ${(m.ms / 1000).toFixed(2)} | ${Math.round(events / (m.ms / 1000)).toLocaleString('en-US')} | ${(m.bytes / 1e6).toFixed(1)} | ${(m.bytes / events).toFixed(0)} | ${m.maxRssMb.toFixed(0)} |`);
}
for (const [what, m] of rows.slice(0, 2)) console.log(`${what}, its own summary: ${m.stderr.split('\n').find((l) => l.startsWith('wrote '))}`);
rmSync(scratch, { recursive: true, force: true });
if (!args.keep) rmSync(cacheDir, { recursive: true, force: true });
