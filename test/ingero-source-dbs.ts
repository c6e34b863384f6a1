// Ingero's real investigation databases, shipped zstd-compressed in
// test/fixtures/ingero-investigations/ (Apache-2.0, see its README): decompressed into a folder
// the caller owns and checked against SHA256SUMS, so a test reads the exact bytes Ingero wrote.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decompress } from 'zstd-napi';

export const INGERO_DB_FIXTURES = join(import.meta.dirname, 'fixtures', 'ingero-investigations');

/** Decompresses every fixture database into dir; returns their file names (NAME.db), sorted. */
export function extractIngeroDbs(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const sums = new Map(
    readFileSync(join(INGERO_DB_FIXTURES, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => {
      const [sha, name] = l.split(/\s+/);
      return [name!, sha!] as const;
    }),
  );
  const names = readdirSync(INGERO_DB_FIXTURES).filter((f) => f.endsWith('.db.zst')).map((f) => f.slice(0, -'.zst'.length)).sort();
  for (const name of names) {
    const bytes = decompress(readFileSync(join(INGERO_DB_FIXTURES, `${name}.zst`)));
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== sums.get(name)) throw new Error(`${name}.zst decompresses to sha256 ${sha}, SHA256SUMS says ${sums.get(name) ?? '(not listed)'}: the fixture is damaged`);
    writeFileSync(join(dir, name), bytes);
  }
  return names;
}
