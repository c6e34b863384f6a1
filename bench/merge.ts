// bench/merge: `ingero merge` of two generated single-node bundles (N events each, origins 1.5 s
// apart, overlapping in time so the k-way merge interleaves them), next to a baseline measured
// in the same run: the sqlite3 CLI merging the two decompressed databases' events
// (ATTACH + INSERT … SELECT … UNION ALL … ORDER BY ts_ns) and the zstd CLI compressing the result
// at the same level. The baseline does less than the merge (no node, stack or side-table
// remapping, no verification of the inputs, no manifest); it is the floor of the same work.
//
//   npx tsx bench/merge.ts [--events N]
//
// Each ingero row is a fresh `ingero merge` process timed with /usr/bin/time (wall s, peak RSS):
// cold = inputs not yet in the bundle cache (verified and decompressed by the merge), warm = cached.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BundleWriter, openBundle, opId, verifyBundle, type FrameInput } from '../format/index.ts';

const { values: args } = parseArgs({ options: { events: { type: 'string', default: '1000000' } } });
const EVENTS = Number(args.events);
const LEVEL = 3;
const work = mkdtempSync(join(tmpdir(), 'ingero-bench-merge-'));
const cache = join(work, 'cache');
process.env.INGERO_CACHE_DIR = cache;
const root = join(import.meta.dirname, '..');
const T0 = 1_775_000_000_000_000_000n;
const n = (v: number) => v.toLocaleString('en-US');

/** One rank of a training job: launches, copies, syncs, mallocs and its scheduler switches, 20 % with stacks. */
async function generate(path: string, node: string, origin: bigint, seed: number): Promise<void> {
  const w = BundleWriter.create(path, { originUnixNs: origin, producer: { name: 'bench', version: '0', command: 'bench/merge' }, nodeName: node, compressionLevel: LEVEL });
  w.setMetadata('host.kernel', `6.8.0-${seed}`);
  const py = (fn: string): FrameInput[] => [
    { kind: 'native', address: 0x7f00_0000_1000n + BigInt(fn.length), mapping: { path: 'libcudart.so.12' }, function: { name: 'cudaLaunchKernel' } },
    { kind: 'python', function: { name: fn, filename: 'train.py' }, line: fn.length },
  ];
  const stacks = ['forward', 'backward', 'optimizer_step', 'all_reduce', `rank_${seed}`].map((f) => w.internStack(py(f)));
  const ops = [opId('cudaLaunchKernel'), opId('cudaLaunchKernel'), opId('cudaLaunchKernel'), opId('cudaMemcpyAsync'), opId('cudaStreamSynchronize'), opId('sched_switch'), opId('cudaMalloc')];
  let rnd = seed;
  const next = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31);
  let ts = 0;
  for (let i = 0; i < EVENTS; i++) {
    ts += 1_000 + (next() % 20_000);
    const op = ops[next() % ops.length]!;
    const tid = 1000 + (next() % 8);
    w.appendEvent({ ts_ns: ts, dur_ns: 2_000 + (next() % 50_000), pid: 1000, tid, op_id: op, arg0: next() % 4096, arg1: op === opId('cudaLaunchKernel') ? 7 : null, ret: 0, stack_id: i % 5 === 0 ? stacks[next() % stacks.length]! : null });
  }
  w.addProcess({ pid: 1000, start_ns: 0, comm: 'python3', cmdline: `python3 train.py --rank ${seed}` });
  await w.seal();
}

function timed(cmd: string, argv: string[]): { seconds: number; rssMb: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], { encoding: 'utf8', env: process.env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  const [secs, kb] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: secs!, rssMb: kb! / 1024 };
}

const sqlite = spawnSync('sqlite3', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[0];
const zstdVersion = spawnSync('zstd', ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`bench/merge — ${new Date().toISOString().slice(0, 16)} UTC, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}, sqlite3 ${sqlite}, ${zstdVersion}`);
const a = join(work, 'rank0.ingero');
const b = join(work, 'rank1.ingero');
let t = performance.now();
await generate(a, 'gpu-node-01', T0, 1);
await generate(b, 'gpu-node-02', T0 + 1_500_000_000n, 2);
const total = 2 * EVENTS;
console.log(`inputs: 2 x ${n(EVENTS)} events, ${n(statSync(a).size)} + ${n(statSync(b).size)} B (generated in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

const rows: [string, number, number, string][] = [];
const out = join(work, 'merged.ingero');
const cold = timed(process.execPath, [join(root, 'bin', 'ingero.mjs'), 'merge', a, b, '-o', out]);
rows.push(['**ingero merge**, inputs not cached (verify + decompress included)', cold.seconds, cold.rssMb, `${n(statSync(out).size)} B`]);
const warm = timed(process.execPath, [join(root, 'bin', 'ingero.mjs'), 'merge', a, b, '-o', out, '--force']);
rows.push(['**ingero merge**, inputs cached', warm.seconds, warm.rssMb, `${n(statSync(out).size)} B`]);
const startup = timed(process.execPath, [join(root, 'bin', 'ingero.mjs'), '--version']);
rows.push(['ingero --version (CLI start-up alone, included above)', startup.seconds, startup.rssMb, '']);
const verified = verifyBundle(out);
if (!verified.ok || verified.manifest?.counts.events !== total) throw new Error(`merged bundle fails verify or lacks events: ${verified.problems.map((p) => p.message).join('; ')}`);

// Baseline on the decompressed databases the cache now holds.
const [dbA, dbB] = [a, b].map((p) => {
  const bundle = openBundle(p);
  const path = bundle.databasePath;
  bundle.close();
  return path;
});
const baseDb = join(work, 'baseline.sqlite');
const cols = 'ts_ns, dur_ns, node_id, pid, tid, op_id, arg0, arg1, arg2, arg3, ret, stack_id';
const sel = (db: string, node: number, shift: number) => `SELECT ts_ns + ${shift}, dur_ns, ${node}, pid, tid, op_id, arg0, arg1, arg2, arg3, ret, stack_id FROM ${db}.events`;
const sql = [
  'PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 4096;',
  `ATTACH '${dbA}' AS a; ATTACH '${dbB}' AS b;`,
  'CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, dur_ns INTEGER NOT NULL, node_id INTEGER NOT NULL, pid INTEGER NOT NULL, tid INTEGER NOT NULL, op_id INTEGER NOT NULL, arg0 INTEGER, arg1 INTEGER, arg2 INTEGER, arg3 INTEGER, ret INTEGER, stack_id INTEGER);',
  `INSERT INTO events (${cols}) ${sel('a', 0, 0)} UNION ALL ${sel('b', 1, 1_500_000_000)} ORDER BY 1;`,
].join('\n');
t = performance.now();
const q = timed('sqlite3', [baseDb, sql]);
const z = timed('zstd', [`-${LEVEL}`, '-q', '-f', baseDb, '-o', `${baseDb}.zst`]);
rows.push([`baseline: sqlite3 ATTACH + INSERT … SELECT … ORDER BY ts_ns`, q.seconds, q.rssMb, `${n(statSync(baseDb).size)} B (database)`]);
rows.push([`baseline: zstd -${LEVEL} of that database`, z.seconds, z.rssMb, `${n(statSync(`${baseDb}.zst`).size)} B`]);
rows.push(['baseline: both', q.seconds + z.seconds, Math.max(q.rssMb, z.rssMb), '']);

console.log('');
console.log('| what | wall s | events/s | peak RSS MB | output |');
console.log('|---|---:|---:|---:|---|');
for (const [what, s, rss, size] of rows) console.log(`| ${what} | ${s.toFixed(2)} | ${/zstd -|--version/.test(what) ? '' : n(Math.round(total / s))} | ${rss.toFixed(0)} | ${size} |`);
console.log(`(cache files: ${readdirSync(cache).length}; work dir removed)`);
rmSync(work, { recursive: true, force: true });
