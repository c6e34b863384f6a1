// The suite runs on any clone, as the README says to run it: nothing it or the benches read lives
// outside the checkout (the real data they need ships in test/fixtures/, with its licence and
// checksums), and CI runs the README's own set-up commands.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

test('CI runs the README\'s two set-up commands, which work as root without sudo installed', () => {
  const block = execFileSync(join(ROOT, '.ci/run'), ['--print'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(block.length, 2, block.join('\n'));
  assert.match(block[0]!, /^\.\/scripts\/setup\.sh && \.\/bin\/ingero\.mjs explain investigations\/\S+\.ingero$/);
  assert.equal(block[1], 'npm test');
  // setup.sh asks for sudo only when it is not root; the test command never does.
  assert.match(readFileSync(join(ROOT, 'scripts/setup.sh'), 'utf8'), /\[ "\$\(id -u\)" -eq 0 \] \|\| sudo="sudo"/);
});
