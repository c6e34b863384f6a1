// The ingero command line as a user runs it: a real process, its exit code and both streams, so
// CLI tests check what a person or a script would see (one error line, no stack trace). It runs
// from a directory outside the checkout, as an installed `ingero` does: anything that quietly
// depends on the current directory (tsx finding the repository's tsconfig, a relative path into
// the repository) fails here rather than for users.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const CLI = join(ROOT, 'bin', 'ingero.mjs');

/** An empty directory outside the checkout: the default working directory of every CLI run. */
export const OUTSIDE_CHECKOUT = mkdtempSync(join(tmpdir(), 'ingero-cwd-'));
if (!relative(ROOT, OUTSIDE_CHECKOUT).startsWith('..')) throw new Error(`${OUTSIDE_CHECKOUT} is inside the checkout ${ROOT}: set TMPDIR elsewhere`);
process.on('exit', () => rmSync(OUTSIDE_CHECKOUT, { recursive: true, force: true }));

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** $INGERO_CACHE_DIR for the run; tests keep their decompressed bundles apart. */
  readonly cacheDir?: string;
  /** Working directory; OUTSIDE_CHECKOUT unless given (tests give their own temporary folder). */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const env = { ...process.env, ...(options.cacheDir ? { INGERO_CACHE_DIR: options.cacheDir } : {}), ...options.env };
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: options.cwd ?? OUTSIDE_CHECKOUT, env, maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The failure contract: exactly one `ingero: ...` line on stderr matching pattern, no stack trace. */
export function assertOneLineError(r: Pick<CliRun, 'stderr'>, pattern: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^ingero: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}
