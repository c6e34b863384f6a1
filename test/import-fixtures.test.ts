// Importing every real Ingero database (test/fixtures/ingero-investigations/): counts per
// (node, source, op, pid) equal the source's, every stack, process and chain survives, the
// sampling is declared, the bundle verifies, the source is untouched (no side files even in a
// read-only folder), and the import is deterministic.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openBundle, verifyBundle, type Bundle } from '../format/index.ts';
import { CHAIN_ORIGIN, importIngeroDb } from '../import/index.ts';
import { extractIngeroDbs } from './ingero-source-dbs.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-import-fixtures-'));
const SOURCE_DIR = join(work, 'sources');
const sources = extractIngeroDbs(SOURCE_DIR);
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The source opened the way the reference says is safe (deserialized copy, rollback header). */
function openSource(path: string): Database.Database {
  const buf = readFileSync(path);
  buf[18] = 1;
  buf[19] = 1;
  return new Database(buf, { readonly: true }).defaultSafeIntegers(true);
}

const hasColumn = (db: Database.Database, table: string, col: string) => (db.prepare(`SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`).pluck().get(table, col) as bigint) > 0n;

/** Which ops store their END in Ingero's timestamp (reference §9). */
const END_STAMPED = '(source = 3 AND op = 1) OR source IN (5, 7)';

test('the real Ingero databases are present', () => {
  assert.equal(sources.length, 5);
});

for (const file of sources) {
  describe(`import ${file}`, () => {
    const sourcePath = join(SOURCE_DIR, file);
    const outPath = join(work, file.replace(/\.db$/, '.ingero'));
    const before = sha256(sourcePath);
    let bundle: Bundle;
    let src: Database.Database;
    let stem: string;

    test('imports, verifies, leaves the source unchanged', async () => {
      const report = await importIngeroDb(sourcePath, outPath);
      assert.equal(sha256(sourcePath), before);
      assert.equal(report.sourceSha256, before);
      const v = verifyBundle(outPath);
      assert.deepEqual(v.problems, []);
      bundle = openBundle(outPath);
      src = openSource(sourcePath);
      stem = basename(file, '.db');
      assert.equal(bundle.eventCount(), Number(src.prepare('SELECT count(*) FROM events').pluck().get()));
    });

    test('event counts, durations and time spans per (node, source, op, pid) equal the source', () => {
      const node = hasColumn(src, 'events', 'node') ? `CASE WHEN node = '' THEN '${stem}' ELSE node END` : `'${stem}'`;
      const start = `CASE WHEN ${END_STAMPED} THEN timestamp - duration ELSE timestamp END`;
      const origin = BigInt(bundle.manifest.time.origin_unix_ns);
      const want = new Map<string, string>();
      for (const r of src.prepare(`SELECT ${node} AS node, source, op, pid, count(*) AS n, sum(duration) AS dur, min(${start}) AS first, max(${start}) AS last FROM events GROUP BY 1, 2, 3, 4`).all() as Record<string, bigint | string>[]) {
        want.set(`${r.node}/${r.source}/${r.op}/${r.pid}`, `${r.n} ${r.dur} ${(r.first as bigint) - origin} ${(r.last as bigint) - origin}`);
      }
      const got = new Map<string, string>();
      for (const r of bundle.db.prepare('SELECT n.name AS node, e.op_id / 256 AS source, e.op_id % 256 AS op, e.pid, count(*) AS n, sum(e.dur_ns) AS dur, min(e.ts_ns) AS first, max(e.ts_ns) AS last FROM events e JOIN nodes n ON n.id = e.node_id GROUP BY 1, 2, 3, 4').all() as Record<string, number | string>[]) {
        got.set(`${r.node}/${r.source}/${r.op}/${r.pid}`, `${r.n} ${r.dur} ${r.first} ${r.last}`);
      }
      assert.deepEqual(got, want);
    });

    test('every stack survives, frame for frame, and each event keeps its stack', () => {
      const canonical = (frames: { kind: string; fn: string; file: string; offset: string; address: string }[]) => frames.map((f) => [f.kind, f.fn, f.file, f.offset, f.address].join('|')).join(' > ');
      const fromSource = new Map<bigint, string>();
      for (const r of src.prepare('SELECT hash, frames FROM stack_traces').all() as { hash: bigint; frames: string }[]) {
        const frames = (JSON.parse(r.frames) as Record<string, string>[]).map((f) => {
          const m = /^(.*)\+0x([0-9a-f]+)$/i.exec(f.s ?? '');
          return { kind: 'native', fn: m ? m[1]! : (f.s ?? ''), file: f.f ?? '', offset: m ? String(parseInt(m[2]!, 16)) : '', address: f.i ? BigInt.asIntN(64, BigInt(f.i)).toString() : '' };
        });
        fromSource.set(r.hash, canonical(frames));
      }
      const bundleStacks = new Set<string>();
      const stackIds = bundle.db.prepare('SELECT DISTINCT stack_id FROM stack_frames').pluck().all() as number[];
      const bundleCanonical = new Map<number, string>();
      for (const id of stackIds) {
        const frames = bundle.stack(id);
        // The symbol as recorded is the system name; C++ symbols also get a demangled display name.
        for (const f of frames) if (f.systemName?.startsWith('_Z')) assert.ok(f.function && !f.function.startsWith('_Z'), `${f.systemName} was not demangled`);
        const c = canonical(frames.map((f) => ({ kind: f.kind, fn: f.systemName ?? '', file: f.module ?? '', offset: f.offset === null ? '' : String(f.offset), address: f.address === null ? '' : String(f.address) })));
        bundleStacks.add(c);
        bundleCanonical.set(id, c);
      }
      for (const [hash, c] of fromSource) assert.ok(bundleStacks.has(c), `stack ${hash} is missing: ${c}`);
      // Per event: the multiset of stacks per (source, op, pid) is the same on both sides.
      const perGroup = (rows: { k: string; c: string }[]) => rows.map((r) => `${r.k} ${r.c}`).sort();
      const srcRows = (src.prepare('SELECT source || \'/\' || op || \'/\' || pid AS k, stack_hash FROM events WHERE stack_hash != 0').all() as { k: string; stack_hash: bigint }[]).map((r) => ({ k: r.k, c: fromSource.get(r.stack_hash)! }));
      const bundleRows = (bundle.db.prepare("SELECT (op_id / 256) || '/' || (op_id % 256) || '/' || pid AS k, stack_id FROM events WHERE stack_id IS NOT NULL").all() as { k: string; stack_id: number }[]).map((r) => ({ k: r.k, c: bundleCanonical.get(r.stack_id)! }));
      assert.deepEqual(perGroup(bundleRows), perGroup(srcRows));
    });

    test('every process survives, keyed by (node, pid), with its name', () => {
      const node = hasColumn(src, 'events', 'node') ? `CASE WHEN node = '' THEN '${stem}' ELSE node END` : `'${stem}'`;
      const have = new Set((bundle.db.prepare('SELECT n.name || \'/\' || p.pid FROM processes p JOIN nodes n ON n.id = p.node_id').pluck().all() as string[]));
      for (const k of src.prepare(`SELECT DISTINCT ${node} || '/' || pid FROM events`).pluck().all() as string[]) assert.ok(have.has(k), `process ${k} is missing`);
      const names = new Map((bundle.db.prepare('SELECT pid, comm FROM processes').all() as { pid: number; comm: string }[]).map((r) => [`${r.pid}/${r.comm}`, true]));
      for (const r of src.prepare('SELECT pid, name FROM process_names').all() as { pid: bigint; name: string }[]) assert.ok(names.has(`${r.pid}/${r.name}`), `process name ${r.pid} ${r.name} is missing`);
    });

    test('every causal chain survives as an origin-marked imported finding', () => {
      const ids = src.prepare('SELECT id FROM causal_chains').pluck().all() as string[];
      const findings = bundle.db.prepare('SELECT origin, origin_id, occurrences FROM imported_findings').all() as { origin: string; origin_id: string; occurrences: number }[];
      const listed = findings.flatMap((f) => f.origin_id.split(' '));
      assert.deepEqual([...listed].sort(), [...ids].sort(), 'each source chain id is listed exactly once');
      assert.equal(findings.reduce((s, f) => s + f.occurrences, 0), ids.length);
      for (const f of findings) {
        assert.equal(f.origin, CHAIN_ORIGIN);
        assert.equal(f.origin_id.split(' ').length, f.occurrences);
      }
    });

    test('the events are declared a sample (selective storage from 10 s into each run), with the aggregates carried over', () => {
      assert.equal(bundle.manifest.capture.sampled, true);
      const origin = BigInt(bundle.manifest.time.origin_unix_ns);
      // Runs shorter than 10 s stored everything (except mm_page_alloc and the per-stack cap).
      const starts = (src.prepare('SELECT started_at FROM sessions WHERE stopped_at = 0 OR stopped_at > started_at + 10000000000').pluck().all() as bigint[]).map((s) => Number(s + 10_000_000_000n - origin)).sort((a, b) => a - b);
      const selective = (bundle.db.prepare("SELECT from_ns FROM sampling WHERE policy = 'ingero-selective-storage' ORDER BY from_ns").pluck().all() as number[]);
      assert.deepEqual(selective, starts);
      const want = src.prepare('SELECT count(*) AS rows, coalesce(sum(count), 0) AS observed FROM event_aggregates').get() as { rows: bigint; observed: bigint };
      const got = bundle.db.prepare('SELECT count(*) AS rows, coalesce(sum(count), 0) AS observed FROM op_aggregates').get() as { rows: number; observed: number };
      assert.deepEqual(got, { rows: Number(want.rows), observed: Number(want.observed) });
    });

    test('sessions, snapshots and Ingero schema notes become metadata and time series', () => {
      const meta = bundle.metadata();
      assert.equal((meta['ingero.sessions'] as unknown[]).length, Number(src.prepare('SELECT count(*) FROM sessions').pluck().get()));
      assert.equal((meta['ingero.schema_info'] as Record<string, string>).version, src.prepare("SELECT value FROM schema_info WHERE key = 'version'").pluck().get());
      assert.deepEqual(meta['import.source'], { file, bytes: readFileSync(sourcePath).length, sha256: before });
      assert.equal(bundle.db.prepare('SELECT count(*) FROM system_samples').pluck().get(), Number(src.prepare('SELECT count(*) FROM system_snapshots').pluck().get()));
      assert.equal(meta['ingero.generation'], hasColumn(src, 'events', 'node') ? 'v0.9' : 'v0.8');
    });

    test('a second import gives the same database, byte for byte', async () => {
      const again = await importIngeroDb(sourcePath, join(work, `again-${basename(outPath)}`));
      assert.equal(again.databaseSha256, bundle.manifest.database.sha256);
      bundle.close();
      src.close();
    });
  });
}

test('a source in a read-only folder imports without any side file appearing beside it', async () => {
  const dir = mkdtempSync(join(work, 'ro-'));
  const copy = join(dir, sources[0]!);
  copyFileSync(join(SOURCE_DIR, sources[0]!), copy);
  chmodSync(copy, 0o444);
  chmodSync(dir, 0o555);
  const before = sha256(copy);
  try {
    await importIngeroDb(copy, join(work, 'from-ro.ingero'));
    assert.deepEqual(readdirSync(dir), [sources[0]]);
    assert.equal(sha256(copy), before);
    // The scratch-copy path (used for large files and live WALs) leaves nothing behind either.
    await importIngeroDb(copy, join(work, 'from-ro-copy.ingero'), { deserializeLimitBytes: 0 });
    assert.deepEqual(readdirSync(dir), [sources[0]]);
    assert.deepEqual(verifyBundle(join(work, 'from-ro-copy.ingero')).problems, []);
  } finally {
    chmodSync(dir, 0o755);
  }
});
