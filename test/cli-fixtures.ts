// The ingero command line as a user runs it: a real process, its exit code and both streams, so
// CLI tests check what a person or a script would see (one error line, no stack trace).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', 'bin', 'ingero.mjs');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** $INGERO_CACHE_DIR for the run; tests keep their decompressed bundles apart. */
  readonly cacheDir?: string;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const env = { ...process.env, ...(options.cacheDir ? { INGERO_CACHE_DIR: options.cacheDir } : {}), ...options.env };
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: options.cwd, env, maxBuffer: 256 << 20 });
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
