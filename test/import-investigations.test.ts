// investigations/*.ingero are exactly what the importer makes of Ingero's databases today: a
// fresh import gives the same database inside (same SHA-256; only the manifest's creation time
// may differ), every committed bundle verifies, and each meets the import's size goal.
// Regenerate with investigations/rebuild.sh.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readBundleHeader, verifyBundle } from '../format/index.ts';
import { importIngeroDb } from '../import/index.ts';
import { extractIngeroDbs } from './ingero-source-dbs.ts';

const INVESTIGATIONS = new URL('../investigations/', import.meta.url).pathname;
const bundles = readdirSync(INVESTIGATIONS).filter((f) => f.endsWith('.ingero')).sort();
const work = mkdtempSync(join(tmpdir(), 'ingero-investigations-'));
const SOURCE_DIR = join(work, 'sources');
extractIngeroDbs(SOURCE_DIR);
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

test('investigations/ ships the five converted Ingero databases', () => {
  assert.deepEqual(bundles, ['pytorch-dataloader-starvation.ingero', 'sample-cluster.ingero', 'sample-gpu-node-01.ingero', 'sample-gpu-node-02.ingero', 'sample-gpu-node-03.ingero']);
});

for (const name of bundles) {
  const committed = join(INVESTIGATIONS, name);
  const source = join(SOURCE_DIR, name.replace(/\.ingero$/, '.db'));
  test(`investigations/${name} verifies`, () => {
    assert.deepEqual(verifyBundle(committed).problems, []);
  });
  test(`investigations/${name} equals a fresh import of its source`, async () => {
    const fresh = await importIngeroDb(source, join(work, name));
    assert.equal(fresh.databaseSha256, readBundleHeader(committed).manifest.database.sha256, `investigations/${name} is stale: run investigations/rebuild.sh`);
  });
  // The size goal of the import (bench/import prints the figures): sizes are deterministic, so a
  // change that bloats small bundles (fixed costs dominate them) fails here rather than unseen.
  const noZstd = spawnSync('zstd', ['--version']).error ? 'SKIPPED: the zstd CLI is not installed (scripts/setup.sh installs it)' : false;
  test(`investigations/${name} is at least 5x smaller than its source and smaller than zstd -19 of it`, { skip: noZstd }, () => {
    const bundleBytes = statSync(committed).size;
    const sourceBytes = statSync(source).size;
    const zstd19Bytes = execFileSync('zstd', ['-q', '-19', '-c', source], { maxBuffer: 64 << 20 }).length;
    assert.ok(bundleBytes * 5 <= sourceBytes, `${bundleBytes} bytes is not 5x under the source's ${sourceBytes}`);
    assert.ok(bundleBytes < zstd19Bytes, `${bundleBytes} bytes is not under zstd -19 of the source (${zstd19Bytes})`);
  });
}
