// bench/import: `ingero import` on every real Ingero database, next to `zstd -19` of the same
// source measured in the same run, plus conversion speed on a scaled-up copy of the dataloader
// database (its events repeated with shifted timestamps, so the rows are real rows).
//
//   npx tsx bench/import.ts [--scaled-events N] [--no-zstd19] [--runs R]
//
// Goal (issue 3): every bundle at least 5x smaller than its source database and smaller than
// `zstd -19` of it.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Compressor } from 'zstd-napi';
import { importIngeroDb, type ImportReport } from '../import/index.ts';
import { extractIngeroDbs } from '../test/ingero-source-dbs.ts';

const { values: args } = parseArgs({
  options: {
    'scaled-events': { type: 'string', default: '1000000' },
    'no-zstd19': { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
  },
});
const RUNS = Number(args.runs);
const work = mkdtempSync(join(tmpdir(), 'ingero-bench-import-'));
const SOURCE_DIR = join(work, 'sources');
extractIngeroDbs(SOURCE_DIR);
process.env.INGERO_CACHE_DIR = join(work, 'cache');

/** Bytes of `zstd -19` of a file: the zstd CLI when installed, else libzstd through zstd-napi. */
function zstd19(path: string): { bytes: number; tool: string; seconds: number } {
  const t = performance.now();
  const cli = spawnSync('zstd', ['-19', '-q', '-c', path], { maxBuffer: 1 << 30 });
  if (cli.status === 0) return { bytes: cli.stdout.length, tool: 'zstd CLI', seconds: (performance.now() - t) / 1000 };
  const c = new Compressor();
  c.setParameters({ compressionLevel: 19, checksumFlag: true });
  const bytes = c.compress(readFileSync(path)).length;
  return { bytes, tool: 'libzstd (zstd-napi)', seconds: (performance.now() - t) / 1000 };
}

/** Best of RUNS imports (the figures other than time are identical across runs). */
async function timedImport(source: string): Promise<ImportReport> {
  let best: ImportReport | undefined;
  for (let i = 0; i < RUNS; i++) {
    const r = await importIngeroDb(source, join(work, `${basename(source, '.db')}.ingero`));
    if (!best || r.seconds < best.seconds) best = r;
  }
  return best!;
}

const n = (v: number) => v.toLocaleString('en-US');
const pad = (s: string, w: number) => s.padStart(w);

console.log(`bench/import — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}, best of ${RUNS} imports`);
console.log('');
const dbs = readdirSync(SOURCE_DIR).filter((f) => f.endsWith('.db')).sort();
const header = ['database', 'events', 'source B', 'zstd -19 B', 'bundle B', 'src/bundle', 'bundle/zstd19', 'import s', 'events/s', 'goal'];
const rows: string[][] = [];
let zstdTool = '';
for (const f of dbs) {
  const path = join(SOURCE_DIR, f);
  const z = zstd19(path);
  zstdTool = z.tool;
  const r = await timedImport(path);
  const ok = r.bundleBytes * 5 <= r.sourceBytes && r.bundleBytes < z.bytes;
  rows.push([f, n(r.events), n(r.sourceBytes), n(z.bytes), n(r.bundleBytes), `${(r.sourceBytes / r.bundleBytes).toFixed(1)}x`, (r.bundleBytes / z.bytes).toFixed(2), r.seconds.toFixed(3), n(Math.round(r.events / r.seconds)), ok ? 'met' : 'MISSED']);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(header.map((h, i) => (i === 0 ? h.padEnd(widths[i]!) : pad(h, widths[i]!))).join('  '));
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : pad(c, widths[i]!))).join('  '));
console.log(`(zstd -19 by ${zstdTool}; goal: bundle <= source/5 and < zstd -19 of the source)`);

// Conversion speed: the dataloader database scaled up by repeating its events.
const scaledEvents = Number(args['scaled-events']);
const seed = join(SOURCE_DIR, 'pytorch-dataloader-starvation.db');
const scaled = join(work, 'dataloader-scaled.db');
copyFileSync(seed, scaled);
const db = new Database(scaled);
db.pragma('journal_mode = DELETE');
const base = Number(db.prepare('SELECT count(*) FROM events').pluck().get());
const cols = 'timestamp, pid, tid, source, op, duration, gpu_id, arg0, arg1, ret_code, stack_hash, stack_ips, cgroup_id';
const span = 100_000_000_000; // 100 s per copy: later than the whole original recording
db.transaction(() => {
  for (let k = 1; base * (k + 1) <= scaledEvents; k++) {
    db.prepare(`INSERT INTO events (${cols}) SELECT timestamp + ${k} * ${span}, pid, tid, source, op, duration, gpu_id, arg0, arg1, ret_code, stack_hash, stack_ips, cgroup_id FROM events WHERE id <= ${base} ORDER BY id`).run();
  }
})();
db.exec('VACUUM');
db.close();
const z = args['no-zstd19'] ? null : zstd19(scaled);
const r = await importIngeroDb(scaled, join(work, 'dataloader-scaled.ingero'));
console.log('');
console.log(`scaled dataloader (${n(r.events)} events, ${n(statSync(scaled).size)} B source): import ${r.seconds.toFixed(2)} s = ${n(Math.round(r.events / r.seconds))} events/s at the default level; bundle ${n(r.bundleBytes)} B (${(r.sourceBytes / r.bundleBytes).toFixed(1)}x smaller)${z ? `; zstd -19 ${n(z.bytes)} B in ${z.seconds.toFixed(1)} s` : ''}`);
rmSync(work, { recursive: true, force: true });
