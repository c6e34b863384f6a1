// The decompressed-database cache stays under its size bound ($INGERO_CACHE_MAX_BYTES) by
// evicting the least recently used databases; a hit counts as a use. An entry's record that it
// passed the open-time value checks spares later opens that pass only when it matches.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { BundleWriter, openBundle, opId, verifyBundle } from '../format/index.ts';
import { VALUE_CHECKER } from '../format/conformance.ts';
import { writeContainer } from '../format/seal.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-cache-'));
after(() => {
  delete process.env.INGERO_CACHE_MAX_BYTES;
  rmSync(work, { recursive: true, force: true });
});

async function bundle(name: string, events: number): Promise<{ path: string; sha256: string; bytes: number }> {
  const path = join(work, `${name}.ingero`);
  const w = BundleWriter.create(path, { originUnixNs: 0n, producer: { name: 'ingero', version: 'test', command: name } });
  for (let i = 0; i < events; i++) w.appendEvent({ ts_ns: i * 1000, dur_ns: 100 + (i % 17), pid: 1, tid: 1, op_id: opId('cudaLaunchKernel'), arg0: i });
  const r = await w.seal();
  return { path, sha256: r.manifest.database.sha256, bytes: r.databaseBytes };
}

test('least recently used databases are evicted once the cache passes its bound', async () => {
  const cacheDir = join(work, 'cache');
  const [a, b, c] = [await bundle('a', 20_000), await bundle('b', 21_000), await bundle('c', 22_000)];
  const cached = (x: { sha256: string }) => existsSync(join(cacheDir, `${x.sha256}.sqlite`));
  process.env.INGERO_CACHE_MAX_BYTES = String(a.bytes + b.bytes + Math.floor(c.bytes / 2));
  for (const x of [a, b]) {
    openBundle(x.path, { cacheDir }).close();
    await sleep(20);
  }
  openBundle(a.path, { cacheDir }).close(); // a hit: a is now more recent than b
  await sleep(20);
  openBundle(c.path, { cacheDir }).close();
  assert.deepEqual([cached(a), cached(b), cached(c)], [true, false, true]);
  // An evicted bundle opens again (decompressed anew).
  const reopened = openBundle(b.path, { cacheDir });
  assert.equal(reopened.eventCount(), 21_000);
  reopened.close();
});

/** The database of a sound bundle with one events row made 5000 bytes long, in a valid container. */
async function smuggledRowBundle(): Promise<{ path: string; sha256: string; db: string }> {
  const sound = await bundle('sound-for-smuggling', 100);
  const b = openBundle(sound.path, { cacheDir: join(work, 'cache-smuggling-source') });
  const manifest = structuredClone(b.manifest) as any;
  const db = join(work, 'smuggled.sqlite');
  copyFileSync(b.databasePath, db);
  b.close();
  const edit = new Database(db);
  edit.exec("UPDATE events SET arg1 = printf('%.5000c', 'a') WHERE id = 3; VACUUM");
  edit.close();
  const bytes = statSync(db).size;
  const sha256 = createHash('sha256').update(readFileSync(db)).digest('hex');
  manifest.database = { bytes, sha256, page_size: 4096 };
  manifest.compression = { codec: 'zstd', level: 3, frame_bytes: 4 << 20, frames: 1 };
  const path = join(work, 'smuggled.ingero');
  writeContainer(db, path, JSON.stringify(manifest), { compressionLevel: 3, frameBytes: 4 << 20 });
  return { path, sha256, db };
}

test('a cached open skips the value pass only on a record that names this database and this checker', async () => {
  const cacheDir = join(work, 'cache-records');
  const record = (sha256: string) => join(cacheDir, `${sha256}.conformance`);
  const sound = await bundle('recorded', 1000);
  openBundle(sound.path, { cacheDir }).close();
  assert.equal(readFileSync(record(sound.sha256), 'utf8'), `${VALUE_CHECKER} ${sound.sha256}\n`, 'the first open records that the checks passed');

  const smuggled = await smuggledRowBundle();
  const refusal = /table events holds a 50\d\d-byte row/;
  assert.throws(() => openBundle(smuggled.path, { cacheDir }), refusal, 'the first (cold) open checks every page');
  assert.deepEqual([existsSync(join(cacheDir, `${smuggled.sha256}.sqlite`)), existsSync(record(smuggled.sha256))], [false, false], 'a refused database leaves neither entry nor record');

  // The smuggled database planted in the cache as if an earlier open had left it there, beside
  // records that do not match it: each is ignored, the values are checked, the entry is refused.
  for (const text of [`values/0 ${smuggled.sha256}\n`, `${VALUE_CHECKER} ${sound.sha256}\n`, `${VALUE_CHECKER} ${smuggled.sha256}`, '']) {
    copyFileSync(smuggled.db, join(cacheDir, `${smuggled.sha256}.sqlite`));
    writeFileSync(record(smuggled.sha256), text);
    assert.throws(() => openBundle(smuggled.path, { cacheDir }), refusal, `record ${JSON.stringify(text)}`);
    assert.equal(existsSync(record(smuggled.sha256)), false, 'the refusal removes the record with the entry');
  }
  // A matching record is what a cached open trusts: only this user writes into the private
  // cache, and only after the checks passed (here planted by hand, to show that it is read).
  copyFileSync(smuggled.db, join(cacheDir, `${smuggled.sha256}.sqlite`));
  writeFileSync(record(smuggled.sha256), `${VALUE_CHECKER} ${smuggled.sha256}\n`);
  openBundle(smuggled.path, { cacheDir }).close();
  // verify reads everything whatever the record says, and drops both.
  const report = verifyBundle(smuggled.path, { cacheDir });
  assert.equal(report.ok, false);
  assert.ok(report.problems.some((p) => refusal.test(p.message)), JSON.stringify(report.problems));
  assert.equal(existsSync(record(smuggled.sha256)), false);
});
