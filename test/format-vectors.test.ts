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
interface Outcome {
  error: string;
  message: string;
}
type Expectation = { ok: true; events: number; verify?: Outcome; note: string } | (Outcome & { note: string });
/** Whether a problem carries the code (normative) and the message (informative) expected. */
const matches = (p: { code: string; message: string }, want: Outcome) => new RegExp(`^(${want.error})$`).test(p.code) && new RegExp(want.message).test(p.message);
const listed = (problems: readonly { code: string; message: string }[]) => problems.map((p) => `${p.code}: ${p.message}`).join('\n');
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
        if (want.verify) assert.ok(report.problems.some((p) => matches(p, want.verify!)), listed(report.problems));
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
      assert.ok(report.problems.some((p) => matches(p, want)), listed(report.problems));
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
