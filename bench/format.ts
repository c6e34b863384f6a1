// bench/format: the bundle format's size, write and open costs on a realistic synthetic mix.
// Writes N events (default 10M) of CUDA runtime/driver calls and scheduler/memory/IO kernel
// events through BundleWriter, seals, opens cold (empty cache) and cached, fully verifies
// (`ingero verify`'s verifyBundle) cold and cached, and prints the figures next to the
// baselines measured in the same run: the raw SQLite database inside the bundle, `zstd -3` /
// `zstd -19` of that file, `zstd -d` of the -3 file (decompression alone), and the sqlite3 CLI
// on the raw database (a count of events: opening it; PRAGMA integrity_check: SQLite's own
// share of a full verification).
//
//   npx tsx bench/format.ts [--events N] [--no-zstd19] [--dir DIR]
//
// Goals (issue 2): <= 16 B/event, >= 1M events/s appended, cold open of 10M events <= 2 s,
// peak RSS <= 300 MB.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BundleWriter, openBundle, opById, opId, packDims, verifyBundle, type EventInput } from '../format/index.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    'no-zstd19': { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});
const N = Number(args.events);
const dir = args.dir ?? join(tmpdir(), `ingero-bench-format-${process.pid}`);
if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const out = join(dir, 'bench.ingero');
const cacheDir = join(dir, 'cache');

/** xorshift32: deterministic, cheap. */
let seed = 0x9e3779b9;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
/** Log-normal-ish value around `median` (spread = sd of the log). */
function jitter(median: number, spread: number): number {
  const u = (rand() + rand() + rand() - 1.5) * 2; // ~normal, sd 1
  return Math.max(1, Math.round(median * Math.exp(u * spread)));
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const OP = {
  launch: opId('cudaLaunchKernel'),
  cuLaunch: opId('cuLaunchKernel'),
  memcpyAsync: opId('cudaMemcpyAsync'),
  streamSync: opId('cudaStreamSynchronize'),
  malloc: opId('cudaMalloc'),
  free: opId('cudaFree'),
  sched: opId('sched_switch'),
  wakeup: opId('sched_wakeup'),
  page: opId('mm_page_alloc'),
  blockRead: opId('block_read'),
};

// The workload model: 8 data-parallel training ranks (one process each: a main thread that
// issues CUDA calls, 4 data-loader threads, a pin-memory thread) plus 120 other tasks (kernel
// threads, daemons). Each rank loops over training steps: an H2D copy of the batch, a fixed
// sequence of 120 kernel launches (each runtime launch with its nested driver launch), a D2H
// copy of the loss, then a stream synchronize during which the main thread is off-CPU; now and
// then the caching allocator calls cudaMalloc/cudaFree. Independently, the kernel reports
// context switches, wakeups, page allocations and block reads, mostly from the busy tasks.
interface Task { readonly pid: number; readonly tid: number }
const RANKS = 8;
const KERNELS_PER_STEP = 120;
const ranks = Array.from({ length: RANKS }, (_, r) => {
  const pid = 4100 + r * 37;
  return { pid, main: { pid, tid: pid }, helpers: Array.from({ length: 5 }, (_, j) => ({ pid, tid: pid + 1 + j })) };
});
const otherTasks: Task[] = Array.from({ length: 120 }, (_, i) => ({ pid: 200 + i * 11, tid: 200 + i * 11 + (i % 3) }));
const busyTasks: Task[] = [...ranks.flatMap((r) => r.helpers), ...otherTasks.slice(0, 12)];
const allTasks: Task[] = [...ranks.flatMap((r) => [r.main, ...r.helpers]), ...otherTasks];
const model = Array.from({ length: KERNELS_PER_STEP }, (_, i) => ({
  func: BigInt(0x7f3a_1c00_0000 + (i % 45) * 0x1a40),
  grid: packDims([1024, 256, 80, 4096, 2048][i % 5]!, 1 + (i % 3), 1),
  block: packDims([256, 128, 512][i % 3]!, 1, 1),
  launchNs: 3_000 + (i % 7) * 400,
}));
const streamOf = (rank: number) => 0x55d0_3c4e_1200n + BigInt(rank) * 0x100_0000n;

/** One source of events in its own time order; the generator merges them by time. */
interface Actor { nextTs: number; next(): EventInput }

function rankActor(rank: number): Actor {
  const { pid, main, helpers } = ranks[rank]!;
  const stream = streamOf(rank);
  const batchBytes = 3 * 224 * 224 * 4 * 64;
  const queue: EventInput[] = [];
  let t = rank * 1_300_000;
  const step = () => {
    const call = (op: number, d: number, args: Partial<EventInput>, gap: number) => {
      queue.push({ ts_ns: t, dur_ns: d, pid, tid: main.tid, op_id: op, ret: 0, ...args });
      t += d + gap;
    };
    call(OP.memcpyAsync, jitter(12_000, 0.3), { arg0: batchBytes, arg1: 1, arg2: stream }, jitter(2_000, 0.5));
    if (rand() < 0.03) call(OP.malloc, jitter(40_000, 0.8), { arg0: 1 << (20 + Math.floor(rand() * 8)), arg1: 0x7f00_0000_0000n + BigInt(Math.floor(rand() * 2 ** 20)) * 0x20_0000n }, jitter(1_500, 0.5));
    for (const k of model) {
      const d = jitter(k.launchNs, 0.25);
      const inner = Math.max(1, d - jitter(700, 0.3));
      queue.push({ ts_ns: t, dur_ns: d, pid, tid: main.tid, op_id: OP.launch, arg0: k.func, arg1: stream, arg2: k.grid, arg3: k.block, ret: 0 });
      queue.push({ ts_ns: t + 350, dur_ns: inner, pid, tid: main.tid, op_id: OP.cuLaunch, arg0: k.func + 0x10n, arg1: stream, arg2: k.grid, arg3: k.block, ret: 0 });
      t += d + jitter(1_800, 0.6);
    }
    call(OP.memcpyAsync, jitter(9_000, 0.3), { arg0: 4, arg1: 2, arg2: stream }, jitter(1_000, 0.5));
    if (rand() < 0.03) call(OP.free, jitter(9_000, 0.5), { arg0: 0x7f00_0000_0000n + BigInt(Math.floor(rand() * 2 ** 20)) * 0x20_0000n }, jitter(1_500, 0.5));
    const sync = jitter(7_000_000, 0.15);
    queue.push({ ts_ns: t, dur_ns: sync, pid, tid: main.tid, op_id: OP.streamSync, arg0: stream, ret: 0 });
    const other = pick(helpers);
    queue.push({ ts_ns: t + jitter(2_500, 0.3), dur_ns: sync - jitter(5_000, 0.3), pid, tid: main.tid, op_id: OP.sched, arg0: other.tid, arg1: other.pid, arg2: 1 });
    t += sync + jitter(3_000, 0.5);
  };
  return {
    nextTs: t,
    next() {
      if (queue.length === 0) step();
      const e = queue.shift()!;
      this.nextTs = queue[0]?.ts_ns ?? t;
      return e;
    },
  };
}

function kernelActor(): Actor {
  let t = 0;
  const task = () => (rand() < 0.8 ? pick(busyTasks) : pick(allTasks));
  return {
    nextTs: 0,
    next() {
      const r = rand();
      const who = task();
      let e: EventInput;
      if (r < 0.65) {
        const next = task();
        const blocked = rand() < 0.6;
        e = { ts_ns: t, dur_ns: jitter(blocked ? 150_000 : 20_000, 1.2), pid: who.pid, tid: who.tid, op_id: OP.sched, arg0: next.tid, arg1: next.pid, arg2: blocked ? 1 : 0 };
      } else if (r < 0.85) {
        const target = task();
        e = { ts_ns: t, dur_ns: 0, pid: who.pid, tid: who.tid, op_id: OP.wakeup, arg0: target.tid, arg1: target.pid };
      } else if (r < 0.97) {
        const order = rand() < 0.8 ? 0 : Math.floor(rand() * 4);
        e = { ts_ns: t, dur_ns: 0, pid: who.pid, tid: who.tid, op_id: OP.page, arg0: 4096 << order, arg1: order };
      } else {
        e = { ts_ns: t, dur_ns: jitter(250_000, 1), pid: who.pid, tid: who.tid, op_id: OP.blockRead, arg0: 8 << Math.floor(rand() * 6), arg1: Math.floor(rand() * 2 ** 30), arg2: 0x800010 };
      }
      t += jitter(9_000, 1);
      this.nextTs = t;
      return e;
    },
  };
}

const actors: Actor[] = [...ranks.map((_, r) => rankActor(r)), kernelActor()];
/** Next event over all actors, in time order (few actors: a linear scan beats a heap). */
let lastTs = 0;
function nextEvent(): EventInput {
  let best = actors[0]!;
  for (const a of actors) if (a.nextTs < best.nextTs) best = a;
  const e = best.next();
  lastTs = e.ts_ns;
  return e;
}

let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage.rss()));
const phase = (name: string) => process.env.BENCH_PHASES && console.error(`${name}: rss ${(process.memoryUsage.rss() / 1e6).toFixed(0)} MB, peak ${(peakRss / 1e6).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
const rssTimer = setInterval(sampleRss, 50);
const time = async <T>(fn: () => T | Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const v = await fn();
  return [v, (performance.now() - t0) / 1000];
};

const w = BundleWriter.create(out, {
  originUnixNs: 1_760_000_000_000_000_000n,
  producer: { name: 'ingero-bench', version: '0', command: 'bench/format.ts' },
  nodeName: 'bench',
});
for (const t of allTasks) w.addThread({ tid: t.tid, pid: t.pid, first_ns: 0, comm: `task-${t.tid}` });
for (const pid of new Set(allTasks.map((t) => t.pid))) {
  const training = ranks.some((r) => r.pid === pid);
  w.addProcess({ pid, start_ns: 0, comm: training ? 'python3' : `daemon-${pid}`, cmdline: training ? 'python3 train.py --epochs 3' : '' });
}

// Generation is measured apart so the append rate is the writer's own cost.
const GEN_BATCH = 100_000;
let appendSeconds = 0;
const mix = new Map<number, number>();
for (let done = 0; done < N; done += GEN_BATCH) {
  const batch = Array.from({ length: Math.min(GEN_BATCH, N - done) }, nextEvent);
  for (const e of batch) mix.set(e.op_id, (mix.get(e.op_id) ?? 0) + 1);
  const t0 = performance.now();
  for (const e of batch) w.appendEvent(e);
  appendSeconds += (performance.now() - t0) / 1000;
  sampleRss();
}
phase('appended');
const [, flushSeconds] = await time(() => w.flush());
appendSeconds += flushSeconds;
const [sealed, sealSeconds] = await time(() => w.seal());
sampleRss();

phase('sealed');
const [cold, coldSeconds] = await time(() => openBundle(out, { cacheDir }));
const dbPath = cold.databasePath;
cold.close();
sampleRss();
phase('cold-opened');
const [cached, cachedSeconds] = await time(() => openBundle(out, { cacheDir }));
cached.close();
// a copy of the database outside the cache, for the sqlite3 baselines after the cache is emptied
const rawDb = join(dir, 'raw.sqlite');
execFileSync('cp', [dbPath, rawDb]);
rmSync(cacheDir, { recursive: true, force: true });
const [verifiedCold, verifyColdSeconds] = await time(() => verifyBundle(out, { cacheDir }));
const [verifiedCached, verifyCachedSeconds] = await time(() => verifyBundle(out, { cacheDir }));
for (const v of [verifiedCold, verifiedCached]) if (!v.ok) throw new Error(`verify found problems: ${v.problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`);
clearInterval(rssTimer);
sampleRss();
const ownPeak = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);

const hasTool = (tool: string) => spawnSync(tool, ['--version']).status === 0;
function seconds(run: () => void): number {
  const t0 = performance.now();
  run();
  return (performance.now() - t0) / 1000;
}

/** zstd at a level, 1 thread; at level 3 also the time to decompress the result again. */
function zstdBytes(level: number): { bytes: number; seconds: number; decompressSeconds: number } | string {
  if (!hasTool('zstd')) return 'zstd CLI not installed';
  const target = join(dir, `db.zst${level}`);
  const s = seconds(() => execFileSync('zstd', ['-q', '-f', `-${level}`, '-T1', rawDb, '-o', target]));
  const bytes = statSync(target).size;
  const decompressSeconds = seconds(() => execFileSync('zstd', ['-q', '-f', '-d', target, '-o', `${target}.out`]));
  rmSync(target);
  rmSync(`${target}.out`);
  return { bytes, seconds: s, decompressSeconds };
}
const z3 = zstdBytes(3);
const z19 = args['no-zstd19'] ? 'skipped (--no-zstd19)' : zstdBytes(19);
/** The sqlite3 CLI on the raw database: open and count events, then SQLite's integrity check. */
const sqlite = hasTool('sqlite3')
  ? {
      count: seconds(() => execFileSync('sqlite3', [rawDb, 'SELECT count(*) FROM events'])),
      integrity: seconds(() => execFileSync('sqlite3', [rawDb, 'PRAGMA integrity_check'])),
    }
  : 'sqlite3 CLI not installed';

const perEvent = (bytes: number) => (bytes / N).toFixed(2);
const mb = (b: number) => (b / 1e6).toFixed(1);
const goal = (ok: boolean) => (ok ? 'ok' : 'MISSED');
const lines = [
  `bench/format: ${N.toLocaleString('en-US')} synthetic events over ${(lastTs / 1e9).toFixed(1)} s, ${allTasks.length} threads: ${[...mix].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${opById(op)!.name} ${((100 * n) / N).toFixed(1)}%`).join(', ')}`,
  `sealed bundle        ${perEvent(sealed.bytes)} B/event  (${mb(sealed.bytes)} MB, ${sealed.manifest.compression.frames} frames)   goal <= 16: ${goal(sealed.bytes / N <= 16)}`,
  `append rate          ${(N / appendSeconds / 1e6).toFixed(2)} M events/s (${appendSeconds.toFixed(2)} s)   goal >= 1M/s: ${goal(N / appendSeconds >= 1e6)}`,
  `seal                 ${sealSeconds.toFixed(2)} s`,
  `cold open            ${coldSeconds.toFixed(2)} s (verify + decompress into the cache + conformance)   goal <= 2 s at 10M: ${goal(coldSeconds <= 2 * (N / 1e7))}`,
  `cached open          ${(cachedSeconds * 1000).toFixed(1)} ms (header and seek table, schema checks; the cache entry's record spares the value pass)`,
  `verify, cold         ${verifyColdSeconds.toFixed(2)} s (every frame, SHA-256, decompress into the cache, integrity check, invariants, manifest against the database)`,
  `verify, cached       ${verifyCachedSeconds.toFixed(2)} s (the cached copy is re-derived from the frames all the same)`,
  `peak RSS             ${mb(ownPeak)} MB   goal <= 300: ${goal(ownPeak <= 300e6)}`,
  `baseline: raw SQLite database inside the bundle   ${perEvent(sealed.databaseBytes)} B/event (${mb(sealed.databaseBytes)} MB)`,
  `baseline: zstd -3 of that file (CLI, 1 thread)   ${typeof z3 === 'string' ? z3 : `${perEvent(z3.bytes)} B/event (${z3.seconds.toFixed(1)} s; zstd -d of it ${z3.decompressSeconds.toFixed(2)} s)`}`,
  `baseline: sqlite3 CLI on that file                ${typeof sqlite === 'string' ? sqlite : `SELECT count(*) FROM events ${sqlite.count.toFixed(2)} s, PRAGMA integrity_check ${sqlite.integrity.toFixed(2)} s`}`,
  `baseline: zstd -19 of that file (CLI, 1 thread)  ${typeof z19 === 'string' ? z19 : `${perEvent(z19.bytes)} B/event (${z19.seconds.toFixed(1)} s)`}`,
];
console.log(lines.join('\n'));
rmSync(rawDb, { force: true });
if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
