// The suite runs on any clone: nothing it or the benches read lives outside the checkout (the
// real data they need ships in test/fixtures/, with its licence and checksums).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './cli-fixtures.ts';

const BESIDE_CHECKOUT = /\.\.\/(\.\.\/)?shared\//;

test('no test or bench reads a path beside the checkout (../shared or the like)', () => {
  const offenders: string[] = [];
  for (const dir of ['test', 'bench', 'investigations', 'scripts', '.ci']) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (!entry.isFile() || !/\.(ts|tsx|mjs|sh)$|^run$/.test(entry.name) || path === import.meta.filename) continue;
      readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
        // Code only: a comment may say where the data came from.
        const code = line.replace(/^\s*(\/\/|#|\*).*$/, '');
        if (BESIDE_CHECKOUT.test(code)) offenders.push(`${path.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`);
      });
    }
  }
  assert.deepEqual(offenders, []);
});
