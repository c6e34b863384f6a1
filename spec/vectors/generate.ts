// Generates the golden test vectors of spec/bundle-v1.md: small valid bundles covering each
// feature, and broken or hostile ones, each with the outcome a reader must produce
// (expected.json). Deterministic: running it again gives byte-identical files, which
// test/format-vectors.test.ts checks.
//
//   npx tsx spec/vectors/generate.ts [OUT_DIR]     (default: spec/vectors)
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Compressor } from 'zstd-napi';
import { BundleWriter, openBundle, opId, packDims, SOURCE, type Manifest, type SealOptions } from '../../format/index.ts';
import { writeContainer } from '../../format/seal.ts';

const outDir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'ingero-vectors-'));
const cacheDir = join(work, 'cache');

/** What a reader must do with a vector: open it, or refuse it with this error code and message. */
type Expectation = { ok: true; events: number; note: string } | { error: string; message: string; note: string };
const expected: Record<string, Expectation> = {};

const SEAL: SealOptions = { createdUnixNs: 1_767_225_600_000_000_000n, host: { 'host.hostname': 'vector-host', 'host.kernel': '6.1.0' } };
const ORIGIN = 1_767_225_600_000_000_000n;

function writer(name: string, extra: Partial<SealOptions> = {}): BundleWriter {
  rmSync(join(outDir, name), { force: true });
  return BundleWriter.create(join(outDir, name), { ...SEAL, ...extra, originUnixNs: ORIGIN, producer: { name: 'ingero', version: 'vectors', command: 'spec/vectors/generate.ts' }, nodeName: 'node-a' });
}

async function valid(name: string, note: string, fill: (w: BundleWriter) => void, extra: Partial<SealOptions> = {}): Promise<void> {
  const w = writer(name, extra);
  fill(w);
  const r = await w.seal();
  expected[name] = { ok: true, events: r.events, note };
}

function cudaEvents(w: BundleWriter, n: number, pid = 4242): void {
  for (let i = 0; i < n; i++) {
    const ts = 1_000 + i * 7_919;
    if (i % 5 === 0) w.appendEvent({ ts_ns: ts, dur_ns: 2_000 + (i % 7) * 300, pid, tid: pid, op_id: opId('cudaMemcpyAsync'), arg0: 1 << (10 + (i % 12)), arg1: 1, arg2: 0x5555_0000_1000n, ret: 0 });
    else if (i % 5 === 4) w.appendEvent({ ts_ns: ts, dur_ns: 40_000 + (i % 3) * 1_000, pid, tid: pid + 1, op_id: opId('sched_switch'), arg0: 17, arg1: 17, arg2: 1 });
    else w.appendEvent({ ts_ns: ts, dur_ns: 3_500 + (i % 11) * 100, pid, tid: pid, op_id: opId('cudaLaunchKernel'), arg0: 0x7f00_dead_0000n + BigInt(i % 4) * 0x40n, arg1: 0x5555_0000_1000n, arg2: packDims(128, 2, 1), arg3: packDims(256, 1, 1), ret: 0 });
  }
  w.addProcess({ pid, ppid: 1, start_ns: 0, comm: 'python3', cmdline: 'python3 train.py' });
  w.addThread({ tid: pid, pid, first_ns: 0, comm: 'python3' });
  w.addThread({ tid: pid + 1, pid, first_ns: 10, comm: 'pt_data_worker' });
}

// ---- valid vectors -------------------------------------------------------------------------
await valid('empty.ingero', 'no events at all: every table present, manifest counts 0', () => {});

await valid('cuda-basic.ingero', 'CUDA and scheduler events of one process, process and thread rows, metadata', (w) => {
  cudaEvents(w, 200);
  w.setMetadata('host.kernel', '6.1.0');
  w.setMetadata('gpu.model', 'Vector GPU 80GB');
  w.setMetadata('recorder.options', { stacks: true, sched: true });
});

await valid('stacks.ingero', 'events with symbolized stacks: native and Python frames, mappings with build ids, raw and relative addresses kept', (w) => {
  const libcudart = { path: 'libcudart.so.12', build_id: 'aa11bb22cc33', start_addr: 0x7f00_0000_0000n, end_addr: 0x7f00_0100_0000n, file_offset: 0 };
  const python = { path: 'python3.11', build_id: null, start_addr: 0x5555_0000_0000n, end_addr: 0x5555_0100_0000n, file_offset: 0x1000 };
  const leaf = { kind: 'native' as const, address: 0x7f00_0000_4a10n, rel_address: 0x4a10n, mapping: libcudart, function: { name: 'cudaMalloc', system_name: 'cudaMalloc' }, offset: 0x10 };
  const a = w.internStack([leaf, { kind: 'native', address: 0x5555_0000_2200n, rel_address: 0x3200n, mapping: python, function: { name: 'PyObject_Call' }, offset: 0x40 }, { kind: 'python', function: { name: 'train_step', filename: 'train.py', start_line: 40 }, line: 57 }]);
  const b = w.internStack([leaf, { kind: 'native', address: 0x5555_0000_9999n, mapping: python }]);
  for (let i = 0; i < 50; i++) w.appendEvent({ ts_ns: 500 + i * 10_000, dur_ns: 20_000 + i, pid: 7, tid: 7, op_id: opId('cudaMalloc'), arg0: 1 << 20, arg1: 0x7f10_0000_0000n + BigInt(i) * 0x10_0000n, ret: 0, stack_id: i % 3 === 0 ? b : a });
  w.addProcess({ pid: 7, start_ns: 0, comm: 'python3' });
});

await valid('multi-node-sampled.ingero', 'two nodes, capture loss, sampling with op aggregates, system samples, annotations, imported findings', (w) => {
  w.addNode(1, 'node-b', 1_250);
  cudaEvents(w, 60, 100);
  for (let i = 0; i < 60; i++) w.appendEvent({ ts_ns: 3_000 + i * 9_001, dur_ns: 1_000, node_id: 1, pid: 100, tid: 100, op_id: opId('cuLaunchKernel'), arg0: 0x10n, arg1: 0n, arg2: packDims(1, 1, 1), arg3: packDims(32, 1, 1), ret: 0 });
  w.addProcess({ node_id: 1, pid: 100, start_ns: 5, comm: 'worker' });
  w.addCaptureLoss({ probe: 'ringbuf', source_id: SOURCE.host, emitted: 1_000, dropped: 12, note: 'ring buffer full for 3 ms' });
  w.addSampling({ source_id: SOURCE.cuda, op_id: opId('cudaLaunchKernel'), from_ns: 0, to_ns: null, policy: 'ingero-selective-storage', note: 'launches under 1 ms kept 1 in 10' });
  w.addAggregate({ bucket_ns: 0, width_ns: 1_000_000, op_id: opId('cudaLaunchKernel'), pid: 100, count: 480, stored: 48, sum_dur_ns: 1_700_000, min_dur_ns: 3_500, max_dur_ns: 4_500, sum_arg0: 0 });
  w.addSystemSample({ ts_ns: 0, cpu_pct: 42.5, mem_pct: 61.25, mem_avail_bytes: 8_000_000_000, swap_bytes: 0, load1: 1.5 });
  w.addAnnotation({ ts_ns: 1_000, end_ns: 400_000, pid: 100, labels: { phase: 'epoch 1' } });
  w.addImportedFinding({ origin: 'ingero-go causal_chains', origin_id: 'chain-1', detected_ns: 300_000, severity: 'HIGH', op: 'cudaLaunchKernel', summary: 'launch tail latency', recommendations: ['pin the process'], timeline: [{ layer: 'HOST', op: 'sched_switch', detail: 'preempted', dur_us: 40 }], p50_ns: 3_600, p99_ns: 40_000, tail_ratio: 11.1, occurrences: 3 });
});

await valid('gpu-activity.ingero', 'schema 2: kernels, a copy and a memset on two streams, linked to their launching runtime calls by corr_id; kernel configurations in gpu_kernels, operator names in names', (w) => {
  const gemm = w.internKernel({ name: 'ampere_sgemm_128x64_tn', grid: [120, 1, 1], block: [128, 1, 1], registers: 122, shared_memory: 49152 });
  const relu = w.internKernel({ name: 'void at::native::vectorized_elementwise_kernel<4, at::native::relu>', grid: [512, 1, 1], block: [128, 1, 1], registers: 20, shared_memory: 0 });
  const mm = w.internName('aten::mm');
  for (let i = 0; i < 20; i++) {
    const t = 10_000 + i * 50_000;
    w.appendEvent({ ts_ns: t, dur_ns: 30_000, pid: 4242, tid: 4242, op_id: opId('cpu_op'), arg0: mm, arg1: 100 + i });
    w.appendEvent({ ts_ns: t + 1_000, dur_ns: 4_500, pid: 4242, tid: 4242, op_id: opId('cudaLaunchKernel'), ret: 0, corr_id: 1_000 + i });
    w.appendEvent({ ts_ns: t + 9_000, dur_ns: 20_123, pid: 0, tid: 0, op_id: opId('kernel'), arg0: i % 4 === 3 ? relu : gemm, arg2: 0, arg3: 7, corr_id: 1_000 + i });
  }
  w.appendEvent({ ts_ns: 1_100_000, dur_ns: 3_000, pid: 4242, tid: 4242, op_id: opId('cudaMemcpyAsync'), arg0: 1 << 20, arg1: 2, ret: 0, corr_id: 2_000 });
  w.appendEvent({ ts_ns: 1_102_000, dur_ns: 90_500, pid: 0, tid: 0, op_id: opId('memcpy'), arg0: 1 << 20, arg1: 2 | (3 << 8) | (1 << 16), arg2: 0, arg3: 20, corr_id: 2_000 });
  w.appendEvent({ ts_ns: 1_200_000, dur_ns: 1_200, pid: 0, tid: 0, op_id: opId('memset'), arg0: 4096, arg2: 0, arg3: 20, corr_id: 2_001 });
  w.addProcess({ pid: 4242, start_ns: 0, comm: 'python3' });
  w.addAnnotation({ ts_ns: 5_000, end_ns: 1_000_000, pid: 4242, labels: { source: 'kineto', category: 'user_annotation', name: 'ProfilerStep#1' } });
  w.setMetadata('gpu.devices', [{ id: 0, name: 'Vector GPU', totalGlobalMem: 85899345920, computeMajor: 9, computeMinor: 0 }]);
});

await valid('unsorted-input.ingero', 'events appended out of time order: sealed with dense ids in ts order', (w) => {
  for (let i = 0; i < 300; i++) w.appendEvent({ ts_ns: ((i * 7_777) % 300) * 1_000, dur_ns: i, pid: 1, tid: 1, op_id: opId('cudaFree'), arg0: BigInt(i), ret: 0 });
});

await valid('multi-frame.ingero', 'database split into 4 KiB frames: many data frames and a long seek table', (w) => cudaEvents(w, 400), { frameBytes: 4096 });

// ---- forward compatibility ------------------------------------------------------------------
const base = openBundle(join(outDir, 'cuda-basic.ingero'), { cacheDir });
const baseManifest = base.manifest;
const baseDb = base.databasePath;
base.close();

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A copy of cuda-basic's database, changed by `edit` with plain SQL. */
function editedDatabase(edit: (db: Database.Database) => void): string {
  const path = join(work, `edited-${Object.keys(expected).length}.sqlite`);
  copyFileSync(baseDb, path);
  const db = new Database(path);
  edit(db);
  db.close();
  return path;
}

interface WrapOptions {
  readonly manifest?: (m: Record<string, any>) => void;
  readonly header?: { containerMajor: number; containerMinor: number; minReaderMajor: number; flags: number };
  readonly frameBytes?: number;
}

/** Wraps a database file in a container with a manifest that tells the truth unless told otherwise. */
function wrap(dbPath: string, name: string, options: WrapOptions = {}): void {
  const frameBytes = options.frameBytes ?? 4 << 20;
  const bytes = statSync(dbPath).size;
  const m = structuredClone(baseManifest) as Record<string, any>;
  m.database = { bytes, sha256: sha256File(dbPath), page_size: 4096 };
  m.compression = { codec: 'zstd', level: 3, frame_bytes: frameBytes, frames: Math.ceil(bytes / frameBytes) };
  options.manifest?.(m);
  writeContainer(dbPath, join(outDir, name), JSON.stringify(m), { compressionLevel: 3, frameBytes, header: options.header });
}

const extras = editedDatabase((db) => {
  db.exec('CREATE TABLE gpu_counters (ts_ns INTEGER NOT NULL, sm_active REAL)');
  db.exec('INSERT INTO gpu_counters VALUES (1000, 0.5)');
  db.exec('ALTER TABLE processes ADD COLUMN container_image TEXT');
  db.exec(`INSERT INTO ops (id, source_id, name, description) VALUES (${SOURCE.cuda * 256 + 250}, ${SOURCE.cuda}, 'cudaFutureCall', 'An op a newer recorder knows')`);
  db.exec(`INSERT INTO events (ts_ns, dur_ns, node_id, pid, tid, op_id) VALUES (2000000, 5, 0, 4242, 4242, ${SOURCE.cuda * 256 + 250})`);
});
wrap(extras, 'forward-compatible.ingero', {
  header: { containerMajor: 1, containerMinor: 7, minReaderMajor: 1, flags: 0 },
  manifest: (m) => {
    m.future_section = { anything: [1, 2, 3] };
    m.counts.events += 1;
  },
});
expected['forward-compatible.ingero'] = { ok: true, events: 201, note: 'newer container minor, unknown manifest key, extra table, extra column, unknown op code: readers ignore what they do not know' };

// ---- broken vectors -------------------------------------------------------------------------
function broken(name: string, bytes: Buffer, error: string, message: string, note: string): void {
  writeFileSync(join(outDir, name), bytes);
  expected[name] = { error, message, note };
}
const good = readFileSync(join(outDir, 'multi-frame.ingero'));
const headerBytes = 8 + good.readUInt32LE(4);
const flip = (b: Buffer, at: number, mask = 0x01) => {
  const c = Buffer.from(b);
  c[at]! ^= mask;
  return c;
};

broken('empty-file.ingero', Buffer.alloc(0), 'NOT_A_BUNDLE', 'not an ingero bundle \\(0 bytes, too short\\)', 'zero-length file');
broken('truncated-header.ingero', good.subarray(0, 40), 'TRUNCATED', 'truncated at byte 40', 'cut inside the header frame');
const cut = headerBytes + Math.floor((good.length - headerBytes) / 2);
broken('truncated.ingero', good.subarray(0, cut), 'TRUNCATED', `truncated at byte ${cut} — the recording was probably interrupted`, 'cut in the middle of the data frames (seek table lost)');
broken('flipped-manifest.ingero', flip(good, 8 + 52 + 20), 'CHECKSUM', 'header checksum mismatch', 'one bit flipped inside the manifest JSON');
broken('flipped-version-minor.ingero', flip(good, 8 + 10), 'CHECKSUM', 'header checksum mismatch', 'one bit flipped in the container minor version (covered by the header checksum)');
// The last 4 bytes of the first data frame are its XXH64 content checksum.
const firstFrameEnd = headerBytes + good.readUInt32LE(good.length - 9 - 8 * good.readUInt32LE(good.length - 9));
broken('flipped-frame-checksum.ingero', flip(good, firstFrameEnd - 2), 'CHECKSUM', 'data frame 1 of \\d+ \\(byte \\d+\\) is damaged', 'one bit flipped in the first frame\'s content checksum');
broken('flipped-data.ingero', flip(good, headerBytes + 200, 0x10), 'CHECKSUM|CORRUPT', 'data frame 1 of \\d+ \\(byte \\d+\\) is damaged', 'one bit flipped inside the first frame\'s compressed block');
broken('flipped-seek-table.ingero', flip(good, good.length - 9 - 4), 'CORRUPT', 'seek table', 'one bit flipped in the last seek table entry');
broken('wrong-magic.ingero', flip(good, 9, 0x20), 'NOT_A_BUNDLE', 'wrong magic bytes', '"INGERO" spelled "InGERO"');
const plainDb = readFileSync(baseDb);
const zc = new Compressor();
zc.setParameters({ compressionLevel: 3, checksumFlag: true });
broken('plain-zstd.ingero', zc.compress(plainDb), 'NOT_A_BUNDLE', 'a plain zstd file', 'a zstd-compressed database without the bundle header');
broken('plain-sqlite.ingero', plainDb, 'NOT_A_BUNDLE', 'a SQLite database, not an ingero bundle', 'an uncompressed SQLite database');

wrap(baseDb, 'newer-container-major.ingero', { header: { containerMajor: 2, containerMinor: 0, minReaderMajor: 2, flags: 0 } });
expected['newer-container-major.ingero'] = { error: 'VERSION', message: 'needs a reader for version 2\\.x; this ingero reads 1\\.x — upgrade ingero', note: 'container 2.0 with min reader 2' };
wrap(baseDb, 'unknown-header-flag.ingero', { header: { containerMajor: 1, containerMinor: 0, minReaderMajor: 1, flags: 0x0004 } });
expected['unknown-header-flag.ingero'] = { error: 'VERSION', message: 'header flags 0x4 are not defined', note: 'a must-understand header flag this reader does not know' };
wrap(baseDb, 'newer-schema.ingero', { manifest: (m) => ((m.schema_version = 3), (m.min_schema_reader = 3)) });
expected['newer-schema.ingero'] = { error: 'VERSION', message: 'needs a reader of schema 3 or newer', note: 'manifest min_schema_reader 3' };
wrap(baseDb, 'lying-sha256.ingero', { manifest: (m) => (m.database.sha256 = createHash('sha256').update('another database').digest('hex')) });
expected['lying-sha256.ingero'] = { error: 'CHECKSUM', message: 'database checksum mismatch', note: 'manifest names another database digest; its header checksum is valid, only the database digest check catches it' };
wrap(baseDb, 'oversized-frame.ingero', { manifest: (m) => (m.database.bytes = 100 << 20) });
{
  // Seek table entry patched to declare a 100 MiB frame; manifest agrees; header checksum valid.
  const path = join(outDir, 'oversized-frame.ingero');
  const b = readFileSync(path);
  b.writeUInt32LE(100 << 20, b.length - 9 - 4);
  writeFileSync(path, b);
}
expected['oversized-frame.ingero'] = { error: 'HOSTILE', message: 'declares a 104857600-byte frame, above the 67108864-byte limit', note: 'seek table and manifest claim a 100 MiB frame: refused before any allocation' };

const hostile: [string, string, string, (db: Database.Database) => void][] = [
  ['trigger.ingero', 'contains a trigger \\("evil"\\)', 'a trigger on events', (db) => db.exec("CREATE TRIGGER evil AFTER INSERT ON events BEGIN DELETE FROM metadata; END")],
  ['view.ingero', 'contains a view \\("events_v"\\)', 'a view shadowing a query', (db) => db.exec('CREATE VIEW events_v AS SELECT * FROM events')],
  ['virtual-table.ingero', 'contains a virtual table \\("notes"\\)', 'an FTS5 virtual table', (db) => db.exec('CREATE VIRTUAL TABLE notes USING fts5(body)')],
  ['huge-string.ingero', 'table processes holds a 2097152-byte string, above the 65536-byte limit', 'a 2 MiB process name', (db) => db.prepare('UPDATE processes SET comm = ?').run('A'.repeat(2 << 20))],
  ['missing-table.ingero', 'table sampling is missing', 'table sampling dropped', (db) => db.exec('DROP TABLE sampling')],
  ['missing-column.ingero', 'table events lacks column\\(s\\) stack_id', 'events.stack_id dropped', (db) => db.exec('ALTER TABLE events DROP COLUMN stack_id')],
  ['events-not-rowid.ingero', 'id is not the INTEGER PRIMARY KEY', 'events.id is an ordinary column, so id lookups would scan', (db) => {
    db.exec('CREATE TABLE events2 (id INT, ts_ns INTEGER NOT NULL, dur_ns INTEGER NOT NULL, node_id INTEGER NOT NULL DEFAULT 0, pid INTEGER NOT NULL, tid INTEGER NOT NULL, op_id INTEGER NOT NULL, arg0 INTEGER, arg1 INTEGER, arg2 INTEGER, arg3 INTEGER, ret INTEGER, stack_id INTEGER, corr_id INTEGER)');
    db.exec('INSERT INTO events2 SELECT * FROM events; DROP TABLE events; ALTER TABLE events2 RENAME TO events');
  }],
  ['wrong-application-id.ingero', 'application_id is 0x0', 'a SQLite database of another application', (db) => db.pragma('application_id = 0')],
];
for (const [name, message, note, edit] of hostile) {
  const path = editedDatabase((db) => {
    edit(db);
    db.exec('VACUUM');
  });
  wrap(path, name);
  expected[name] = { error: 'SCHEMA', message, note };
}

writeFileSync(join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
rmSync(work, { recursive: true, force: true });
