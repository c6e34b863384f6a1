// The golden vectors of spec/vectors: every reader outcome in expected.json holds, broken
// bundles leave nothing behind, and the generator reproduces the committed files byte for byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BundleError, openBundle, verifyBundle } from '../format/index.ts';

const dir = join(import.meta.dirname, '..', 'spec', 'vectors');
type Expectation = { ok: true; events: number; verify?: string; note: string } | { error: string; message: string; note: string };
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Expectation>;
const work = mkdtempSync(join(tmpdir(), 'ingero-vectors-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('spec/vectors', () => {
  test('every vector file is listed in expected.json and vice versa', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ingero')).sort();
    assert.deepEqual(files, Object.keys(expected).sort());
  });

  for (const [name, want] of Object.entries(expected)) {
    test(`${name}: ${want.note}`, () => {
      const path = join(dir, name);
      const cacheDir = join(work, `cache-${name}`);
      if ('ok' in want) {
        const b = openBundle(path, { cacheDir });
        try {
          assert.equal(b.eventCount(), want.events);
          if (!want.verify) assert.equal(b.manifest.counts.events, want.events);
        } finally {
          b.close();
        }
        const report = verifyBundle(path, { cacheDir });
        if (want.verify) assert.ok(report.problems.some((p) => new RegExp(want.verify!).test(p)), report.problems.join('\n'));
        else assert.deepEqual(report.problems, []);
        return;
      }
      let caught: unknown;
      try {
        openBundle(path, { cacheDir }).close();
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof BundleError, `${name} must be refused with a BundleError, got ${String(caught)}`);
      assert.match(caught.code, new RegExp(`^(${want.error})$`));
      assert.match(caught.message, new RegExp(want.message));
      assert.ok(caught.message.startsWith(path + ': '), 'the message names the file');
      assert.ok(!caught.message.includes('\n'), 'one line');
      // Nothing half-written: no cache entry and no temp file for a refused bundle.
      const left = (() => {
        try {
          return readdirSync(cacheDir);
        } catch {
          return [];
        }
      })();
      assert.deepEqual(left, []);
      const report = verifyBundle(path, { cacheDir });
      assert.equal(report.ok, false);
      assert.match(report.problems.join('\n'), new RegExp(want.message));
    });
  }

  test('generate.ts reproduces the committed vectors byte for byte', () => {
    const out = join(work, 'regenerated');
    execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'generate.ts'), out], { stdio: 'pipe' });
    for (const name of [...Object.keys(expected), 'expected.json']) {
      assert.ok(readFileSync(join(out, name)).equals(readFileSync(join(dir, name))), `${name} differs from a fresh generation — run: npx tsx spec/vectors/generate.ts`);
    }
  });
});
