// The summary cache keeps what a server can use and no more: writing an entry removes other
// analyzers' entries and those of databases the cache no longer holds, then the least recently
// used beyond the size bound, and never a writer's temp file.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openBundle } from '../format/index.ts';
import { precompute } from '../mcp/precompute.ts';
import { analyzerKey, readCachedSummary, summaryCachePath, writeCachedSummary } from '../mcp/summary-cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'ingero-summary-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('summary cache pruning', () => {
  it('removes stale and orphaned entries on write, then the least recently used beyond the bound', () => {
    const path = join(dir, 'b.ingero');
    copyFileSync(new URL('../investigations/sample-gpu-node-02.ingero', import.meta.url), path);
    const b = openBundle(path, { cacheDir: join(dir, 'cache') });
    const cache = dirname(b.databasePath);
    const digest = b.manifest.database.sha256;
    const other = 'a'.repeat(64);
    const orphan = 'b'.repeat(64);
    const entry = (db: string, key: string) => join(cache, `${db}.summary-${key}.json`);
    // Another analyzer's entry for this database, one for a database the cache evicted, a live
    // one for another cached database (used long ago), and a writer's temp file.
    writeFileSync(entry(digest, '0'.repeat(16)), '{}', { mode: 0o600 });
    writeFileSync(entry(orphan, analyzerKey()), '{}', { mode: 0o600 });
    writeFileSync(join(cache, `${other}.sqlite`), '', { mode: 0o600 });
    writeFileSync(entry(other, analyzerKey()), '{"live":true}', { mode: 0o600 });
    utimesSync(entry(other, analyzerKey()), new Date(1e12), new Date(1e12));
    const temp = `${entry(other, analyzerKey())}.tmp-1234`;
    writeFileSync(temp, '', { mode: 0o600 });

    const summary = precompute(b);
    writeCachedSummary(b.databasePath, summary);
    assert.equal(existsSync(entry(digest, '0'.repeat(16))), false, 'another analyzer\'s entry removed');
    assert.equal(existsSync(entry(orphan, analyzerKey())), false, 'entry of an evicted database removed');
    assert.equal(existsSync(entry(other, analyzerKey())), true, 'a usable entry within the bound is kept');
    assert.equal(existsSync(temp), true, 'a writer\'s temp file is not touched');
    assert.deepEqual(readCachedSummary(b.databasePath), JSON.parse(JSON.stringify(summary)));

    // A bound that holds only the new entry: the least recently used other one goes.
    writeCachedSummary(b.databasePath, summary, statSync(summaryCachePath(b.databasePath)).size);
    assert.equal(existsSync(entry(other, analyzerKey())), false, 'least recently used entry evicted beyond the bound');
    assert.ok(readCachedSummary(b.databasePath), 'the entry just written is kept whatever the bound');
    assert.deepEqual(readdirSync(cache).filter((n) => n.includes('.summary-') && !n.includes('.tmp-')), [`${digest}.summary-${analyzerKey()}.json`]);
    b.close();
  });
});
