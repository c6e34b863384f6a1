// BundleWriter → seal → openBundle with real SQLite and zstd: events come back in time order with
// every filter agreeing with a plain scan of the input, stacks and metadata resolve, the cache is
// reused, and the bundle reads with nothing but the zstd and sqlite3 command-line tools.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BundleWriter, openBundle, opId, readBundleHeader, SCHEMA_VERSION, type Bundle, type EventInput, type SealResult } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-roundtrip-'));
const cacheDir = join(work, 'cache');
const out = join(work, 'trace.ingero');
after(() => rmSync(work, { recursive: true, force: true }));

// Deterministic pseudo-random input, appended out of order in places.
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const ops = [opId('cudaLaunchKernel'), opId('cudaMemcpy'), opId('sched_switch'), opId('cudaMalloc')];
const input: EventInput[] = Array.from({ length: 5_000 }, (_, i) => ({
  ts_ns: Math.floor(i * 1_000 + rand() * 5_000),
  dur_ns: Math.floor(rand() * 100_000),
  node_id: i % 10 === 0 ? 1 : 0,
  pid: 100 + (i % 3),
  tid: 1000 + (i % 7),
  op_id: ops[i % ops.length]!,
  arg0: i % 4 === 0 ? 0x7fff_ffff_ffff_fff0n - BigInt(i) : i,
  arg1: i % 2 ? null : 3,
  ret: i % 50 === 0 ? 2 : 0,
}));
const sorted = input.map((e, i) => ({ e, i })).sort((a, b) => a.e.ts_ns - b.e.ts_ns || a.i - b.i).map((x) => x.e);

let sealed: SealResult;
let bundle: Bundle;
let stackId: number;
before(async () => {
  const w = BundleWriter.create(out, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero', version: 'test', command: 'roundtrip' }, nodeName: 'alpha', frameBytes: 64 * 1024 });
  w.addNode(1, 'beta');
  stackId = w.internStack([
    { kind: 'native', address: 0xffff_ffff_ffff_0010n, rel_address: 0x10n, mapping: { path: 'libcudart.so.12', build_id: 'abcd', start_addr: 0xffff_ffff_ffff_0000n }, function: { name: 'cudaMalloc' }, offset: 16 },
    { kind: 'python', function: { name: 'step', filename: 'train.py', start_line: 3 }, line: 9 },
  ]);
  assert.equal(w.internStack([{ kind: 'native', address: 0xffff_ffff_ffff_0010n, rel_address: 0x10n, mapping: { path: 'libcudart.so.12', build_id: 'abcd', start_addr: 0xffff_ffff_ffff_0000n }, function: { name: 'cudaMalloc' }, offset: 16 }, { kind: 'python', function: { name: 'step', filename: 'train.py', start_line: 3 }, line: 9 }]), stackId, 'same frames, same stack id');
  for (const e of input) w.appendEvent(e.op_id === opId('cudaMalloc') ? { ...e, stack_id: stackId } : e);
  w.addProcess({ pid: 100, comm: 'python3', cmdline: 'python3 train.py', start_ns: 0 });
  w.setMetadata('gpu.model', 'Test GPU');
  w.setMetadata('recorder.options', { sched: true, depth: 3 });
  w.addCaptureLoss({ probe: 'ringbuf', emitted: 10, dropped: 2 });
  sealed = await w.seal();
  bundle = openBundle(out, { cacheDir });
});
after(() => bundle?.close());

const project = (e: EventInput) => [e.ts_ns, e.dur_ns, e.node_id ?? 0, e.pid, e.tid, e.op_id, e.arg0 === undefined || e.arg0 === null ? null : BigInt(e.arg0), e.arg1 === undefined || e.arg1 === null ? null : BigInt(e.arg1), e.ret ?? null];

describe('format round trip', () => {
  test('seal leaves only the bundle: no staging, no temp files', () => {
    assert.deepEqual(readdirSync(work).filter((f) => f !== 'cache').sort(), ['trace.ingero']);
    assert.ok(sealed.manifest.compression.frames > 3, 'small frames give several data frames');
  });

  test('events come back complete, dense and in time order', () => {
    const got = [...bundle.events()];
    assert.equal(got.length, input.length);
    got.forEach((e, i) => assert.equal(e.id, i + 1));
    assert.deepEqual(got.map((e) => [e.ts_ns, e.dur_ns, e.node_id, e.pid, e.tid, e.op_id, e.arg0, e.arg1, e.ret]), sorted.map(project));
  });

  test('filters agree with a plain scan of the input', () => {
    const cases = [
      { filter: { fromNs: 1_000_000, toNs: 2_000_000 }, keep: (e: EventInput) => e.ts_ns >= 1_000_000 && e.ts_ns < 2_000_000 },
      { filter: { opIds: [opId('cudaMemcpy')], minDurNs: 50_000 }, keep: (e: EventInput) => e.op_id === opId('cudaMemcpy') && e.dur_ns >= 50_000 },
      { filter: { pids: [101, 102], nodeId: 0 }, keep: (e: EventInput) => (e.pid === 101 || e.pid === 102) && (e.node_id ?? 0) === 0 },
      { filter: { fromNs: 4_000_000 }, keep: (e: EventInput) => e.ts_ns >= 4_000_000 },
      { filter: { toNs: 0 }, keep: () => false },
      { filter: { opIds: [] }, keep: () => false },
    ];
    for (const { filter, keep } of cases) {
      assert.deepEqual([...bundle.events(filter)].map((e) => [e.ts_ns, e.dur_ns, e.node_id, e.pid, e.tid, e.op_id, e.arg0, e.arg1, e.ret]), sorted.filter(keep).map(project), JSON.stringify(filter));
    }
  });

  test('afterId and limit page through the events', () => {
    const pages: number[] = [];
    let afterId = 0;
    for (;;) {
      const page = [...bundle.events({ afterId, limit: 700 })];
      if (page.length === 0) break;
      pages.push(page.length);
      afterId = page.at(-1)!.id;
    }
    assert.equal(pages.reduce((a, b) => a + b, 0), input.length);
    assert.ok(pages.slice(0, -1).every((n) => n === 700));
  });

  test('slowest-first order pages through every event once, longest first, with tids filtered', () => {
    const tid = sorted[0]!.tid;
    const want = [...bundle.events({ tids: [tid] })].sort((a, b) => b.dur_ns - a.dur_ns || a.id - b.id).map((e) => e.id);
    assert.ok(want.length > 10);
    const got: number[] = [];
    let after: { dur_ns: number; id: number } | undefined;
    for (;;) {
      const page = [...bundle.events({ tids: [tid], order: 'slowest', afterSlowest: after, limit: 7 })];
      if (page.length === 0) break;
      assert.ok(page.every((e) => e.tid === tid));
      got.push(...page.map((e) => e.id));
      after = { dur_ns: page.at(-1)!.dur_ns, id: page.at(-1)!.id };
    }
    assert.deepEqual(got, want);
  });

  test('idAtTime is a binary search over time-ordered ids', () => {
    for (const ns of [0, 1, 777_777, 2_500_000, 10_000_000]) {
      const want = sorted.findIndex((e) => e.ts_ns >= ns);
      assert.equal(bundle.idAtTime(ns), want === -1 ? input.length + 1 : want + 1);
    }
  });

  test('stacks resolve leaf first with raw 64-bit addresses kept', () => {
    const frames = bundle.stack(stackId);
    assert.equal(frames.length, 2);
    assert.equal(frames[0]!.function, 'cudaMalloc');
    assert.equal(frames[0]!.address, 0xffff_ffff_ffff_0010n - 2n ** 64n, 'u64 addresses are stored as signed 64-bit integers');
    assert.equal(BigInt.asUintN(64, frames[0]!.address!), 0xffff_ffff_ffff_0010n);
    assert.equal(frames[0]!.module, 'libcudart.so.12');
    assert.equal(frames[0]!.buildId, 'abcd');
    assert.deepEqual([frames[1]!.kind, frames[1]!.function, frames[1]!.file, frames[1]!.line], ['python', 'step', 'train.py', 9]);
    const withStack = [...bundle.events({ opIds: [opId('cudaMalloc')] })];
    assert.ok(withStack.length > 0 && withStack.every((e) => e.stack_id === stackId));
  });

  test('metadata comes back typed, manifest counts match the database', () => {
    const md = bundle.metadata();
    assert.equal(md['gpu.model'], 'Test GPU');
    assert.deepEqual(md['recorder.options'], { sched: true, depth: 3 });
    assert.equal(md['clock.origin_unix_ns'], '1700000000000000000');
    const m = bundle.manifest;
    assert.equal(m.counts.events, input.length);
    assert.equal(m.counts.by_source.cuda! + m.counts.by_source.host!, input.length);
    assert.equal(m.counts.by_source.host, input.filter((e) => e.op_id === opId('sched_switch')).length);
    assert.equal(m.capture.dropped, 2);
    assert.deepEqual(m.nodes, ['alpha', 'beta']);
    assert.equal(m.time.start_ns, sorted[0]!.ts_ns);
    assert.equal(m.time.end_ns, Math.max(...input.map((e) => e.ts_ns + e.dur_ns)));
    assert.equal(readBundleHeader(out).manifest.database.sha256, m.database.sha256);
  });

  test('the database is read-only and defensive', () => {
    assert.throws(() => bundle.db.exec('DELETE FROM events'), /readonly|read-only|query_only/i);
    assert.throws(() => bundle.db.prepare("SELECT load_extension('libz.so.1')").get(), /not authorized/);
    assert.equal(bundle.db.pragma('trusted_schema', { simple: true }), 0);
  });

  test('the second open reuses the cached database untouched', () => {
    const before = statSync(bundle.databasePath);
    const digest = () => createHash('sha256').update(readFileSync(bundle.databasePath)).digest('hex');
    const contentBefore = digest();
    const again = openBundle(out, { cacheDir });
    try {
      assert.equal(again.databasePath, bundle.databasePath);
      const now = statSync(again.databasePath);
      assert.equal(now.ino, before.ino);
      // Only its last-use time moves (the cache evicts least recently used entries).
      assert.equal(digest(), contentBefore);
      assert.ok(now.mtimeMs >= before.mtimeMs);
    } finally {
      again.close();
    }
  });

  test('zstd -dc yields the SQLite database; sqlite3 reads it; the manifest reads with tail, head and od', (t) => {
    for (const tool of ['zstd', 'sqlite3', 'sh']) {
      if (spawnSync(tool, ['--version']).error) {
        t.skip(`${tool} is not installed: cannot run the spec's command-line recipe`);
        return;
      }
    }
    const db = join(work, 'trace.sqlite');
    execFileSync('sh', ['-c', `zstd -q -dc "${out}" > "${db}"`]);
    assert.ok(readFileSync(db).equals(readFileSync(bundle.databasePath)), 'zstd -dc gives exactly the verified database');
    const count = execFileSync('sqlite3', ['-readonly', db, 'SELECT count(*), min(id), max(id) FROM events; PRAGMA application_id; PRAGMA user_version;'], { encoding: 'utf8' });
    assert.equal(count, `${input.length}|1|${input.length}\n${0x494e4752}\n${SCHEMA_VERSION}\n`);
    const schema = execFileSync('sqlite3', ['-readonly', db, '.schema events'], { encoding: 'utf8' });
    assert.match(schema, /\n  ts_ns INTEGER NOT NULL, -- \[ns\] Start of the event/, '.schema shows each column with its unit and meaning');
    // The spec's recipe for the manifest: its length is the u32 at byte 24, the JSON starts at byte 60.
    const json = execFileSync('sh', ['-c', `tail -c +61 "${out}" | head -c "$(od -An -tu4 -j24 -N4 "${out}" | tr -d ' ')"`], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(bundle.manifest)));
  });
});
