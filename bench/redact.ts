// bench/redact: `ingero redact` of a ~1M-event bundle — wall time and peak RSS in a fresh child
// process — next to a baseline measured in the same run on the same decompressed database: the
// sqlite3 CLI applying the equivalent UPDATEs (argv[0] + a digest of the arguments, basenames,
// node names) with secure_delete and VACUUM on a copy, then the zstd CLI at the bundle's level.
// The baseline computes no HMAC and writes no container (manifest, frames, seek table).
//
//   npx tsx bench/redact.ts [--events N] [--keep]
//
// The bundle is the demo's cpu-contention scenario stretched to N events (default 1M), written to
// bench/out/ (ignored by git) and reused by later runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { openBundle, redactBundle, verifyBundle } from '../format/index.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

const ROOT = new URL('..', import.meta.url).pathname;

if (process.argv[2] === '--child') {
  // Child: one measured redaction (input already decompressed in the cache), reported as JSON.
  const [, , , input, output] = process.argv;
  rmSync(output!, { force: true });
  const t0 = performance.now();
  const r = await redactBundle(input!, output!, { toolVersion: 'bench' });
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, bytes: r.bytes, changed: r.columns.reduce((s, c) => s + c.changed, 0) }) + '\n');
  process.exit(0);
}

const eventsWanted = Number(process.argv[process.argv.indexOf('--events') + 1] ?? 0) || 1_000_000;
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const bundlePath = join(outDir, `redact-${eventsWanted}.ingero`);
const redactedPath = join(outDir, `redact-${eventsWanted}.redacted.ingero`);
process.env.INGERO_CACHE_DIR ??= join(outDir, 'cache');

await ensureDemoBundle(bundlePath, 'cpu-contention', eventsWanted);
const opened = openBundle(bundlePath);
const dbPath = opened.databasePath;
const events = opened.eventCount();
const level = opened.manifest.compression.level;
const dbBytes = statSync(dbPath).size;
opened.close();

function child() {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'redact.ts'), '--child', bundlePath, redactedPath], { encoding: 'utf8', env: process.env, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`redact child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; maxRssMb: number; bytes: number; changed: number };
}

/** A command under /usr/bin/time: wall ms and peak RSS MB. */
function timed(cmd: string, args: string[]) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return { ms, maxRssMb: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

const basenameSql = (col: string) => `replace(${col}, rtrim(${col}, replace(${col}, '/', '')), '')`;
const BASELINE_SQL = `
PRAGMA secure_delete = ON;
BEGIN;
UPDATE processes SET cmdline = CASE WHEN instr(cmdline, ' ') = 0 THEN ${basenameSql('cmdline')}
  ELSE ${basenameSql("substr(cmdline, 1, instr(cmdline, ' ') - 1)")} || ' redacted:args:' || lower(hex(substr(cmdline, instr(cmdline, ' ') + 1, 4))) END,
  cgroup = ${basenameSql('cgroup')};
UPDATE nodes SET name = 'node-' || id;
UPDATE mappings SET path = ${basenameSql('path')};
UPDATE functions SET filename = ${basenameSql('filename')};
COMMIT;
VACUUM;`;

function baseline() {
  const copy = join(outDir, 'redact-baseline.sqlite');
  rmSync(copy, { force: true });
  rmSync(`${copy}.zst`, { force: true });
  const t0 = performance.now();
  copyFileSync(dbPath, copy);
  const copyMs = performance.now() - t0;
  const sql = timed('sqlite3', [copy, BASELINE_SQL]);
  const zstd = timed('zstd', [`-${level}`, '-q', '-f', copy, '-o', `${copy}.zst`]);
  const bytes = statSync(`${copy}.zst`).size;
  rmSync(copy, { force: true });
  rmSync(`${copy}.zst`, { force: true });
  return { copyMs, sql, zstd, bytes };
}

const sqliteVersion = execFileSync('sqlite3', ['--version'], { encoding: 'utf8' }).split(' ')[0];
const zstdVersion = execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim();
console.log(`bundle: ${events.toLocaleString('en-US')} events, database ${(dbBytes / 1e6).toFixed(1)} MB, ${(statSync(bundlePath).size / 1e6).toFixed(1)} MB at zstd -${level}`);
const ingero = child();
const ok = verifyBundle(redactedPath).ok;
const base = baseline();
const baseMs = base.copyMs + base.sql.ms + base.zstd.ms;
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, sqlite3 ${sqliteVersion}, ${zstdVersion}`);
console.log('| what | wall s | peak RSS MB | output MB |\n|---|---:|---:|---:|');
console.log(`| **ingero redact** (open, rebuild through the redaction functions, seal: manifest, SHA-256, zstd -${level}, fsync, rename) | **${(ingero.ms / 1000).toFixed(2)}** | **${ingero.maxRssMb.toFixed(0)}** | ${(ingero.bytes / 1e6).toFixed(1)} |`);
console.log(`| baseline: copy the database | ${(base.copyMs / 1000).toFixed(2)} | | |`);
console.log(`| baseline: sqlite3 CLI UPDATEs + secure_delete + VACUUM | ${(base.sql.ms / 1000).toFixed(2)} | ${base.sql.maxRssMb.toFixed(0)} | |`);
console.log(`| baseline: zstd CLI -${level}, 1 thread | ${(base.zstd.ms / 1000).toFixed(2)} | ${base.zstd.maxRssMb.toFixed(0)} | ${(base.bytes / 1e6).toFixed(1)} |`);
console.log(`| baseline: all three | ${(baseMs / 1000).toFixed(2)} | ${Math.max(base.sql.maxRssMb, base.zstd.maxRssMb).toFixed(0)} | ${(base.bytes / 1e6).toFixed(1)} |`);
console.log(`ingero / baseline time: ${(ingero.ms / baseMs).toFixed(2)}x; rows changed: ${ingero.changed}; output verifies: ${ok}`);
if (!process.argv.includes('--keep')) {
  rmSync(redactedPath, { force: true });
  rmSync(join(outDir, 'cache'), { recursive: true, force: true });
}
