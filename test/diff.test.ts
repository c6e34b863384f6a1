// ingero diff on pairs of bundles whose difference is known: written with BundleWriter (one op
// made exactly 3x slower, a driver upgrade, a sampled side) and the demo's healthy vs sync-stall
// scenarios (a finding that exists only after). Library calls for the numbers, the real CLI for
// output, exit codes and bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertOneLineError, runCli } from './cli-fixtures.ts';
import { renderDiff } from '../cli/commands/diff.ts';
import { diffBundles, scenarioByName, writeDemoBundle, type DiffOptions, type DiffReport, type OpChange } from '../analyze/index.ts';
import Database from 'better-sqlite3';
import { BundleWriter, opId, openBundle } from '../format/index.ts';
import { writeContainer } from '../format/seal.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-diff-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));
const path = (name: string) => join(work, `${name}.ingero`);

const LAUNCH = opId('cudaLaunchKernel');
const SYNC = opId('cudaStreamSynchronize');
const MALLOC = opId('cudaMalloc');
const MS = 1e6;

interface Job {
  /** Multiplies every cudaStreamSynchronize duration. */
  syncFactor?: number;
  driver?: string;
  pid?: number;
  /** Store only every 10th launch and mark launches as sampled; with aggregates, record complete counts. */
  sampledLaunches?: 'without-aggregates' | 'with-aggregates';
  /** Seconds of recording. */
  seconds?: number;
  /** A second process of the same name launching half the kernels (pids differ between runs). */
  twoWorkers?: boolean;
  comm?: string;
  /** Events the capture reports as dropped. */
  dropped?: number;
}

/** A training loop of 10 s: 100 launches and 20 syncs per second, 10 mallocs at the start. */
async function writeJob(name: string, job: Job = {}): Promise<void> {
  const w = BundleWriter.create(path(name), { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero', version: '0', command: 'diff test' }, nodeName: 'gpu-box' });
  const pid = job.pid ?? 100;
  const seconds = job.seconds ?? 10;
  w.addProcess({ pid, ppid: 1, start_ns: 0, comm: job.comm ?? 'trainer', cmdline: 'python3 train.py' });
  if (job.twoWorkers) w.addProcess({ pid: pid + 1, ppid: 1, start_ns: 0, comm: 'trainer', cmdline: 'python3 train.py --rank 1' });
  w.setMetadata('gpu.model', 'NVIDIA H100 80GB HBM3');
  w.setMetadata('gpu.driver_version', job.driver ?? '550.54.15');
  w.setMetadata('cuda.runtime_version', '12.4');
  w.setMetadata('host.kernel', '6.8.0-49-generic');
  w.setMetadata('host.cpu_cores', 32);
  for (let i = 0; i < 10; i++) w.appendEvent({ ts_ns: i * 1e3, dur_ns: 20e3, pid, tid: pid, op_id: MALLOC });
  for (let s = 0; s < seconds; s++) {
    for (let k = 0; k < 100; k++) {
      const i = s * 100 + k;
      const launchPid = job.twoWorkers && k % 2 ? pid + 1 : pid;
      // 5–14 µs launches; with twoWorkers the second pid's are 10 µs slower.
      const d = 5e3 + (i % 10) * 1e3 + (launchPid !== pid ? 10e3 : 0);
      if (!job.sampledLaunches || i % 10 === 0) w.appendEvent({ ts_ns: 1e6 + s * 1e9 + k * 9e6, dur_ns: d, pid: launchPid, tid: launchPid, op_id: LAUNCH });
    }
    if (job.sampledLaunches === 'with-aggregates') w.addAggregate({ bucket_ns: s * 1e9, width_ns: 1e9, op_id: LAUNCH, pid, count: 100, stored: 10, sum_dur_ns: 100 * 9.5e3, min_dur_ns: 5e3, max_dur_ns: 14e3, sum_arg0: 0 });
    for (let k = 0; k < 20; k++) {
      const i = s * 20 + k;
      w.appendEvent({ ts_ns: 5e6 + s * 1e9 + k * 45e6, dur_ns: (1 + (i % 5) * 0.1) * MS * (job.syncFactor ?? 1), pid, tid: pid, op_id: SYNC });
    }
  }
  if (job.dropped) w.addCaptureLoss({ probe: 'ringbuf', emitted: 3000 + job.dropped, dropped: job.dropped, note: 'ring buffer full' });
  if (job.sampledLaunches) w.addSampling({ op_id: LAUNCH, from_ns: 0, to_ns: null, policy: 'keep 1 in 10' });
  await w.seal();
}

before(async () => {
  await writeJob('base');
  await writeJob('slow-sync', { syncFactor: 3, driver: '560.35.03', pid: 200 });
  await writeJob('sampled', { sampledLaunches: 'without-aggregates' });
  await writeJob('sampled-agg', { sampledLaunches: 'with-aggregates' });
  await writeJob('long', { seconds: 30 });
  await writeJob('two-workers', { twoWorkers: true });
  await writeJob('renamed-lossy', { comm: 'train-v2', dropped: 40 });
  await writeDemoBundle(path('healthy'), scenarioByName('healthy')!, { scale: 0.3 });
  await writeDemoBundle(path('sync-stall'), scenarioByName('sync-stall')!, { scale: 0.3 });
});

function diff(a: string, b: string, opts: DiffOptions = {}): DiffReport {
  const x = openBundle(path(a));
  const y = openBundle(path(b));
  try {
    return diffBundles(x, y, opts);
  } finally {
    x.close();
    y.close();
  }
}

const row = (rows: readonly OpChange[], op: string, proc = '') => {
  const r = rows.find((x) => x.op === op && x.process === proc);
  assert.ok(r, `row for ${proc}:${op}`);
  return r;
};

const ingero = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: work, env: { NO_COLOR: '', ...env } });

test('an op made 3x slower is a regression with ratio 3; unchanged ops are not flagged; small samples say so', () => {
  const r = diff('base', 'slow-sync');
  const sync = row(r.ops, 'cudaStreamSynchronize');
  assert.equal(sync.verdict, 'regression');
  assert.equal(sync.p50_ratio, 3);
  assert.equal(sync.p99_ratio, 3);
  assert.equal(sync.rate_ratio, 1);
  assert.match(sync.reasons.join(' '), /p99 3\.00x .* ≥ 1\.50x/);
  // 200 syncs of 1.0–1.4 ms per 10 s before, 3x that after.
  assert.equal(sync.before!.total_ns, 200 * 1.2 * MS);
  assert.ok(Math.abs(sync.total_delta_ns! - 2 * 200 * 1.2 * MS) < 1e3);
  const launch = row(r.ops, 'cudaLaunchKernel');
  assert.equal(launch.verdict, 'unchanged');
  assert.equal(launch.p99_ratio, 1);
  assert.deepEqual(launch.reasons, []);
  const malloc = row(r.ops, 'cudaMalloc');
  assert.equal(malloc.verdict, 'too-few-events');
  assert.match(malloc.reasons[0]!, /too few events to judge: 10 before, 10 after \(50 needed on each side\)/);
  assert.deepEqual(r.summary, { regressions: 1, improvements: 0, unchanged: 1, not_judged: 1 });
  // Sorted by change in time per second: the slower sync first.
  assert.equal(r.ops[0]!.op, 'cudaStreamSynchronize');

  const back = diff('slow-sync', 'base');
  assert.equal(row(back.ops, 'cudaStreamSynchronize').verdict, 'improvement');
  assert.equal(row(back.ops, 'cudaStreamSynchronize').p99_ratio, 0.3333);
});

test('thresholds are explicit and overridable', () => {
  const r = diff('base', 'slow-sync', { thresholds: { latencyRatio: 4, minSample: 5 } });
  assert.equal(r.thresholds.latencyRatio, 4);
  assert.equal(row(r.ops, 'cudaStreamSynchronize').verdict, 'unchanged');
  assert.equal(row(r.ops, 'cudaMalloc').verdict, 'unchanged');
  assert.throws(() => diff('base', 'base', { thresholds: { nope: 1 } }), /unknown threshold "nope"/);
  assert.throws(() => diff('base', 'base', { thresholds: { latencyRatio: 1 } }), /latencyRatio must be above 1/);
});

test('a host change is listed; facts that stayed the same are not', () => {
  const r = diff('base', 'slow-sync');
  assert.deepEqual(r.setup_changes, [{ fact: 'GPU driver', before: '550.54.15', after: '560.35.03' }]);
});

test('processes are matched by name across pids; several pids of one name are merged with exact percentiles', () => {
  const r = diff('base', 'slow-sync', { byProcess: true });
  const sync = row(r.processes, 'cudaStreamSynchronize', 'trainer');
  assert.equal(sync.verdict, 'regression');
  assert.equal(sync.p99_ratio, 3);
  assert.equal(r.summary.regressions, 2);

  const m = diff('base', 'two-workers', { byProcess: true });
  const launch = row(m.processes, 'cudaLaunchKernel', 'trainer');
  assert.equal(launch.after!.pids, 2);
  assert.equal(launch.after!.events, 1000);
  // The first pid's launches take 5, 7, 9, 11 or 13 µs, the second's 16 to 24 µs (500 each): over
  // both, the p50 is the fast half's slowest (13 µs) and the p99 the slow half's slowest (24 µs).
  assert.equal(launch.after!.p50_ns, 13e3);
  assert.equal(launch.after!.p99_ns, 24e3);
  assert.equal(launch.before!.p99_ns, 14e3);
  assert.equal(launch.verdict, 'regression');
});

test('findings: one only in AFTER is new, only in BEFORE gone, in both persisting (matched by kind, op and process name)', () => {
  const r = diff('healthy', 'sync-stall');
  const stall = r.findings.find((f) => f.kind === 'sync-stall');
  assert.ok(stall);
  assert.equal(stall.status, 'new');
  assert.equal(stall.severity_before, null);
  assert.equal(stall.severity_after, 'HIGH');
  assert.equal(stall.process, 'python3');
  assert.equal(r.findings[0]!.status, 'new');
  // The op that appears with seconds of blocking is the largest change: first, its whole time as the delta.
  const appeared = row(r.ops, 'cudaDeviceSynchronize');
  assert.equal(appeared.verdict, 'only-after');
  assert.equal(r.ops[0], appeared);
  assert.equal(appeared.total_delta_ns, appeared.after!.total_ns);
  const back = diff('sync-stall', 'healthy');
  assert.equal(back.findings.find((f) => f.kind === 'sync-stall')?.status, 'gone');
  for (const f of r.findings.filter((x) => x.status === 'persisting')) assert.ok(back.findings.some((g) => g.kind === f.kind && g.op === f.op && g.status === 'persisting'));
});

test('a sampled side: caveat, no count or rate comparison without complete counts, op_aggregates counts when present, no latency flags', () => {
  const r = diff('base', 'sampled');
  const launch = row(r.ops, 'cudaLaunchKernel');
  assert.equal(launch.verdict, 'sampled');
  assert.equal(launch.after!.count_basis, 'sample');
  assert.equal(launch.after!.count, null);
  assert.equal(launch.after!.rate_per_s, null);
  assert.equal(launch.rate_ratio, null);
  assert.equal(launch.total_delta_ns, null);
  assert.equal(launch.after!.events, 100);
  assert.ok(r.caveats.some((c) => /^AFTER: the events of 1 op\(s\) are only a sample \(keep 1 in 10\).*cudaLaunchKernel have no complete counts, so their counts, rates and time shares are not compared/.test(c)), r.caveats.join('\n'));
  assert.equal(r.after.sampled, true);
  // The synchronize calls are complete on both sides and still compared.
  assert.equal(row(r.ops, 'cudaStreamSynchronize').verdict, 'unchanged');

  const agg = diff('base', 'sampled-agg');
  const counted = row(agg.ops, 'cudaLaunchKernel');
  assert.equal(counted.after!.count_basis, 'op_aggregates');
  assert.equal(counted.after!.count, 1000);
  assert.ok(Math.abs(counted.rate_ratio! - 1) < 0.01, String(counted.rate_ratio));
  assert.equal(counted.verdict, 'sampled');
  assert.ok(agg.caveats.some((c) => /counts and times of cudaLaunchKernel come from op_aggregates/.test(c)));
});

test('recordings of different lengths: rates per second compare, and a caveat says the spans differ', () => {
  const r = diff('base', 'long');
  const launch = row(r.ops, 'cudaLaunchKernel');
  assert.equal(launch.after!.count, 3 * launch.before!.count!);
  assert.ok(Math.abs(launch.rate_ratio! - 1) < 0.01, String(launch.rate_ratio));
  assert.ok(Math.abs(row(r.ops, 'cudaStreamSynchronize').share_delta!) < 0.01);
  assert.ok(r.caveats.some((c) => /differ in length/.test(c)));
});

test('dropped events and processes that match nothing are said in the caveats', () => {
  const r = diff('base', 'renamed-lossy', { byProcess: true });
  assert.equal(r.after.dropped_events, 40);
  assert.ok(r.caveats.includes('AFTER: 40 events were dropped during capture: its counts, rates and times are lower bounds.'), r.caveats.join('\n'));
  assert.ok(r.caveats.some((c) => /^No process name calls the same op in both recordings/.test(c)));
  assert.ok(r.processes.every((x) => x.verdict === 'only-before' || x.verdict === 'only-after'));
  // The op rows still compare: nothing changed but the name and the loss.
  assert.equal(row(r.ops, 'cudaStreamSynchronize').verdict, 'unchanged');
});

test('the same bundle twice: no changes', () => {
  const r = diff('sync-stall', 'sync-stall', { byProcess: true });
  assert.equal(r.summary.regressions + r.summary.improvements, 0);
  assert.deepEqual(r.setup_changes, []);
  assert.deepEqual(r.caveats, []);
  assert.ok(r.findings.length > 0 && r.findings.every((f) => f.status === 'persisting' && f.severity_before === f.severity_after));
  for (const x of [...r.ops, ...r.processes]) {
    assert.ok(['unchanged', 'too-few-events'].includes(x.verdict), `${x.op}: ${x.verdict}`);
    assert.equal(x.share_delta, 0);
    assert.equal(x.total_delta_ns, 0);
    for (const k of ['rate_ratio', 'p50_ratio', 'p99_ratio', 'max_ratio'] as const) assert.equal(x[k], 1);
  }
});

test('filters: --op keeps only the named ops (rows and findings); --min-events drops small rows', () => {
  const r = diff('healthy', 'sync-stall', { ops: ['cudaLaunchKernel'] });
  assert.deepEqual(r.ops.map((x) => x.op), ['cudaLaunchKernel']);
  assert.deepEqual(r.findings, []);
  const big = diff('base', 'slow-sync', { minEvents: 100 });
  assert.deepEqual(big.ops.map((x) => x.op).sort(), ['cudaLaunchKernel', 'cudaStreamSynchronize']);
});

test('CLI: --json is byte-identical across runs and caches; the text report is aligned and plain when piped', () => {
  const a = ingero(['diff', path('healthy'), path('sync-stall'), '--json', '--by-process']);
  const b = ingero(['diff', path('healthy'), path('sync-stall'), '--json', '--by-process'], { INGERO_CACHE_DIR: join(work, 'other-cache') });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const report = JSON.parse(a.stdout);
  assert.equal(report.findings.find((f: { kind: string }) => f.kind === 'sync-stall').status, 'new');
  assert.ok(!/generated_at|analy[sz]ed_at/.test(a.stdout));

  const text = ingero(['diff', path('base'), path('slow-sync')]);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(!text.stdout.includes('\u001b['), 'no ANSI codes when piped');
  assert.match(text.stdout, /^DIFF — /);
  assert.match(text.stdout, /1 regression, 0 improvements, 1 unchanged, 1 not judged/);
  assert.match(text.stdout, /GPU driver +550\.54\.15 +560\.35\.03/);
  assert.match(text.stdout, /REGRESSION cudaStreamSynchronize: p50 3\.00x/);
  const lines = text.stdout.split('\n');
  const header = lines.findIndex((l) => /^  OP +CALLS/.test(l));
  const column = lines[header]!.indexOf('VERDICT');
  const rows = lines.slice(header + 2, header + 5);
  assert.deepEqual(rows.map((l) => l.slice(column).split(' ')[0]).sort(), ['regression', 'too-few-events', 'unchanged'], 'verdicts start in the VERDICT column');
});

test('CLI: --fail-on-regression exits 3 on a regression, 0 without one', () => {
  assert.equal(ingero(['diff', path('base'), path('slow-sync'), '--fail-on-regression']).code, 3);
  assert.equal(ingero(['diff', path('base'), path('slow-sync')]).code, 0);
  assert.equal(ingero(['diff', path('slow-sync'), path('base'), '--fail-on-regression']).code, 0);
  assert.equal(ingero(['diff', path('base'), path('slow-sync'), '--fail-on-regression', '--threshold', 'latencyRatio=4']).code, 0);
  const same = ingero(['diff', path('base'), path('base'), '--fail-on-regression']);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /0 regressions, 0 improvements, 2 unchanged, 1 not judged/);
  assert.match(same.stdout, /findings: 0 new, 0 gone, 0 persisting/);
});

test('CLI: --fail-on-regression also fails on a new finding at or above --fail-on (HIGH by default)', () => {
  // healthy → sync-stall: no op's latency is flagged, but a HIGH sync-stall is new.
  const latencyOnly = ingero(['diff', path('healthy'), path('sync-stall'), '--fail-on-regression', '--fail-on', 'none']);
  assert.equal(latencyOnly.code, 0, 'the latency rule alone lets it pass: what the finding rule is for');
  const r = ingero(['diff', path('healthy'), path('sync-stall'), '--fail-on-regression']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'ingero: diff fails (--fail-on-regression, --fail-on HIGH): 1 new finding at HIGH or above (HIGH sync-stall)\n');
  assert.match(r.stdout, /^DIFF — /, 'the report is printed as usual');
  assert.equal(ingero(['diff', path('healthy'), path('sync-stall'), '--fail-on-regression', '--fail-on', 'medium']).code, 3, 'case-insensitive, lower thresholds include HIGH');
  // Backwards the finding is gone: no failure from it (the healthy run's own longer syncs fail on latency).
  assert.doesNotMatch(ingero(['diff', path('sync-stall'), path('healthy'), '--fail-on-regression']).stderr, /finding/);
  assert.equal(ingero(['diff', path('healthy'), path('sync-stall')]).code, 0, 'without --fail-on-regression a diff only reports');
  const both = ingero(['diff', path('base'), path('slow-sync'), '--fail-on-regression']);
  assert.equal(both.code, 3);
  assert.match(both.stderr, /1 regressed op \(cudaStreamSynchronize\)/);
  const bad = ingero(['diff', path('healthy'), path('sync-stall'), '--fail-on', 'CRITICAL']);
  assert.equal(bad.code, 2);
  assertOneLineError(bad, /--fail-on takes HIGH, MEDIUM, LOW or none, got "CRITICAL"/);
});

test('the text report colours verdicts when asked to (a terminal), and only then', () => {
  const r = diff('base', 'slow-sync');
  const coloured = renderDiff('b.ingero', 'a.ingero', r, true);
  assert.match(coloured, /\u001b\[1;31mregression\u001b\[0m/);
  assert.equal(renderDiff('b.ingero', 'a.ingero', r, false).replace(/\u001b\[[0-9;]*m/g, ''), coloured.replace(/\u001b\[[0-9;]*m/g, ''));
});

/** base's database edited (SQL, or bytes of the events table's root page inverted) in a valid container: checksums pass, queries meet the damage. */
function hostile(name: string, edit: string | 'damage-events'): string {
  const b = openBundle(path('base'));
  const manifest = structuredClone(b.manifest) as { database: object; compression: object };
  const dbPath = join(work, `${name}.sqlite`);
  copyFileSync(b.databasePath, dbPath);
  b.close();
  const db = new Database(dbPath);
  const root = db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'events'").pluck().get() as number;
  if (edit !== 'damage-events') db.exec(edit);
  db.close();
  if (edit === 'damage-events') {
    const bytes = readFileSync(dbPath);
    for (let i = (root - 1) * 4096; i < (root - 1) * 4096 + 8; i++) bytes[i]! ^= 0xff;
    writeFileSync(dbPath, bytes);
  }
  const size = statSync(dbPath).size;
  manifest.database = { bytes: size, sha256: createHash('sha256').update(readFileSync(dbPath)).digest('hex'), page_size: 4096 };
  manifest.compression = { codec: 'zstd', level: 3, frame_bytes: 4 << 20, frames: Math.ceil(size / (4 << 20)) };
  writeContainer(dbPath, path(name), JSON.stringify(manifest), { compressionLevel: 3, frameBytes: 4 << 20 });
  return path(name);
}

test('CLI: bad input gets one line naming the bundle at fault; bad usage exits 2', () => {
  const junk = join(work, 'junk.ingero');
  writeFileSync(junk, 'not a bundle at all, just text');
  const truncated = join(work, 'truncated.ingero');
  const whole = spawnSync('head', ['-c', '3000', path('base')]);
  writeFileSync(truncated, whole.stdout);
  const cases: [string[], RegExp][] = [
    [[join(work, 'missing.ingero'), path('base')], /^ingero: BEFORE bundle: .*missing\.ingero: no such file/],
    [[path('base'), join(work, 'missing.ingero')], /^ingero: AFTER bundle: .*missing\.ingero: no such file/],
    [[junk, path('base')], /^ingero: BEFORE bundle: .*junk\.ingero: not an ingero bundle/],
    [[path('base'), truncated], /^ingero: AFTER bundle: .*truncated\.ingero/],
    [[path('base'), hostile('negative-durations', 'UPDATE events SET dur_ns = -5000000 WHERE id % 4 = 0')], /^ingero: AFTER bundle: .*negative-durations\.ingero: \d+ event\(s\) have/],
    [[hostile('damaged-events', 'damage-events'), path('base')], /^ingero: BEFORE bundle .*damaged-events\.ingero: the database inside is damaged/],
  ];
  for (const [args, expected] of cases) {
    const r = ingero(['diff', ...args]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, '');
  }
  for (const args of [['--threshold', 'nope=1'], ['--op', 'cudaNothing'], ['--min-events', '-3']]) {
    const r = ingero(['diff', path('base'), path('base'), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.equal(ingero(['diff', path('base')]).code, 2);
});
