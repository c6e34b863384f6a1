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
import { headerDigest } from '../../format/container.ts';
import { databaseFacts, writeContainer } from '../../format/seal.ts';

const README_HEAD = `# Test vectors for spec/bundle-v1.md

Small bundles that every reader must handle as listed. \`expected.json\` is the machine-readable
form: for each file either \`{"ok": true, "events": N}\` (with \`"verify": {"error": CODE,
"message": REGEX}\` when full verification must report such a problem) or \`{"error": CODE,
"message": REGEX}\`, where \`CODE\` is a regular expression over the error codes of spec §9 and
\`REGEX\` must match the one-line message. Codes are normative; messages are informative (the reference reader's wording).
A broken vector must be refused with one line, a non-zero exit from the CLI, and nothing left
behind (no cache entry, no temporary file).

Regenerate (byte-identical; \`test/format-vectors.test.ts\` checks it and runs a reader over each):

    npx tsx spec/vectors/generate.ts

Valid vectors are written with \`BundleWriter\`; hostile ones are databases edited by hand with
plain SQL and wrapped in a valid container (correct frames, seek table and header checksum), so
that only the schema checks can catch them. This file is written by the generator from
\`expected.json\`.
`;

const outDir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'ingero-vectors-'));
const cacheDir = join(work, 'cache');

/**
 * What a reader must do with a vector: open it (and, with `verify`, have full verification report
 * a problem with that code and message), or refuse it with this error code and message.
 */
interface Outcome {
  error: string;
  message: string;
}
type Expectation = { ok: true; events: number; verify?: Outcome; note: string } | (Outcome & { note: string });
const expected: Record<string, Expectation> = {};

// The manifest's host summary is derived from the metadata keys (spec §3), so the two agree.
const SEAL: SealOptions = { createdUnixNs: 1_767_225_600_000_000_000n };
const ORIGIN = 1_767_225_600_000_000_000n;

function writer(name: string, extra: Partial<SealOptions> = {}): BundleWriter {
  rmSync(join(outDir, name), { force: true });
  const w = BundleWriter.create(join(outDir, name), { ...SEAL, ...extra, originUnixNs: ORIGIN, producer: { name: 'ingero', version: 'vectors', command: 'spec/vectors/generate.ts' }, nodeName: 'node-a' });
  w.setMetadata('host.hostname', 'vector-host');
  w.setMetadata('host.kernel', '6.1.0');
  return w;
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

/**
 * Wraps a database file in a container with a manifest that tells the truth unless told otherwise:
 * every field a sealer derives from the database is derived from this one (where it can be read).
 */
function wrap(dbPath: string, name: string, options: WrapOptions = {}): void {
  const frameBytes = options.frameBytes ?? 4 << 20;
  const bytes = statSync(dbPath).size;
  const m = structuredClone(baseManifest) as Record<string, any>;
  try {
    const db = new Database(dbPath, { readonly: true });
    try {
      const facts = databaseFacts(db);
      // An origin the manifest could not carry (bad-clock-origin) stays cuda-basic's: the vector tests the database's.
      const origin = /^\d{1,20}$/.test(facts.time.origin_unix_ns) && BigInt(facts.time.origin_unix_ns) < 1n << 64n ? facts.time.origin_unix_ns : m.time.origin_unix_ns;
      Object.assign(m, { nodes: facts.nodes, time: { ...facts.time, origin_unix_ns: origin }, counts: facts.counts, capture: facts.capture });
    } finally {
      db.close();
    }
  } catch {
    /* a database too broken to read keeps cuda-basic's figures: only its schema checks matter */
  }
  m.database = { bytes, sha256: sha256File(dbPath), page_size: 4096 };
  m.compression = { codec: 'zstd', level: 3, frame_bytes: frameBytes, frames: Math.ceil(bytes / frameBytes) };
  options.manifest?.(m);
  writeContainer(dbPath, join(outDir, name), JSON.stringify(m), { compressionLevel: 3, frameBytes, header: options.header });
}

/** A vector's bytes with the manifest JSON replaced by these bytes, under a recomputed header checksum. */
function withManifestBytes(bundle: Buffer, manifest: Buffer): Buffer {
  const oldFrame = 8 + bundle.readUInt32LE(4);
  const payload = Buffer.concat([bundle.subarray(8, 8 + 52), manifest]);
  payload.writeUInt32LE(manifest.length, 16);
  headerDigest(payload).copy(payload, 20);
  const frameHead = Buffer.alloc(8);
  frameHead.writeUInt32LE(bundle.readUInt32LE(0), 0);
  frameHead.writeUInt32LE(payload.length, 4);
  return Buffer.concat([frameHead, payload, bundle.subarray(oldFrame)]);
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
  ['huge-string.ingero', 'table "processes" column "comm" holds a 2097152-byte value, above the 65536-byte limit', 'a 2 MiB process name', (db) => db.prepare('UPDATE processes SET comm = ?').run('A'.repeat(2 << 20))],
  ['generated-column.ingero', 'column "dur_ns" is a generated column \\(it replaces the required column dur_ns\\)', 'events.dur_ns replaced by a generated column whose expression costs what the bundle chooses', (db) => {
    db.exec('ALTER TABLE events DROP COLUMN dur_ns');
    db.exec('ALTER TABLE events ADD COLUMN dur_ns INTEGER GENERATED ALWAYS AS (length(hex(zeroblob(1000))))');
  }],
  ['generated-extra-column.ingero', 'table metadata: column "note" is a generated column, which bundles may not carry', 'an added generated column on metadata', (db) => db.exec("ALTER TABLE metadata ADD COLUMN note TEXT GENERATED ALWAYS AS (hex(zeroblob(10))) VIRTUAL")],
  ['text-in-integer-column.ingero', 'table "processes" column ppid holds 1 non-integer value', 'text where the spec declares INTEGER (processes.ppid): declared types do not bind SQLite', (db) => db.exec("UPDATE processes SET ppid = 'one'")],
  ['blob-in-added-column.ingero', 'table "threads" column "payload" holds a 2097152-byte value, above the 4096-byte limit', 'a 2 MiB blob in a column a writer added: limits hold for every column', (db) => db.exec('ALTER TABLE threads ADD COLUMN payload BLOB; UPDATE threads SET payload = zeroblob(2097152)')],
  ['events-smuggled-text.ingero', 'table events holds a \\d+-byte row; events hold integers only', 'a 4 KiB string in events.arg0: events hold integers only', (db) => db.exec("UPDATE events SET arg0 = printf('%.4096c', 'x') WHERE id = 7")],
  ['user-version-mismatch.ingero', 'the database is schema 0 \\(PRAGMA user_version\\) but the manifest says \\d', 'PRAGMA user_version 0 under a manifest naming the current schema', (db) => db.pragma('user_version = 0')],
  ['bad-clock-origin.ingero', "metadata 'clock.origin_unix_ns' is missing or not a JSON string", 'metadata clock.origin_unix_ns above 2^64 - 1', (db) => db.exec(`UPDATE metadata SET value = '"18446744073709551616"' WHERE key = 'clock.origin_unix_ns'`)],
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

// ---- container and manifest laxness (spec revision 1.1) --------------------------------------
const basic = readFileSync(join(outDir, 'cuda-basic.ingero'));
const manifestOf = (b: Buffer) => b.subarray(8 + 52, 8 + b.readUInt32LE(4)).toString('utf8');
{
  const c = Buffer.from(basic);
  c[c.length - 5] = 0x01;
  broken('reserved-seek-bits.ingero', c, 'CORRUPT', 'seek table descriptor 0x1 sets reserved bits', 'seek table descriptor with reserved bit 0 set');
}
wrap(baseDb, 'min-reader-zero.ingero', { header: { containerMajor: 1, containerMinor: 0, minReaderMajor: 0, flags: 0 } });
expected['min-reader-zero.ingero'] = { error: 'CORRUPT', message: 'min reader major 0, which never existed', note: 'header min reader major 0 under a valid checksum' };
{
  const text = manifestOf(basic).replace('"vector-host"', '"vector-hos?"');
  const bytes = Buffer.from(text, 'utf8');
  bytes[bytes.indexOf('hos?') + 3] = 0xff;
  broken('manifest-invalid-utf8.ingero', withManifestBytes(basic, bytes), 'CORRUPT', 'the manifest is not valid UTF-8', 'byte 0xFF inside a manifest string, under a valid header checksum');
  const twice = manifestOf(basic).replace('"counts":', '"counts":{"events":999999},"counts":');
  broken('manifest-duplicate-key.ingero', withManifestBytes(basic, Buffer.from(twice)), 'CORRUPT', 'has the key "counts" twice in one object', 'manifest with the key counts twice: JSON parsers disagree on which one counts');
}
wrap(baseDb, 'manifest-negative-count.ingero', { manifest: (m) => (m.counts.processes = -1) });
expected['manifest-negative-count.ingero'] = { error: 'CORRUPT', message: 'has no valid process and stack counts', note: 'manifest counts.processes -1' };
wrap(baseDb, 'manifest-bad-page-size.ingero', { manifest: (m) => (m.database.page_size = 3000) });
expected['manifest-bad-page-size.ingero'] = { error: 'CORRUPT', message: 'database.page_size that is not a power of two from 512 to 65536', note: 'manifest database.page_size 3000' };
wrap(baseDb, 'manifest-origin-overflow.ingero', { manifest: (m) => (m.time.origin_unix_ns = '18446744073709551616') });
expected['manifest-origin-overflow.ingero'] = { error: 'CORRUPT', message: 'has no valid time.origin_unix_ns', note: 'manifest time.origin_unix_ns = 2^64, one past the largest allowed' };
wrap(baseDb, 'huge-database.ingero', { manifest: (m) => (m.database.bytes = 40 * 1024 ** 3) });
expected['huge-database.ingero'] = { error: 'HOSTILE', message: 'would decompress to 42949672960 bytes, above the limit of 34359738368 — if the recording really is that large, set INGERO_MAX_DATABASE_BYTES', note: 'manifest claims a 40 GiB database: above the default bound, refused before decompressing' };
wrap(baseDb, 'resigned-manifest.ingero', {
  manifest: (m) => {
    m.time.origin_unix_ns = '1000000000000000000';
    m.counts.events = 5;
    m.counts.by_source = { cuda: 5 };
    m.time.end_ns = 99_999_999;
  },
});
expected['resigned-manifest.ingero'] = {
  ok: true,
  events: 200,
  verify: { error: 'CORRUPT', message: 'manifest time.origin_unix_ns says "1000000000000000000", metadata \'clock.origin_unix_ns\' says "1767225600000000000"' },
  note: 'manifest edited (origin, counts, end) under a recomputed header checksum: readers take the facts from the database; full verification reports each field',
};

wrap(
  editedDatabase((db) => {
    const ts = (id: number) => (db.prepare('SELECT ts_ns FROM events WHERE id = ?').get(id) as { ts_ns: number }).ts_ns;
    const [a, b] = [ts(102), ts(103)];
    db.prepare('UPDATE events SET ts_ns = ? WHERE id = ?').run(b, 102);
    db.prepare('UPDATE events SET ts_ns = ? WHERE id = ?').run(a, 103);
  }),
  'events-out-of-order.ingero',
);
expected['events-out-of-order.ingero'] = {
  ok: true,
  events: 200,
  verify: { error: 'SCHEMA', message: '1 events are out of start-time order' },
  note: 'events 102 and 103 (two launches of one thread) swap start times: opens (order is not checked at open), full verification reports the broken invariant',
};

writeFileSync(join(outDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
writeFileSync(join(outDir, 'README.md'), readme());

/** The vector list of README.md, from `expected` (so the two cannot disagree). */
function readme(): string {
  const outcome = (e: Expectation) => ('ok' in e ? `opens, ${e.events} events${e.verify ? `; verify reports \`${e.verify.error}\`: /${e.verify.message}/` : ''}` : `\`${e.error}\`: /${e.message}/`);
  const rows = Object.entries(expected).map(([name, e]) => `| \`${name}\` | ${e.note} | ${outcome(e).replace(/\|/g, '\\|')} |`);
  return `${README_HEAD}\n| file | what it is | expected outcome |\n|---|---|---|\n${rows.join('\n')}\n`;
}
rmSync(work, { recursive: true, force: true });

