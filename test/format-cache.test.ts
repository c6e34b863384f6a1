// The decompressed-database cache stays under its size bound ($INGERO_CACHE_MAX_BYTES) by
// evicting the least recently used databases; a hit counts as a use.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { BundleWriter, openBundle, opId } from '../format/index.ts';

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
